// The generic layer against the real Samba AD DC: connection (LDAPS, StartTLS, CA checks,
// timeouts, reconnect after a DC restart), normalised entries, paged search without
// continuation references, add/modify/rename/delete, escaping, error mapping.
import { withTempDir } from '@invis/test-utils';
import { createTestPki, restartSambaDc } from '@invis/testbed';
import { afterAll, describe, expect, it } from 'vitest';
import { AdError, childDn, createAdClient, f, ldapFilter, parseDn, rdnValue } from '../../src/index';
import { adminClient, dcInfo, ldapsearch, uniq } from './helpers';

const dc = dcInfo();
const ad = adminClient();
afterAll(() => ad.close());

describe('connection', () => {
  it('connects lazily over LDAPS and reads the rootDSE; baseDN comes from it when not given', async () => {
    const c = createAdClient({ url: dc.ldapsUrl, upn: dc.adminUPN, password: dc.adminPassword, ca: dc.caPem });
    try {
      expect(await c.baseDN()).toBe(dc.baseDN);
      const root = await c.rootDse();
      expect(root.getAll('namingContexts')).toContain(dc.baseDN);
    } finally {
      await c.close();
    }
  });

  it('uses StartTLS on ldap:// and binds with a UPN', async () => {
    const c = createAdClient({ url: dc.ldapUrl, upn: dc.adminUPN, password: dc.adminPassword, ca: dc.caPem });
    try {
      const e = await c.get(dc.adminDN, ['sAMAccountName']);
      expect(e?.get('sAMAccountName')).toBe('Administrator');
    } finally {
      await c.close();
    }
  });

  it('refuses a server whose certificate is not signed by the given CA (AD_TLS)', async () => {
    await withTempDir('adclient-ca-', async (dir) => {
      const other = await createTestPki(dir, { commonName: 'other', dnsNames: ['other'], ipAddresses: [dc.address] });
      const c = adminClient({ ca: other.caPem });
      await expect(c.exists(dc.adminDN)).rejects.toMatchObject({ code: 'AD_TLS' });
      await c.close();
      // the right CA but a name that is not in the certificate's SAN
      const byName = adminClient({ url: dc.ldapsUrl.replace(dc.address, '127.0.0.1') });
      await expect(byName.exists(dc.adminDN)).rejects.toMatchObject({
        code: expect.stringMatching(/AD_TLS|AD_CONNECTION/),
      });
      await byName.close();
    });
  });

  it('wrong service password → AD_INVALID_CREDENTIALS with LDAP code 49 and sub-code 52e', async () => {
    const c = adminClient({ password: 'wrong-Password-1' });
    const err = await c.exists(dc.adminDN).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdError);
    expect(err).toMatchObject({ code: 'AD_INVALID_CREDENTIALS', details: { ldapCode: 49 }, adSubCode: '52e' });
    expect(JSON.stringify(err)).not.toContain('wrong-Password-1');
    await c.close();
  });

  it('an unreachable server fails within the connect bound (AD_CONNECTION or AD_TIMEOUT)', async () => {
    const c = adminClient({ url: 'ldaps://127.0.0.1:1', connectTimeoutMs: 500 });
    const t0 = Date.now();
    const err = (await c.exists(dc.adminDN).catch((e: unknown) => e)) as AdError;
    expect(['AD_CONNECTION', 'AD_TIMEOUT']).toContain(err.code);
    expect(Date.now() - t0).toBeLessThan(3000);
    await c.close();
  });

  it('a server that accepts TCP but never answers is cut off by the connect bound (AD_TIMEOUT)', async () => {
    const net = await import('node:net');
    const sockets: import('node:net').Socket[] = [];
    const server = net.createServer((s) => sockets.push(s)); // never speaks TLS
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as import('node:net').AddressInfo).port;
    const c = adminClient({ url: `ldaps://127.0.0.1:${port}`, connectTimeoutMs: 300, timeoutMs: 300 });
    const t0 = Date.now();
    await expect(c.exists(dc.adminDN)).rejects.toMatchObject({ code: 'AD_TIMEOUT' });
    expect(Date.now() - t0).toBeLessThan(2000);
    await c.close();
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  });

  it('rejects non-LDAP URLs and missing credentials up front (AD_CONFIG)', () => {
    expect(() => createAdClient({ url: 'http://x', upn: 'a', password: 'b' })).toThrow(
      expect.objectContaining({ code: 'AD_CONFIG' }),
    );
    expect(() => createAdClient({ url: dc.ldapsUrl, password: 'b' })).toThrow(
      expect.objectContaining({ code: 'AD_CONFIG' }),
    );
  });

  it('after close, calls fail with AD_CLOSED', async () => {
    const c = adminClient();
    await c.exists(dc.adminDN);
    await c.close();
    await expect(c.exists(dc.adminDN)).rejects.toMatchObject({ code: 'AD_CLOSED' });
  });

  it('reconnects after the DC restarts mid-session (next call works)', async () => {
    const c = adminClient();
    try {
      expect(await c.exists(dc.adminDN)).toBe(true);
      await restartSambaDc(dc);
      expect(await c.exists(dc.adminDN)).toBe(true);
      const name = uniq('rc');
      await c.add(childDn(`CN=Users,${dc.baseDN}`, name), { objectClass: 'contact' });
      await c.delete(childDn(`CN=Users,${dc.baseDN}`, name));
    } finally {
      await c.close();
    }
  }, 60_000);
});

describe('search', () => {
  it('normalises single and multi values to arrays and never returns continuation references', async () => {
    const entries = await ad.search({ filter: f.eq('objectClass', 'domain'), attributes: ['objectClass', 'name'] });
    expect(entries).toHaveLength(1);
    const [domain] = entries;
    expect(domain?.getAll('name')).toEqual(['invis']);
    expect(domain?.getAll('objectClass').length).toBeGreaterThan(1);
    expect(domain?.get('NAME')).toBe('invis'); // case-insensitive
    expect(domain?.getAll('missing')).toEqual([]);
  });

  it('pages through more entries than one page and matches ldapsearch', async () => {
    const ou = childDn(dc.baseDN, uniq('page'), 'OU');
    await ad.add(ou, { objectClass: 'organizationalUnit' });
    try {
      for (let i = 0; i < 25; i++) await ad.add(childDn(ou, `c${i}`), { objectClass: 'contact', description: `n${i}` });
      const pages: number[] = [];
      for await (const page of ad.searchPages({ base: ou, filter: f.eq('objectClass', 'contact'), pageSize: 10 }))
        pages.push(page.length);
      expect(pages).toEqual([10, 10, 5]);
      const all = await ad.search({ base: ou, filter: f.eq('objectClass', 'contact'), pageSize: 7 });
      expect(all).toHaveLength(25);
      const ldif = await ldapsearch(ou, '(objectClass=contact)', ['dn']);
      expect(ldif.match(/^dn: /gm)).toHaveLength(25);
      const limited = await ad.search({ base: ou, filter: f.eq('objectClass', 'contact'), sizeLimit: 3 });
      expect(limited).toHaveLength(3);
    } finally {
      await ad.delete(ou, { recursive: true });
    }
    expect(await ad.exists(ou)).toBe(false);
  });

  it('returns objectGUID/objectSid as bytes', async () => {
    const e = await ad.get(dc.adminDN, ['objectGUID', 'objectSid']);
    expect(e?.getBuffer('objectGUID')).toHaveLength(16);
    expect(e?.getBuffer('objectSid')?.length).toBe(28);
    // and a binary value works in a filter
    const byGuid = await ad.searchOne({ filter: f.eq('objectGUID', e?.getBuffer('objectGUID') as Buffer) });
    expect(byGuid?.dn).toBe(dc.adminDN);
  });

  it('retrieves ranged attributes (member;range=) in full', async () => {
    const ou = childDn(dc.baseDN, uniq('range'), 'OU');
    await ad.add(ou, { objectClass: 'organizationalUnit' });
    try {
      const members: string[] = [];
      for (let i = 0; i < 7; i++) {
        const dn = childDn(ou, `m${i}`);
        await ad.add(dn, { objectClass: 'contact' });
        members.push(dn);
      }
      const g = childDn(ou, 'g');
      await ad.add(g, { objectClass: 'group', sAMAccountName: uniq('rg'), member: members });
      const e = await ad.get(g, ['member;range=0-2']);
      expect(e?.getAll('member')).toHaveLength(7);
    } finally {
      await ad.delete(ou, { recursive: true });
    }
  });

  it('missing base → [] from get(), AD_NO_SUCH_OBJECT from search()', async () => {
    const missing = `CN=nope-${uniq('x')},${dc.baseDN}`;
    expect(await ad.get(missing)).toBeUndefined();
    await expect(ad.search({ base: missing })).rejects.toMatchObject({
      code: 'AD_NO_SUCH_OBJECT',
      details: { ldapCode: 32 },
    });
  });
});

describe('add / modify / rename / delete', () => {
  it('refuses a NUL in a DN value with AD_INVALID_DN before anything is sent', () => {
    expect(() => childDn(`CN=Users,${dc.baseDN}`, 'a\u0000b')).toThrow(
      expect.objectContaining({ code: 'AD_INVALID_DN' }),
    );
  });

  it('round-trips an entry whose name has every DN special character', async () => {
    const name = `a,b+c=d<e>f;g"h#i\\j ${uniq('')}z*()`;
    const users = `CN=Users,${dc.baseDN}`;
    const dn = childDn(users, name);
    await ad.add(dn, { objectClass: 'contact', description: 'special' });
    try {
      const [found] = await ad.search({ base: users, scope: 'one', filter: ldapFilter`(cn=${name})` });
      expect(found).toBeDefined();
      expect(rdnValue(found?.dn ?? '')).toBe(name);
      expect(found?.get('cn')).toBe(name);
      // Samba's own escaping of the DN parses back to the same value
      expect(parseDn(found?.dn ?? '')[0]?.[0]?.value).toBe(name);
      const renamed = await ad.rename(dn, { newName: `${name} neu\\` });
      expect(await ad.exists(renamed)).toBe(true);
      expect(await ad.exists(dn)).toBe(false);
      await ad.delete(renamed);
    } finally {
      await ad.delete(dn).catch(() => undefined);
    }
  });

  it('modify: replace, add and delete values; errors are typed', async () => {
    const dn = childDn(`CN=Users,${dc.baseDN}`, uniq('mod'));
    await ad.add(dn, { objectClass: 'contact', description: 'one', otherTelephone: ['1', '2'] });
    try {
      await ad.modify(dn, [
        { operation: 'replace', attribute: 'description', values: 'two' },
        { operation: 'add', attribute: 'otherTelephone', values: '3' },
        { operation: 'delete', attribute: 'otherTelephone', values: '1' },
      ]);
      const e = await ad.get(dn, ['description', 'otherTelephone']);
      expect(e?.getAll('description')).toEqual(['two']);
      expect(e?.getAll('otherTelephone').sort()).toEqual(['2', '3']);
      await expect(ad.modify(dn, { operation: 'add', attribute: 'otherTelephone', values: '2' })).rejects.toMatchObject(
        { code: 'AD_VALUE_EXISTS' },
      );
      await expect(ad.add(dn, { objectClass: 'contact' })).rejects.toMatchObject({
        code: 'AD_ENTRY_EXISTS',
        details: { ldapCode: 68 },
      });
      await expect(ad.modify(dn, { operation: 'replace', attribute: 'noSuchAttr', values: 'x' })).rejects.toMatchObject(
        {
          code: 'AD_SCHEMA_VIOLATION',
        },
      );
      await ad.modify(dn, { operation: 'replace', attribute: 'description', values: [] });
      expect((await ad.get(dn, ['description']))?.has('description')).toBe(false);
    } finally {
      await ad.delete(dn);
    }
  });

  it('moves an entry to another parent', async () => {
    const ou = childDn(dc.baseDN, uniq('mv'), 'OU');
    await ad.add(ou, { objectClass: 'organizationalUnit' });
    const dn = childDn(`CN=Users,${dc.baseDN}`, uniq('mv'));
    await ad.add(dn, { objectClass: 'contact' });
    try {
      const moved = await ad.rename(dn, { newParent: ou });
      expect(moved.endsWith(ou)).toBe(true);
      expect(await ad.exists(moved)).toBe(true);
      await expect(ad.delete(ou)).rejects.toMatchObject({ code: 'AD_NOT_LEAF' });
    } finally {
      await ad.delete(ou, { recursive: true });
    }
  });

  it('delete of a missing entry → AD_NO_SUCH_OBJECT', async () => {
    await expect(ad.delete(`CN=${uniq('gone')},CN=Users,${dc.baseDN}`)).rejects.toMatchObject({
      code: 'AD_NO_SUCH_OBJECT',
    });
  });
});

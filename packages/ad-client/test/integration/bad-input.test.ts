// Hostile and broken input against the real DC: injection attempts find and change nothing,
// special characters are escaped or refused with a typed error, nothing half-made stays behind.
import { afterAll, describe, expect, it } from 'vitest';
import { AdError, childDn, defineObjectType, f, type LdapFilter, ldapFilter } from '../../src/index';
import { adminClient, dcInfo, ldapsearch, uniq } from './helpers';

const dc = dcInfo();
const ad = adminClient();
const PW = 'Us3r!Pass-2026';
afterAll(() => ad.close());

const countUsers = async (): Promise<number> => (await ad.users.list({ includeSystem: true })).length;

describe('injection', () => {
  it('username "*)(objectClass=*" finds nothing and changes nothing', async () => {
    const before = await countUsers();
    const evil = '*)(objectClass=*';
    expect(await ad.users.get(evil)).toBeUndefined();
    expect(await ad.users.find(evil)).toBeUndefined();
    expect(await ad.search({ filter: ldapFilter`(sAMAccountName=${evil})` })).toEqual([]);
    expect(await ad.search({ filter: f.eq('sAMAccountName', '*') })).toEqual([]);
    await expect(ad.authenticate(evil, PW)).rejects.toMatchObject({ code: 'AD_INVALID_CREDENTIALS' });
    await expect(ad.authenticate('*', '*')).rejects.toMatchObject({ code: 'AD_INVALID_CREDENTIALS' });
    await expect(ad.users.delete(evil)).rejects.toMatchObject({ code: 'AD_NO_SUCH_OBJECT' });
    await expect(ad.users.setPassword(evil, 'X!y-12345678')).rejects.toMatchObject({ code: 'AD_NO_SUCH_OBJECT' });
    await expect(ad.groups.addMembers('Domain Admins', [evil])).rejects.toMatchObject({ code: 'AD_NO_SUCH_OBJECT' });
    await expect(ad.users.create({ sAMAccountName: evil, password: PW })).rejects.toMatchObject({
      code: 'AD_INVALID_INPUT',
    });
    expect(await countUsers()).toBe(before);
  });

  it('a filter concatenated as a plain string (JavaScript, no type check) is refused, never run', async () => {
    const input = '*)(objectClass=*';
    // what a caller without TypeScript can pass: the README example with `+ input +`
    const concatenated = `(&(objectClass=user)(sAMAccountName=${input}))` as unknown as LdapFilter;
    // and an object that only looks like a filter
    const lookalike = { text: '(objectClass=user)' } as unknown as LdapFilter;
    const refused = { code: 'AD_INVALID_FILTER' };
    for (const filter of [concatenated, lookalike]) {
      await expect(ad.search({ filter })).rejects.toMatchObject(refused);
      await expect(ad.searchOne({ filter })).rejects.toMatchObject(refused);
      await expect(
        (async () => {
          for await (const page of ad.searchPages({ filter })) expect(page).toEqual([]);
        })(),
      ).rejects.toMatchObject(refused);
      // extra criteria of list functions are ANDed: dropping them would return everything
      await expect(ad.users.list({ filter })).rejects.toMatchObject(refused);
      const person = defineObjectType<{ sn: string }>({
        name: 'user',
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        fields: { sn: { attr: 'sn', kind: 'string' } },
      });
      await expect(ad.objects.list(person, `CN=Users,${dc.baseDN}`, { filter })).rejects.toMatchObject(refused);
      await expect(ad.withBind(dc.adminDN, dc.adminPassword, (d) => d.search({ filter }))).rejects.toMatchObject(
        refused,
      );
      expect(() => f.and(f.eq('objectClass', 'user'), filter)).toThrow(expect.objectContaining(refused));
      expect(() => f.or(filter)).toThrow(expect.objectContaining(refused));
      expect(() => f.not(filter)).toThrow(expect.objectContaining(refused));
    }
    // the same input through the escaping builders is a search that finds nothing
    expect(await ad.search({ filter: ldapFilter`(&(objectClass=user)(sAMAccountName=${input}))` })).toEqual([]);
  });

  it('a DN injection in a name stays one RDN value', async () => {
    const name = `x,CN=Domain Admins,CN=Users,${dc.baseDN}`;
    const users = `CN=Users,${dc.baseDN}`;
    const dn = childDn(users, name);
    await ad.add(dn, { objectClass: 'contact' });
    try {
      const [e] = await ad.search({ base: users, scope: 'one', filter: f.eq('cn', name) });
      expect(e?.dn.endsWith(`,CN=Users,${dc.baseDN}`)).toBe(true);
      expect(e?.get('cn')).toBe(name);
      expect(await ldapsearch(`CN=Domain Admins,CN=Users,${dc.baseDN}`, '(objectClass=*)', ['dn'], 'one')).not.toMatch(
        /^dn: /m,
      );
    } finally {
      await ad.delete(dn);
    }
  });
});

describe('special characters, NUL, long and empty values', () => {
  it('names with *()\\,+=<>;"# are escaped: a user with such a display name works end to end', async () => {
    const sam = uniq('sp');
    const cn = `Ä *()\\,+=<>;"# ${sam}`;
    const u = await ad.users.create({ sAMAccountName: sam, password: PW, cn, description: cn });
    try {
      expect(u.cn).toBe(cn);
      expect(u.description).toBe(cn);
      expect((await ad.search({ filter: f.eq('cn', cn) })).map((e) => e.dn)).toEqual([u.dn]);
      expect((await ad.authenticate(sam, PW)).user.cn).toBe(cn);
      const renamed = await ad.users.rename(sam, { cn: `${cn} 2` });
      expect(renamed.cn).toBe(`${cn} 2`);
    } finally {
      await ad.users.delete(sam);
    }
  });

  it('logon names with forbidden characters, NUL, too long or empty → AD_INVALID_INPUT, nothing created', async () => {
    const before = await countUsers();
    for (const bad of [
      'a*b',
      'a\\b',
      'a,b',
      'a+b',
      'a=b',
      'a<b',
      'a;b',
      'a"b',
      'a\u0000b',
      'x'.repeat(21),
      '',
      ' lead',
      'dot.',
    ])
      await expect(ad.users.create({ sAMAccountName: bad, password: PW }), JSON.stringify(bad)).rejects.toMatchObject({
        code: 'AD_INVALID_INPUT',
      });
    expect(await countUsers()).toBe(before);
    // parentheses are legal in AD logon names: escaped in every filter, the account works
    const paren = `p(${uniq('').slice(0, 8)})`;
    await ad.users.create({ sAMAccountName: paren, password: PW });
    expect((await ad.authenticate(paren, PW)).user.sAMAccountName).toBe(paren);
    await ad.users.delete(paren);
  });

  it('NUL in a CN → AD_INVALID_DN; NUL or control characters in text → AD_INVALID_INPUT; nothing created', async () => {
    const sam = uniq('nul');
    await expect(ad.users.create({ sAMAccountName: sam, password: PW, cn: 'a\u0000b' })).rejects.toMatchObject({
      code: 'AD_INVALID_INPUT',
    });
    await expect(ad.users.create({ sAMAccountName: sam, password: PW, description: 'x\u0000y' })).rejects.toMatchObject(
      {
        code: 'AD_INVALID_INPUT',
      },
    );
    await expect(ad.users.create({ sAMAccountName: sam, password: 'Pa\u0000ss-Word1' })).rejects.toMatchObject({
      code: 'AD_INVALID_INPUT',
    });
    await expect(
      ad
        .add(childDn(`CN=Users,${dc.baseDN}`, 'x'), { objectClass: 'contact', description: 'ok' })
        .then(() => ad.delete(childDn(`CN=Users,${dc.baseDN}`, 'x'))),
    ).resolves.toBeUndefined();
    expect(() => childDn(`CN=Users,${dc.baseDN}`, 'a\u0000b')).toThrow(AdError);
    expect(await ad.users.get(sam)).toBeUndefined();
  });

  it('non-UTF-8 text (lone surrogates / U+FFFD from a bad decode) → AD_INVALID_INPUT', async () => {
    const sam = uniq('utf');
    const broken = Buffer.from([0x66, 0xff, 0xfe, 0x6f]).toString('utf8'); // "f\uFFFD\uFFFDo"
    await expect(ad.users.create({ sAMAccountName: sam, password: PW, sn: broken })).rejects.toMatchObject({
      code: 'AD_INVALID_INPUT',
    });
    await expect(ad.users.create({ sAMAccountName: sam, password: PW, sn: 'a\uD800b' })).rejects.toMatchObject({
      code: 'AD_INVALID_INPUT',
    });
    expect(await ad.users.get(sam)).toBeUndefined();
  });

  it('very long values → AD_INVALID_INPUT from us, or the DC constraint as a typed error', async () => {
    const sam = uniq('long');
    await expect(
      ad.users.create({ sAMAccountName: sam, password: PW, description: 'x'.repeat(5000) }),
    ).rejects.toMatchObject({
      code: 'AD_INVALID_INPUT',
    });
    await expect(ad.users.create({ sAMAccountName: sam, password: PW, cn: 'c'.repeat(65) })).rejects.toMatchObject({
      code: 'AD_INVALID_INPUT',
    });
    // the generic layer passes long values to the DC: stored exactly, or a typed error
    const longDn = childDn(`CN=Users,${dc.baseDN}`, `c${'ä'.repeat(200)}`);
    const stored = await ad.add(longDn, { objectClass: 'contact', description: 'd'.repeat(100_000) }).then(
      () => true,
      (e: unknown) => {
        expect(e).toBeInstanceOf(AdError);
        return false;
      },
    );
    if (stored) {
      expect((await ad.get(longDn, ['description']))?.get('description')).toHaveLength(100_000);
      await ad.delete(longDn);
    }
    await expect(ad.users.create({ sAMAccountName: sam, password: `A1!${'p'.repeat(600)}` })).resolves.toBeDefined();
    await ad.users.delete(sam);
    // a very long filter value is just a search that finds nothing
    expect(await ad.users.get('y'.repeat(10_000))).toBeUndefined();
  });

  it('empty strings: empty password and empty names are typed errors; empty optional fields are left out', async () => {
    const sam = uniq('emp');
    await expect(ad.users.create({ sAMAccountName: sam, password: '' })).rejects.toMatchObject({
      code: 'AD_INVALID_INPUT',
    });
    await expect(ad.users.create({ sAMAccountName: sam, password: PW, cn: '   ' })).rejects.toMatchObject({
      code: 'AD_INVALID_INPUT',
    });
    const u = await ad.users.create({ sAMAccountName: sam, password: PW, description: '', telephoneNumber: '' });
    expect(u.description).toBeUndefined();
    await ad.users.delete(sam);
    await expect(ad.groups.create({ name: '' })).rejects.toMatchObject({ code: 'AD_INVALID_INPUT' });
    await expect(ad.ous.create({ name: '' })).rejects.toMatchObject({ code: 'AD_INVALID_INPUT' });
    await expect(ad.rename(childDn(`CN=Users,${dc.baseDN}`, 'x'), { newName: '' })).rejects.toMatchObject({
      code: 'AD_INVALID_INPUT',
    });
  });
});

// The invis schema, the CN=invis-Server tree and typed invis objects on the real DC
// (started with "dsdb:schema update allowed"), cross-checked with ldapsearch.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  childDn,
  DHCP_HOST,
  DHCP_SERVICE,
  DHCP_SUBNET,
  defineObjectType,
  f,
  INVIS_SCHEMA,
  type InvisInstallResult,
  invisDirectoryLayout,
} from '../../src/index';
import { adminClient, dcInfo, ldapsearch, uniq } from './helpers';

const dc = dcInfo();
const ad = adminClient();
const layout = invisDirectoryLayout(dc.baseDN);
let first: InvisInstallResult;
beforeAll(async () => {
  first = await ad.invis.install();
}, 240_000);
afterAll(() => ad.close());

describe('invis schema and tree', () => {
  it('installs every attribute and class with the original OIDs and GUIDs, then is idempotent', async () => {
    const total = INVIS_SCHEMA.attributes.length + INVIS_SCHEMA.classes.length;
    expect((first.schema?.added.length ?? 0) + (first.schema?.present.length ?? 0)).toBe(total);
    const again = await ad.invis.install();
    expect(again.schema?.added).toEqual([]);
    expect(again.schema?.present).toHaveLength(total);
    expect(again.containers).toEqual([]);
    const root = await ad.rootDse();
    const schemaDN = root.get('schemaNamingContext') as string;
    const host = await ad.get(childDn(schemaDN, 'iscDhcpHost'), ['governsID', 'schemaIDGUID']);
    expect(host?.get('governsID')).toBe('2.16.840.1.113719.1.203.6.6');
    expect(host?.getBuffer('schemaIDGUID')?.toString('base64')).toBe('dE6STVdIpyf4ap1CVQ4OwQ==');
    const ldif = await ldapsearch(schemaDN, '(lDAPDisplayName=iPortEntryURL)', ['attributeID'], 'one');
    expect(ldif).toContain('attributeID: 1.3.6.1.4.1.25601.1.3.1.1.3');
  });

  it('creates the CN=invis-Server tree of the original', async () => {
    for (const dn of [
      layout.root,
      layout.dhcp,
      layout.portal,
      layout.mailProviders,
      layout.additionalUserInformation,
      layout.sudoRules,
      layout.internalAddressBook,
    ])
      expect(await ad.exists(dn), dn).toBe(true);
  });
});

describe('typed invis objects', () => {
  it('DHCP: service, subnet and host round-trip and look like the original LDIF to ldapsearch', async () => {
    const svc = await ad.objects.put(DHCP_SERVICE, layout.dhcpConfig, {
      statements: ['ddns-update-style interim', 'authoritative', 'default-lease-time 86400'],
      options: ['domain-name "invis.test"', 'routers 192.168.220.10'],
    });
    expect(svc.statements).toContain('authoritative');
    const subnetDn = childDn(layout.dhcpConfig, '192.168.220.0');
    const subnet = await ad.objects.put(DHCP_SUBNET, subnetDn, {
      netMask: 24,
      ranges: ['192.168.220.200 192.168.220.220'],
    });
    expect(subnet).toMatchObject({ cn: '192.168.220.0', netMask: 24, ranges: ['192.168.220.200 192.168.220.220'] });
    const hostName = `pc-${uniq('')}`;
    const hostDn = childDn(layout.dhcpConfig, hostName);
    const host = await ad.objects.create(DHCP_HOST, hostDn, {
      hwAddress: 'ethernet 52:54:00:12:34:56',
      statements: ['fixed-address 192.168.220.120'],
      comments: 'Büro 1',
    });
    expect(host).toMatchObject({ cn: hostName, hwAddress: 'ethernet 52:54:00:12:34:56', comments: 'Büro 1' });
    const ldif = await ldapsearch(
      hostDn,
      '(objectClass=iscDhcpHost)',
      ['iscDhcpHWAddress', 'iscDhcpStatements'],
      'base',
    );
    expect(ldif).toContain('iscDhcpHWAddress: ethernet 52:54:00:12:34:56');
    expect(ldif).toContain('iscDhcpStatements: fixed-address 192.168.220.120');
    const updated = await ad.objects.update(DHCP_HOST, hostDn, {
      comments: undefined,
      statements: ['fixed-address 192.168.220.121'],
    });
    expect(updated.comments).toBeUndefined();
    expect(updated.statements).toEqual(['fixed-address 192.168.220.121']);
    const hosts = await ad.objects.list(DHCP_HOST, layout.dhcpConfig, { filter: f.eq('cn', hostName) });
    expect(hosts).toHaveLength(1);
    await expect(
      ad.objects.create(DHCP_SUBNET, childDn(layout.dhcpConfig, '10.0.0.0'), {} as never),
    ).rejects.toMatchObject({
      code: 'AD_INVALID_INPUT',
    });
    await expect(ad.objects.get(DHCP_SUBNET, hostDn)).rejects.toMatchObject({ code: 'AD_SCHEMA_VIOLATION' });
    await ad.objects.delete(hostDn);
    expect(await ad.objects.get(DHCP_HOST, hostDn)).toBeUndefined();
  });

  it('portal entries: put, list, toggle active (swpestat), delete', async () => {
    const cn = `Test-${uniq('')}`;
    const e = await ad.invis.portal.put(cn, {
      name: cn,
      url: '[servername]/test',
      ssl: true,
      description: '<b>Test</b> "Eintrag" & mehr',
      active: false,
      position: 'Lokal',
      priv: 'user',
      button: 'Test',
    });
    expect(e).toMatchObject({ ssl: true, active: false, description: '<b>Test</b> "Eintrag" & mehr' });
    expect((await ad.invis.portal.setActive(cn, true)).active).toBe(true);
    const ldif = await ldapsearch(layout.portal, `(cn=${cn})`, ['iPortEntryActive', 'iPortEntrySSL'], 'one');
    expect(ldif).toContain('iPortEntryActive: TRUE');
    expect((await ad.invis.portal.list()).map((p) => p.cn)).toContain(cn);
    await ad.invis.portal.delete(cn);
    expect(await ad.invis.portal.get(cn)).toBeUndefined();
  });

  it('CorNAz mail objects per user: fetch accounts and local recipient', async () => {
    const sam = uniq('mu');
    await ad.users.create({ sAMAccountName: sam, password: 'Us3r!Pass-2026', type: 'mail' });
    try {
      const acc = await ad.invis.mail.putFetchAccount(sam, {
        extAddress: 'jane@example.org',
        server: 'imap.example.org',
        proto: 'imap',
        userName: 'jane',
        password: 'secret, with "quotes"',
        localAddress: `${sam}@invis.test`,
        fetchOpts: ['here', 'ssl', 'fetchall'],
      });
      expect(acc.dn).toBe(childDn(layout.userInfo(sam), 'jane@example.org'));
      expect(acc.fetchOpts).toEqual(['here', 'ssl', 'fetchall']);
      await ad.invis.mail.putLocalRecipient(sam, {
        localAddress: `${sam}@invis.test`,
        mainAddress: 'jane@example.org',
      });
      expect((await ad.invis.mail.localRecipient(sam))?.mainAddress).toBe('jane@example.org');
      expect(await ad.invis.mail.fetchAccounts(sam)).toHaveLength(1);
      await ad.invis.mail.deleteFetchAccount(sam, 'jane@example.org');
      expect(await ad.invis.mail.fetchAccounts(sam)).toHaveLength(0);
      await ad.invis.mail.putProvider(`prov-${sam}`, {
        vendor: 'Example',
        imap: 'imap.example.org',
        imapSsl: true,
        smtpPort: 587,
      });
      expect((await ad.invis.mail.providers()).find((p) => p.cn === `prov-${sam}`)).toMatchObject({
        imapSsl: true,
        smtpPort: 587,
      });
      await ad.objects.delete(childDn(layout.mailProviders, `prov-${sam}`));
    } finally {
      await ad.invis.mail.deleteUser(sam);
      await ad.users.delete(sam);
    }
    expect(await ad.exists(layout.userInfo(sam))).toBe(false);
  });

  it('other packages can define their own typed objects', async () => {
    const note = defineObjectType<{ identifier: string; text: string }>({
      name: 'infoEntry',
      objectClass: ['top', 'infoEntry'],
      fields: {
        identifier: { attr: 'infoIdentifier', kind: 'string', required: true },
        text: { attr: 'infoText', kind: 'string', required: true },
      },
    });
    const dn = childDn(layout.informationen, `note-${uniq('')}`);
    const n = await ad.objects.create(note, dn, { identifier: 'x', text: 'Hallo' });
    expect(n.text).toBe('Hallo');
    await ad.objects.delete(dn);
  });
});

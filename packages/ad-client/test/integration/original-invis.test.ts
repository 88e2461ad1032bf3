// An existing invis server: a DC prepared the way the original's setup prepares it, holding
// objects in the shapes its portal and scripts write (testbed `prepareOriginalInvis`). For each
// kind: what the original wrote reads completely; what we write is found and understood by the
// original's own LDAP filters and classification (copied below as data); a read → write round
// trip changes nothing the original uses.
import { type OriginalInvis, prepareOriginalInvis, type SambaDc, startSambaDc } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AdClient, type AdEntry, createAdClient, INVIS_SCHEMA, isAdError, parseFilter } from '../../src/index';

let dc: SambaDc;
let orig: OriginalInvis;
let ad: AdClient;
let service: AdClient;

// ---- the original's filters and classification, as data ------------------------------------
/** `mmall`: a computer counts as done when this finds it. */
const MMALL_FILTER = (sam: string): string => `(&(samaccountname=${sam})(objectclass=posixAccount))`;
/** adLDAP `user()->all()` (what the portal's user list iterates). */
const ADLDAP_USERS = '(&(objectClass=user)(samaccounttype=805306368)(objectCategory=person)(cn=*))';
/** adLDAP `group()->search()` as `group()->all()` calls it (no sAMAccountType restriction). */
const ADLDAP_GROUPS = '(&(objectCategory=group)(cn=*))';
/** The attributes `userList()` / `groupList()` of adajax.php read. */
const ORIGINAL_USER_ATTRS = [
  'primaryGroupID',
  'gidNumber',
  'uidNumber',
  'loginShell',
  'unixHomeDirectory',
  'zarafaAccount',
  'zarafaAdmin',
  'memberOf',
  'cn',
  'sAMAccountName',
  'userPrincipalName',
  'msSFU30Name',
  'msSFU30NisDomain',
  'objectClass',
];

/** adajax.php `userList()`: the flag sum and its switch, as the original computes a user's type. */
function originalUserType(e: AdEntry): number {
  const inGroup = (cn: string): boolean =>
    e.getAll('memberOf').some((m) => m.toLowerCase().startsWith(`cn=${cn.toLowerCase()},`));
  const pgid = e.get('primaryGroupID');
  const gid = e.get('gidNumber');
  let v = 0;
  if (pgid === '514') v |= 1;
  if (pgid === '513') v |= 4;
  if (pgid === '512' || inGroup('Domain Admins')) v |= 32;
  if (gid === '9500' || gid === '600' || inGroup('maildummies')) v |= 2;
  if (e.get('loginShell') === '/bin/bash') v |= 8;
  if (e.get('zarafaAccount') === '1') v |= 16;
  if (inGroup('Enterprise Admins')) v |= 64;
  const table: Record<number, number> = {
    1: 0,
    2: 1,
    18: 1,
    20: 1,
    22: 1,
    4: 2,
    12: 3,
    28: 4,
    36: 5,
    40: 6,
    44: 6,
    56: 7,
    60: 7,
    64: 8,
    80: 8,
    96: 8,
    112: 8,
    100: 8,
    116: 8,
  };
  return table[v] ?? 0;
}

/** adajax.php `groupList()`: 0 Team, 1 Team+Gruppenmail, 2 Mail-Verteiler, 3 Sonstige. */
function originalGroupType(e: AdEntry): number | undefined {
  let v = 0;
  // dechex(groupType) == "2": only a global distribution group
  if (e.get('groupType') === '2') v += 1;
  if (e.get('zarafaAccount') === '1') v += 2;
  if (e.has('gidNumber')) v += 4;
  return ({ 4: 0, 6: 1, 3: 2, 0: 3 } as Record<number, number>)[v];
}

const raw = async (dn: string, attrs = ORIGINAL_USER_ATTRS): Promise<AdEntry> => {
  const e = await ad.get(dn, attrs);
  if (!e) throw new Error(`missing ${dn}`);
  return e;
};
const snapshot = (e: AdEntry, attrs = ORIGINAL_USER_ATTRS): Record<string, string[]> =>
  Object.fromEntries(attrs.map((a) => [a, [...e.getAll(a)].sort()]));

beforeAll(async () => {
  // the original's smb.conf does not allow schema updates
  dc = await startSambaDc();
  orig = await prepareOriginalInvis(dc.info, { schema: INVIS_SCHEMA });
  const options = { url: dc.info.ldapsUrl, ca: dc.info.caPem };
  ad = createAdClient({ ...options, bindDN: dc.info.adminDN, password: dc.info.adminPassword });
  service = createAdClient({ ...options, upn: `ldap.admin@${orig.dnsDomain}`, password: orig.userPassword });
}, 240_000);

afterAll(async () => {
  await ad?.close();
  await service?.close();
  await dc?.stop();
});

describe('schema and tree of an existing invis server', () => {
  it('install() needs no schema change: the missing sudoRole is reported, not forced', async () => {
    for (const client of [service, ad]) {
      const result = await client.invis.install();
      expect(result.schema?.added).toEqual([]);
      expect(result.schema?.missing).toEqual(['sudoRole']);
      expect(result.containers).toEqual([]);
    }
  });

  it('the DHCP classes of the original (objectClassCategory 0) count as present, not as conflicts', async () => {
    const result = await ad.invis.install();
    expect(result.schema?.present).toEqual(expect.arrayContaining(['iscDhcpHost', 'iscDhcpService', 'iPortEntry']));
    expect(result.schema?.present).toHaveLength(INVIS_SCHEMA.attributes.length + INVIS_SCHEMA.classes.length - 1);
  });

  it('adding the missing set is the admin asking for a schema change, and the DC says no', async () => {
    const e = await ad.invis.install({ sets: ['sudo'] }).catch((x: unknown) => x);
    expect(isAdError(e, 'AD_SCHEMA_UPDATE_DISABLED')).toBe(true);
  });

  it('the sudo set carries the schemaIDGUIDs of the original', () => {
    const guid = (n: string): string | undefined =>
      [...INVIS_SCHEMA.attributes, ...INVIS_SCHEMA.classes].find((d) => d.name === n)?.guid;
    expect(guid('sudoRole')).toBe('SQn432lnZ0+ukbdh3+gN3w==');
    expect(guid('sudoUser')).toBe('JrGcaKpnoU+0s+HgeFjAbg==');
    expect(guid('sudoOrder')).toBe('0J8yrRfY4RGIYBUpYYhwmw==');
  });
});

describe('users', () => {
  it('reads all seven original account types', async () => {
    const list = await ad.users.list();
    for (const u of Object.values(orig.users)) {
      const found = list.find((x) => x.sAMAccountName === u.sAMAccountName);
      expect(found, u.sAMAccountName).toBeDefined();
      expect(found?.invisType, u.sAMAccountName).toBe(u.type);
      expect(originalUserType(await raw(u.dn)), u.sAMAccountName).toBe(u.type);
      expect(found?.cn).toBe(`${u.sAMAccountName}@${orig.dnsDomain}`);
    }
    const types = Object.fromEntries(list.map((u) => [u.sAMAccountName, u.type]));
    expect(types).toMatchObject({
      'o.gast': 'guest',
      'o.mail': 'mail',
      'o.user': 'user',
      'o.gw': 'user',
      'o.admin': 'admin',
      'o.gwadmin': 'admin',
      'o.master': 'admin',
    });
  });

  it('a profile update keeps every type and changes nothing else the original uses', async () => {
    for (const u of Object.values(orig.users)) {
      const before = snapshot(await raw(u.dn));
      const got = await ad.users.get(u.sAMAccountName);
      await ad.users.update(u.sAMAccountName, { description: got?.description ?? 'geändert', telephoneNumber: '123' });
      const after = await raw(u.dn);
      expect(snapshot(after), u.sAMAccountName).toEqual(before);
      expect(originalUserType(after)).toBe(u.type);
    }
  });

  it('new users are named like the server names its users (CN=<uid>@<domain>) and typed as the original types them', async () => {
    const expected = { guest: 0, mail: 1, user: 3, admin: 6 } as const;
    for (const [type, code] of Object.entries(expected) as [keyof typeof expected, number][]) {
      const sam = `n.${type}`;
      const u = await ad.users.create({
        sAMAccountName: sam,
        password: orig.userPassword,
        type,
        givenName: 'Neu',
        sn: type,
      });
      expect(u.cn).toBe(`${sam}@${orig.dnsDomain}`);
      expect(u.invisType).toBe(code);
      const e = await raw(u.dn);
      expect(originalUserType(e), sam).toBe(code);
      const listed = await ad.search({ filter: parseFilter(ADLDAP_USERS), attributes: ['sAMAccountName'] });
      expect(listed.map((x) => x.get('sAMAccountName'))).toContain(sam);
    }
  });

  it('new guests get no RFC2307 attributes, as the original', async () => {
    const g = await ad.users.create({ sAMAccountName: 'n.gast2', password: orig.userPassword, type: 'guest' });
    const e = await raw(g.dn);
    for (const a of ['uidNumber', 'gidNumber', 'loginShell', 'unixHomeDirectory', 'msSFU30Name', 'msSFU30NisDomain'])
      expect(e.has(a), a).toBe(false);
    expect(snapshot(e, ['primaryGroupID']).primaryGroupID).toEqual(['514']);
  });
});

describe('groups', () => {
  it('reads the three original group types', async () => {
    for (const g of Object.values(orig.groups)) {
      const got = await ad.groups.get(g.name);
      expect(got?.dn).toBe(g.dn);
      expect(originalGroupType(await raw(g.dn, ['groupType', 'zarafaAccount', 'gidNumber']))).toBe(g.type);
      if (g.type > 0) expect(got?.mail).toBe(`${g.name}@${orig.dnsDomain}`);
      expect(got?.kind).toBe(g.type === 2 ? 'distribution' : 'security');
    }
  });

  it('new mail groups are shown as mail groups by the original', async () => {
    const attrs = ['groupType', 'zarafaAccount', 'gidNumber'];
    const dist = await ad.groups.create({
      name: 'n-verteiler',
      kind: 'distribution',
      mail: `n-verteiler@${orig.dnsDomain}`,
    });
    expect(originalGroupType(await raw(dist.dn, attrs))).toBe(2);
    const team = await ad.groups.create({ name: 'n-teammail', mail: `n-teammail@${orig.dnsDomain}` });
    expect(originalGroupType(await raw(team.dn, attrs))).toBe(1);
    const plain = await ad.groups.create({ name: 'n-team' });
    expect(originalGroupType(await raw(plain.dn, attrs))).toBe(0);
    const found = await ad.search({ filter: parseFilter(ADLDAP_GROUPS), attributes: ['sAMAccountName'] });
    expect(found.map((x) => x.get('sAMAccountName'))).toEqual(expect.arrayContaining(['n-verteiler', 'n-teammail']));
  });

  it('an update of an original group keeps its type', async () => {
    for (const g of Object.values(orig.groups)) {
      const attrs = ['groupType', 'zarafaAccount', 'gidNumber', 'mail', 'msSFU30Name', 'member'];
      const before = snapshot(await raw(g.dn, attrs), attrs);
      const got = await ad.groups.get(g.name);
      await ad.groups.update(g.name, { description: got?.description ?? '' });
      expect(snapshot(await raw(g.dn, attrs), attrs)).toEqual(before);
    }
  });
});

describe('computers', () => {
  it('reads the computer mmall extended and the one it did not', async () => {
    const posix = await ad.computers.get(orig.computers.posix.name);
    expect(posix?.uidNumber).toBe(posix?.rid);
    expect(posix?.gidNumber).toBe(515);
    const pending = await ad.computers.list({ withoutPosix: true });
    expect(pending.map((c) => c.name)).toEqual([orig.computers.plain.name]);
  });

  it('computers we extend or create are found by mmall as done (objectClass posixAccount)', async () => {
    expect(await ad.computers.addPosixToAll()).toEqual([orig.computers.plain.name]);
    const created = await ad.computers.create({ name: 'PCNEU' });
    for (const name of [orig.computers.plain.name, created.name, orig.computers.posix.name]) {
      const hits = await ad.search({ filter: parseFilter(MMALL_FILTER(`${name}$`)), attributes: ['uidNumber'] });
      expect(hits, name).toHaveLength(1);
    }
    expect(await ad.computers.list({ withoutPosix: true })).toEqual([]);
  });
});

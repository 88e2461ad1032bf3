// Groups, nested membership, computers and OUs against the real DC.
import { afterAll, describe, expect, it } from 'vitest';
import { childDn } from '../../src/index';
import { adminClient, dcInfo, ldapsearch, uniq } from './helpers';

const dc = dcInfo();
const ad = adminClient();
const PW = 'Us3r!Pass-2026';
const users: string[] = [];
const groups: string[] = [];
afterAll(async () => {
  for (const g of groups.reverse()) await ad.groups.delete(g).catch(() => undefined);
  for (const u of users) await ad.users.delete(u).catch(() => undefined);
  await ad.close();
});
const user = async (): Promise<string> => {
  const n = uniq('gu');
  users.push(n);
  await ad.users.create({ sAMAccountName: n, password: PW });
  return n;
};
const gname = (): string => {
  const n = uniq('grp');
  groups.push(n);
  return n;
};

describe('groups', () => {
  it('creates security and distribution groups; gid = RID + 20000 for security groups', async () => {
    const sec = await ad.groups.create({ name: gname(), description: 'Team' });
    expect(sec).toMatchObject({ kind: 'security', scope: 'global', groupType: -2147483646 });
    expect(sec.gidNumber).toBe((sec.rid ?? 0) + 20000);
    const ldif = await ldapsearch(dc.baseDN, `(sAMAccountName=${sec.name})`, ['gidNumber']);
    expect(ldif).toContain(`gidNumber: ${sec.gidNumber}`);
    const dist = await ad.groups.create({ name: gname(), kind: 'distribution', mail: 'team@invis.test' });
    expect(dist).toMatchObject({ kind: 'distribution', groupType: 2, mail: 'team@invis.test' });
    expect(dist.gidNumber).toBeUndefined();
    const uni = await ad.groups.create({ name: gname(), scope: 'universal' });
    expect(uni.scope).toBe('universal');
    const list = await ad.groups.list({ kind: 'distribution' });
    expect(list.map((g) => g.name)).toContain(dist.name);
    expect(list.map((g) => g.name)).not.toContain(sec.name);
  });

  it('membership add/remove/set is diff-based and idempotent', async () => {
    const [a, b, c] = [await user(), await user(), await user()];
    const g = gname();
    await ad.groups.create({ name: g, members: [a] });
    await ad.groups.addMembers(g, [a, b]); // a already there: skipped, no AD_VALUE_EXISTS
    expect((await ad.groups.members(g)).length).toBe(2);
    const diff = await ad.groups.setMembers(g, [b, c]);
    expect(diff.added).toHaveLength(1);
    expect(diff.removed).toHaveLength(1);
    const members = await ad.groups.members(g);
    expect(members.map((m) => m.split(',')[0])).toEqual(expect.arrayContaining([expect.stringMatching(/^CN=/)]));
    expect((await ad.users.get(b))?.memberOf.some((m) => m.includes(g))).toBe(true);
    expect((await ad.users.get(a))?.memberOf.some((m) => m.includes(g))).toBe(false);
    await ad.groups.removeMembers(g, [b, a]);
    expect(await ad.groups.members(g)).toHaveLength(1);
    await expect(ad.groups.addMembers(g, [`nobody-${uniq('x')}`])).rejects.toMatchObject({ code: 'AD_NO_SUCH_OBJECT' });
  });

  it('resolves nested membership (in-chain) and includes the primary group', async () => {
    const u = await user();
    const inner = gname();
    const outer = gname();
    await ad.groups.create({ name: inner, members: [u] });
    await ad.groups.create({ name: outer, members: [inner] });
    const udn = (await ad.users.get(u))?.dn as string;
    const direct = await ad.groups.groupsOf(udn);
    expect(direct.map((g) => g.name)).toEqual([inner]);
    const all = (await ad.groups.groupsOf(udn, { transitive: true })).map((g) => g.name);
    expect(all).toEqual(expect.arrayContaining([inner, outer, 'Domain Users']));
    const trans = await ad.groups.members(outer, { transitive: true });
    expect(trans).toContain(udn);
  });

  it('update, rename, delete; built-in and invis system groups are protected', async () => {
    const g = gname();
    await ad.groups.create({ name: g });
    expect((await ad.groups.update(g, { description: 'neu' })).description).toBe('neu');
    const g2 = gname();
    const renamed = await ad.groups.rename(g, g2);
    expect(renamed.name).toBe(g2);
    expect(renamed.dn.startsWith(`CN=${g2},`)).toBe(true);
    await ad.groups.delete(g2);
    expect(await ad.groups.get(g2)).toBeUndefined();
    for (const builtin of ['Domain Users', 'Domain Admins', 'Administrators'])
      await expect(ad.groups.delete(builtin)).rejects.toMatchObject({ code: 'AD_PROTECTED' });
    await ad.groups.ensureMailGroup();
    await expect(ad.groups.delete('maildummies')).rejects.toMatchObject({ code: 'AD_PROTECTED' });
  });
});

describe('computers and OUs', () => {
  it('creates a computer with uid = RID, gid 515, /bin/false, /dev/null and the nfs/ SPN', async () => {
    const name = `pc${uniq('').slice(0, 8)}`;
    const c = await ad.computers.create({ name });
    try {
      expect(c).toMatchObject({ name: name.toUpperCase(), sAMAccountName: `${name.toUpperCase()}$`, gidNumber: 515 });
      expect(c.uidNumber).toBe(c.rid);
      expect(c.servicePrincipalName).toContain(`nfs/${name}.invis.test`);
      const ldif = await ldapsearch(dc.baseDN, `(sAMAccountName=${name.toUpperCase()}$)`, [
        'loginShell',
        'unixHomeDirectory',
      ]);
      expect(ldif).toContain('loginShell: /bin/false');
      expect(ldif).toContain('unixHomeDirectory: /dev/null');
      expect((await ad.computers.list()).map((x) => x.name)).toContain(name.toUpperCase());
    } finally {
      await ad.computers.delete(name);
    }
    expect(await ad.computers.get(name)).toBeUndefined();
    await expect(ad.computers.delete('DC1')).rejects.toMatchObject({ code: 'AD_PROTECTED' });
    await expect(ad.computers.create({ name: 'bad_name!' })).rejects.toMatchObject({ code: 'AD_INVALID_INPUT' });
  });

  it('addPosixToAll gives computers without RFC2307 attributes their ids (mmall)', async () => {
    const name = `pc${uniq('').slice(0, 8)}`;
    const dn = childDn(`CN=Computers,${dc.baseDN}`, name.toUpperCase());
    await ad.add(dn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user', 'computer'],
      sAMAccountName: `${name.toUpperCase()}$`,
      userAccountControl: 4096,
    });
    try {
      const changed = await ad.computers.addPosixToAll();
      expect(changed).toContain(name.toUpperCase());
      const c = await ad.computers.get(name);
      expect(c?.uidNumber).toBe(c?.rid);
      expect(c?.gidNumber).toBe(515);
    } finally {
      await ad.delete(dn);
    }
  });

  it('creates, moves, renames and deletes OUs', async () => {
    const a = await ad.ous.create({ name: `A ${uniq('')}`, description: 'Standort' });
    const b = await ad.ous.create({ name: `B ${uniq('')}` });
    try {
      const moved = await ad.ous.move(b.dn, a.dn);
      expect(moved.endsWith(a.dn)).toBe(true);
      const renamed = await ad.ous.rename(moved, 'Filiale, Nord');
      expect(renamed.startsWith('OU=Filiale\\, Nord,')).toBe(true);
      expect((await ad.ous.list({ base: a.dn })).map((o) => o.name)).toContain('Filiale, Nord');
      await expect(ad.ous.delete(a.dn)).rejects.toMatchObject({ code: 'AD_NOT_LEAF' });
    } finally {
      await ad.ous.delete(a.dn, { recursive: true });
      await ad.ous.delete(b.dn).catch(() => undefined);
    }
    expect(await ad.exists(a.dn)).toBe(false);
  });
});

// Users against the real DC, cross-checked with real clients: kinit (Kerberos) and smbclient
// (NTLM over SMB) log on with what we created; ldapsearch and ldbsearch see the RFC2307 data.
import { fixedClock } from '@invis/host';
import { Client } from 'ldapts';
import { afterAll, describe, expect, it } from 'vitest';
import { AdError, f, isAdError } from '../../src/index';
import { adminClient, dcInfo, kinit, ldapsearch, ldbsearch, smbclientLogon, uniq } from './helpers';

const dc = dcInfo();
const ad = adminClient();
const PW = 'Us3r!Pass-2026';
const made: string[] = [];
afterAll(async () => {
  for (const u of made) await ad.users.delete(u).catch(() => undefined);
  await ad.close();
});
const name = (p: string): string => {
  const n = uniq(p);
  made.push(n);
  return n;
};

describe('users', () => {
  it('creates a user with password, profile and RFC2307 attributes (uid = RID + 20000); real clients log on', async () => {
    const sam = name('u');
    const u = await ad.users.create({
      sAMAccountName: sam,
      password: PW,
      givenName: 'Jörg',
      sn: 'Müller, Jr.',
      description: 'Werkstatt',
      company: 'Tischlerei',
      department: 'Montage',
      office: 'Halle 2',
      telephoneNumber: '+49 30 1234',
    });
    expect(u).toMatchObject({ sAMAccountName: sam, type: 'user', enabled: true, loginShell: '/bin/bash' });
    expect(u.cn).toBe('Jörg Müller, Jr.');
    expect(u.userPrincipalName).toBe(`${sam}@invis.test`);
    expect(u.mail).toBe(`${sam}@invis.test`);
    expect(u.uidNumber).toBe((u.rid ?? 0) + 20000);
    expect(u.gidNumber).toBe(513 + 20000); // Domain Users gets its gid on first use
    expect(u.unixHomeDirectory).toBe(`/home/${sam}`);
    // independent readers
    const ldif = await ldapsearch(dc.baseDN, `(sAMAccountName=${sam})`, [
      'uidNumber',
      'gidNumber',
      'loginShell',
      'unixHomeDirectory',
    ]);
    expect(ldif).toContain(`uidNumber: ${u.uidNumber}`);
    expect(ldif).toContain('gidNumber: 20513');
    expect(ldif).toContain('loginShell: /bin/bash');
    const ldb = await ldbsearch(`(sAMAccountName=${sam})`, ['uidNumber', 'msSFU30NisDomain']);
    expect(ldb).toContain(`uidNumber: ${u.uidNumber}`);
    expect(ldb).toContain('msSFU30NisDomain: invis');
    // real logons
    const k = await kinit(`${sam}@INVIS.TEST`, PW);
    expect(k.ok, k.output).toBe(true);
    expect((await kinit(`${sam}@INVIS.TEST`, 'wrong-Pass-1')).ok).toBe(false);
    const smb = await smbclientLogon(sam, PW);
    expect(smb.ok, smb.output).toBe(true);
  });

  it('invis account types: guest, mail-only (maildummies, gid 9500), admin', async () => {
    const guest = await ad.users.create({ sAMAccountName: name('g'), password: PW, type: 'guest' });
    expect(guest.type).toBe('guest');
    expect(guest.primaryGroupId).toBe(514);
    expect(guest.memberOf.some((m) => m.startsWith('CN=Domain Users,'))).toBe(false);
    // as the original: guests have no RFC2307 attributes (no Unix login)
    expect(guest.gidNumber).toBeUndefined();
    expect(guest.uidNumber).toBeUndefined();
    expect(guest.loginShell).toBeUndefined();

    const mail = await ad.users.create({
      sAMAccountName: name('m'),
      password: PW,
      type: 'mail',
      mail: 'jd@example.org',
    });
    expect(mail.type).toBe('mail');
    expect(mail.gidNumber).toBe(9500);
    expect(mail.loginShell).toBe('/bin/false');
    expect(mail.mail).toBe('jd@example.org');
    expect(mail.otherMailbox).toEqual([`${mail.sAMAccountName}@invis.test`]);
    const maildummies = await ad.groups.get('maildummies');
    expect(maildummies?.gidNumber).toBe(9500);
    expect(mail.primaryGroupId).toBe(maildummies?.rid); // primary group: implicit membership
    expect(mail.memberOf.some((m) => m.startsWith('CN=Domain Users,'))).toBe(false);

    const admin = await ad.users.create({ sAMAccountName: name('a'), password: PW, type: 'admin' });
    expect(admin.type).toBe('admin');
    expect(admin.primaryGroupId).toBe(512);

    const listed = await ad.users.list({ types: ['guest', 'mail'] });
    const names = listed.map((u) => u.sAMAccountName);
    expect(names).toContain(guest.sAMAccountName);
    expect(names).toContain(mail.sAMAccountName);
    expect(names).not.toContain(admin.sAMAccountName);
  });

  it('two creates racing get distinct ids = their RID + 20000', async () => {
    const users = await Promise.all(
      Array.from({ length: 6 }, () => ad.users.create({ sAMAccountName: name('r'), password: PW })),
    );
    const uids = users.map((u) => u.uidNumber);
    expect(new Set(uids).size).toBe(6);
    for (const u of users) expect(u.uidNumber).toBe((u.rid ?? 0) + 20000);
  });

  it('a hand-assigned id already holding RID + 20000 makes the create allocate another unique uid', async () => {
    const a = await ad.users.create({ sAMAccountName: name('ha'), password: PW });
    const x = await ad.users.create({ sAMAccountName: name('hx'), password: PW });
    const next = (x.rid ?? 0) + 1 + 20000; // what the next account's RID will give
    await ad.modify(a.dn, { operation: 'replace', attribute: 'uidNumber', values: next }); // "by hand"
    const c = await ad.users.create({ sAMAccountName: name('hc'), password: PW });
    expect(c.rid).toBe((x.rid ?? 0) + 1);
    expect(c.uidNumber).not.toBe(next);
    const holders = await ad.search({ filter: f.eq('uidNumber', c.uidNumber ?? -1), attributes: ['1.1'] });
    expect(holders.map((h) => h.dn)).toEqual([c.dn]);
  });

  it('update changes only whitelisted fields; rename changes logon name, UPN and CN', async () => {
    const sam = name('up');
    await ad.users.create({ sAMAccountName: sam, password: PW, displayName: 'Alt' });
    const u = await ad.users.update(sam, { displayName: 'Neu', telephoneNumber: '42', description: '' });
    expect(u.displayName).toBe('Neu');
    expect(u.telephoneNumber).toBe('42');
    expect(u.description).toBeUndefined();
    // mass assignment is not possible: unknown keys are ignored by the type and not written
    await ad.users.update(sam, { userAccountControl: 66048 } as unknown as { displayName: string });
    expect((await ad.users.get(sam))?.userAccountControl).toBe(512);

    const sam2 = name('up2');
    const r = await ad.users.rename(sam, { sAMAccountName: sam2, cn: 'Neuer Name' });
    expect(r.sAMAccountName).toBe(sam2);
    expect(r.userPrincipalName).toBe(`${sam2}@invis.test`);
    expect(r.cn).toBe('Neuer Name');
    expect(await ad.users.get(sam)).toBeUndefined();
    expect((await kinit(`${sam2}@INVIS.TEST`, PW)).ok).toBe(true);
  });

  it('enable/disable, admin reset, own change, must-change', async () => {
    const sam = name('pw');
    await ad.users.create({ sAMAccountName: sam, password: PW });
    await ad.users.disable(sam);
    expect((await ad.users.get(sam))?.enabled).toBe(false);
    expect((await kinit(`${sam}@INVIS.TEST`, PW)).ok).toBe(false);
    await ad.users.enable(sam);
    expect((await ad.users.get(sam))?.enabled).toBe(true);

    await ad.users.setPassword(sam, 'Reset!Pass-2026');
    expect((await kinit(`${sam}@INVIS.TEST`, 'Reset!Pass-2026')).ok).toBe(true);

    await ad.users.changePassword(sam, 'Reset!Pass-2026', 'Own!Change-2026');
    expect((await kinit(`${sam}@INVIS.TEST`, 'Own!Change-2026')).ok).toBe(true);
    await expect(ad.users.changePassword(sam, 'not-the-old-1', 'Other!Pass-2026')).rejects.toMatchObject({
      code: 'AD_INVALID_CREDENTIALS',
    });

    await ad.users.setPassword(sam, 'Must!Change-2026', { mustChange: true });
    expect((await ad.users.passwordExpiry(sam)).state).toBe('mustChange');
  });

  it('a password that violates the policy → AD_PASSWORD_POLICY and no account is left behind', async () => {
    const sam = name('weak');
    const err = await ad.users.create({ sAMAccountName: sam, password: 'short' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AdError);
    expect(err).toMatchObject({ code: 'AD_PASSWORD_POLICY', details: { ldapCode: 19 }, adSubCode: '52d' });
    expect(await ad.users.get(sam)).toBeUndefined();
    // reset and own change give the same code
    const ok = name('weak2');
    await ad.users.create({ sAMAccountName: ok, password: PW });
    await expect(ad.users.setPassword(ok, 'abc')).rejects.toMatchObject({ code: 'AD_PASSWORD_POLICY' });
    await expect(ad.users.changePassword(ok, PW, 'abcdefgh')).rejects.toMatchObject({ code: 'AD_PASSWORD_POLICY' });
  });

  it('a create that fails after the account exists removes it (no partial object)', async () => {
    const sam = name('part');
    // parent missing: the first step fails, nothing is written
    await expect(
      ad.users.create({ sAMAccountName: sam, password: PW, parent: `OU=missing-${sam},${dc.baseDN}` }),
    ).rejects.toMatchObject({ code: 'AD_NO_SUCH_OBJECT' });
    expect(await ad.users.get(sam)).toBeUndefined();
    // the account exists, then the RFC2307 step fails (fault injected into the LDAP client
    // collaborator; the DC is real): the account must be removed again
    const bad = adminClient({
      clientFactory: (o) => {
        const c = new Client(o);
        const modify = c.modify.bind(c);
        c.modify = async (dn, changes, controls) => {
          const list = Array.isArray(changes) ? changes : [changes];
          if (list.some((ch) => ch.modification.type === 'uidNumber')) throw new Error('Socket error: injected');
          return modify(dn, changes, controls);
        };
        return c;
      },
    });
    try {
      const err = await bad.users.create({ sAMAccountName: sam, password: PW }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(AdError);
      expect(await ad.users.get(sam)).toBeUndefined();
      expect(await ldapsearch(dc.baseDN, `(sAMAccountName=${sam})`, ['dn'])).not.toMatch(/^dn: /m);
    } finally {
      await bad.close();
    }
    // a clashing CN: the add fails with AD_ENTRY_EXISTS, nothing new remains
    const first = name('dup');
    await ad.users.create({ sAMAccountName: first, password: PW, cn: `Same ${sam}` });
    await expect(ad.users.create({ sAMAccountName: sam, password: PW, cn: `Same ${sam}` })).rejects.toMatchObject({
      code: 'AD_ENTRY_EXISTS',
    });
    expect(await ad.users.get(sam)).toBeUndefined();
  });

  it('password expiry: never / days left / expired from pwdLastSet + maxPwdAge (clock injected)', async () => {
    const sam = name('exp');
    await ad.users.create({ sAMAccountName: sam, password: PW });
    expect((await ad.users.passwordExpiry(sam)).state).toBe('never'); // testbed: max age 0
    const before = await ad.policy.get();
    await ad.policy.update({ maxAgeMs: 42 * 86_400_000 });
    try {
      const in10days = adminClient({ clock: fixedClock(Date.now() + 10 * 86_400_000) });
      const e1 = await in10days.users.passwordExpiry(sam);
      expect(e1.state).toBe('valid');
      expect(e1.daysLeft).toBe(31);
      await in10days.close();
      const in50days = adminClient({ clock: fixedClock(Date.now() + 50 * 86_400_000) });
      expect((await in50days.users.passwordExpiry(sam)).state).toBe('expired');
      await in50days.close();
    } finally {
      await ad.policy.update({ maxAgeMs: before.maxAgeMs });
    }
  });

  it('delete removes the account; deleting again is a no-op; built-ins are protected', async () => {
    const sam = name('del');
    await ad.users.create({ sAMAccountName: sam, password: PW });
    await ad.users.delete(sam);
    expect(await ad.users.get(sam)).toBeUndefined();
    await expect(ad.users.delete(sam)).rejects.toMatchObject({ code: 'AD_NO_SUCH_OBJECT' });
    await expect(ad.users.delete('Administrator')).rejects.toMatchObject({ code: 'AD_PROTECTED' });
    await expect(ad.users.delete('krbtgt')).rejects.toSatisfy((e: unknown) =>
      isAdError(e, 'AD_PROTECTED', 'AD_NO_SUCH_OBJECT'),
    );
  });

  it('find by UPN and list with selectable criteria', async () => {
    const sam = name('f');
    await ad.users.create({ sAMAccountName: sam, password: PW, department: `dep-${sam}` });
    expect((await ad.users.find(`${sam}@invis.test`))?.sAMAccountName).toBe(sam);
    expect((await ad.users.find(sam))?.sAMAccountName).toBe(sam);
    const list = await ad.users.list({ filter: f.eq('department', `dep-${sam}`) });
    expect(list.map((u) => u.sAMAccountName)).toEqual([sam]);
    const slim = await ad.users.list({ filter: f.eq('department', `dep-${sam}`), attributes: ['mail'] });
    expect(slim[0]).toMatchObject({ sAMAccountName: sam, mail: `${sam}@invis.test`, type: 'user' });
    expect(slim[0]?.department).toBeUndefined();
  });
});

// The portal's REST API against the real Samba AD DC (ad-client underneath), over real HTTP.
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { f } from '@invis/ad-client';
import { DEMO_PASSWORD } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type ApiClient, apiClient, httpSend } from '../http-client';
import { INSIDE, OUTSIDE, startTestPortal, type TestPortal } from './harness';

let tp: TestPortal;
let admin: ApiClient;
const client = (headers: Record<string, string> = { 'x-forwarded-for': INSIDE }): ApiClient =>
  apiClient(httpSend(tp.url), headers);
const code = async (res: Response): Promise<string> => ((await res.json()) as { code: string }).code;

beforeAll(async () => {
  tp = await startTestPortal(inject('samba'));
  admin = client();
  expect((await admin.login('anna.schmidt', DEMO_PASSWORD)).status).toBe(200);
});
afterAll(() => tp?.close());

describe('login against the real DC', () => {
  it('knows admins, users, wrong passwords and unknown users', async () => {
    const me = (await (await admin.request('GET', '/api/session')).json()) as {
      user: { isAdmin: boolean; mobile: boolean };
    };
    expect(me.user).toMatchObject({ isAdmin: true, mobile: true });
    const bernd = client();
    expect((await bernd.login('bernd.mueller', DEMO_PASSWORD)).status).toBe(200);
    expect((await bernd.request('GET', '/api/users')).status).toBe(403);
    expect(await code(await client().login('bernd.mueller', 'wrong-Passw0rd'))).toBe('PORTAL_INVALID_CREDENTIALS');
    expect(await code(await client().login('nobody.here', 'wrong-Passw0rd'))).toBe('PORTAL_INVALID_CREDENTIALS');
  });
});

describe('user management', () => {
  const name = `it.${Date.now().toString(36)}`;
  const hostile = '<script>alert(1)</script> *)(objectClass=*) ../../etc/passwd';

  it('creates a user whose hostile description is stored verbatim, with RFC2307 ids', async () => {
    const res = await admin.request('POST', '/api/users', {
      username: name,
      givenName: 'Ida',
      surname: 'Test',
      password: 'Start!Passw0rt-1',
      accountType: 'user',
      description: hostile,
    });
    expect(res.status).toBe(201);
    expect(await res.json()).toMatchObject({
      username: name,
      description: hostile,
      enabled: true,
      accountType: 'user',
    });
    const [entry] = await tp.ad.search({
      filter: f.eq('sAMAccountName', name),
      attributes: ['description', 'uidNumber', 'gidNumber'],
    });
    expect(entry?.get('description')).toBe(hostile);
    expect(Number(entry?.get('uidNumber'))).toBeGreaterThan(21_000);
    expect(entry?.get('gidNumber')).toBe('20513');
    const found = (await (await admin.request('GET', `/api/users?search=${name}`)).json()) as { total: number };
    expect(found.total).toBe(1);
    const injection = (await (await admin.request('GET', `/api/users?search=${encodeURIComponent('*)(')}`)).json()) as {
      total: number;
    };
    expect(injection.total).toBe(0);
  });

  it('refuses a login while disabled and says so', async () => {
    expect((await admin.request('PUT', `/api/users/${name}/enabled`, { enabled: false })).status).toBe(204);
    expect(await code(await client().login(name, 'Start!Passw0rt-1'))).toBe('PORTAL_ACCOUNT_DISABLED');
    expect((await admin.request('PUT', `/api/users/${name}/enabled`, { enabled: true })).status).toBe(204);
    expect((await client().login(name, 'Start!Passw0rt-1')).status).toBe(200);
  });

  it('runs the expired-password flow after a reset with "must change"', async () => {
    expect(
      (await admin.request('POST', `/api/users/${name}/password`, { password: 'Reset!Passw0rt-2', mustChange: true }))
        .status,
    ).toBe(204);
    const user = client();
    expect(await code(await user.login(name, 'Reset!Passw0rt-2'))).toBe('PORTAL_PASSWORD_EXPIRED');
    const wrong = await user.request('POST', '/api/session/password', {
      username: name,
      oldPassword: 'nope-Passw0rd',
      newPassword: 'Own!Passw0rt-3',
    });
    expect(await code(wrong)).toBe('PORTAL_INVALID_CREDENTIALS');
    const weak = await user.request('POST', '/api/session/password', {
      username: name,
      oldPassword: 'Reset!Passw0rt-2',
      newPassword: 'a',
    });
    expect(await code(weak)).toBe('PORTAL_PASSWORD_REJECTED');
    const ok = await user.request('POST', '/api/session/password', {
      username: name,
      oldPassword: 'Reset!Passw0rt-2',
      newPassword: 'Own!Passw0rt-3',
    });
    expect(ok.status).toBe(204);
    expect((await client().login(name, 'Own!Passw0rt-3')).status).toBe(200);
  });

  it('edits profile fields and deletes the user, all in the audit log without passwords', async () => {
    const patched = await admin.request('PATCH', `/api/users/${name}`, { telephone: '+49 5251 0', description: '' });
    expect(await patched.json()).toMatchObject({ telephone: '+49 5251 0', description: '' });
    expect((await admin.request('DELETE', `/api/users/${name}`)).status).toBe(204);
    expect((await admin.request('GET', `/api/users/${name}`)).status).toBe(404);
    const audit = (await (await admin.request('GET', `/api/audit?search=${name}`)).json()) as {
      items: { action: string }[];
    };
    expect(audit.items.map((i) => i.action)).toEqual(
      expect.arrayContaining([
        'user.create',
        'user.disable',
        'user.enable',
        'user.password.reset',
        'user.update',
        'user.delete',
      ]),
    );
    expect(JSON.stringify(audit)).not.toMatch(/Passw0rt/);
  });
});

describe('account types', () => {
  it('creates guest, mail-only and admin accounts the invis way', async () => {
    const stamp = Date.now().toString(36);
    for (const type of ['guest', 'mail', 'admin'] as const) {
      const username = `${type}.${stamp}`;
      const res = await admin.request('POST', '/api/users', {
        username,
        givenName: 'T',
        surname: type,
        password: 'Type!Passw0rt-1',
        accountType: type,
      });
      expect(res.status, type).toBe(201);
      const user = (await res.json()) as { accountType: string; groups: string[] };
      expect(user.accountType).toBe(type);
      const [entry] = await tp.ad.search({
        filter: f.eq('sAMAccountName', username),
        attributes: ['loginShell', 'gidNumber', 'primaryGroupID', 'homeDirectory'],
      });
      // Windows home on the file server only for Windows account types (original types 3 and 6).
      expect(entry?.get('homeDirectory')).toBe(type === 'admin' ? `\\\\INVIS\\${username}` : undefined);
      if (type === 'mail') expect([entry?.get('loginShell'), entry?.get('gidNumber')]).toEqual(['/bin/false', '9500']);
      if (type === 'guest') expect(entry?.get('primaryGroupID')).toBe('514');
      if (type === 'admin') expect(user.groups).toContain('Domain Admins');
      await admin.request('DELETE', `/api/users/${username}`);
    }
  });
});

describe('lockout and self-service', () => {
  it('says "locked" after the domain lockout policy triggers, and an admin unlocks', async () => {
    const base = await tp.ad.baseDN();
    const name = `lock.${Date.now().toString(36)}`;
    await admin.request('POST', '/api/users', {
      username: name,
      givenName: 'L',
      surname: 'K',
      password: 'Lock!Passw0rt-1',
      accountType: 'user',
    });
    await tp.ad.modify(base, [
      { operation: 'replace', attribute: 'lockoutThreshold', values: 2 },
      { operation: 'replace', attribute: 'lockoutDuration', values: '-18000000000' },
      { operation: 'replace', attribute: 'lockOutObservationWindow', values: '-18000000000' },
    ]);
    try {
      for (let i = 0; i < 2; i++)
        expect(await code(await client().login(name, 'wrong-Passw0rd'))).toBe('PORTAL_INVALID_CREDENTIALS');
      expect(await code(await client().login(name, 'Lock!Passw0rt-1'))).toBe('PORTAL_ACCOUNT_LOCKED');
      expect(((await (await admin.request('GET', `/api/users/${name}`)).json()) as { locked: boolean }).locked).toBe(
        true,
      );
      expect((await admin.request('POST', `/api/users/${name}/unlock`, {})).status).toBe(204);
      expect((await client().login(name, 'Lock!Passw0rt-1')).status).toBe(200);
    } finally {
      await tp.ad.modify(base, { operation: 'replace', attribute: 'lockoutThreshold', values: 0 });
      await admin.request('DELETE', `/api/users/${name}`);
    }
  });

  it('lets a user edit their own profile and personal links, but not other fields', async () => {
    const clara = client();
    expect((await clara.login('clara.weber', DEMO_PASSWORD)).status).toBe(200);
    const links = [{ url: 'https://www.invis-server.org', label: 'invis <Projekt>' }];
    const res = await clara.request('PATCH', '/api/me', { telephone: '+49 30 1234', links });
    expect(await res.json()).toMatchObject({ username: 'clara.weber', telephone: '+49 30 1234', links });
    expect(await code(await clara.request('PATCH', '/api/me', { mail: 'boss@evil.example' }))).toBe(
      'PORTAL_VALIDATION',
    );
  });
});

describe('groups', () => {
  const group = `team${Date.now().toString(36)}`;

  it('creates a team with members, changes members and deletes it; built-ins are protected', async () => {
    const created = await admin.request('POST', '/api/groups', {
      name: group,
      type: 'team-mail',
      description: 'Team',
      members: ['bernd.mueller'],
    });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({
      name: group,
      type: 'team-mail',
      mail: `${group}@invis.test`,
      members: ['bernd.mueller'],
    });
    const patched = await admin.request('PATCH', `/api/groups/${group}`, { members: ['clara.weber', 'anna.schmidt'] });
    expect(((await patched.json()) as { members: string[] }).members).toEqual(['anna.schmidt', 'clara.weber']);
    expect((await admin.request('DELETE', `/api/groups/${group}`)).status).toBe(204);
    expect(await code(await admin.request('DELETE', '/api/groups/Domain%20Admins'))).toBe('PORTAL_FORBIDDEN');
  });
});

describe('file server side', () => {
  it('creates a group share from a folder template, owned by the group gid', async () => {
    mkdirSync(join(tp.shares.templatesDir, 'Projekt/Angebote'), { recursive: true });
    expect(await (await admin.request('GET', '/api/share-templates')).json()).toEqual(['Projekt']);
    const group = `share${Date.now().toString(36)}`;
    const res = await admin.request('POST', '/api/groups', { name: group, type: 'team', share: 'template:Projekt' });
    expect(res.status).toBe(201);
    const { gid } = (await res.json()) as { gid: number };
    expect(gid).toBeGreaterThan(21_000);
    const dir = join(tp.shares.groupSharesDir, group);
    expect(statSync(join(dir, 'Angebote')).isDirectory()).toBe(true);
    expect(statSync(dir).gid).toBe(gid);
    expect(
      await code(
        await admin.request('POST', '/api/groups', { name: `${group}x`, type: 'team', share: 'template:../../etc' }),
      ),
    ).toBe('PORTAL_VALIDATION');
    expect((await admin.request('GET', `/api/groups/${group}x`)).status).toBe(404);
    expect((await admin.request('DELETE', `/api/groups/${group}`, { archiveShare: true })).status).toBe(204);
    expect(existsSync(`${dir}.archiv`)).toBe(true);
  });

  it('archives the home directory when deleting a user', async () => {
    const name = `arch.${Date.now().toString(36)}`;
    await admin.request('POST', '/api/users', {
      username: name,
      givenName: 'A',
      surname: 'R',
      password: 'Arch!Passw0rt-1',
      accountType: 'user',
    });
    mkdirSync(join(tp.shares.homesDir, name), { recursive: true });
    expect((await admin.request('DELETE', `/api/users/${name}`, { archiveHome: true })).status).toBe(204);
    expect(existsSync(join(tp.shares.homesDir, `${name}.archiv`))).toBe(true);
    expect(existsSync(join(tp.shares.homesDir, name))).toBe(false);
  });
});

describe('outside access', () => {
  it('lets a non-mobilusers member in from outside only after joining mobilusers', async () => {
    const outside = (): ApiClient => client({ 'x-forwarded-for': OUTSIDE });
    expect(await code(await outside().login('bernd.mueller', DEMO_PASSWORD))).toBe('PORTAL_INVALID_CREDENTIALS');
    const mobil = (await (await admin.request('GET', '/api/groups/mobilusers')).json()) as { members: string[] };
    await admin.request('PATCH', '/api/groups/mobilusers', { members: [...mobil.members, 'bernd.mueller'] });
    expect((await outside().login('bernd.mueller', DEMO_PASSWORD)).status).toBe(200);
    await admin.request('PATCH', '/api/groups/mobilusers', { members: mobil.members });
  });
});

describe('status', () => {
  it('reads real sources and says unknown for missing ones', async () => {
    const s = (await (await admin.request('GET', '/api/status')).json()) as {
      uptimeSeconds: number;
      certificates: { state: string; daysLeft?: number }[];
      backup: { state: string };
      disks: { state: string }[];
    };
    expect(s.uptimeSeconds).toBeGreaterThan(0);
    expect(s.certificates[0]).toMatchObject({ state: 'ok' });
    expect(s.certificates[0]?.daysLeft).toBeGreaterThan(0);
    expect(s.backup.state).toBe('unknown');
    expect(s.disks.map((d) => d.state)).toEqual(['ok', 'unknown']);
  });
});

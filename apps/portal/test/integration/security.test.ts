// Reproductions of the portal's security findings (issue 14) against the real Samba DC over
// real HTTP. Each describe names its finding; every test failed on the code before its fix.
import { chmodSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { createAdClient } from '@invis/ad-client';
import { createExecaRunner } from '@invis/host';
import { withTempDir } from '@invis/test-utils';
import { createTestPki, DEMO_PASSWORD, reserveLoopbackAddress } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { composePortal } from '../../src/compose';
import { readSecretFile } from '../../src/secrets';
import { type ApiClient, apiClient, httpSend } from '../http-client';
import { INSIDE, OUTSIDE, startTestPortal, type TestPortal, testSettings } from './harness';

const ACCESS_TTL = 2;
const MAX_SESSIONS = 50;
const afterTtl = () => new Promise((r) => setTimeout(r, ACCESS_TTL * 1000 + 200));
let tp: TestPortal;
let admin: ApiClient;
const stamp = Date.now().toString(36);
const from = (address: string | null): ApiClient =>
  apiClient(httpSend(tp.url), address === null ? {} : { 'x-forwarded-for': address });
const code = async (res: Response): Promise<string> => ((await res.json()) as { code: string }).code;

/** A fresh account (so throttles and password changes touch nobody else). */
async function newUser(
  prefix: string,
  password = 'Sec!Passw0rt-1',
  accountType: 'user' | 'admin' = 'user',
): Promise<string> {
  const username = `${prefix}.${stamp}`;
  const res = await admin.request('POST', '/api/users', {
    username,
    givenName: 'S',
    surname: prefix,
    password,
    accountType,
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return username;
}

beforeAll(async () => {
  // The proxy (the portal's own loopback address) counts as inside, like 127.0.0.1 did by default.
  // Rights are re-read from the DC after ACCESS_TTL seconds (a minute in production).
  tp = await startTestPortal(inject('samba'), {
    proxyInside: true,
    tuning: { accessTtlSeconds: ACCESS_TTL, maxSessions: MAX_SESSIONS },
  });
  admin = from(INSIDE);
  expect((await admin.login('anna.schmidt', DEMO_PASSWORD)).status).toBe(200);
});
afterAll(() => tp?.close());

describe('finding 1: behind the proxy, nobody is inside by accident', () => {
  it('refuses a plain-HTTP loopback listener without trusted proxies', async () => {
    const lo = await reserveLoopbackAddress();
    try {
      const started = composePortal(testSettings(':memory:', lo.address, { PORTAL_TRUSTED_PROXIES: [] }), {
        ad: tp.ad,
        runner: createExecaRunner(),
        shares: null,
      });
      await expect(started).rejects.toMatchObject({ code: 'PORTAL_CONFIG' });
      await started.then((s) => s.close()).catch(() => undefined);
    } finally {
      await lo.release();
    }
  });

  it('treats a request from the trusted proxy without X-Forwarded-For as outside', async () => {
    const user = await newUser('noxff');
    expect(await code(await from(null).login(user, 'Sec!Passw0rt-1'))).toBe('PORTAL_INVALID_CREDENTIALS');
    const created = await admin.request('POST', '/api/tokens', { name: `noxff-${stamp}`, scopes: ['status:read'] });
    const { secret } = (await created.json()) as { secret: string };
    const res = await fetch(`${tp.url}/api/status`, { headers: { authorization: `Bearer ${secret}` } });
    expect(await code(res)).toBe('PORTAL_EXTERNAL_NOT_ALLOWED');
  });
});

describe('finding 13: network lists and X-Forwarded-For fail closed', () => {
  it('treats an unparsable X-Forwarded-For hop as outside, not as the proxy', async () => {
    const user = await newUser('badxff');
    const junk = from('not-an-address');
    expect(await code(await junk.login(user, 'Sec!Passw0rt-1'))).toBe('PORTAL_INVALID_CREDENTIALS');
  });

  it('refuses "192.168.220.0/" instead of reading it as /0', async () => {
    const settings = testSettings(':memory:', '127.0.0.1', { PORTAL_INTERNAL_NETWORKS: ['192.168.220.0/'] });
    const started = composePortal(settings, { ad: tp.ad, runner: createExecaRunner(), shares: null });
    await expect(started).rejects.toMatchObject({ code: 'PORTAL_CONFIG' });
    await started.then((s) => s.close()).catch(() => undefined);
  });
});

describe('finding 7: the expired-password change is no oracle and no back door', () => {
  it('answers 401 for unknown users and counts the attempts', async () => {
    const stranger = from(INSIDE);
    const attempt = () =>
      stranger.request('POST', '/api/session/password', {
        username: `nobody.${stamp}`,
        oldPassword: 'guess-Passw0rd',
        newPassword: 'New!Passw0rt-9',
      });
    // the anonymous session's CSRF token
    stranger.csrf = ((await (await stranger.request('GET', '/api/session')).json()) as { csrfToken: string }).csrfToken;
    for (let i = 0; i < 5; i++) expect(await code(await attempt())).toBe('PORTAL_INVALID_CREDENTIALS');
    expect(await code(await attempt())).toBe('PORTAL_THROTTLED');
  });

  async function changeExpired(client: ApiClient, username: string, oldPassword: string): Promise<Response> {
    client.csrf = ((await (await client.request('GET', '/api/session')).json()) as { csrfToken: string }).csrfToken;
    return client.request('POST', '/api/session/password', { username, oldPassword, newPassword: 'New!Passw0rt-9' });
  }

  it('changes only a password that really expired or must change', async () => {
    const user = await newUser('notexp');
    expect(await code(await changeExpired(from(INSIDE), user, 'Sec!Passw0rt-1'))).toBe('PORTAL_FORBIDDEN');
    expect((await from(INSIDE).login(user, 'Sec!Passw0rt-1')).status).toBe(200);
  });

  it('refuses an outside change for a non-mobilusers account with the login answer', async () => {
    const user = await newUser('outexp');
    await admin.request('POST', `/api/users/${user}/password`, { password: 'Reset!Passw0rt-2', mustChange: true });
    expect(await code(await changeExpired(from(OUTSIDE), user, 'Reset!Passw0rt-2'))).toBe('PORTAL_INVALID_CREDENTIALS');
    expect(await code(await from(INSIDE).login(user, 'Reset!Passw0rt-2'))).toBe('PORTAL_PASSWORD_EXPIRED');
    expect((await changeExpired(from(INSIDE), user, 'Reset!Passw0rt-2')).status).toBe(204);
  });

  it('says "disabled" for a disabled account instead of a 500', async () => {
    const user = await newUser('disexp');
    await admin.request('PUT', `/api/users/${user}/enabled`, { enabled: false });
    expect(await code(await changeExpired(from(INSIDE), user, 'Sec!Passw0rt-1'))).toBe('PORTAL_ACCOUNT_DISABLED');
  });
});

describe('finding 11: an outside login does not confirm a password', () => {
  it('answers 401 to a non-mobilusers account with the right password, and counts it', async () => {
    const user = await newUser('outpw');
    for (let i = 0; i < 5; i++) {
      expect(await code(await from(OUTSIDE).login(user, 'Sec!Passw0rt-1'))).toBe('PORTAL_INVALID_CREDENTIALS');
    }
    expect(await code(await from(OUTSIDE).login(user, 'Sec!Passw0rt-1'))).toBe('PORTAL_THROTTLED');
  });
});

describe('finding 8: rights are re-checked, not snapshots', () => {
  it('ends admin rights, sessions and tokens when the DC says so, within the re-check time', async () => {
    const user = await newUser('rights');
    await tp.ad.groups.addMembers('Domain Admins', [user]);
    const session = from(INSIDE);
    expect((await session.login(user, 'Sec!Passw0rt-1')).status).toBe(200);
    const created = await session.request('POST', '/api/tokens', { name: `rights-${stamp}`, scopes: ['users:read'] });
    const token = (await created.json()) as { secret: string; expiresAt: string };
    const bearer = { authorization: `Bearer ${token.secret}`, 'x-forwarded-for': INSIDE };
    expect((await fetch(`${tp.url}/api/users`, { headers: bearer })).status).toBe(200);
    // outside the portal: no longer a Domain Admin
    await tp.ad.groups.removeMembers('Domain Admins', [user]);
    await afterTtl();
    expect(await code(await session.request('GET', '/api/users'))).toBe('PORTAL_FORBIDDEN');
    expect(await code(await fetch(`${tp.url}/api/users`, { headers: bearer }))).toBe('PORTAL_UNAUTHENTICATED');
    // outside the portal: disabled
    await tp.ad.users.disable(user);
    await afterTtl();
    expect(await code(await session.request('GET', '/api/me'))).toBe('PORTAL_UNAUTHENTICATED');
    // and tokens expire (90 days unless asked otherwise)
    expect(Date.parse(token.expiresAt) - Date.now()).toBeGreaterThan(89 * 86_400_000);
  });

  it('ends an outside session at once when the portal removes the user from mobilusers', async () => {
    const user = await newUser('mobil');
    const mobil = (await (await admin.request('GET', '/api/groups/mobilusers')).json()) as { members: string[] };
    await admin.request('PATCH', '/api/groups/mobilusers', { members: [...mobil.members, user] });
    try {
      const roaming = from(OUTSIDE);
      expect((await roaming.login(user, 'Sec!Passw0rt-1')).status).toBe(200);
      const inside = from(INSIDE);
      expect((await inside.login(user, 'Sec!Passw0rt-1')).status).toBe(200);
      await admin.request('PATCH', '/api/groups/mobilusers', { members: mobil.members });
      expect(await code(await roaming.request('GET', '/api/me'))).toBe('PORTAL_UNAUTHENTICATED');
      // inside, the account still may use the portal, now without the outside right
      const me = (await (await inside.request('GET', '/api/session')).json()) as { user: { mobile: boolean } };
      expect(me.user.mobile).toBe(false);
    } finally {
      await admin.request('PATCH', '/api/groups/mobilusers', { members: mobil.members });
    }
  });

  it('stops a token whose owner was deleted', async () => {
    const owner = await newUser('owner', 'Sec!Passw0rt-1', 'admin');
    const session = from(INSIDE);
    expect((await session.login(owner, 'Sec!Passw0rt-1')).status).toBe(200);
    const created = await session.request('POST', '/api/tokens', { name: `owner-${stamp}`, scopes: ['status:read'] });
    const { secret } = (await created.json()) as { secret: string };
    const bearer = { authorization: `Bearer ${secret}`, 'x-forwarded-for': INSIDE };
    expect((await fetch(`${tp.url}/api/status`, { headers: bearer })).status).toBe(200);
    expect((await admin.request('DELETE', `/api/users/${owner}`)).status).toBe(204);
    expect(await code(await fetch(`${tp.url}/api/status`, { headers: bearer }))).toBe('PORTAL_UNAUTHENTICATED');
  });
});

describe('finding 9: write tokens are no Domain Admin', () => {
  it('refuses protected accounts and groups to tokens, not to admins in person', async () => {
    const created = await admin.request('POST', '/api/tokens', {
      name: `writer-${stamp}`,
      scopes: ['users:write', 'groups:write', 'users:read', 'groups:read'],
    });
    const { secret } = (await created.json()) as { secret: string };
    const token = (method: string, path: string, body?: unknown) =>
      fetch(new URL(path, tp.url), {
        method,
        headers: { authorization: `Bearer ${secret}`, 'x-forwarded-for': INSIDE, 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const member = await newUser('adm9', 'Sec!Passw0rt-1', 'admin');
    const plain = await newUser('plain9');
    const domainAdmins = (await (await admin.request('GET', '/api/groups/Domain%20Admins')).json()) as {
      members: string[];
    };
    const attempts: [string, string, unknown][] = [
      ['POST', '/api/users/Administrator/unlock', {}],
      ['PATCH', '/api/users/Administrator', { telephone: '' }],
      ['POST', `/api/users/${member}/password`, { password: 'Took!Over-Passw0rt' }],
      ['PUT', `/api/users/${member}/enabled`, { enabled: true }],
      ['PATCH', '/api/groups/Domain%20Admins', { members: domainAdmins.members }],
      ['PATCH', '/api/groups/Schema%20Admins', { description: 'x' }],
      ['PATCH', '/api/groups/Administrators', { description: 'x' }],
      [
        'POST',
        '/api/users',
        { username: `mk9.${stamp}`, givenName: 'M', surname: 'K', password: 'Sec!Passw0rt-1', accountType: 'admin' },
      ],
    ];
    try {
      for (const [method, path, body] of attempts) {
        expect(await code(await token(method, path, body)), `${method} ${path}`).toBe('PORTAL_FORBIDDEN');
      }
      expect((await token('PATCH', `/api/users/${plain}`, { telephone: '+49 1' })).status).toBe(200);
      expect((await admin.request('PATCH', `/api/users/${member}`, { telephone: '+49 2' })).status).toBe(200);
    } finally {
      await admin.request('DELETE', `/api/users/mk9.${stamp}`);
    }
  });
});

describe('finding 5: no open redirect after switching the language', () => {
  it('keeps `next` on the portal, however a browser would read it', async () => {
    const origin = new URL(tp.url).origin;
    const hostile = [
      '/\t/evil.example',
      '/\n/evil.example',
      '/\\evil.example',
      '//evil.example',
      '/.//evil.example',
      'https://evil.example/',
    ];
    for (const next of hostile) {
      const res = await fetch(`${tp.url}/lang/en?next=${encodeURIComponent(next)}`, { redirect: 'manual' });
      expect(res.status).toBe(302);
      // the WHATWG URL parser strips TAB/LF like browsers do
      expect(new URL(res.headers.get('location') ?? '', tp.url).origin, JSON.stringify(next)).toBe(origin);
    }
    const local = await fetch(`${tp.url}/lang/en?next=${encodeURIComponent('/users?page=2')}`, { redirect: 'manual' });
    expect(local.headers.get('location')).toBe('/users?page=2');
  });
});

describe('finding 6: the login throttle cannot be raced', () => {
  it('lets at most the limit of parallel guesses reach the DC', async () => {
    const user = await newUser('race');
    const guesses = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => code(await from(`198.51.100.${i + 1}`).login(user, `wrong-${i}`))),
    );
    expect(guesses.filter((c) => c === 'PORTAL_INVALID_CREDENTIALS').length).toBeLessThanOrEqual(5);
    expect(guesses.filter((c) => c === 'PORTAL_THROTTLED').length).toBeGreaterThanOrEqual(15);
  });

  it('counts IPv6 clients per /64, not per address', async () => {
    const answers: string[] = [];
    for (let i = 1; i <= 21; i++) {
      answers.push(
        await code(await from(`2001:db8:6:6::${i.toString(16)}`).login(`ghost${i}.${stamp}`, 'wrong-Passw0rd')),
      );
    }
    expect(answers.slice(0, 20).every((c) => c === 'PORTAL_INVALID_CREDENTIALS')).toBe(true);
    expect(answers[20]).toBe('PORTAL_THROTTLED');
  });
});

describe('finding 4: bodies are bounded and slow clients cut off', () => {
  it('refuses a huge login body before reading it', async () => {
    const anon = from(INSIDE);
    anon.csrf = ((await (await anon.request('GET', '/api/session')).json()) as { csrfToken: string }).csrfToken;
    const res = await anon.request('POST', '/api/session', { username: 'x', password: 'y'.repeat(4 * 1024 * 1024) });
    expect(res.status).toBe(413);
  });

  it('closes a connection that never finishes its headers', async () => {
    const url = new URL(tp.url);
    const socket = connect(Number(url.port), url.hostname);
    const started = Date.now();
    socket.write('GET / HTTP/1.1\r\nHost: portal\r\nX-Slow: ');
    socket.resume(); // read, so the server's close is seen
    await new Promise<void>((resolve) => socket.on('close', () => resolve()).on('error', () => resolve()));
    expect(Date.now() - started).toBeLessThan(20_000);
  }, 30_000);
});

describe('finding 14: directory errors give clients fixed texts only', () => {
  /** A login against a portal whose directory connection is broken in some way; returns the raw answer. */
  async function loginWith(ad: ReturnType<typeof createAdClient>): Promise<{ status: number; body: string }> {
    const broken = await startTestPortal(inject('samba'), { ad });
    try {
      const anon = apiClient(httpSend(broken.url), { 'x-forwarded-for': INSIDE });
      const res = await anon.login('bernd.mueller', DEMO_PASSWORD);
      return { status: res.status, body: await res.text() };
    } finally {
      await broken.close();
    }
  }

  it('does not tell strangers where the DC is when it is unreachable', async () => {
    const lo = await reserveLoopbackAddress();
    try {
      const info = inject('samba');
      const ad = createAdClient({
        url: `ldaps://${lo.address}:636`,
        bindDN: info.adminDN,
        password: info.adminPassword,
        ca: info.caPem,
      });
      const res = await loginWith(ad);
      expect(res.status).toBe(503);
      expect(JSON.parse(res.body)).toEqual({ code: 'PORTAL_DIRECTORY_UNAVAILABLE', message: 'directory unavailable' });
    } finally {
      await lo.release();
    }
  });

  it('keeps the DN and LDAP code of a mapped directory error (its cause) off the wire', async () => {
    const res = await admin.request('POST', '/api/groups', { name: 'Domain Users', type: 'team' });
    const body = await res.text();
    expect(res.status).toBe(409);
    expect(JSON.parse(body)).toEqual({ code: 'PORTAL_CONFLICT', message: 'exists already' });
    expect(body).not.toMatch(/DC=|ldapCode|cause/i);
  });

  it('does not tell strangers TLS details of the DC', async () => {
    await withTempDir('portal-sec-ca-', async (dir) => {
      const other = await createTestPki(dir, { commonName: 'other', dnsNames: [], ipAddresses: ['127.0.0.1'] });
      const info = inject('samba');
      const ad = createAdClient({
        url: info.ldapsUrl,
        bindDN: info.adminDN,
        password: info.adminPassword,
        ca: other.caPem,
      });
      const res = await loginWith(ad);
      expect(res.status).toBe(503);
      expect(JSON.parse(res.body)).toEqual({ code: 'PORTAL_DIRECTORY_UNAVAILABLE', message: 'directory unavailable' });
    });
  });
});

describe('finding 18: sessions after a password change, and cross-site links', () => {
  it('ends the other sessions of a user who changes their password, keeping this one', async () => {
    const user = await newUser('pwchg');
    const here = from(INSIDE);
    const elsewhere = from(INSIDE);
    expect((await here.login(user, 'Sec!Passw0rt-1')).status).toBe(200);
    expect((await elsewhere.login(user, 'Sec!Passw0rt-1')).status).toBe(200);
    const changed = await here.request('POST', '/api/me/password', {
      oldPassword: 'Sec!Passw0rt-1',
      newPassword: 'Chg!Passw0rt-2',
    });
    expect(changed.status).toBe(204);
    expect((await here.request('GET', '/api/me')).status).toBe(200);
    expect(await code(await elsewhere.request('GET', '/api/me'))).toBe('PORTAL_UNAUTHENTICATED');
  });

  it('does not replace the session cookie on a request that came without it', async () => {
    // SameSite=Strict withholds the cookie on a cross-site link; the answer must not overwrite it.
    for (const path of ['/login', '/', '/api/session', '/account']) {
      const res = await fetch(`${tp.url}${path}`, { headers: { 'x-forwarded-for': INSIDE }, redirect: 'manual' });
      expect(
        res.headers.getSetCookie().filter((c) => c.startsWith('__Host-invis-session=')),
        path,
      ).toEqual([]);
    }
  });
});

describe('finding 12: a flood of anonymous visits pushes nobody out', () => {
  it('keeps a login form usable and logged-in users logged in', async () => {
    const user = await newUser('flood');
    const loggedIn = from(INSIDE);
    expect((await loggedIn.login(user, 'Sec!Passw0rt-1')).status).toBe(200);
    const waiting = from(INSIDE);
    waiting.csrf = ((await (await waiting.request('GET', '/api/session')).json()) as { csrfToken: string }).csrfToken;
    for (let i = 0; i < MAX_SESSIONS * 3; i++) {
      await fetch(`${tp.url}/api/session`, { headers: { 'x-forwarded-for': OUTSIDE } });
    }
    expect((await loggedIn.request('GET', '/api/me')).status).toBe(200);
    const res = await waiting.request('POST', '/api/session', { username: user, password: 'Sec!Passw0rt-1' });
    expect(res.status).toBe(200);
  });
});

describe('finding 20: caching and secrets at rest', () => {
  it('answers no-store wherever a CSRF token, user data or a token secret is in the answer', async () => {
    const anon = await fetch(`${tp.url}/api/session`, { headers: { 'x-forwarded-for': INSIDE } });
    expect(anon.headers.get('cache-control')).toBe('no-store');
    expect(
      (await fetch(`${tp.url}/login`, { headers: { 'x-forwarded-for': INSIDE } })).headers.get('cache-control'),
    ).toBe('no-store');
    expect((await admin.request('GET', '/api/users')).headers.get('cache-control')).toBe('no-store');
    expect((await admin.request('GET', '/account')).headers.get('cache-control')).toBe('no-store');
    const token = await admin.request('POST', '/api/tokens', { name: `cache-${stamp}`, scopes: ['status:read'] });
    expect(token.headers.get('cache-control')).toBe('no-store');
  });

  it('keeps portal.db private to the portal', () => {
    expect(statSync(join(tp.dataDir, 'portal.db')).mode & 0o077).toBe(0);
  });

  it('refuses a symbolic link in place of portal.db and leaves its target alone', async () => {
    await withTempDir('portal-sec-db-', async (dir) => {
      const target = join(dir, 'elsewhere');
      writeFileSync(target, "not the portal's\n", { mode: 0o644 });
      chmodSync(target, 0o644);
      symlinkSync(target, join(dir, 'portal.db'));
      const started = composePortal(testSettings(dir, tp.address), { ad: tp.ad, shares: null });
      await expect(started).rejects.toMatchObject({ code: 'PORTAL_CONFIG' });
      await started.then((s) => s.close()).catch(() => undefined);
      expect(statSync(target).mode & 0o777).toBe(0o644);
      expect(readFileSync(target, 'utf8')).toBe("not the portal's\n");
    });
  });

  it('refuses an LDAP password file that group or others can read', async () => {
    await withTempDir('portal-sec-pw-', async (dir) => {
      const file = join(dir, 'ldap.pw');
      writeFileSync(file, 'secret\n', { mode: 0o600 });
      expect(await readSecretFile(file)).toBe('secret');
      chmodSync(file, 0o640);
      await expect(readSecretFile(file)).rejects.toMatchObject({ code: 'PORTAL_CONFIG' });
    });
  });
});

describe('finding 16: group shares and archives', () => {
  it('gives every copied folder to the group and drops setuid/setgid from template files', async () => {
    const template = join(tp.shares.templatesDir, 'Sicher');
    mkdirSync(join(template, 'Unter/Tiefer'), { recursive: true });
    writeFileSync(join(template, 'Unter/tool'), '#!/bin/sh\n');
    chmodSync(join(template, 'Unter/tool'), 0o6755);
    const res = await admin.request('POST', '/api/groups', {
      name: `share16${stamp}`,
      type: 'team',
      share: 'template:Sicher',
    });
    expect(res.status).toBe(201);
    const { gid } = (await res.json()) as { gid: number };
    const dir = join(tp.shares.groupSharesDir, `share16${stamp}`);
    for (const sub of ['Unter', 'Unter/Tiefer']) {
      const st = statSync(join(dir, sub));
      expect(st.gid, sub).toBe(gid);
      expect(st.mode & 0o7777, sub).toBe(0o2770);
    }
    const tool = statSync(join(dir, 'Unter/tool'));
    expect(tool.gid).toBe(gid);
    expect(tool.mode & 0o6000).toBe(0);
    expect(tool.mode & 0o060).toBe(0o060);
    await admin.request('DELETE', `/api/groups/share16${stamp}`);
  });

  it('archives the home of the stored name, whatever spelling the request used', async () => {
    const name = await newUser('arch16');
    mkdirSync(join(tp.shares.homesDir, name), { recursive: true });
    const res = await admin.request('DELETE', `/api/users/${name.toUpperCase()}`, { archiveHome: true });
    expect(res.status).toBe(204);
    expect(statSync(join(tp.shares.homesDir, `${name}.archiv`)).isDirectory()).toBe(true);
  });
});

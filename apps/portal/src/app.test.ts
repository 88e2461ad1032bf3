// The portal's HTTP behaviour (sessions, CSRF, access rules, strict validation, OpenAPI) with
// an in-memory directory. The same flows run against a real Samba DC and Chromium in
// test/integration.

import type { PortalEntry, Stored } from '@invis/ad-client';
import { createScriptedRunner } from '@invis/test-utils';
import { Validator } from '@seriousme/openapi-schema-validator';
import { beforeEach, describe, expect, it } from 'vitest';
import { type ApiClient, apiClient } from '../test/http-client';
import type { AuthResult, Directory, DirectoryGroup, DirectoryUser } from './directory';
import { PortalError } from './errors';
import { createPortal, type Portal } from './portal';
import type { TileStore } from './tiles';

function fakeDirectory(): Directory {
  const users = new Map<string, DirectoryUser & { password: string }>();
  const groups = new Map<string, DirectoryGroup>();
  const user = (username: string, password: string, extra: Partial<DirectoryUser> = {}) =>
    users.set(username, {
      username,
      displayName: username,
      givenName: '',
      surname: '',
      description: '',
      mail: '',
      department: '',
      office: '',
      telephone: '',
      accountType: 'user',
      enabled: true,
      locked: false,
      passwordExpiresAt: null,
      groups: [],
      links: [],
      password,
      ...extra,
    });
  user('admin', 'pw-admin');
  user('anna', 'pw-anna');
  user('rolf', 'pw-rolf', { passwordExpiresAt: new Date(Date.now() + 3 * 86_400_000 + 3_600_000).toISOString() });
  groups.set('Domain Admins', {
    name: 'Domain Admins',
    description: '',
    type: 'other',
    mail: '',
    gid: null,
    members: ['admin'],
  });
  groups.set('mobilusers', {
    name: 'mobilusers',
    description: '',
    type: 'team',
    mail: '',
    gid: null,
    members: ['rolf'],
  });
  const get = (name: string) => {
    const u = users.get(name);
    if (!u) throw new PortalError('PORTAL_NOT_FOUND', 'no user');
    return u;
  };
  const strip = ({ password: _, ...u }: DirectoryUser & { password: string }): DirectoryUser => u;
  return {
    async authenticate(username, password): Promise<AuthResult> {
      const u = users.get(username);
      if (!u || u.password !== password) return { ok: false, reason: 'invalid' };
      const groupsOf = [...groups.values()].filter((g) => g.members.includes(username)).map((g) => g.name);
      return { ok: true, username, groups: groupsOf };
    },
    async changePassword(username, oldPassword, newPassword) {
      const u = get(username);
      if (u.password !== oldPassword) throw new PortalError('PORTAL_INVALID_CREDENTIALS', 'wrong');
      u.password = newPassword;
    },
    async getUser(username) {
      const u = users.get(username);
      return u ? strip(u) : null;
    },
    async principal(kind, name) {
      const memberOf = (n: string) =>
        [...groups.values()].filter((g) => g.members.includes(n)).map((g) => ({ name: g.name, rid: null }));
      if (kind === 'group') {
        const g = groups.get(name);
        return g
          ? { name, enabled: true, rid: null, adminCount: false, builtin: false, memberOf: memberOf(name) }
          : null;
      }
      const u = users.get(name);
      return u
        ? { name, enabled: u.enabled, rid: null, adminCount: false, builtin: false, memberOf: memberOf(name) }
        : null;
    },
    async listUsers({ search, offset, limit }) {
      const all = [...users.values()].filter((u) => u.username.includes(search)).map(strip);
      return { total: all.length, items: all.slice(offset, offset + limit) };
    },
    async createUser(input) {
      if (users.has(input.username)) throw new PortalError('PORTAL_CONFLICT', 'exists');
      user(input.username, input.password, { description: input.description ?? '' });
      return strip(get(input.username));
    },
    async updateUser(username, patch) {
      Object.assign(get(username), patch);
      return strip(get(username));
    },
    async setEnabled(username, enabled) {
      get(username).enabled = enabled;
    },
    async unlock(username) {
      get(username).locked = false;
    },
    async resetPassword(username, password) {
      get(username).password = password;
    },
    async deleteUser(username) {
      get(username);
      users.delete(username);
    },
    async listGroups() {
      return [...groups.values()];
    },
    async getGroup(name) {
      return groups.get(name) ?? null;
    },
    async createGroup(input) {
      const g: DirectoryGroup = {
        name: input.name,
        description: input.description ?? '',
        type: input.type,
        mail: '',
        gid: null,
        members: input.members ?? [],
      };
      groups.set(input.name, g);
      return g;
    },
    async updateGroup(name, patch) {
      const g = groups.get(name);
      if (!g) throw new PortalError('PORTAL_NOT_FOUND', 'no group');
      Object.assign(g, patch);
      return g;
    },
    async deleteGroup(name) {
      groups.delete(name);
    },
  };
}

let portal: Portal;
beforeEach(() => {
  portal = createPortal({
    directory: fakeDirectory(),
    dataDir: ':memory:',
    internalNetworks: ['127.0.0.0/8', '192.168.220.0/24'],
    trustedProxies: ['127.0.0.2'],
    runner: createScriptedRunner({ systemctl: { stdout: 'active\n' } }),
    status: {
      watchDirs: ['/'],
      mdstatFile: '/nonexistent',
      certificates: [],
      backupStampFile: '/nonexistent',
      internetStateFile: '/nonexistent',
      jobsDir: '/nonexistent',
    },
    throttle: { maxPerUser: 3, maxPerAddress: 10 },
    peerAddress: (c) => (c.env as { peer?: string } | undefined)?.peer ?? '127.0.0.1',
  });
});

/** A cookie-keeping client, like a browser, sending from `peer`. */
function browser(peer = '127.0.0.1', headers: Record<string, string> = {}): ApiClient {
  return apiClient(
    async (method, path, h, body) =>
      portal.app.request(path, { method, headers: h, ...(body === undefined ? {} : { body }) }, { peer }),
    headers,
  );
}

describe('login and sessions', () => {
  it('gives visitors a stateless CSRF cookie and sets the host-only session cookie only at login', async () => {
    const b = browser();
    const first = await b.request('GET', '/api/session');
    expect(first.headers.getSetCookie()).toEqual([
      expect.stringMatching(/^__Host-invis-csrf=[\w-]{43}\.[\w-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict$/),
    ]);
    expect(b.cookie).toBe('');
    const res = await b.login('admin', 'pw-admin');
    expect(res.status).toBe(200);
    expect(res.headers.get('set-cookie')).toMatch(
      /^__Host-invis-session=[\w-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict$/,
    );
    expect(await res.json()).toMatchObject({ authenticated: true, user: { username: 'admin', isAdmin: true } });
    const session = b.cookie;
    expect((await b.login('admin', 'pw-admin')).status).toBe(200);
    expect(b.cookie).not.toBe(session);
    b.cookie = session;
    expect((await b.request('GET', '/api/me')).status).toBe(401);
  });

  it('says wrong password distinctly and throttles', async () => {
    const b = browser();
    const res = await b.login('anna', 'nope');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ code: 'PORTAL_INVALID_CREDENTIALS', message: 'wrong user name or password' });
    await b.login('anna', 'nope');
    await b.login('anna', 'nope');
    const blocked = await b.login('anna', 'pw-anna');
    expect(blocked.status).toBe(429);
    expect(blocked.headers.get('retry-after')).toMatch(/^\d+$/);
  });

  it('treats a tampered cookie as logged out', async () => {
    const b = browser();
    await b.login('anna', 'pw-anna');
    expect((await b.request('GET', '/api/me')).status).toBe(200);
    b.cookie = `${b.cookie.slice(0, -2)}xx`;
    expect((await b.request('GET', '/api/me')).status).toBe(401);
    // …and the login comes back to the page asked for.
    expect((await b.request('GET', '/account')).headers.get('location')).toBe('/login?next=%2Faccount');
  });

  it('warns after login when the password expires soon', async () => {
    const b = browser();
    await b.login('rolf', 'pw-rolf');
    const html = await (await b.request('GET', '/')).text();
    expect(html).toContain('Ihr Passwort läuft in 3 Tagen ab.');
    const anna = browser();
    await anna.login('anna', 'pw-anna');
    expect(await (await anna.request('GET', '/')).text()).not.toContain('Ihr Passwort läuft');
  });

  it('ends the session on logout', async () => {
    const b = browser();
    await b.login('anna', 'pw-anna');
    expect((await b.request('DELETE', '/api/session')).status).toBe(204);
    expect((await b.request('GET', '/api/me')).status).toBe(401);
  });
});

describe('CSRF', () => {
  it('refuses writes without or with a wrong token, also the login', async () => {
    const b = browser();
    await b.login('admin', 'pw-admin');
    b.csrf = '';
    const missing = await b.request('POST', '/api/groups', { name: 'x', type: 'team' });
    expect(missing.status).toBe(403);
    expect(await missing.json()).toMatchObject({ code: 'PORTAL_CSRF' });
    b.csrf = 'wrong';
    expect((await b.request('POST', '/api/groups', { name: 'x', type: 'team' })).status).toBe(403);
    const fresh = browser();
    expect((await fresh.request('POST', '/api/session', { username: 'anna', password: 'pw-anna' })).status).toBe(403);
  });
});

describe('access rules', () => {
  it('refuses admin functions to a plain user', async () => {
    const b = browser();
    await b.login('anna', 'pw-anna');
    expect((await b.request('GET', '/api/users')).status).toBe(403);
    expect((await b.request('GET', '/users')).status).toBe(403);
    expect((await b.request('GET', '/api/status')).status).toBe(200);
  });

  it('lets only mobilusers log in from outside, also behind a trusted proxy', async () => {
    const outside = browser('203.0.113.7');
    const res = await outside.login('anna', 'pw-anna');
    // the same answer as a wrong password: from outside it must not confirm the password
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ code: 'PORTAL_INVALID_CREDENTIALS' });
    expect((await browser('203.0.113.7').login('rolf', 'pw-rolf')).status).toBe(200);
    const proxied = browser('127.0.0.2', { 'x-forwarded-for': '192.168.166.20' });
    expect((await proxied.login('anna', 'pw-anna')).status).toBe(401);
    const spoofed = browser('203.0.113.7', { 'x-forwarded-for': '192.168.220.5' });
    expect((await spoofed.login('anna', 'pw-anna')).status).toBe(401);
  });

  it('drops an internal session of a non-mobile user when used from outside', async () => {
    const inside = browser();
    await inside.login('anna', 'pw-anna');
    const res = await portal.app.request('/api/me', { headers: { cookie: inside.cookie } }, { peer: '203.0.113.7' });
    expect(res.status).toBe(401);
  });
});

describe('validation', () => {
  it('rejects unknown fields on every endpoint with a body or query', async () => {
    const b = browser();
    await b.login('admin', 'pw-admin');
    const doc = (await (await b.request('GET', '/api/openapi.json')).json()) as {
      paths: Record<string, Record<string, { requestBody?: unknown }>>;
    };
    let checked = 0;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops)) {
        const url = path
          .replace('{username}', 'anna')
          .replace('{name}', 'samba')
          .replace('{action}', 'restart')
          .replace('{id}', '0123456789abcdef')
          .replace('{ip}', '192.168.220.201')
          .replace('{zone}', 'invis.test')
          .replace('{cn}', 'Wiki');
        if (op.requestBody) {
          const res = await b.request(method.toUpperCase(), url, { unexpected: 'x' });
          expect(res.status, `${method} ${path}`).toBe(400);
          expect(JSON.stringify(await res.json()), `${method} ${path}`).toContain('unexpected');
          checked++;
        }
        const res = await b.request(method.toUpperCase(), `${url}?unexpected=1`);
        expect(res.status, `${method} ${path}?`).toBe(400);
        expect(JSON.stringify(await res.json()), `${method} ${path}?`).toContain('unexpected');
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(35);
  });

  it('answers malformed JSON with a 400, not a 500', async () => {
    const b = browser();
    await b.login('admin', 'pw-admin');
    const res = await b.request('POST', '/api/groups', undefined, { 'content-type': 'application/json' });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ code: 'PORTAL_VALIDATION' });
  });

  it('serves a valid OpenAPI 3.1 document', async () => {
    const res = await portal.app.request('/api/openapi.json');
    const doc = (await res.json()) as { openapi: string };
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
  });
});

describe('pages', () => {
  it('shows hostile text verbatim and escaped', async () => {
    const b = browser();
    await b.login('admin', 'pw-admin');
    const description = '<script>alert(1)</script> *)( ../../etc/passwd';
    expect(
      (
        await b.request('POST', '/api/users', {
          username: 'evil',
          givenName: 'E',
          surname: 'V',
          password: 'x',
          accountType: 'user',
          description,
        })
      ).status,
    ).toBe(201);
    const html = await (await b.request('GET', '/users/evil')).text();
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; *)( ../../etc/passwd');
    expect(html).not.toContain('<script>alert(1)');
    const nul = await b.request('PATCH', '/api/users/evil', { description: 'a\u0000b' });
    expect(nul.status).toBe(400);
  });

  it('answers unknown paths with a page or JSON', async () => {
    const page = await portal.app.request('/nope/<x>', {}, { peer: '127.0.0.1' });
    expect(page.status).toBe(404);
    expect(await page.text()).toContain('Nicht gefunden.');
    const api = await portal.app.request('/api/nope', {}, { peer: '127.0.0.1' });
    expect(await api.json()).toEqual({ code: 'PORTAL_NOT_FOUND', message: 'not found' });
  });

  it('renders German by default and English after the switch, with a strict CSP', async () => {
    const b = browser();
    const de = await b.request('GET', '/login');
    expect(de.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await de.text()).toContain('<html lang="de">');
    const sw = await b.request('GET', '/lang/en?next=//evil.example');
    expect(sw.headers.get('location')).toBe('/');
    const langCookie = (sw.headers.get('set-cookie') ?? '').split(';')[0] as string;
    const en = await portal.app.request('/login', { headers: { cookie: langCookie } }, { peer: '127.0.0.1' });
    expect(await en.text()).toContain('<html lang="en">');
  });
});

describe('API tokens', () => {
  it('work within their scopes until revoked', async () => {
    const b = browser();
    await b.login('admin', 'pw-admin');
    const created = (await (
      await b.request('POST', '/api/tokens', { name: 'monitor', scopes: ['users:read'] })
    ).json()) as {
      id: string;
      secret: string;
    };
    const bearer = { authorization: `Bearer ${created.secret}` };
    const api = (method: string, path: string, peer = '127.0.0.1') =>
      portal.app.request(path, { method, headers: bearer }, { peer });
    expect((await api('GET', '/api/users')).status).toBe(200);
    expect((await api('GET', '/api/groups')).status).toBe(403);
    expect((await api('DELETE', '/api/users/anna')).status).toBe(403);
    expect((await api('GET', '/api/users', '203.0.113.7')).status).toBe(403);
    expect((await b.request('DELETE', `/api/tokens/${created.id}`)).status).toBe(204);
    expect((await api('GET', '/api/users')).status).toBe(401);
    const audit = (await (await b.request('GET', '/api/audit?search=token')).json()) as { total: number };
    expect(audit.total).toBe(2);
  });
});

describe('web-app tiles and forward auth', () => {
  const stored = new Map<string, Stored<PortalEntry>>();
  const store: TileStore = {
    list: async () => [...stored.values()],
    get: async (cn) => stored.get(cn),
    put: async (cn, entry) => {
      const e = { ...entry, cn, dn: `CN=${cn},CN=invis-Portal` };
      stored.set(cn, e);
      return e;
    },
    delete: async (cn) => {
      stored.delete(cn);
    },
  };
  const tile = (name: string, priv: string, position = 'Lokal') => ({
    name,
    url: `[servername]/${name.toLowerCase()}`,
    ssl: true,
    description: `${name} <i>app</i>`,
    active: true,
    position,
    priv,
    button: name,
  });

  beforeEach(async () => {
    stored.clear();
    await store.put('Wiki', tile('Wiki', 'guest'));
    await store.put('Roundcube', tile('Roundcube', 'user'));
    await store.put('Adminer', tile('Adminer', 'admin', 'Administration'));
    portal = createPortal({
      directory: fakeDirectory(),
      dataDir: ':memory:',
      internalNetworks: ['192.168.220.0/24'],
      trustedProxies: ['127.0.0.2'],
      runner: createScriptedRunner({ systemctl: { stdout: 'active\n' } }),
      status: {
        watchDirs: [],
        mdstatFile: '/x',
        certificates: [],
        backupStampFile: '/x',
        internetStateFile: '/x',
        jobsDir: '/x',
      },
      tiles: { store, names: { internal: 'invis.muster.loc', external: 'muster.example' } },
      appOrigins: ['https://invis.muster.loc'],
      peerAddress: (c) => (c.env as { peer?: string } | undefined)?.peer ?? '127.0.0.1',
    });
  });
  const inside = () => browser('127.0.0.2', { 'x-forwarded-for': '192.168.220.50' });
  const outside = () => browser('127.0.0.2', { 'x-forwarded-for': '203.0.113.9' });

  it('shows guests inside the public tiles, users theirs, admins theirs, each linked for where they are', async () => {
    const guest = await (await inside().request('GET', '/')).text();
    expect(guest).toContain('https://invis.muster.loc/wiki');
    expect(guest).not.toContain('Roundcube');
    const anna = inside();
    await anna.login('anna', 'pw-anna');
    const tiles = (await (await anna.request('GET', '/api/tiles')).json()) as Record<string, { name: string }[]>;
    expect(tiles.Lokal?.map((t) => t.name)).toEqual(['Roundcube', 'Wiki']);
    expect(tiles.Administration).toEqual([]);
    const admin = inside();
    await admin.login('admin', 'pw-admin');
    expect(await (await admin.request('GET', '/')).text()).toContain('https://invis.muster.loc/adminer');
    // Outside, a visitor logs in first.
    expect((await outside().request('GET', '/')).headers.get('location')).toBe('/login');
  });

  it('answers the proxy: 204 with the user for a session, 401 without; outside only for mobile users', async () => {
    const anon = await inside().request('GET', '/auth/forward');
    expect(anon.status).toBe(401);
    const anna = inside();
    await anna.login('anna', 'pw-anna');
    const ok = await anna.request('GET', '/auth/forward');
    expect(ok.status).toBe(204);
    expect(ok.headers.get('x-invis-user')).toBe('anna');
    // The same session from outside: anna is not in mobilusers, so the session ends there.
    const away = outside();
    away.cookie = anna.cookie;
    expect((await away.request('GET', '/auth/forward')).status).toBe(401);
  });

  it('returns after the login to a listed app origin, never to another site', async () => {
    const login = async (next: string) => {
      const html = await (await inside().request('GET', `/login?next=${encodeURIComponent(next)}`)).text();
      return /data-next="([^"]*)"/.exec(html)?.[1];
    };
    expect(await login('https://invis.muster.loc/roundcube/?_task=mail')).toBe(
      'https://invis.muster.loc/roundcube/?_task=mail',
    );
    expect(await login('/users?search=a')).toBe('/users?search=a');
    for (const bad of [
      'https://evil.example/',
      '//evil.example',
      'https://user@invis.muster.loc/',
      'javascript:alert(1)',
    ]) {
      expect(await login(bad)).toBe('/');
    }
  });

  it('lets admins edit the entries, with validation and an audit row', async () => {
    const admin = inside();
    await admin.login('admin', 'pw-admin');
    const entry = { ...tile('Kimai', 'user'), description: 'Zeiterfassung', rubrik: '' };
    expect((await admin.request('PUT', '/api/admin/tiles/Kimai', entry)).status).toBe(204);
    expect(stored.get('Kimai')).toMatchObject({ name: 'Kimai', priv: 'user' });
    expect(stored.get('Kimai')).not.toHaveProperty('rubrik');
    const bad = await admin.request('PUT', '/api/admin/tiles/Kimai', { ...entry, url: 'javascript:alert(1)' });
    expect(bad.status).toBe(400);
    expect((await admin.request('DELETE', '/api/admin/tiles/Kimai')).status).toBe(204);
    expect(stored.has('Kimai')).toBe(false);
    expect(portal.deps.audit.list({ search: 'tile.', offset: 0, limit: 10 }).items.map((e) => e.action)).toEqual([
      'tile.delete',
      'tile.put',
    ]);
    const anna = inside();
    await anna.login('anna', 'pw-anna');
    expect((await anna.request('PUT', '/api/admin/tiles/X', entry)).status).toBe(403);
  });
});

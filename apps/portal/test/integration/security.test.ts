// Reproductions of the portal's security findings (issue 14) against the real Samba DC over
// real HTTP. Each describe names its finding; every test failed on the code before its fix.
import { DEMO_PASSWORD, reserveLoopbackAddress } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createAdDirectory } from '../../src/ad-directory';
import { createPortal } from '../../src/portal';
import { execaRunner } from '../../src/runner';
import { startPortalServer } from '../../src/server';
import { type ApiClient, apiClient, httpSend } from '../http-client';
import { INSIDE, OUTSIDE, startTestPortal, type TestPortal } from './harness';

let tp: TestPortal;
let admin: ApiClient;
const stamp = Date.now().toString(36);
const from = (address: string | null): ApiClient =>
  apiClient(httpSend(tp.url), address === null ? {} : { 'x-forwarded-for': address });
const code = async (res: Response): Promise<string> => ((await res.json()) as { code: string }).code;

/** A fresh account (so throttles and password changes touch nobody else). */
async function newUser(prefix: string, password = 'Sec!Passw0rt-1'): Promise<string> {
  const username = `${prefix}.${stamp}`;
  const res = await admin.request('POST', '/api/users', {
    username,
    givenName: 'S',
    surname: prefix,
    password,
    accountType: 'user',
  });
  expect(res.status, await res.clone().text()).toBe(201);
  return username;
}

beforeAll(async () => {
  // The proxy (the portal's own loopback address) counts as inside, like 127.0.0.1 did by default.
  tp = await startTestPortal(inject('samba'), { proxyInside: true });
  admin = from(INSIDE);
  expect((await admin.login('anna.schmidt', DEMO_PASSWORD)).status).toBe(200);
});
afterAll(() => tp?.close());

describe('finding 1: behind the proxy, nobody is inside by accident', () => {
  it('refuses a plain-HTTP loopback listener without trusted proxies', async () => {
    const portal = createPortal({
      directory: createAdDirectory({ ad: tp.ad }),
      dataDir: ':memory:',
      internalNetworks: ['192.168.220.0/24'],
      runner: execaRunner,
      status: {
        watchDirs: [],
        mdstatFile: '/proc/mdstat',
        certificates: [],
        backupStampFile: '/nonexistent',
        internetStateFile: '/nonexistent',
      },
    });
    const lo = await reserveLoopbackAddress();
    try {
      const started = startPortalServer(portal, { host: lo.address, port: 0 });
      await expect(started).rejects.toMatchObject({ code: 'PORTAL_CONFIG' });
      await started.then((s) => s.close()).catch(() => undefined);
    } finally {
      portal.close();
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

  it('refuses "192.168.220.0/" instead of reading it as /0', () => {
    expect(() =>
      createPortal({
        directory: createAdDirectory({ ad: tp.ad }),
        dataDir: ':memory:',
        internalNetworks: ['192.168.220.0/'],
        trustedProxies: ['127.0.0.1'],
        runner: execaRunner,
        status: {
          watchDirs: [],
          mdstatFile: '/proc/mdstat',
          certificates: [],
          backupStampFile: '/nonexistent',
          internetStateFile: '/nonexistent',
        },
      }),
    ).toThrow(expect.objectContaining({ code: 'PORTAL_CONFIG' }));
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

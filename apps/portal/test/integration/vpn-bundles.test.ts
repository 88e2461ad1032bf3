// VPN bundles through the portal (issue 19): a real PKI, the real DC's accounts, a real OpenVPN
// server with tls-crypt-v2 and crl-verify on the CRL the portal deploys. A bundle downloaded once
// from the portal connects; after the portal revoked it, the same bundle is refused.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createExecaRunner } from '@invis/host';
import { createPki, generateTlsCryptV2ServerKey, type Pki } from '@invis/ovpn-pki';
import { useTempDir } from '@invis/test-utils';
import { DEMO_PASSWORD, type OpenVpnServer, startOpenVpnClient, startOpenVpnLoopbackServer } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createVpnBundles } from '../../src/vpn-bundles';
import { type ApiClient, apiClient, httpSend } from '../http-client';
import { INSIDE, launchChromium, OUTSIDE, startTestPortal, type TestPortal } from './harness';

let tp: TestPortal;
let admin: ApiClient;
let pki: Pki;
let server: OpenVpnServer;
const dir = useTempDir('portal-vpn-bundles-', { shared: true });
const crlFile = (): string => join(dir(), 'deployed', 'crl.pem');
const stamp = Date.now().toString(36);
const runner = createExecaRunner();
const SERVER = 'invis.vpn.test';
const CONNECTED = /Initialization Sequence Completed/;
const processes: { stop(): Promise<void> }[] = [];

interface Issued {
  certificate: { name: string; serial: string; pendingDownload: boolean };
  download: string;
}

async function createUser(username: string): Promise<void> {
  const res = await admin.request('POST', '/api/users', {
    username,
    givenName: 'Vera',
    surname: 'Pn',
    password: 'Start!Passw0rt-1',
    accountType: 'user',
  });
  expect(res.status).toBe(201);
}

/** Downloads a bundle to a file for the OpenVPN client. */
async function fetchBundle(client: ApiClient, issued: Issued): Promise<string> {
  const res = await client.request('GET', issued.download);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('application/x-openvpn-profile');
  const file = join(dir(), `${issued.certificate.name}.ovpn`);
  writeFileSync(file, await res.text(), { mode: 0o600 });
  return file;
}

beforeAll(async () => {
  pki = createPki({ dir: join(dir(), 'pki') });
  await pki.init({ caName: 'invis VPN CA portal test' });
  await pki.issueServer({ name: SERVER, san: { dns: [SERVER] } });
  writeFileSync(join(dir(), 'tc-v2-server.key'), await generateTlsCryptV2ServerKey(runner), { mode: 0o600 });
  mkdirSync(join(dir(), 'deployed'));
  writeFileSync(crlFile(), (await pki.crl()).pem, { mode: 0o644 });
  // The server the bundles dial; it re-reads the CRL for each new peer.
  server = await startOpenVpnLoopbackServer({
    cwd: dir(),
    args: [
      ...['--ca', 'pki/ca.crt', '--cert', `pki/issued/${SERVER}.crt`, '--key', `pki/private/${SERVER}.key`],
      ...[
        '--dh',
        'none',
        '--tls-crypt-v2',
        'tc-v2-server.key',
        '--crl-verify',
        crlFile(),
        '--remote-cert-tls',
        'client',
      ],
    ],
  });
  processes.push(server);
  const vpnBundles = createVpnBundles({
    pki,
    crlFile: crlFile(),
    selfService: true,
    server: {
      remote: server.info.address,
      port: server.info.port,
      serverName: SERVER,
      tls: { kind: 'tls-crypt-v2', serverKeyFile: join(dir(), 'tc-v2-server.key') },
    },
  });
  tp = await startTestPortal(inject('samba'), { parts: { vpnBundles } });
  admin = apiClient(httpSend(tp.url), { 'x-forwarded-for': INSIDE });
  expect((await admin.login('anna.schmidt', DEMO_PASSWORD)).status).toBe(200);
});
afterAll(async () => {
  for (const p of processes.reverse()) await p.stop();
  await tp?.close();
});

describe('VPN bundles through the portal', () => {
  it('a bundle issued and downloaded once connects; after the portal revokes it, it is refused', async () => {
    const vera = `vpnb.${stamp}`;
    await createUser(vera);
    const res = await admin.request('POST', '/api/vpn/certificates', { username: vera, device: 'laptop' });
    expect(res.status).toBe(201);
    const issued = (await res.json()) as Issued;
    expect(issued.certificate.name).toBe(`${vera}@laptop`);
    // The key is in the bundle only, and the bundle comes once.
    expect(existsSync(join(pki.dir, 'private', `${vera}@laptop.key`))).toBe(false);
    const file = await fetchBundle(admin, issued);
    expect((await admin.request('GET', issued.download)).status).toBe(404);

    const list = (await (await admin.request('GET', '/api/vpn/certificates')).json()) as Issued['certificate'][];
    expect(list.find((c) => c.name === `${vera}@laptop`)).toMatchObject({ pendingDownload: false });
    const page = await (await admin.request('GET', '/vpn')).text();
    expect(page).toContain(`${vera}@laptop`);

    const first = await startOpenVpnClient({ cwd: dir(), args: ['--config', file, '--dev', 'null'], logDir: dir() });
    processes.push(first);
    expect(await first.waitForLog(CONNECTED, 20_000)).toBe(true);

    const revoked = await admin.request('DELETE', `/api/vpn/certificates/${encodeURIComponent(`${vera}@laptop`)}`);
    expect(revoked.status).toBe(200);
    // The p2p server prepares its next peer's session when this one leaves: after the revocation.
    await first.stop();
    const again = await startOpenVpnClient({ cwd: dir(), args: ['--config', file, '--dev', 'null'], logDir: dir() });
    processes.push(again);
    expect(await server.waitForLog(/VERIFY ERROR: depth=0, error=certificate revoked: .*CN=vpnb\./, 20_000)).toBe(true);
    expect(await again.waitForLog(CONNECTED, 1_000)).toBe(false);
    await again.stop();

    const audit = tp.portal.deps.audit.list({ offset: 0, limit: 10, search: vera }).items.map((e) => e.action);
    expect(audit).toEqual(expect.arrayContaining(['vpn.issue', 'vpn.download', 'vpn.revoke']));
  });

  it('mobilusers issue their own bundle from outside; others may not; nobody downloads another one', async () => {
    const clara = apiClient(httpSend(tp.url), { 'x-forwarded-for': OUTSIDE });
    expect((await clara.login('clara.weber', DEMO_PASSWORD)).status).toBe(200);
    const res = await clara.request('POST', '/api/me/vpn', { device: `phone${stamp}` });
    expect(res.status).toBe(201);
    const issued = (await res.json()) as Issued;
    // The admin cannot take the user's bundle.
    expect((await admin.request('GET', issued.download)).status).toBe(404);
    const text = await (await clara.request('GET', issued.download)).text();
    expect(text).toContain('<tls-crypt-v2>');
    expect(text).toContain(`remote ${server.info.address} ${server.info.port} udp`);
    const mine = (await (await clara.request('GET', '/api/me/vpn')).json()) as { certificates: { name: string }[] };
    expect(mine.certificates.map((c) => c.name)).toContain(`clara.weber@phone${stamp}`);
    // Not an admin: no one else's certificates, no revoking.
    expect((await clara.request('GET', '/api/vpn/certificates')).status).toBe(403);

    const bernd = apiClient(httpSend(tp.url), { 'x-forwarded-for': INSIDE });
    expect((await bernd.login('bernd.mueller', DEMO_PASSWORD)).status).toBe(200);
    expect((await bernd.request('POST', '/api/me/vpn', {})).status).toBe(403);
  });

  it('in Chromium: the admin issues on the VPN page and downloads the bundle from the one-time link', async () => {
    const vera = `vpnc.${stamp}`;
    await createUser(vera);
    const browser = await launchChromium();
    try {
      const ctx = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': INSIDE }, acceptDownloads: true });
      const page = await ctx.newPage();
      page.on('pageerror', (e) => {
        throw new Error(`page script error: ${e.message}`);
      });
      await page.goto(`${tp.url}/login`);
      const login = page.locator('form[data-api="POST /api/session"]');
      await login.getByLabel('Benutzername').fill('anna.schmidt');
      await login.getByLabel('Passwort').fill(DEMO_PASSWORD);
      await login.getByRole('button', { name: 'Anmelden' }).click();
      await page.waitForURL(`${tp.url}/`);
      await page.goto(`${tp.url}/vpn`);
      const form = page.locator('form[data-api="POST /api/vpn/certificates"]');
      await form.getByLabel('Benutzername').fill(vera);
      await form.getByRole('button', { name: 'Zugang ausstellen' }).click();
      const link = page.getByRole('link', { name: '.ovpn herunterladen' });
      await link.waitFor({ state: 'visible' });
      const [download] = await Promise.all([page.waitForEvent('download'), link.click()]);
      const text = readFileSync((await download.path()) as string, 'utf8');
      expect(text).toContain(`# client ${vera}`);
      expect(text).toContain('<tls-crypt-v2>');
      await ctx.close();
    } finally {
      await browser.close();
    }
  });
});

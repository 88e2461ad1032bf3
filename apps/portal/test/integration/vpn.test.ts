// Security review (issue 14) item 19: disabling or deleting a user must not leave their VPN
// certificates valid. Real DC, real PKI in a temp dir, the CRL read back with openssl.
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createExecaRunner } from '@invis/host';
import {
  type CertificateMaterial,
  createPki,
  generateTlsCryptKey,
  type Pki,
  renderClientBundle,
} from '@invis/ovpn-pki';
import { useTempDir } from '@invis/test-utils';
import {
  DEMO_PASSWORD,
  type OpenVpnProcess,
  type OpenVpnServer,
  startOpenVpnClient,
  startOpenVpnLoopbackServer,
} from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createVpnRevoker, vpnCommonName } from '../../src/vpn';
import { type ApiClient, apiClient, httpSend } from '../http-client';
import { INSIDE, startTestPortal, type TestPortal } from './harness';

let tp: TestPortal;
let admin: ApiClient;
let pki: Pki;
const dir = useTempDir('portal-vpn-', { shared: true });
const crlFile = (): string => join(dir(), 'deployed', 'crl.pem');
const stamp = Date.now().toString(36);
const runner = createExecaRunner();
const SERVER = 'vpn-server';
const CONNECTED = /Initialization Sequence Completed/;
const processes: { stop(): Promise<void> }[] = [];

/** Serials on a CRL, as openssl reads it (upper-case hex). */
async function crlSerials(file: string): Promise<string[]> {
  const { stdout } = await runner.run('openssl', ['crl', '-in', file, '-noout', '-text']);
  return [...stdout.matchAll(/Serial Number: ([0-9A-F]+)/gi)].map((m) => (m[1] as string).toUpperCase());
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

/** Issues the user's plain and device certificates; @returns their serials. */
async function issueFor(username: string): Promise<string[]> {
  const issued = await pki.issueClients([
    { name: vpnCommonName(username) },
    { name: vpnCommonName(username, 'laptop') },
  ]);
  return issued.map((m) => m.info.serial);
}

beforeAll(async () => {
  pki = createPki({ dir: join(dir(), 'pki') });
  await pki.init({ caName: 'invis VPN CA test' });
  mkdirSync(join(dir(), 'deployed'));
  // The CRL as the VPN server's deployment left it, before the portal revokes anything.
  writeFileSync(crlFile(), (await pki.crl()).pem, { mode: 0o644 });
  tp = await startTestPortal(inject('samba'), { vpn: createVpnRevoker({ pki, crlFile: crlFile() }) });
  admin = apiClient(httpSend(tp.url), { 'x-forwarded-for': INSIDE });
  expect((await admin.login('anna.schmidt', DEMO_PASSWORD)).status).toBe(200);
});
afterAll(async () => {
  for (const p of processes.reverse()) await p.stop();
  await tp?.close();
});

describe('VPN certificates of disabled and deleted users (security finding 19)', () => {
  it('revokes every certificate of a disabled user, not those of others, and logs the serials', async () => {
    const [vera, other] = [`vpn.d${stamp}`, `vpn.o${stamp}`];
    await createUser(vera);
    await createUser(other);
    const veraSerials = await issueFor(vera);
    const otherSerials = await issueFor(other);

    expect((await admin.request('PUT', `/api/users/${vera}/enabled`, { enabled: false })).status).toBe(204);

    const onCrl = await crlSerials(join(pki.dir, 'crl.pem'));
    expect(onCrl).toEqual(expect.arrayContaining(veraSerials));
    for (const serial of otherSerials) expect(onCrl).not.toContain(serial);
    // Deployed where the OpenVPN server reads it.
    expect(await crlSerials(crlFile())).toEqual(onCrl);
    expect(statSync(crlFile()).mode & 0o777).toBe(0o644);
    const audit = tp.portal.deps.audit.list({ offset: 0, limit: 5, search: vera }).items;
    expect(audit.find((e) => e.action === 'user.vpn.revoke')).toMatchObject({
      outcome: 'ok',
      target: vera,
      after: { serials: expect.arrayContaining(veraSerials) },
    });
  });

  it('a real OpenVPN server reading the deployed CRL refuses the disabled user, not the other', async () => {
    const [vera, other] = [`vpn.r${stamp}`, `vpn.s${stamp}`];
    await createUser(vera);
    await createUser(other);
    // What each user holds: certificate and key, handed out before the account is disabled.
    const [held] = await pki.issueClients([{ name: vpnCommonName(vera, 'phone') }]);
    const [otherHeld] = await pki.issueClients([{ name: vpnCommonName(other, 'phone') }]);
    await pki.issueServer({ name: SERVER, san: { dns: [SERVER] } });
    const tlsCrypt = generateTlsCryptKey();
    writeFileSync(join(dir(), 'tc.key'), tlsCrypt, { mode: 0o600 });

    expect((await admin.request('PUT', `/api/users/${vera}/enabled`, { enabled: false })).status).toBe(204);

    // A p2p server prepares the TLS session of its next peer early, so each peer gets its own
    // server, started after the revocation (server mode re-reads the CRL for every connection).
    const tryConnect = async (
      material: CertificateMaterial,
    ): Promise<{ server: OpenVpnServer; client: OpenVpnProcess }> => {
      const server = await startOpenVpnLoopbackServer({
        cwd: dir(),
        args: [
          ...['--ca', 'pki/ca.crt', '--cert', `pki/issued/${SERVER}.crt`, '--key', `pki/private/${SERVER}.key`],
          ...['--dh', 'none', '--tls-crypt', 'tc.key', '--crl-verify', crlFile(), '--remote-cert-tls', 'client'],
        ],
      });
      processes.push(server);
      const file = join(dir(), `${material.info.name}.ovpn`);
      const text = renderClientBundle({
        name: material.info.name,
        remotes: [{ host: server.info.address, port: server.info.port }],
        serverName: SERVER,
        caPem: await pki.caCertPem(),
        certPem: material.certPem,
        keyPem: material.keyPem ?? '',
        tlsCrypt,
      });
      writeFileSync(file, text, { mode: 0o600 });
      const client = await startOpenVpnClient({ cwd: dir(), args: ['--config', file, '--dev', 'null'], logDir: dir() });
      processes.push(client);
      return { server, client };
    };
    const refused = await tryConnect(held as CertificateMaterial);
    expect(
      await refused.server.waitForLog(/VERIFY ERROR: depth=0, error=certificate revoked: .*CN=vpn\.r/, 15_000),
    ).toBe(true);
    expect(await refused.client.waitForLog(CONNECTED, 1_000)).toBe(false);
    await refused.client.stop();
    await refused.server.stop();
    const accepted = await tryConnect(otherHeld as CertificateMaterial);
    expect(await accepted.client.waitForLog(CONNECTED, 15_000)).toBe(true);
    await accepted.client.stop();
    await accepted.server.stop();
  });

  it('revokes every certificate of a deleted user', async () => {
    const [vera, other] = [`vpn.x${stamp}`, `vpn.y${stamp}`];
    await createUser(vera);
    await createUser(other);
    const veraSerials = await issueFor(vera);
    const otherSerials = await issueFor(other);

    expect((await admin.request('DELETE', `/api/users/${vera}`)).status).toBe(204);

    const onCrl = await crlSerials(join(pki.dir, 'crl.pem'));
    expect(onCrl).toEqual(expect.arrayContaining(veraSerials));
    for (const serial of otherSerials) expect(onCrl).not.toContain(serial);
  });

  it('leaves the account as it is and answers an error when the certificates cannot be revoked', async () => {
    const vera = `vpn.f${stamp}`;
    await createUser(vera);
    await issueFor(vera);
    const index = join(pki.dir, 'index.txt');
    const good = await readFile(index, 'utf8');
    writeFileSync(index, 'this is not an index\n');
    try {
      const res = await admin.request('PUT', `/api/users/${vera}/enabled`, { enabled: false });
      expect(res.status).toBe(502);
      expect(((await res.json()) as { code: string }).code).toBe('PORTAL_VPN_REVOCATION_FAILED');
      const user = (await (await admin.request('GET', `/api/users/${vera}`)).json()) as { enabled: boolean };
      expect(user.enabled).toBe(true);
      const audit = tp.portal.deps.audit.list({ offset: 0, limit: 5, search: vera }).items;
      expect(audit.find((e) => e.action === 'user.vpn.revoke')).toMatchObject({ outcome: 'failed' });
      expect(audit.find((e) => e.action === 'user.disable')).toBeUndefined();
      expect((await admin.request('DELETE', `/api/users/${vera}`)).status).toBe(502);
      expect((await admin.request('GET', `/api/users/${vera}`)).status).toBe(200);
    } finally {
      writeFileSync(index, good);
    }
    // Once the PKI is readable again, the same request goes through.
    expect((await admin.request('DELETE', `/api/users/${vera}`)).status).toBe(204);
  });
});

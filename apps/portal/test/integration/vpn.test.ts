// Security review (issue 14) item 19: disabling or deleting a user must not leave their VPN
// certificates valid. Real DC, real PKI in a temp dir, the CRL read back with openssl.
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createExecaRunner } from '@invis/host';
import { createPki, type Pki } from '@invis/ovpn-pki';
import { DEMO_PASSWORD } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createVpnRevoker, vpnCommonName } from '../../src/vpn';
import { type ApiClient, apiClient, httpSend } from '../http-client';
import { INSIDE, startTestPortal, type TestPortal } from './harness';

let tp: TestPortal;
let admin: ApiClient;
let pki: Pki;
let dir: string;
const crlFile = (): string => join(dir, 'deployed', 'crl.pem');
const stamp = Date.now().toString(36);
const runner = createExecaRunner();

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
  dir = mkdtempSync(join(tmpdir(), 'portal-vpn-'));
  pki = createPki({ dir: join(dir, 'pki') });
  await pki.init({ caName: 'invis VPN CA test' });
  mkdirSync(join(dir, 'deployed'));
  tp = await startTestPortal(inject('samba'), { vpn: createVpnRevoker({ pki, crlFile: crlFile() }) });
  admin = apiClient(httpSend(tp.url), { 'x-forwarded-for': INSIDE });
  expect((await admin.login('anna.schmidt', DEMO_PASSWORD)).status).toBe(200);
});
afterAll(async () => {
  await tp?.close();
  rmSync(dir, { recursive: true, force: true });
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

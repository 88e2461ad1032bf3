// Import of a PKI made by the real easy-rsa 3 script: its clients keep working, its revoked
// client stays locked out, and new clients issued by us on the imported CA connect.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createExecaRunner } from '@invis/host';
import { createEasyRsaPki, run } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPki, importEasyRsa, isOvpnPkiError, renderClientBundle } from '../../src/index';
import { CONNECTED, createFixture, type Fixture, SERVER_NAME } from './fixture';

let f: Fixture;
let easyrsaDir: string;
let revokedSerial: string;

beforeAll(async () => {
  f = await createFixture({
    pki: async (dir) => {
      easyrsaDir = join(dir, 'easyrsa');
      const e = await createEasyRsaPki(easyrsaDir, { algo: 'ec', caName: 'invis Legacy CA' });
      await e.run(['build-server-full', SERVER_NAME, 'nopass']);
      for (const name of ['laptop1', 'laptop2']) await e.run(['build-client-full', name, 'nopass']);
      await e.run(['revoke', 'laptop2', 'keyCompromise']);
      await e.run(['gen-crl']);
      revokedSerial = ((await readdir(join(easyrsaDir, 'revoked', 'certs_by_serial')))[0] ?? '').replace(/\.crt$/, '');
      const to = { dir: join(dir, 'pki') };
      const report = await importEasyRsa({ from: easyrsaDir, to });
      expect(report).toMatchObject({ caName: 'invis Legacy CA', indexEntries: 3, revoked: 1, skipped: [] });
      expect(report.imported.map((i) => [i.name, i.hasKey])).toEqual([
        ['laptop1', true],
        [SERVER_NAME, true],
      ]);
      return createPki(to);
    },
  });
});
afterAll(() => f.cleanup());

describe('imported easy-rsa PKI', () => {
  it('lists the easy-rsa certificates with kinds and states', async () => {
    const list = await f.pki.list();
    expect(list.map((c) => [c.name, c.kind, c.status])).toEqual([
      ['ca', 'ca', 'valid'],
      [SERVER_NAME, 'server', 'valid'],
      ['laptop1', 'client', 'valid'],
      ['laptop2', 'client', 'revoked'],
    ]);
    expect((await f.pki.settings()).keyAlgorithm).toBe('ec-p256');
    // The CRL we signed after the import verifies with openssl against the easy-rsa CA.
    const crlFile = join(f.pki.dir, 'crl.pem');
    const out = await run('openssl', ['crl', '-in', crlFile, '-noout', '-text', '-CAfile', join(f.pki.dir, 'ca.crt')]);
    expect(out).toContain(`Serial Number: ${revokedSerial}`);
  });

  it('an easy-rsa client bundle connects; the easy-rsa-revoked client is rejected', async () => {
    const server = await f.startServer();
    const ok = await f.connect(await f.bundle('laptop1', server));
    expect(await ok.waitForLog(CONNECTED, 15_000)).toBe(true);
    await ok.stop();

    // laptop2's files were moved by `easyrsa revoke` to revoked/*_by_serial/.
    const revokedPath = join(f.dir, 'laptop2.ovpn');
    await writeFile(
      revokedPath,
      renderClientBundle({
        name: 'laptop2',
        remotes: [{ host: server.info.address, port: server.info.port }],
        serverName: SERVER_NAME,
        caPem: await f.pki.caCertPem(),
        certPem: await readFile(join(easyrsaDir, 'revoked', 'certs_by_serial', `${revokedSerial}.crt`), 'utf8'),
        keyPem: await readFile(join(easyrsaDir, 'revoked', 'private_by_serial', `${revokedSerial}.key`), 'utf8'),
        tlsCrypt: f.tlsCrypt,
      }),
      { mode: 0o600 },
    );
    const revoked = await f.connect(revokedPath);
    expect(await server.waitForLog(/VERIFY ERROR: depth=0, error=certificate revoked: .*CN=laptop2/, 15_000)).toBe(
      true,
    );
    expect(await revoked.waitForLog(CONNECTED, 1_000)).toBe(false);
    await revoked.stop();
    await server.stop();
  });

  it('a client issued by us on the imported CA connects', async () => {
    await f.pki.issueClient({ name: 'newcomer' });
    const server = await f.startServer();
    const client = await f.connect(await f.bundle('newcomer', server));
    expect(await client.waitForLog(CONNECTED, 15_000)).toBe(true);
    await client.stop();
    await server.stop();
  });

  it('imports a passphrase-protected easy-rsa CA only with the passphrase', async () => {
    const from = join(f.dir, 'easyrsa-pass');
    await createEasyRsaPki(from, { algo: 'ec', caName: 'Locked CA', passphrase: 'legacy-secret' });
    const missing = await importEasyRsa({ from, to: { dir: join(f.dir, 'imp-a') } }).catch((e: unknown) => e);
    expect(isOvpnPkiError(missing) && missing.code === 'PKI_PASSPHRASE_REQUIRED').toBe(true);
    const wrong = await importEasyRsa({ from, to: { dir: join(f.dir, 'imp-b') }, passphrase: 'nope' }).catch(
      (e: unknown) => e,
    );
    expect(isOvpnPkiError(wrong) && wrong.code === 'PKI_BAD_PASSPHRASE').toBe(true);
    const report = await importEasyRsa({ from, to: { dir: join(f.dir, 'imp-c') }, passphrase: 'legacy-secret' });
    expect(report).toMatchObject({ caName: 'Locked CA', imported: [], revoked: 0 });
    const pki = createPki({ dir: join(f.dir, 'imp-c'), caPassphrase: () => 'legacy-secret' });
    expect((await pki.issueClient({ name: 'x' })).info.kind).toBe('client');
    const missingDir = await importEasyRsa({ from: join(f.dir, 'nothing'), to: { dir: join(f.dir, 'imp-d') } }).catch(
      (e: unknown) => e,
    );
    expect(isOvpnPkiError(missingDir) && missingDir.code === 'PKI_IMPORT_FAILED').toBe(true);
  });

  it('imports an RSA easy-rsa PKI with an encrypted CA key, as the original invis server has', async () => {
    const from = join(f.dir, 'easyrsa-rsa');
    const e = await createEasyRsaPki(from, { algo: 'rsa', caName: 'invis-Server CA', passphrase: 'invis-legacy' });
    await e.run(['build-client-full', 'legacy-laptop', 'nopass']);
    const to = { dir: join(f.dir, 'imp-rsa'), caPassphrase: () => 'invis-legacy' };
    const report = await importEasyRsa({ from, to, passphrase: 'invis-legacy' });
    expect(report.imported.map((i) => i.name)).toEqual(['legacy-laptop']);
    const pki = createPki(to);
    expect((await pki.settings()).keyAlgorithm).toBe('rsa-2048');
    await pki.issueClient({ name: 'new-laptop' });
    await pki.revoke('legacy-laptop');
    const crl = join(to.dir, 'crl.pem');
    const verify = (name: string, file: string) =>
      createExecaRunner()
        .run('openssl', ['verify', '-CAfile', join(to.dir, 'ca.crt'), '-crl_check', '-CRLfile', crl, file])
        .then((r) => `${name}: ${r.exitCode === 0 ? 'ok' : /revoked/.test(r.output) ? 'revoked' : 'error'}`);
    expect([
      await verify('new', join(to.dir, 'issued', 'new-laptop.crt')),
      await verify('legacy', join(from, 'issued', 'legacy-laptop.crt')),
    ]).toEqual(['new: ok', 'legacy: revoked']);
  });
});

// Real OpenVPN 2.6 handshakes (`--dev null` p2p on a reserved loopback address) with
// certificates, tls-crypt keys and inline bundles made by this package. Revocation on a running
// server is tested in server mode (server-mode.test.ts): a p2p server prepares the TLS session
// for its next peer early, so a CRL change reaches only the peer after next.

import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createExecaRunner, fixedClock } from '@invis/host';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPki,
  generateTlsCryptKey,
  generateTlsCryptV2ClientKey,
  generateTlsCryptV2ServerKey,
  wrapTlsCryptV2ClientKey,
} from '../../src/index';
import { CONNECTED, createFixture, type Fixture, SERVER_NAME } from './fixture';

let f: Fixture;
beforeAll(async () => {
  f = await createFixture();
});
afterAll(() => f.cleanup());

describe('OpenVPN handshake with our PKI', () => {
  it('a freshly issued client bundle connects', async () => {
    await f.pki.issueClient({ name: 'alice' });
    const server = await f.startServer();
    const client = await f.connect(await f.bundle('alice', server));
    expect(await client.waitForLog(CONNECTED, 15_000)).toBe(true);
    expect(await server.waitForLog(/VERIFY OK: depth=0, CN=alice/, 5_000)).toBe(true);
    await client.stop();
    await server.stop();
  });

  it('an expired client certificate is rejected', async () => {
    // The same PKI, with a clock 400 days back: a 30-day certificate from then is long expired.
    const past = createPki({ dir: f.pki.dir, clock: fixedClock(Date.now() - 400 * 86_400_000) });
    await past.issueClient({ name: 'carol', days: 30 });
    expect((await f.pki.list()).find((c) => c.name === 'carol')?.expiry).toBe('expired');
    const server = await f.startServer();
    const client = await f.connect(await f.bundle('carol', server));
    expect(await server.waitForLog(/VERIFY ERROR: depth=0, error=certificate has expired/, 15_000)).toBe(true);
    expect(await client.waitForLog(CONNECTED, 1_000)).toBe(false);
    await client.stop();
    await server.stop();
  });

  it('a bundle with the wrong tls-crypt key fails the handshake', async () => {
    await f.pki.issueClient({ name: 'dave' });
    const server = await f.startServer();
    const client = await f.connect(await f.bundle('dave', server, { tlsCrypt: generateTlsCryptKey() }));
    expect(await server.waitForLog(/tls-crypt unwrap error/, 15_000)).toBe(true);
    expect(await client.waitForLog(CONNECTED, 1_000)).toBe(false);
    await client.stop();
    await server.stop();
  });

  it('tls-crypt-v2 keys from openvpn --genkey: a client key wrapped with the server key connects', async () => {
    const runner = createExecaRunner();
    const serverKey = join(f.dir, 'tc-v2-server.key');
    await writeFile(serverKey, await generateTlsCryptV2ServerKey(runner), { mode: 0o600 });
    await f.pki.issueClient({ name: 'erwin' });
    const server = await f.startServer(['--tls-crypt-v2', serverKey]);
    const clientKey = await generateTlsCryptV2ClientKey(runner, serverKey);
    const client = await f.connect(await f.bundle('erwin', server, { tlsCryptV2: clientKey }));
    expect(await client.waitForLog(CONNECTED, 15_000)).toBe(true);
    await client.stop();
    await server.stop();
  });

  it('tls-crypt-v2: a client key wrapped in-process connects to openvpn with an openvpn server key', async () => {
    const serverKeyText = await generateTlsCryptV2ServerKey(createExecaRunner());
    const serverKey = join(f.dir, 'tc-v2-server-2.key');
    await writeFile(serverKey, serverKeyText, { mode: 0o600 });
    await f.pki.issueClient({ name: 'erwin2' });
    const server = await f.startServer(['--tls-crypt-v2', serverKey]);
    const client = await f.connect(
      await f.bundle('erwin2', server, { tlsCryptV2: wrapTlsCryptV2ClientKey(serverKeyText) }),
    );
    expect(await client.waitForLog(CONNECTED, 15_000)).toBe(true);
    await client.stop();
    // A key wrapped under another server key is refused by the server.
    await f.pki.issueClient({ name: 'erwin3' });
    const stranger = wrapTlsCryptV2ClientKey(await generateTlsCryptV2ServerKey(createExecaRunner()));
    const refused = await f.connect(await f.bundle('erwin3', server, { tlsCryptV2: stranger }));
    expect(await server.waitForLog(/client key authentication error/, 15_000)).toBe(true);
    expect(await refused.waitForLog(CONNECTED, 1_000)).toBe(false);
    await refused.stop();
    await server.stop();
  });

  it.each(['ed25519', 'rsa-2048'] as const)('a %s PKI works with OpenVPN too', async (keyAlgorithm) => {
    const other = await createFixture({
      pki: async (dir) => {
        const pki = createPki({ dir: join(dir, 'pki') });
        await pki.init({ caName: `invis ${keyAlgorithm} CA`, settings: { keyAlgorithm } });
        await pki.issueServer({ name: SERVER_NAME });
        await pki.issueClient({ name: 'frieda' });
        return pki;
      },
    });
    try {
      const server = await other.startServer();
      const client = await other.connect(await other.bundle('frieda', server));
      expect(await client.waitForLog(CONNECTED, 15_000)).toBe(true);
    } finally {
      await other.cleanup();
    }
  });
});

// CA rollover with real OpenVPN: after the switch to a new CA, a client holding an old bundle
// (old CA only) and a client with a new bundle both connect to the server whose certificate
// comes from the new CA (chain via the cross-certificate in `extra-certs`).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startOpenVpnLoopbackServer } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildClientBundle, renderClientBundle } from '../../src/index';
import { CONNECTED, createFixture, type Fixture, SERVER_NAME } from './fixture';

let f: Fixture;
beforeAll(async () => {
  f = await createFixture();
});
afterAll(() => f.cleanup());

describe('CA rollover', () => {
  it('old and new bundles both connect during the transition', async () => {
    await f.pki.issueClient({ name: 'veteran' });
    const oldTrust = await f.pki.trustPem();
    const veteran = await f.pki.get('veteran');

    await f.pki.rolloverCa({ caName: 'invis Test VPN CA 2' });
    await f.pki.renew(SERVER_NAME, { rekey: true });
    await f.pki.issueClient({ name: 'rookie' });
    await writeFile(join(f.dir, 'trust.pem'), await f.pki.trustPem());
    await writeFile(join(f.dir, 'cross.crt'), (await f.pki.crossCertPem()) ?? '');

    const server = await startOpenVpnLoopbackServer({
      cwd: f.pki.dir,
      args: [
        ...['--ca', join(f.dir, 'trust.pem'), '--extra-certs', join(f.dir, 'cross.crt')],
        ...['--cert', `issued/${SERVER_NAME}.crt`, '--key', `private/${SERVER_NAME}.key`, '--dh', 'none'],
        ...['--tls-crypt', join(f.dir, 'tc.key'), '--crl-verify', 'crl.pem', '--remote-cert-tls', 'client'],
      ],
    });
    try {
      const remotes = [{ host: server.info.address, port: server.info.port }];
      const oldBundle = join(f.dir, 'veteran.ovpn');
      await writeFile(
        oldBundle,
        renderClientBundle({
          name: 'veteran',
          remotes,
          serverName: SERVER_NAME,
          caPem: oldTrust,
          certPem: veteran.certPem,
          keyPem: veteran.keyPem ?? '',
          tlsCrypt: f.tlsCrypt,
        }),
        { mode: 0o600 },
      );
      const old = await f.connect(oldBundle);
      expect(await old.waitForLog(CONNECTED, 15_000)).toBe(true);
      expect(await old.log()).toMatch(/VERIFY OK: depth=1, CN=invis Test VPN CA 2/);
      await old.stop();

      const newBundle = join(f.dir, 'rookie.ovpn');
      const text = await buildClientBundle(f.pki, 'rookie', { remotes, serverName: SERVER_NAME, tlsCrypt: f.tlsCrypt });
      expect(text.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
      await writeFile(newBundle, text, { mode: 0o600 });
      const rookie = await f.connect(newBundle);
      expect(await rookie.waitForLog(CONNECTED, 15_000)).toBe(true);
      await rookie.stop();
    } finally {
      await server.stop();
    }
  });
});

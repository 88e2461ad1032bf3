// Shared set-up for the OpenVPN integration tests: a PKI in a temp dir, a tls-crypt key, bundles
// rendered by this package, and helpers to start real OpenVPN processes from @invis/testbed.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type OpenVpnProcess,
  type OpenVpnServer,
  startOpenVpnClient,
  startOpenVpnLoopbackServer,
} from '@invis/testbed';
import { buildClientBundle, createPki, generateTlsCryptKey, type Pki } from '../../src/index';

export const CONNECTED: RegExp = /Initialization Sequence Completed/;
export const SERVER_NAME: string = 'vpn-server';

export interface Fixture {
  dir: string;
  pki: Pki;
  tlsCrypt: string;
  /** Writes an inline bundle for `name` pointing at `server` (0600) and returns its path. */
  bundle(name: string, server: OpenVpnServer, overrides?: { tlsCrypt?: string; tlsCryptV2?: string }): Promise<string>;
  /** Starts a `--dev null` p2p server with the fixture's server certificate and CRL (default `--tls-crypt tc.key`). */
  startServer(tlsArgs?: string[]): Promise<OpenVpnServer>;
  /** Starts a client from a bundle, with `--dev null` (no tun needed). */
  connect(bundlePath: string): Promise<OpenVpnProcess>;
  cleanup(): Promise<void>;
}

/** A fresh PKI with the server certificate `vpn-server`, or the one in `pkiDir` when given. */
export async function createFixture(options: { pki?: (dir: string) => Promise<Pki> } = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'ovpn-pki-it-'));
  let pki: Pki;
  if (options.pki) {
    pki = await options.pki(dir);
  } else {
    pki = createPki({ dir: join(dir, 'pki') });
    await pki.init({ caName: 'invis Test VPN CA' });
    await pki.issueServer({ name: SERVER_NAME, san: { dns: [SERVER_NAME] } });
  }
  const tlsCrypt = generateTlsCryptKey();
  await writeFile(join(dir, 'tc.key'), tlsCrypt, { mode: 0o600 });
  const processes: { stop(): Promise<void> }[] = [];
  return {
    dir,
    pki,
    tlsCrypt,
    async bundle(name, server, overrides = {}) {
      const path = join(dir, `${name}-${Math.random().toString(36).slice(2, 8)}.ovpn`);
      const text = await buildClientBundle(pki, name, {
        remotes: [{ host: server.info.address, port: server.info.port }],
        serverName: SERVER_NAME,
        ...(overrides.tlsCryptV2 ? { tlsCryptV2: overrides.tlsCryptV2 } : { tlsCrypt: overrides.tlsCrypt ?? tlsCrypt }),
      });
      await writeFile(path, text, { mode: 0o600 });
      return path;
    },
    async startServer(tlsArgs = ['--tls-crypt', join(dir, 'tc.key')]) {
      const server = await startOpenVpnLoopbackServer({
        cwd: pki.dir,
        args: [
          '--ca',
          'ca.crt',
          '--cert',
          `issued/${SERVER_NAME}.crt`,
          '--key',
          `private/${SERVER_NAME}.key`,
          '--dh',
          'none',
          ...tlsArgs,
          '--crl-verify',
          'crl.pem',
          '--remote-cert-tls',
          'client',
        ],
      });
      processes.push(server);
      return server;
    },
    async connect(bundlePath) {
      const client = await startOpenVpnClient({
        cwd: dir,
        args: ['--config', bundlePath, '--dev', 'null'],
        logDir: dir,
      });
      processes.push(client);
      return client;
    },
    async cleanup() {
      for (const p of processes.reverse()) await p.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

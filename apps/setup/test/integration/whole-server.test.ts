// Whole-server test (issue 16): `invis-setup init --answers` and `apply` of every module inside the
// testbed's server sandbox — its own mount namespace (overlays over /etc, /var, /srv, /home; fresh
// /run) and network namespaces for the server, a LAN client and a WAN peer. invis-setup runs as a
// process inside the sandbox (sandbox-cli.ts); the sandbox's supervisor plays systemd for it
// (sandbox-services.ts). Then real clients from the LAN and the WAN prove the result.
import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEBIAN_12_UNITS, type ServerSandbox, startServerSandbox } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serveServices } from './sandbox-services';

const ANSWERS = join(import.meta.dirname, 'whole-server.yaml');
const CLI = join(import.meta.dirname, 'sandbox-cli.ts');
const REPO = join(import.meta.dirname, '../../../..');
const TSX = join(REPO, 'node_modules/tsx/dist/loader.mjs');

/** The unit table: Debian 12's plus the units setup itself installs, as their unit files say. */
const UNITS = {
  ...DEBIAN_12_UNITS,
  // invis-portal.service: User=invis-portal, LoadCredential= for the web key and the LDAP password.
  'invis-portal': {
    description: 'invis portal',
    argv: [
      'setpriv',
      '--reuid=invis-portal',
      '--regid=invis-portal',
      '--init-groups',
      '--',
      '/usr/bin/node',
      '/usr/lib/invis/portal/dist/main.js',
    ],
    environmentFile: '/etc/invis/portal.env',
    env: { CREDENTIALS_DIRECTORY: '/run/credentials/invis-portal.service' },
    runtimeDirectories: [
      { path: '/run/credentials', mode: '0755' },
      { path: '/run/credentials/invis-portal.service', mode: '0500', owner: 'invis-portal:root' },
      { path: '/var/lib/invis/portal', mode: '0750', owner: 'invis-portal:invis-portal' },
    ],
    preStart: [
      credential('web-key', '/etc/invis/private/web-key.pem'),
      credential('ldap-password', '/etc/invis/secrets/ad-invis-portal'),
    ],
    ready: [{ tcp: 56443 }],
    proven: true,
  },
  // invis-dhcp-sync.timer: every minute `invis-setup sync dhcp`.
  'invis-dhcp-sync.timer': {
    description: 'invis: DHCP reservations from the directory, every minute',
    argv: ['sh', '-c', 'while sleep 60; do /usr/bin/invis-setup sync dhcp; done'],
    ready: [],
    proven: true,
  },
} as const;

/** LoadCredential=: a 0400 copy for the service user. */
function credential(name: string, source: string): string[] {
  return ['install', '-m', '0400', '-o', 'invis-portal', '--', source, `/run/credentials/invis-portal.service/${name}`];
}

/**
 * Installs invis as its package would, inside the sandbox only: an overlay over /usr (upper layer
 * on the sandbox's /run) with `/usr/bin/invis-setup` (sandbox-cli.ts with the services socket),
 * `/usr/bin/node` and the portal at `/usr/lib/invis/portal`.
 */
async function installInvis(sandbox: ServerSandbox, socket: string): Promise<void> {
  const inside = async (argv: string[]) => {
    const [command, ...args] = argv as [string, ...string[]];
    const result = await sandbox.runner.run(command, args);
    if (result.exitCode !== 0) throw new Error(`${argv.join(' ')}: ${result.output}`);
  };
  await inside(['mkdir', '-p', '/run/usr/upper', '/run/usr/work']);
  await inside([
    'mount',
    '-t',
    'overlay',
    '-o',
    'lowerdir=/usr,upperdir=/run/usr/upper,workdir=/run/usr/work',
    'invis-usr',
    '/usr',
  ]);
  const wrapper = [
    '#!/bin/sh',
    `exec ${[process.execPath, '--conditions=@invis/source', '--import', TSX, CLI, socket].map(shellQuote).join(' ')} "$@"`,
    '',
  ].join('\n');
  await sandbox.writeFile('/usr/bin/invis-setup', wrapper, { mode: '0755' });
  await inside(['ln', '-sf', process.execPath, '/usr/bin/node']);
  await inside(['mkdir', '-p', '/usr/lib/invis']);
  await inside(['ln', '-sfn', join(REPO, 'apps/portal'), '/usr/lib/invis/portal']);
}

/** Single-quotes a word for sh (paths of this checkout). */
function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** invis-setup inside the sandbox; with `json` one JSON document is expected on stdout. */
async function setup(sandbox: ServerSandbox, argv: string[]) {
  const result = await sandbox.runner.run('/usr/bin/invis-setup', [...argv, '--json', '--lang', 'en'], {
    timeoutMs: 240_000,
  });
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(result.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`invis-setup ${argv.join(' ')} exited ${result.exitCode} without JSON: ${result.output}`);
  }
  return { code: result.exitCode, doc, stderr: result.stderr };
}

describe('whole server in the sandbox', () => {
  let sandbox: ServerSandbox;
  let dir: string;
  let server: Server;
  /** The services socket as the sandbox reaches it (its /tmp is its own). */
  let socket: string;
  const cli = (argv: string[]) => setup(sandbox, argv);

  beforeAll(async () => {
    sandbox = await startServerSandbox({ units: UNITS, readyTimeoutMs: 90_000 });
    // A freshly installed Debian server runs sshd (the admin logs in with it); setup's ssh module
    // checks its file with `sshd -t`, which wants the running sshd's /run/sshd.
    await sandbox.services.start('ssh');
    dir = await mkdtemp(join(tmpdir(), 'setup-whole-'));
    server = await serveServices(sandbox.services, join(dir, 'services.sock'));
    socket = `/proc/${process.pid}/root${join(dir, 'services.sock')}`;
    await installInvis(sandbox, socket);
  });
  afterAll(async () => {
    server?.close();
    await sandbox?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('init and apply configure every module, a second apply changes nothing', async () => {
    const init = await cli(['init', '--answers', ANSWERS]);
    expect(init.doc, JSON.stringify(init.doc)).toMatchObject({ ok: true });
    const apply = await cli(['apply']);
    expect(apply.doc, JSON.stringify(apply.doc)).toMatchObject({ ok: true, changed: true });
    const modules = (apply.doc.modules as { module: string }[]).map((m) => m.module);
    expect(modules.sort()).toEqual(
      ['ca', 'check', 'ddns', 'dhcp', 'dns', 'firewall', 'network', 'portal', 'samba_ad', 'ssh', 'time'].sort(),
    );
    const again = await cli(['apply']);
    expect(again.doc, JSON.stringify(again.doc)).toMatchObject({ ok: true, changed: false });
  }, 300_000);
});

// The whole server in the testbed's sandbox, shared by the whole-server test and `./invis demo`:
// the sandbox with what a fresh Debian server runs, invis installed as its package would be
// (invis-setup is sandbox-cli.ts inside, its service actions reach the supervisor in this process
// over a unix socket), and the helpers both drive it with.
import { existsSync, realpathSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { type ServerSandbox, startServerSandbox } from '@invis/testbed';
import { useOfflineSignatures } from './offline-signatures';
import { serveServices } from './sandbox-services';

const CLI = join(import.meta.dirname, 'sandbox-cli.ts');
const BACKUP_CLI = join(import.meta.dirname, 'sandbox-backup.ts');
/** The checkout's root. */
export const REPO = join(import.meta.dirname, '../../..');
/** tsx's loader, for TypeScript programs run inside the sandbox from source. */
export const TSX = join(REPO, 'node_modules/tsx/dist/loader.mjs');

/** A running whole-server sandbox with invis installed. */
export interface WholeServer {
  readonly sandbox: ServerSandbox;
  /** Host temp dir of the caller (the services socket lives here); removed by `stop()`. */
  readonly dir: string;
  /** Stops the services socket and the sandbox, removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Starts the sandbox as a freshly installed Debian server (sshd, dbus, firewalld running) and
 * installs invis in it ({@link installInvis}).
 * @param prefix the temp dir's name prefix
 * @returns the whole server
 * @throws Error when the portal build is missing, TestbedError when the sandbox cannot start
 */
export async function startWholeServer(prefix: string): Promise<WholeServer> {
  // The portal runs from its build, as installed (./invis test builds before testing).
  if (!existsSync(join(REPO, 'apps/portal/dist/main.js'))) {
    throw new Error('apps/portal/dist/main.js is missing: build first (pnpm build)');
  }
  // The checkout and Node run inside the sandbox: keep them visible when they lie under /tmp.
  const sandbox = await startServerSandbox({
    readyTimeoutMs: 90_000,
    visiblePaths: [REPO, dirname(realpathSync(process.execPath))],
  });
  let dir: string | undefined;
  let server: Server | undefined;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    server?.close();
    await sandbox.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  };
  try {
    // A freshly installed Debian server runs sshd (the admin logs in with it); setup's ssh module
    // checks its file with `sshd -t`, which wants the running sshd's /run/sshd.
    await sandbox.services.start('ssh');
    // …and firewalld (Debian starts it at installation), so setup's firewall module reloads the
    // running daemon.
    await sandbox.services.start('dbus');
    await sandbox.services.start('firewalld');
    // No Internet in the sandbox: ClamAV gets a local signature set (setup's mailfilter starts clamd).
    await useOfflineSignatures(sandbox);
    dir = await mkdtemp(join(tmpdir(), prefix));
    server = await serveServices(sandbox.services, join(dir, 'services.sock'));
    // The sandbox's /tmp is its own: it reaches the socket through this process's root.
    await installInvis(sandbox, `/proc/${process.pid}/root${join(dir, 'services.sock')}`);
    return { sandbox, dir, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * Installs invis as its package would, inside the sandbox only: an overlay over /usr (upper layer
 * on the sandbox's /run) with `/usr/bin/invis-setup` (sandbox-cli.ts with the services socket),
 * `/usr/bin/invis-backup` (sandbox-backup.ts, the same socket), `/usr/bin/node` and the portal at
 * `/usr/lib/invis/portal`.
 */
async function installInvis(sandbox: ServerSandbox, socket: string): Promise<void> {
  const inside = (argv: [string, ...string[]]) => must(sandbox.runner, argv[0], argv.slice(1));
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
  const wrapper = (program: string) =>
    [
      '#!/bin/sh',
      `exec ${[process.execPath, '--conditions=@invis/source', '--import', TSX, program, socket].map(shellQuote).join(' ')} "$@"`,
      '',
    ].join('\n');
  await sandbox.writeFile('/usr/bin/invis-setup', wrapper(CLI), { mode: '0755' });
  await sandbox.writeFile('/usr/bin/invis-backup', wrapper(BACKUP_CLI), { mode: '0755' });
  await inside(['ln', '-sf', process.execPath, '/usr/bin/node']);
  await inside(['mkdir', '-p', '/usr/lib/invis']);
  await inside(['ln', '-sfn', join(REPO, 'apps/portal'), '/usr/lib/invis/portal']);
}

/** Single-quotes a word for sh (paths of this checkout). */
function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/**
 * invis-setup inside the sandbox with `--json`: one JSON document is expected on stdout.
 * @param sandbox the sandbox
 * @param argv invis-setup's arguments
 * @returns exit code, the document and stderr (progress)
 * @throws Error when stdout is not JSON
 */
export async function setupCli(sandbox: ServerSandbox, argv: string[]) {
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

/**
 * Runs a program and returns its stdout.
 * @throws Error with the program's output on any other exit than 0
 */
export async function must(
  runner: ServerSandbox['runner'],
  command: string,
  args: string[],
  options: { env?: Record<string, string>; input?: string } = {},
): Promise<string> {
  const result = await runner.run(command, args, options);
  if (result.exitCode !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.exitCode}: ${result.output}`);
  return result.stdout;
}

/**
 * The LAN side as the testbed's DHCP client helper (`requestDhcpLease`) wants it.
 * @param sandbox the sandbox (server address: its default `192.168.220.10/24`)
 * @param dir a host temp dir for the client's files
 */
export function lanLab(sandbox: ServerSandbox, dir: string) {
  return {
    serverNetns: sandbox.info.server.netns,
    clientNetns: sandbox.lan.netns,
    serverIf: 'intern',
    clientIf: sandbox.info.lan.ifname,
    subnet: '192.168.220.0/24',
    serverAddress: sandbox.info.server.intern.slice(0, sandbox.info.server.intern.indexOf('/')),
    net: '192.168.220',
    dir,
  };
}

/** One answer of {@link portalApi}: the HTTP status and the body (parsed when it is JSON). */
export interface PortalAnswer {
  status: string;
  text: string;
  json: unknown;
}

/**
 * The installed portal's REST API from the sandbox's LAN client with curl (its own cookie jar),
 * logged in as `username`: JSON calls with the session's CSRF token, and raw uploads.
 * @param sandbox the sandbox
 * @param options scratch folder (request bodies, cookie jar), the CA file, the portal's URL, the login
 * @throws Error when the login is refused
 */
export async function portalApi(
  sandbox: ServerSandbox,
  options: { dir: string; caFile: string; url: string; username: string; password: string },
) {
  const { dir, caFile, url, username } = options;
  const jar = join(dir, `cookies-${username}`);
  const call = async (args: string[], body?: { file: string; content: string }): Promise<PortalAnswer> => {
    if (body) await writeFile(join(dir, body.file), body.content, { mode: 0o600 });
    const answer = await must(sandbox.lan.runner, 'curl', [
      ...['-sS', '--cacert', caFile, '-b', jar, '-c', jar, '-w', '\n%{http_code}'],
      ...(body ? ['--data-binary', `@${join(dir, body.file)}`] : []),
      ...args,
    ]);
    const text = answer.slice(0, answer.lastIndexOf('\n'));
    let json: unknown = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // not JSON (a bundle, a page): the text is the answer
    }
    return { status: answer.slice(answer.lastIndexOf('\n') + 1), text, json };
  };
  const api = (method: string, path: string, body?: unknown, csrf?: string) =>
    call(
      [
        ...['-X', method, '-H', 'content-type: application/json'],
        ...(csrf ? ['-H', `x-csrf-token: ${csrf}`] : []),
        `${url}${path}`,
      ],
      body === undefined ? undefined : { file: 'request.json', content: JSON.stringify(body) },
    );
  const anonymous = (await api('GET', '/api/session')).json as { csrfToken: string };
  const login = await api('POST', '/api/session', { username, password: options.password }, anonymous.csrfToken);
  if (login.status !== '200') throw new Error(`portal login as ${username}: ${login.status} ${login.text}`);
  const csrf = (login.json as { csrfToken: string }).csrfToken;
  /** A raw upload (the body is the file). */
  const upload = (path: string, content: string) =>
    call(
      ['-X', 'PUT', '-H', 'content-type: application/octet-stream', '-H', `x-csrf-token: ${csrf}`, `${url}${path}`],
      { file: 'upload.bin', content },
    );
  return { api, csrf, upload };
}

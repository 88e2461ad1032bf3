import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Daemon, run, type SpawnOptions, spawnDaemon, waitUntilReady } from './process';
import { type RunningServer, startOnLoopback } from './server';

/** Connection data of a test OpenVPN server; plain data. */
export interface OpenVpnInfo {
  /** Address it listens on (a reserved 127.77.x.y for `--dev null`, a veth address in a netns). */
  address: string;
  port: number;
  logFile: string;
}

/** A running OpenVPN process (server or client) with access to its log. */
export interface OpenVpnProcess {
  readonly logFile: string;
  readonly pid: number;
  isRunning(): boolean;
  /** The whole log so far. */
  log(): Promise<string>;
  /** Polls the log until `pattern` appears; false after `timeoutMs` or when the process died. */
  waitForLog(pattern: RegExp, timeoutMs?: number): Promise<boolean>;
  stop(): Promise<void>;
}

/** A running test OpenVPN server. */
export type OpenVpnServer = RunningServer<OpenVpnInfo> & OpenVpnProcess;

function wrap(daemon: Daemon): OpenVpnProcess {
  const log = async (): Promise<string> => readFile(daemon.logFile, 'utf8').catch(() => '');
  return {
    logFile: daemon.logFile,
    pid: daemon.pid,
    isRunning: () => daemon.isRunning(),
    log,
    async waitForLog(pattern, timeoutMs = 10_000) {
      const until = performance.now() + timeoutMs;
      for (;;) {
        if (pattern.test(await log())) return true;
        if (!daemon.isRunning() || performance.now() > until) return false;
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    stop: () => daemon.stop(),
  };
}

let counter = 0;

/**
 * Starts an OpenVPN 2.6 p2p TLS server with `--dev null` on its own loopback address (no tun,
 * one peer at a time; a new client may connect once the previous one has exited). `args` carry
 * the TLS material (`--ca`, `--cert`, `--key`, `--tls-crypt`, `--crl-verify`, …) or `--config`;
 * relative paths resolve against `cwd`. Ready when the UDP socket is bound.
 */
export async function startOpenVpnLoopbackServer(options: { cwd: string; args: string[] }): Promise<OpenVpnServer> {
  let proc: OpenVpnProcess | undefined;
  const server = await startOnLoopback('openvpn', async ({ dir, address }) => {
    const port = 1194;
    const logFile = join(dir, 'server.log');
    const daemon = spawnDaemon(
      'openvpn-server',
      'openvpn',
      [
        '--cd',
        options.cwd,
        ...options.args,
        '--dev',
        'null',
        '--proto',
        'udp4',
        '--local',
        address,
        '--lport',
        String(port),
        '--tls-server',
        '--verb',
        '3',
      ],
      logFile,
    );
    proc = wrap(daemon);
    const p = proc;
    // UDP: a client started before the socket is bound loses its first packet (+2 s retry).
    const readyMs = await waitUntilReady(daemon, () => p.waitForLog(/link local \(bound\)/, 0), 10_000, 20);
    return { info: { address, port, logFile }, readyMs, stop: () => daemon.stop() };
  });
  const p = proc as OpenVpnProcess;
  return { ...p, info: server.info, readyMs: server.readyMs, stop: () => server.stop() };
}

/**
 * Starts an OpenVPN server from a config file inside network namespace `netns` (tun works
 * there), e.g. `--mode server` with several clients. Ready at "Initialization Sequence Completed".
 */
export async function startOpenVpnNetnsServer(options: {
  netns: string;
  cwd: string;
  config: string;
  address: string;
  port: number;
  logDir: string;
}): Promise<OpenVpnServer> {
  await mkdir(options.logDir, { recursive: true });
  const logFile = join(options.logDir, `server-${process.pid}-${counter++}.log`);
  const daemon = spawnDaemon('openvpn-server', 'openvpn', ['--cd', options.cwd, '--config', options.config], logFile, {
    netns: options.netns,
  });
  const proc = wrap(daemon);
  const readyMs = await waitUntilReady(
    daemon,
    () => proc.waitForLog(/Initialization Sequence Completed/, 0),
    15_000,
    20,
  );
  return { ...proc, info: { address: options.address, port: options.port, logFile }, readyMs };
}

/**
 * Starts an OpenVPN client (e.g. `['--config', 'bundle.ovpn', '--dev', 'null']`). Does not wait:
 * use `waitForLog(/Initialization Sequence Completed/)` for success, or the server's log for
 * the reason of a rejection.
 */
export async function startOpenVpnClient(options: {
  cwd: string;
  args: string[];
  logDir: string;
  netns?: string;
}): Promise<OpenVpnProcess> {
  await mkdir(options.logDir, { recursive: true });
  const logFile = join(options.logDir, `client-${process.pid}-${counter++}.log`);
  const spawnOptions: SpawnOptions = options.netns ? { netns: options.netns } : {};
  return wrap(spawnDaemon('openvpn-client', 'openvpn', ['--cd', options.cwd, ...options.args], logFile, spawnOptions));
}

/** A throw-away easy-rsa 3 PKI driven by the real `easyrsa` script in batch mode. */
export interface EasyRsaPki {
  /** `EASYRSA_PKI`. */
  readonly dir: string;
  /** Runs `easyrsa ARGS` against this PKI (e.g. `['build-client-full', 'c1', 'nopass']`). */
  run(args: readonly string[]): Promise<string>;
}

/** Where Debian's easy-rsa package puts the script (it is not on PATH). */
export const EASYRSA = '/usr/share/easy-rsa/easyrsa';

/**
 * `easyrsa init-pki` + `build-ca` in `dir` (must not exist yet). EC P-256 or RSA 2048;
 * with `passphrase` the CA key is encrypted.
 */
export async function createEasyRsaPki(
  dir: string,
  options: { algo: 'ec' | 'rsa'; caName: string; passphrase?: string },
): Promise<EasyRsaPki> {
  const env: Record<string, string> = {
    EASYRSA_BATCH: '1',
    EASYRSA_PKI: dir,
    EASYRSA_ALGO: options.algo,
    ...(options.algo === 'ec' ? { EASYRSA_CURVE: 'prime256v1' } : { EASYRSA_KEY_SIZE: '2048' }),
  };
  const pass = options.passphrase === undefined ? [] : [`--passin=pass:${options.passphrase}`];
  const pki: EasyRsaPki = { dir, run: (args) => run(EASYRSA, [...pass, ...args], { env }) };
  await pki.run(['init-pki']);
  // EASYRSA_REQ_CN only for build-ca: left set, it breaks later build-*-full calls.
  const passout = options.passphrase === undefined ? [] : [`--passout=pass:${options.passphrase}`];
  await run(EASYRSA, [...pass, ...passout, 'build-ca', ...(options.passphrase === undefined ? ['nopass'] : [])], {
    env: { ...env, EASYRSA_REQ_CN: options.caName },
  });
  return pki;
}

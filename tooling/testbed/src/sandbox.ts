// The whole-server sandbox: one Debian "server" made of a private mount namespace (overlays over
// the real /etc, /var, /srv, /home; fresh /run, /tmp, /dev/shm) and network namespaces for the
// server, a LAN client and a WAN peer. `invis-setup apply` is proven in it and `./invis demo`
// runs in it; there is no systemd inside — services run under the supervisor (supervisor.ts).
import { readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type CommandRunner, createExecaRunner, HostError } from '@invis/host';
import { execa } from 'execa';
import { TestbedError } from './errors';
import { connectVeth, createNetns, type Netns } from './netns';
import { type Daemon, onExitCleanup, run, spawnDaemon, terminateProcesses, waitUntilReady } from './process';
import { DEBIAN_12_UNITS, type SandboxUnitTable } from './sandbox-units';
import { createSupervisor, type SandboxServiceManager } from './supervisor';

/** Options of {@link startServerSandbox}; every address is `a.b.c.d/prefix`. */
export interface ServerSandboxOptions {
  /** The server's `intern` address, default `192.168.220.10/24`. */
  lanServer?: string;
  /** The LAN client's address; default none (it gets one by DHCP). With one, its default route is the server. */
  lanClient?: string;
  /** The server's `extern` address, default `198.51.100.2/24` (TEST-NET-2). */
  wanServer?: string;
  /** The WAN peer's address and the server's default gateway, default `198.51.100.1/24`. */
  wanPeer?: string;
  /** The server's host name (own UTS namespace), default `invis`. */
  hostname?: string;
  /** The supervisor's unit table, default {@link DEBIAN_12_UNITS}. */
  units?: SandboxUnitTable;
  /** How long a service start or reload may take, default 30 s. */
  readyTimeoutMs?: number;
  /**
   * Host paths that must stay visible inside although they lie below a fresh tmpfs (`/tmp`,
   * `/run`): e.g. a checkout or a Node.js under /tmp that programs inside run from.
   */
  visiblePaths?: readonly string[];
}

/** Plain data about a running sandbox. */
export interface ServerSandboxInfo {
  /** Host temp dir: logs (`logs/<unit>.log`); the overlays' upper layers live in a tmpfs only the sandbox sees. */
  readonly dir: string;
  /** The process that holds the server's mount, UTS and IPC namespaces (it sits in the server netns). */
  readonly holderPid: number;
  readonly hostname: string;
  readonly server: {
    readonly netns: string;
    readonly intern: string;
    readonly extern: string;
    readonly gateway: string;
  };
  /** Client netns; its interface is `eth0`. */
  readonly lan: { readonly netns: string; readonly ifname: string; readonly address?: string };
  readonly wan: { readonly netns: string; readonly ifname: string; readonly address: string };
}

/** A client namespace of the sandbox. */
export interface SandboxClient {
  readonly netns: string;
  /** Runs programs in this network namespace (`ip netns exec`), host file system. */
  readonly runner: CommandRunner;
}

/** A running whole-server sandbox. */
export interface ServerSandbox {
  readonly info: ServerSandboxInfo;
  /** Runs programs as the server: its mount, UTS, IPC and network namespaces (`nsenter`). */
  readonly runner: CommandRunner;
  /** systemctl for the sandbox: the supervisor over `info`'s unit table. */
  readonly services: SandboxServiceManager;
  readonly lan: SandboxClient;
  readonly wan: SandboxClient;
  /** Reads a file as the server sees it (through `cat` inside, so symlinks resolve inside). */
  readFile(path: string): Promise<string>;
  /** Writes (creates or truncates) a file as the server sees it; `mode` e.g. `0600`. */
  writeFile(path: string, content: string, options?: { mode?: string }): Promise<void>;
  /** Stops every service and process inside, deletes the namespaces and the temp dir. Idempotent. */
  stop(): Promise<void>;
}

const CIDR = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const OVERLAID = ['/etc', '/var', '/srv', '/home'] as const;
const FRESH = [
  { path: '/run', mode: '0755' },
  { path: '/tmp', mode: '1777' },
  { path: '/dev/shm', mode: '1777' },
] as const;
const CLIENT_IF = 'eth0';

function cidr(value: string, what: string): string {
  const m = CIDR.exec(value);
  if (!m || m.slice(1, 5).some((o) => Number(o) > 255) || Number(m[5]) > 32) {
    throw new TestbedError('TESTBED_BAD_OPTION', `${what}: ${JSON.stringify(value)} is not an IPv4 address/prefix`);
  }
  return value;
}
const address = (c: string): string => c.slice(0, c.indexOf('/'));

/**
 * Starts a whole-server sandbox (root needed; ~0.3 s). Nothing of it is visible on the host: writes
 * under /etc, /var, /srv, /home go to overlay upper layers on a tmpfs of the sandbox's own mount
 * namespace, /run, /tmp and /dev/shm are empty tmpfs, and the addresses exist only in its
 * network namespaces (`server` with `intern` ↔ `lan`'s `eth0`, `extern` ↔ `wan`'s `eth0`).
 * Torn down by `stop()`, and at process exit if the caller forgets.
 * @param options addresses, host name, unit table
 * @returns the sandbox
 * @throws TestbedError `TESTBED_BAD_OPTION` for a malformed address, `TESTBED_COMMAND_FAILED` when a namespace or mount cannot be made
 * @example
 * const sandbox = await startServerSandbox({ lanClient: '192.168.220.50/24' });
 * await sandbox.writeFile('/etc/bind/named.conf.local', zones);
 * await sandbox.services.start('named');
 * await sandbox.lan.runner.run('dig', ['@192.168.220.10', 'invis.test', 'SOA']);
 * await sandbox.stop();
 */
export async function startServerSandbox(options: ServerSandboxOptions = {}): Promise<ServerSandbox> {
  const lanServer = cidr(options.lanServer ?? '192.168.220.10/24', 'lanServer');
  const lanClient = options.lanClient === undefined ? undefined : cidr(options.lanClient, 'lanClient');
  const wanServer = cidr(options.wanServer ?? '198.51.100.2/24', 'wanServer');
  const wanPeer = cidr(options.wanPeer ?? '198.51.100.1/24', 'wanPeer');
  const hostname = options.hostname ?? 'invis';
  if (!/^[A-Za-z0-9][A-Za-z0-9.-]{0,62}$/.test(hostname)) {
    throw new TestbedError('TESTBED_BAD_OPTION', `hostname: ${JSON.stringify(hostname)} is not a host name`);
  }

  const dir = await mkdtemp(join(tmpdir(), 'invis-sandbox-'));
  const logDir = join(dir, 'logs');
  const state = join(dir, 'state');
  const namespaces: Netns[] = [];
  let holder: Daemon | undefined;
  let supervisor: SandboxServiceManager | undefined;
  // Namespace ids of everything the sandbox made: any process in one of them is the sandbox's.
  const nsIds = new Set<string>();
  let stopped = false;

  const sweep = (): number[] => processesInNamespaces(nsIds);
  const forgetExitHook = onExitCleanup(() => {
    for (const pid of sweep()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    try {
      await supervisor?.stopAll();
      await holder?.stop();
    } finally {
      // Whatever a service or a runner command left behind in the namespaces (own sessions included).
      await terminateProcesses(sweep());
      for (const ns of namespaces.reverse()) await ns.remove();
      await rm(dir, { recursive: true, force: true });
      forgetExitHook();
    }
  };

  try {
    await mkdir(logDir);
    await mkdir(state);
    for (const tag of ['sbsrv', 'sblan', 'sbwan']) namespaces.push(await createNetns(tag));
    const [server, lan, wan] = namespaces as [Netns, Netns, Netns];
    for (const ns of namespaces) nsIds.add(`net:[${statSync(join('/run/netns', ns.name)).ino}]`);
    await connectVeth(
      { netns: server.name, ifname: 'intern', cidr: lanServer },
      { netns: lan.name, ifname: CLIENT_IF, ...(lanClient ? { cidr: lanClient } : {}) },
    );
    await connectVeth(
      { netns: server.name, ifname: 'extern', cidr: wanServer },
      { netns: wan.name, ifname: CLIENT_IF, cidr: wanPeer },
    );
    await run('ip', ['-n', server.name, 'route', 'add', 'default', 'via', address(wanPeer)]);
    if (lanClient) await run('ip', ['-n', lan.name, 'route', 'add', 'default', 'via', address(lanServer)]);

    // `ip netns exec` gives a mount namespace with the server's /sys; unshare makes the private one
    // (+ UTS for the host name, IPC for shared memory) and execs `sleep`, which holds it.
    holder = spawnDaemon(
      'sandbox holder',
      'unshare',
      ['--mount', '--uts', '--ipc', '--propagation', 'private', '--', 'sleep', 'infinity'],
      join(logDir, 'holder.log'),
      { netns: server.name },
    );
    const holderPid = holder.pid;
    await waitUntilReady(holder, async () => commandName(holderPid) === 'sleep', 5000, 10);
    nsIds.add(readlinkSync(`/proc/${holderPid}/ns/mnt`));
    const enter = (): string[] => ['--target', String(holderPid), '--mount', '--uts', '--ipc', '--net'];
    const inside = (args: readonly string[]): Promise<string> => run('nsenter', [...enter(), '--', ...args]);

    // The upper layers sit on a tmpfs of the sandbox's own: overlayfs cannot use every file
    // system as upper (not overlayfs itself, as on container roots), tmpfs works everywhere,
    // and nothing written inside can outlive the holder.
    await inside(['mount', '-t', 'tmpfs', '-o', 'mode=0700', 'invis-sandbox', state]);
    for (const path of OVERLAID) {
      const upper = join(state, path, 'upper');
      const work = join(state, path, 'work');
      await inside(['mkdir', '-p', upper, work]);
      await inside([
        'mount',
        '-t',
        'overlay',
        '-o',
        `lowerdir=${path},upperdir=${upper},workdir=${work}`,
        'invis-sandbox',
        path,
      ]);
    }
    // A path below a fresh tmpfs is held by a keeper process whose working directory it is; once
    // the tmpfs covers it, it is bound back from /proc/<keeper>/cwd (same mount namespace).
    const below = (path: string, dirPath: string): boolean => path === dirPath || path.startsWith(`${dirPath}/`);
    const wanted = (options.visiblePaths ?? []).map((p) => resolve(p));
    const kept = wanted.filter(
      (path) =>
        FRESH.some((fresh) => below(path, fresh.path)) && !wanted.some((other) => other !== path && below(path, other)),
    );
    const keepers: Daemon[] = [];
    try {
      for (const path of kept) {
        const keeper = spawnDaemon(
          'sandbox path keeper',
          'nsenter',
          // chdir after entering (nsenter's --wd opens the folder before it enters).
          [...enter(), '--', 'env', `--chdir=${path}`, 'sleep', 'infinity'],
          join(logDir, 'keeper.log'),
        );
        keepers.push(keeper);
        await waitUntilReady(keeper, async () => commandName(keeper.pid) === 'sleep', 5000, 10);
      }
      for (const fresh of FRESH)
        await inside(['mount', '-t', 'tmpfs', '-o', `mode=${fresh.mode}`, 'invis-sandbox', fresh.path]);
      for (const [i, path] of kept.entries()) {
        await inside(['mkdir', '-p', path]);
        // --no-canonicalize: the source must stay the magic link, not the path it names.
        await inside(['mount', '--no-canonicalize', '--bind', `/proc/${(keepers[i] as Daemon).pid}/cwd`, path]);
      }
    } finally {
      for (const keeper of keepers) await keeper.stop();
    }
    await inside(['install', '-d', '-m', '1777', '/run/lock']);
    await inside(['hostname', hostname]);
    // The server's name on its LAN address, as an installed invis server has it: a program that
    // looks its own host name up (swaks, sendmail-style clients) must not wait for a DNS server
    // the sandbox cannot reach (10 s per swaks call before). The host's file below the overlay
    // stays as it was.
    const hosts = await inside(['cat', '/etc/hosts']);
    if (!hosts.split('\n').some((line) => line.split(/\s+/).slice(1).includes(hostname))) {
      await run('nsenter', [...enter(), '--', 'dd', 'of=/etc/hosts', 'status=none'], {
        input: `${hosts.trimEnd()}\n${address(lanServer)}\t${hostname}\n`,
      });
    }

    const guard = (): void => {
      if (stopped) throw new HostError('HOST_COMMAND_FAILED', 'the server sandbox is stopped');
    };
    const runner = namespaceRunner((cwd) => {
      guard();
      return ['nsenter', ...enter(), ...(cwd === undefined ? [] : [`--wd=${cwd}`]), '--'];
    }, /^nsenter: failed to execute .*: No such file or directory$/m);
    const clientRunner = (ns: Netns): CommandRunner =>
      namespaceRunner((cwd) => {
        if (cwd !== undefined) throw new HostError('HOST_COMMAND_FAILED', 'a client runner has no cwd option');
        guard();
        return ['ip', 'netns', 'exec', ns.name];
      }, /^exec of ".*" failed: No such file or directory$/m);
    supervisor = createSupervisor({
      runner,
      enter,
      logDir,
      units: options.units ?? DEBIAN_12_UNITS,
      ...(options.readyTimeoutMs === undefined ? {} : { readyTimeoutMs: options.readyTimeoutMs }),
    });

    return {
      info: {
        dir,
        holderPid,
        hostname,
        server: { netns: server.name, intern: lanServer, extern: wanServer, gateway: address(wanPeer) },
        lan: { netns: lan.name, ifname: CLIENT_IF, ...(lanClient ? { address: lanClient } : {}) },
        wan: { netns: wan.name, ifname: CLIENT_IF, address: wanPeer },
      },
      runner,
      services: supervisor,
      lan: { netns: lan.name, runner: clientRunner(lan) },
      wan: { netns: wan.name, runner: clientRunner(wan) },
      async readFile(path) {
        guard();
        // Not the runner: it strips the final newline, a file's content must come back exact.
        const result = await execa('nsenter', [...enter(), '--', 'cat', '--', path], {
          reject: false,
          stripFinalNewline: false,
        });
        if (result.exitCode !== 0) {
          throw new TestbedError('TESTBED_COMMAND_FAILED', `cannot read ${path} in the sandbox: ${result.stderr}`);
        }
        return result.stdout;
      },
      async writeFile(path, content, writeOptions = {}) {
        guard();
        await run('nsenter', [...enter(), '--', 'dd', `of=${path}`, 'status=none'], { input: content });
        if (writeOptions.mode) await inside(['chmod', writeOptions.mode, '--', path]);
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * A CommandRunner that puts `prefix(cwd)` before every program. A program missing inside makes
 * the prefix tool print `notFound` and exit non-zero; that becomes `HOST_COMMAND_NOT_FOUND`, as
 * for the host runner.
 */
function namespaceRunner(prefix: (cwd: string | undefined) => string[], notFound: RegExp): CommandRunner {
  const host = createExecaRunner();
  return {
    async run(command, args, options = {}) {
      const [tool, ...toolArgs] = prefix(options.cwd) as [string, ...string[]];
      const result = await host.run(tool, [...toolArgs, command, ...args], { ...options, cwd: undefined });
      if (result.exitCode !== 0 && notFound.test(result.stderr)) {
        throw new HostError('HOST_COMMAND_NOT_FOUND', `${command} is not installed in the sandbox`, {
          cause: result,
          details: { command },
        });
      }
      return { ...result, command, args: [...args] };
    },
  };
}

function commandName(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return undefined;
  }
}

/** Pids of processes (other than this one) in any of the namespaces `ids` (`net:[…]`, `mnt:[…]`). */
function processesInNamespaces(ids: ReadonlySet<string>): number[] {
  if (ids.size === 0) return [];
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (ids.has(readlinkSync(`/proc/${entry}/ns/net`)) || ids.has(readlinkSync(`/proc/${entry}/ns/mnt`))) {
        found.push(Number(entry));
      }
    } catch {
      // exited while we looked
    }
  }
  return found;
}

import { readdirSync, readFileSync } from 'node:fs';
import { execa } from 'execa';
import { TestbedError } from './errors';

/** A daemon started in its own process group (pid = pgid), stopped as a group. */
export interface Daemon {
  readonly name: string;
  readonly pid: number;
  readonly logFile: string;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  isRunning(): boolean;
  /** SIGTERM the group, wait up to `graceMs`, then SIGKILL it. Idempotent. */
  stop(graceMs?: number): Promise<void>;
  /** Last lines of the log, for error messages. */
  tail(lines?: number): string;
}

const live = new Set<Daemon>();
const cleanups = new Set<() => void>();
let hooked = false;

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  // Last resort on any exit path: kill what is still alive synchronously, then run cleanups.
  process.on('exit', () => {
    for (const d of live) {
      try {
        process.kill(-d.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const c of cleanups) {
      try {
        c();
      } catch {
        // best effort at exit
      }
    }
  });
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      // A program with its own handler (the demos) stops what it started and exits itself:
      // exiting here would cut its asynchronous clean-up short (temp folders left behind).
      if (process.listenerCount(signal) > 0) return;
      void stopAll().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    });
  }
}

/** Registers a synchronous cleanup (e.g. remove a loopback address) run at process exit. */
export function onExitCleanup(fn: () => void): () => void {
  hookExit();
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

/** Stops every daemon this process started, newest first. */
export async function stopAll(): Promise<void> {
  for (const d of [...live].reverse()) await d.stop();
}

export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Run inside this network namespace (`ip netns exec`). */
  netns?: string;
  /**
   * Keep the daemon out of this process's exit clean-up. For a daemon started from a test
   * worker that must outlive it (e.g. a restarted DC owned by the globalSetup's stop()).
   */
  detachFromThisProcess?: boolean;
}

/**
 * Starts `command args` detached in a new session so the whole tree can be killed by group.
 * stdout and stderr go to `logFile`. Throws `TESTBED_NOT_INSTALLED` when the program is missing.
 */
export function spawnDaemon(
  name: string,
  command: string,
  args: readonly string[],
  logFile: string,
  options: SpawnOptions = {},
): Daemon {
  hookExit();
  const argv = options.netns ? ['ip', 'netns', 'exec', options.netns, command, ...args] : [command, ...args];
  const child = execa(argv[0] as string, argv.slice(1), {
    ...(options.cwd ? { cwd: options.cwd } : {}),
    ...(options.env ? { env: options.env } : {}),
    detached: true,
    stdin: 'ignore',
    stdout: { file: logFile, append: true },
    stderr: { file: logFile, append: true },
    reject: false,
    cleanup: false,
  });
  if (child.pid === undefined) {
    throw new TestbedError(
      'TESTBED_NOT_INSTALLED',
      `${command} could not be started; install it with scripts/install-system.sh`,
    );
  }
  const pid = child.pid;
  let running = true;
  const exited = child.then(() => {
    running = false;
  });
  const tail = (lines = 15): string => {
    try {
      return readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  };
  const daemon: Daemon = {
    name,
    pid,
    logFile,
    exited,
    isRunning: () => running,
    tail,
    async stop(graceMs = 5000) {
      live.delete(daemon);
      if (!running) return;
      await stopProcessGroup(pid, graceMs);
      await exited;
    },
  };
  if (!options.detachFromThisProcess) live.add(daemon);
  return daemon;
}

/** State letter and process group of `pid` from /proc, or undefined when it is gone. */
function procStat(pid: number | string): { state: string; pgrp: number } | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the parenthesised command: state ppid pgrp ...
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { state: fields[0] ?? '', pgrp: Number(fields[2]) };
}

/** Running means not gone and not a zombie (an init that does not reap keeps zombies around). */
function isRunningProcess(stat: { state: string } | undefined): boolean {
  return stat !== undefined && stat.state !== 'Z' && stat.state !== 'X';
}

function pids(): string[] {
  return readdirSync('/proc').filter((entry) => /^\d+$/.test(entry));
}

/**
 * Whether any non-zombie process is still in group `pgid` (from /proc). `kill(-pgid, 0)` is
 * not enough: orphaned children become zombies that an init without reaping keeps around.
 */
export function groupHasLiveMembers(pgid: number): boolean {
  return pids().some((pid) => {
    const stat = procStat(pid);
    return stat?.pgrp === pgid && isRunningProcess(stat);
  });
}

/**
 * Pids of live processes whose command line contains `needle` (e.g. an instance's unique config
 * path). For helpers a daemon starts in a new session, outside its process group.
 */
export function processesWithArgument(needle: string): number[] {
  const found: number[] = [];
  for (const pid of pids()) {
    if (Number(pid) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(needle) && isRunningProcess(procStat(pid))) {
        found.push(Number(pid));
      }
    } catch {
      // exited while we looked
    }
  }
  return found;
}

/** SIGTERMs `pids`, waits up to `graceMs`, then SIGKILLs whatever of them is still running. */
export async function terminateProcesses(targets: number[], graceMs = 2000): Promise<void> {
  const alive = (pid: number): boolean => isRunningProcess(procStat(pid));
  const signal = (pid: number, sig: NodeJS.Signals): void => {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  };
  for (const pid of targets) signal(pid, 'SIGTERM');
  const until = Date.now() + graceMs;
  while (targets.some(alive) && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  for (const pid of targets.filter(alive)) signal(pid, 'SIGKILL');
}

/**
 * Stops process group `pgid`: SIGTERM, up to `graceMs` for every member to end, then SIGKILL
 * and wait. Works for any group, also one started by another process (pid file).
 */
export async function stopProcessGroup(pgid: number, graceMs = 5000): Promise<void> {
  if (!groupHasLiveMembers(pgid)) return;
  signalGroup(pgid, 'SIGTERM');
  if (await waitGroupGone(pgid, graceMs)) return;
  signalGroup(pgid, 'SIGKILL');
  await waitGroupGone(pgid, 5000);
}

async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (groupHasLiveMembers(pgid)) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return true;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // group already gone
  }
}

/**
 * Polls `probe` every `intervalMs` until it returns true. Fails fast when `daemon` exits
 * (with its log tail) and after `timeoutMs` with `TESTBED_NOT_READY`.
 */
export async function waitUntilReady(
  daemon: Daemon,
  probe: () => Promise<boolean>,
  timeoutMs = 30_000,
  intervalMs = 100,
): Promise<number> {
  const started = performance.now();
  while (performance.now() - started < timeoutMs) {
    if (!daemon.isRunning()) {
      throw new TestbedError('TESTBED_DIED', `${daemon.name} exited during start-up:\n${daemon.tail()}`);
    }
    if (await probe().catch(() => false)) return performance.now() - started;
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  await daemon.stop();
  throw new TestbedError('TESTBED_NOT_READY', `${daemon.name} not ready after ${timeoutMs} ms:\n${daemon.tail()}`);
}

/** Runs a program to completion (argument array, never a shell); throws with its output on failure. */
export async function run(
  command: string,
  args: readonly string[],
  options: { cwd?: string; env?: Record<string, string>; input?: string } = {},
): Promise<string> {
  const result = await execa(command, args, { ...options, reject: false, all: true });
  if (result.failed) {
    const missing = (result.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
    throw new TestbedError(
      missing ? 'TESTBED_NOT_INSTALLED' : 'TESTBED_COMMAND_FAILED',
      missing
        ? `${command} is not installed; run scripts/install-system.sh`
        : `${command} ${args.join(' ')} failed (exit ${result.exitCode}):\n${result.all ?? ''}`,
      { cause: result },
    );
  }
  return result.stdout;
}

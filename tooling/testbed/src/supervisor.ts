// The ServiceManager of the whole-server sandbox: what systemd does for a unit (runtime
// directories, pre-start checks, foreground daemon, reload steps, is-active), done by a table.
import { join } from 'node:path';
import { type CommandRunner, HostError, lastOutputLine, type ServiceManager } from '@invis/host';
import { type Daemon, spawnDaemon, waitUntilReady } from './process';
import type { SandboxProbe, SandboxUnit, SandboxUnitTable } from './sandbox-units';

/** A {@link ServiceManager} that also tells the main pid and the log of each unit it runs. */
export interface SandboxServiceManager extends ServiceManager {
  /** Main pid of a running unit, or undefined. */
  pid(unit: string): number | undefined;
  /** Path of the unit's log (stdout + stderr of every start, appended), on the host. */
  logFile(unit: string): string;
  /** Last lines of the unit's log (also after it stopped), for test failure messages. */
  logTail(unit: string, lines?: number): string;
  /** Stops every running unit, newest first. */
  stopAll(): Promise<void>;
}

/** What the supervisor needs from its sandbox. */
export interface SupervisorOptions {
  /** Runs a program inside the server's namespaces (probes, pre-start and reload programs). */
  runner: CommandRunner;
  /** The argv prefix that runs a program inside the server's namespaces (it must exec, not fork). */
  enter: () => readonly string[];
  /** Where the logs go (`<unit>.log`). */
  logDir: string;
  units: SandboxUnitTable;
  /** How long a start or reload may take until every probe passes; default 30 s. */
  readyTimeoutMs?: number;
}

const INSTANCE = /^(?!.*\.\.)[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;
const ENV_LINE = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/;

/**
 * Creates the supervisor: units start as foreground daemons in their own process group, `stop`
 * ends the group (SIGTERM, then SIGKILL), `isActive` is "the main process is alive".
 * Every failure is a `HostError` `HOST_SERVICE_FAILED`, like a failing `systemctl`; an unknown
 * unit is one too (`details.unknownUnit`).
 * @param options the sandbox's runner, namespace prefix, log dir and unit table
 * @returns the service manager
 */
export function createSupervisor(options: SupervisorOptions): SandboxServiceManager {
  // The latest daemon of each unit, kept after it stopped: its log tail stays available.
  const daemons = new Map<string, Daemon>();
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const fail = (unit: string, action: string, message: string, cause?: unknown): HostError =>
    new HostError('HOST_SERVICE_FAILED', `${action} ${unit}: ${message}`, {
      ...(cause === undefined ? {} : { cause }),
      details: { unit, action },
    });

  /** The table entry with `%i` filled in; throws for a name the table does not know. */
  const resolve = (name: string, action: string): SandboxUnit => {
    const unit = lookup(options.units, name);
    if (!unit) {
      throw new HostError('HOST_SERVICE_FAILED', `${action} ${name}: unit not found in the sandbox's unit table`, {
        details: { unit: name, action, unknownUnit: true },
      });
    }
    return unit;
  };
  const logFile = (name: string): string => join(options.logDir, `${unitKey(name)}.log`);

  const runInside = async (unit: string, action: string, argv: readonly string[]): Promise<void> => {
    const [command, ...args] = argv as [string, ...string[]];
    const result = await options.runner.run(command, args);
    if (result.exitCode !== 0) {
      throw fail(unit, action, `${argv.join(' ')} exited ${result.exitCode}: ${lastOutputLine(result)}`);
    }
  };

  const probe = async (p: SandboxProbe, pid: number): Promise<boolean> => {
    if ('file' in p) return (await options.runner.run('test', ['-e', p.file])).exitCode === 0;
    if ('command' in p) {
      const [command, ...args] = p.command as [string, ...string[]];
      return (await options.runner.run(command, args, { timeoutMs: 5000 })).exitCode === 0;
    }
    if ('tcpByMain' in p) {
      const listening = await options.runner.run('ss', ['-H', '-l', '-n', '-t', '-p']);
      return listening.exitCode === 0 && listening.stdout.includes(`,pid=${pid},`);
    }
    const [flag, port] = 'tcp' in p ? ['-t', p.tcp] : ['-u', p.udp];
    const listening = await options.runner.run('ss', ['-H', '-l', '-n', flag, 'sport', '=', `:${port}`]);
    return listening.exitCode === 0 && listening.stdout.trim() !== '';
  };
  const waitReady = async (name: string, unit: SandboxUnit, daemon: Daemon, action: string): Promise<void> => {
    try {
      await waitUntilReady(
        daemon,
        async () => {
          for (const p of unit.ready) if (!(await probe(p, daemon.pid))) return false;
          return true;
        },
        readyTimeoutMs,
      );
    } catch (error) {
      await daemon.stop();
      throw fail(name, action, `not ready: ${(error as Error).message}`, error);
    }
  };

  const environment = async (name: string, unit: SandboxUnit): Promise<Record<string, string>> => {
    const env: Record<string, string> = {};
    if (unit.environmentFile && (await options.runner.run('test', ['-e', unit.environmentFile])).exitCode === 0) {
      const read = await options.runner.run('cat', ['--', unit.environmentFile]);
      if (read.exitCode !== 0)
        throw fail(name, 'start', `cannot read ${unit.environmentFile}: ${lastOutputLine(read)}`);
      Object.assign(
        env,
        parseEnvironmentFile(read.stdout, (line) =>
          fail(name, 'start', `${unit.environmentFile}:${line}: not KEY=value`),
        ),
      );
    }
    return { ...env, ...unit.env };
  };

  const start = async (name: string): Promise<void> => {
    const unit = resolve(name, 'start');
    const key = unitKey(name);
    if (daemons.get(key)?.isRunning()) return;
    for (const dir of unit.runtimeDirectories ?? []) {
      const [user, group] = (dir.owner ?? 'root:root').split(':');
      await runInside(name, 'start', [
        'install',
        '-d',
        '-m',
        dir.mode ?? '0755',
        '-o',
        user ?? 'root',
        '-g',
        group ?? 'root',
        '--',
        dir.path,
      ]);
    }
    for (const argv of unit.preStart ?? []) await runInside(name, 'start', argv);
    const env = await environment(name, unit);
    const daemon = spawnDaemon(`sandbox ${key}`, 'nsenter', [...options.enter(), '--', ...unit.argv], logFile(name), {
      env,
    });
    daemons.set(key, daemon);
    await waitReady(name, unit, daemon, 'start');
  };

  const stop = async (name: string): Promise<void> => {
    resolve(name, 'stop');
    await daemons.get(unitKey(name))?.stop();
  };

  const reload = async (name: string): Promise<void> => {
    const unit = resolve(name, 'reload');
    const daemon = daemons.get(unitKey(name));
    if (!unit.reload) throw fail(name, 'reload', 'the unit cannot reload');
    if (!daemon?.isRunning()) throw fail(name, 'reload', 'the unit is not active');
    for (const step of unit.reload) {
      if ('argv' in step) await runInside(name, 'reload', step.argv);
      else process.kill(daemon.pid, step.signal);
    }
    await waitReady(name, unit, daemon, 'reload');
  };

  return {
    start,
    stop,
    async restart(name) {
      await stop(name);
      await start(name);
    },
    reload,
    async reloadOrRestart(name) {
      const unit = resolve(name, 'reload-or-restart');
      if (unit.reload && daemons.get(unitKey(name))?.isRunning()) return reload(name);
      await stop(name);
      await start(name);
    },
    async isActive(name) {
      if (!lookup(options.units, name)) return false;
      return daemons.get(unitKey(name))?.isRunning() ?? false;
    },
    pid(name) {
      const daemon = daemons.get(unitKey(name));
      return daemon?.isRunning() ? daemon.pid : undefined;
    },
    logFile,
    logTail(name, lines) {
      return daemons.get(unitKey(name))?.tail(lines) ?? '';
    },
    async stopAll() {
      for (const daemon of [...daemons.values()].reverse()) await daemon.stop();
    },
  };
}

/** `ssh.service` and `ssh` are one unit, as for systemctl. */
function unitKey(name: string): string {
  return name.endsWith('.service') ? name.slice(0, -'.service'.length) : name;
}

/** The table entry for `name`, with `%i` replaced in a template (`openvpn@office`); undefined if unknown or malformed. */
function lookup(table: SandboxUnitTable, name: string): SandboxUnit | undefined {
  const key = unitKey(name);
  const at = key.indexOf('@');
  if (at === -1) return Object.hasOwn(table, key) ? table[key] : undefined;
  const template = key.slice(0, at + 1);
  const instance = key.slice(at + 1);
  if (!INSTANCE.test(instance) || !Object.hasOwn(table, template)) return undefined;
  const unit = table[template] as SandboxUnit;
  const fill = (s: string): string => s.replaceAll('%i', instance);
  return {
    ...unit,
    description: fill(unit.description),
    argv: unit.argv.map(fill),
    ...(unit.env ? { env: Object.fromEntries(Object.entries(unit.env).map(([k, v]) => [k, fill(v)])) } : {}),
    ...(unit.environmentFile ? { environmentFile: fill(unit.environmentFile) } : {}),
    ...(unit.runtimeDirectories
      ? { runtimeDirectories: unit.runtimeDirectories.map((d) => ({ ...d, path: fill(d.path) })) }
      : {}),
    ...(unit.preStart ? { preStart: unit.preStart.map((argv) => argv.map(fill)) } : {}),
    ...(unit.reload ? { reload: unit.reload.map((s) => ('argv' in s ? { argv: s.argv.map(fill) } : s)) } : {}),
    ready: unit.ready.map((p) =>
      'file' in p ? { file: fill(p.file) } : 'command' in p ? { command: p.command.map(fill) } : p,
    ),
  };
}

/**
 * Parses a systemd `EnvironmentFile=`: `KEY=value` lines, `#` comments, blank lines, one pair of
 * surrounding quotes removed. Anything else is an error (never a half-read environment).
 */
export function parseEnvironmentFile(text: string, error: (line: number) => Error): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = ENV_LINE.exec(line);
    if (!match) throw error(index + 1);
    const value = match[2] as string;
    const quoted = /^(["'])(.*)\1$/.exec(value);
    env[match[1] as string] = quoted ? (quoted[2] as string) : value;
  }
  return env;
}

// apply: the only layer that touches disk or runs programs. Validate the new files in an
// isolated --system-config copy, back up, write atomically, activate (reload the daemon, or
// re-check offline), probe, and restore the backup when activation or the probe fails.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ApplyPlan,
  type ApplyReport,
  applyReport,
  type Clock,
  type CommandResult,
  type CommandRunner,
  createExecaRunner,
  createNodeFs,
  emptyPlan,
  type HostFs,
  isInvisError,
  type PlannedCommand,
  systemClock,
} from '@invis/host';
import {
  FIREWALLD_EXIT_CODES,
  FirewalldError,
  type FirewalldErrorName,
  firewalldError,
  firewalldErrorName,
  isFirewalldError,
} from './errors';
import { diffFiles, MANAGED_DIRS, normalizeConfig, parseConfigFiles, renderConfigFiles } from './files';
import type { FirewallConfig, FirewallConfigInput } from './model';

/** How the new configuration becomes active. */
export type FirewalldDriver = 'daemon' | 'offline';

/** Options of {@link createFirewalld}. */
export interface FirewalldOptions {
  /**
   * `daemon`: a firewalld is running on `configDir`; activate with `firewall-cmd --reload`.
   * `offline`: no daemon (installation, staging root); the files are checked in place.
   */
  driver: FirewalldDriver;
  /** The daemon's `--system-config` directory (`/etc/firewalld` on a real server). */
  configDir: string;
  /** Runs firewalld's programs (default: the host's execa runner). */
  runner?: CommandRunner;
  /**
   * Environment for every firewall-cmd / firewall-offline-cmd call, e.g. `DBUS_SYSTEM_BUS_ADDRESS`
   * to reach a daemon on a private bus. The library never reads `process.env` itself.
   */
  env?: Readonly<Record<string, string>>;
  /** File operations (default: the host's node:fs facade). */
  fs?: HostFs;
  /** Where validation copies go (default: the OS temp dir). */
  tmpDir?: string;
  /** Where backups go, one sub-directory per apply (default: `<configDir>.invis-backup`). */
  backupDir?: string;
  /** How many backups to keep; older ones are deleted after a successful apply (default 10). */
  keepBackups?: number;
  /** Time source for backup names (default: the system clock). */
  clock?: Clock;
  /** Program names (default `firewall-cmd`, `firewall-offline-cmd`). */
  programs?: { firewallCmd?: string; offlineCmd?: string };
}

/** Options of one {@link Firewalld.apply} call. */
export interface FirewallApplyOptions {
  /**
   * Runs after activation, e.g. "the admin's SSH port still answers". Returning false or throwing
   * restores the previous configuration and raises `FW_SAFETY_PROBE_FAILED`.
   */
  safetyProbe?: () => Promise<boolean>;
}

/** A firewalld configuration directory managed as a whole. */
export interface Firewalld {
  readonly driver: FirewalldDriver;
  /** Imports the directory (zones, services, policies, DefaultZone, LogDenied). */
  read(): Promise<FirewallConfig>;
  /**
   * What apply() would do, without touching anything: the files that differ (unified diffs,
   * absolute paths) and the activating command; empty when nothing changes.
   */
  plan(config: FirewallConfigInput): Promise<ApplyPlan>;
  /** Checks the configuration with `firewall-offline-cmd --check-config` in an isolated copy. */
  validate(config: FirewallConfigInput): Promise<void>;
  /**
   * Validates, backs up, writes, activates, probes; rolls back on failure. The report's `timings`
   * hold `validate`, `write`, `activate` and (with a probe) `probe` in milliseconds.
   */
  apply(config: FirewallConfigInput, options?: FirewallApplyOptions): Promise<ApplyReport>;
  /** Whether the daemon answers `firewall-cmd --state` (daemon driver). */
  isRunning(): Promise<boolean>;
}

const CONF = 'firewalld.conf';
/** Mode of every file apply() writes (firewalld's files are not for other users). */
const FILE_MODE = 0o640;

/**
 * Creates the apply layer for one firewalld config directory.
 * @param options driver, directory and collaborators
 * @returns a {@link Firewalld}
 * @example
 * const fw = createFirewalld({ driver: 'offline', configDir: '/etc/firewalld' });
 * const report = await fw.apply(invisFirewallLayout({ ports: { ssh: 52022, portal: 53443, openvpn: 54194 } }));
 */
export function createFirewalld(options: FirewalldOptions): Firewalld {
  const fs = options.fs ?? createNodeFs();
  const runner = options.runner ?? createExecaRunner();
  const env = options.env ?? {};
  const firewallCmd = options.programs?.firewallCmd ?? 'firewall-cmd';
  const offlineCmd = options.programs?.offlineCmd ?? 'firewall-offline-cmd';
  const clock = options.clock ?? systemClock;
  const { configDir } = options;
  const backupRoot = options.backupDir ?? `${configDir.replace(/\/+$/, '')}.invis-backup`;
  const activation: PlannedCommand =
    options.driver === 'daemon'
      ? { command: firewallCmd, args: ['--reload'], reason: 'activate the new permanent configuration' }
      : {
          command: offlineCmd,
          args: ['--system-config', configDir, '--check-config'],
          reason: 'check the written configuration in place',
        };

  const io = async <T>(what: string, op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (e) {
      if (isFirewalldError(e)) throw e;
      throw new FirewalldError('FW_IO', `${what}: ${(e as Error).message}`, { details: { configDir }, cause: e });
    }
  };

  /** Runs a firewalld program; one that cannot run at all is `FW_COMMAND_FAILED` with the host error as cause. */
  async function run(command: string, args: readonly string[]): Promise<CommandResult> {
    try {
      return await runner.run(command, args, { env });
    } catch (e) {
      // The host's messages name the program and are safe to show; a foreign error's are not.
      const message = isInvisError(e) ? e.message : `${command} could not run`;
      throw new FirewalldError('FW_COMMAND_FAILED', message, { details: { command }, cause: e });
    }
  }

  /** Managed files of a directory: `firewalld.conf` and the XML in zones/, services/, policies/. */
  async function readFiles(dir: string): Promise<Map<string, string>> {
    const files = new Map<string, string>();
    for (const sub of MANAGED_DIRS) {
      for (const name of await fs.readdir(join(dir, sub))) {
        if (name.endsWith('.xml')) files.set(`${sub}/${name}`, await fs.readFile(join(dir, sub, name)));
      }
    }
    files.set(CONF, await fs.readFile(join(dir, CONF)));
    return files;
  }

  /** Makes `dir` hold exactly `files` (managed part only): atomic writes, removals. */
  async function writeFiles(dir: string, current: ReadonlyMap<string, string>, next: ReadonlyMap<string, string>) {
    for (const sub of MANAGED_DIRS) await fs.mkdir(join(dir, sub));
    for (const [path, text] of next) {
      if (current.get(path) !== text) await fs.writeFileAtomic(join(dir, path), text, { mode: FILE_MODE });
    }
    for (const path of current.keys()) if (!next.has(path)) await fs.remove(join(dir, path));
  }

  const offline = (dir: string, args: string[]): Promise<CommandResult> =>
    run(offlineCmd, ['--system-config', dir, ...args]);

  async function checkDir(dir: string): Promise<void> {
    const result = await offline(dir, ['--check-config']);
    if (result.exitCode !== 0) throw checkerError(result);
  }

  async function desired(
    input: FirewallConfigInput,
  ): Promise<{ current: Map<string, string>; next: Map<string, string> }> {
    const config = normalizeConfig(input);
    const current = await io('reading the config directory', () => readFiles(configDir));
    return { current, next: renderConfigFiles(config, current.get(CONF) ?? '') };
  }

  async function validateFiles(next: ReadonlyMap<string, string>): Promise<void> {
    const copy = await io('creating the validation copy', () =>
      fs.mkdtemp(join(options.tmpDir ?? tmpdir(), 'invis-firewalld-check-')),
    );
    try {
      await io('copying the config directory', async () => {
        await fs.copyDir(configDir, copy);
        await writeFiles(copy, await readFiles(copy), next);
      });
      await checkDir(copy);
    } finally {
      await fs.remove(copy);
    }
  }

  async function isRunning(): Promise<boolean> {
    return (await run(firewallCmd, ['--state'])).exitCode === 0;
  }

  async function activate(): Promise<void> {
    if (options.driver === 'offline') return checkDir(configDir);
    const result = await run(firewallCmd, ['--reload']);
    // No --state pre-check (a whole Python start-up): a stopped daemon shows here as NOT_RUNNING.
    if (result.exitCode === FIREWALLD_EXIT_CODES.NOT_RUNNING) {
      throw new FirewalldError('FW_DAEMON_STATE', 'firewalld is not running (firewall-cmd --reload)', {
        details: { driver: 'daemon', exitCode: result.exitCode },
      });
    }
    if (result.exitCode !== 0) {
      const cause = checkerError(result);
      throw new FirewalldError('FW_RELOAD_FAILED', `firewall-cmd --reload failed: ${cause.message}`, {
        details: { exitCode: result.exitCode },
        cause,
      });
    }
  }

  /** Only what differs; the activating command only when something does. */
  function planOf(current: ReadonlyMap<string, string>, next: ReadonlyMap<string, string>): ApplyPlan {
    const files = diffFiles(current, next, configDir);
    return { ...emptyPlan(), files, commands: files.length > 0 ? [activation] : [] };
  }

  return {
    driver: options.driver,
    async read() {
      return parseConfigFiles(await io('reading the config directory', () => readFiles(configDir)));
    },
    async plan(input) {
      const { current, next } = await desired(input);
      return planOf(current, next);
    },
    async validate(input) {
      const { next } = await desired(input);
      await validateFiles(next);
    },
    isRunning,
    async apply(input, applyOptions = {}) {
      const { current, next } = await desired(input);
      const plan = planOf(current, next);
      if (plan.files.length === 0) return applyReport(plan);
      const timings: Record<string, number> = {};
      const timed = async <T>(stage: string, op: () => Promise<T>): Promise<T> => {
        const t0 = performance.now();
        try {
          return await op();
        } finally {
          timings[stage] = performance.now() - t0;
        }
      };
      await timed('validate', () => validateFiles(next));

      const backup = join(backupRoot, clock.now().toISOString().replace(/[:.]/g, '-'));
      await io('writing the backup', () => writeFiles(backup, new Map(), current));
      const { safetyProbe } = applyOptions;
      try {
        await timed('write', () => io('writing the configuration', () => writeFiles(configDir, current, next)));
        await timed('activate', activate);
        if (safetyProbe && !(await timed('probe', () => safetyProbe().catch(() => false)))) {
          throw new FirewalldError(
            'FW_SAFETY_PROBE_FAILED',
            'the safety probe failed after activating the new firewall; the previous configuration was restored',
            { details: { backupDir: backup } },
          );
        }
      } catch (error) {
        await io('restoring the backup', () => writeFiles(configDir, next, current));
        await activate().catch(() => undefined);
        throw error;
      }
      await io('pruning old backups', async () => {
        // ISO timestamps sort chronologically.
        const all = (await fs.readdir(backupRoot)).sort();
        for (const old of all.slice(0, Math.max(0, all.length - (options.keepBackups ?? 10)))) {
          await fs.remove(join(backupRoot, old));
        }
      });
      return applyReport(plan, { backup, timings });
    },
  };
}

/**
 * Turns a failed firewall-cmd / firewall-offline-cmd run into a typed error: the exit code names
 * the firewalld error (`102` → `FW_INVALID_PORT`), the `NAME: message` line becomes the message.
 * @param result the program's exit code and interleaved output
 * @returns the error (callers throw it)
 * @example checkerError({ exitCode: 102, output: "INVALID_PORT: port number in '99999' is too big" }) // FW_INVALID_PORT
 */
export function checkerError(result: Pick<CommandResult, 'exitCode' | 'output'>): FirewalldError {
  const named = firewalldErrorName(result.exitCode);
  const line = result.output
    .split('\n')
    .map((l) => /(?:^|:\s)([A-Z_]{4,}): (.*)$/.exec(l.trim()))
    .find((m) => m !== null && m[1] !== 'ERROR');
  const name: FirewalldErrorName = named ?? (line?.[1] as FirewalldErrorName | undefined) ?? 'UNKNOWN_ERROR';
  const message = line ? `${line[1]}: ${line[2]}` : result.output.trim().split('\n').pop() || `exit ${result.exitCode}`;
  return firewalldError(name in FIREWALLD_EXIT_CODES ? name : 'UNKNOWN_ERROR', message, { exitCode: result.exitCode });
}

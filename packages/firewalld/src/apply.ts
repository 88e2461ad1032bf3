// apply: the only layer that touches disk or runs programs. Validate the new files in an
// isolated --system-config copy, back up, write atomically, activate (reload the daemon, or
// re-check offline), probe, and restore the backup when activation or the probe fails.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffFiles, type FileChange } from './diff';
import {
  FIREWALLD_EXIT_CODES,
  FirewalldError,
  type FirewalldErrorName,
  firewalldError,
  firewalldErrorName,
} from './errors';
import { MANAGED_DIRS, normalizeConfig, parseConfigFiles, renderConfigFiles } from './files';
import type { FirewallConfig, FirewallConfigInput } from './model';
import { type CommandResult, type CommandRunner, createExecaRunner, type FirewalldFs, nodeFs } from './runner';

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
  /** Runs firewalld's programs (default: execa). */
  runner?: CommandRunner;
  /**
   * Environment for every firewall-cmd / firewall-offline-cmd call, e.g. `DBUS_SYSTEM_BUS_ADDRESS`
   * to reach a daemon on a private bus. The library never reads `process.env` itself.
   */
  env?: Readonly<Record<string, string>>;
  fs?: FirewalldFs;
  /** Where validation copies go (default: the OS temp dir). */
  tmpDir?: string;
  /** Where backups go, one sub-directory per apply (default: `<configDir>.invis-backup`). */
  backupDir?: string;
  /** How many backups to keep; older ones are deleted after a successful apply (default 10). */
  keepBackups?: number;
  /** Time source for backup names. */
  clock?: () => Date;
  /** Program names (default `firewall-cmd`, `firewall-offline-cmd`). */
  programs?: { firewallCmd?: string; offlineCmd?: string };
}

/** Result of {@link Firewalld.apply}. */
export interface ApplyReport {
  changed: boolean;
  /** Per-file changes with line diffs. */
  changes: FileChange[];
  /** Backup directory of the previous files, when something changed. */
  backupDir?: string;
  /** Milliseconds for validation and for activation (reload / in-place check). */
  timings: { validateMs: number; activateMs: number };
}

/** Options of one {@link Firewalld.apply} call. */
export interface ApplyOptions {
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
  /** What apply() would change, without touching anything. */
  plan(config: FirewallConfigInput): Promise<FileChange[]>;
  /** Checks the configuration with `firewall-offline-cmd --check-config` in an isolated copy. */
  validate(config: FirewallConfigInput): Promise<void>;
  /** Validates, backs up, writes, activates, probes; rolls back on failure. */
  apply(config: FirewallConfigInput, options?: ApplyOptions): Promise<ApplyReport>;
  /** Whether the daemon answers `firewall-cmd --state` (daemon driver). */
  isRunning(): Promise<boolean>;
}

const CONF = 'firewalld.conf';

/**
 * Creates the apply layer for one firewalld config directory.
 * @param options driver, directory and collaborators
 * @returns a {@link Firewalld}
 * @example
 * const fw = createFirewalld({ driver: 'offline', configDir: '/etc/firewalld' });
 * const report = await fw.apply(invisLayout({ ports: { ssh: 52022, portal: 53443, openvpn: 54194 } }));
 */
export function createFirewalld(options: FirewalldOptions): Firewalld {
  const fs = options.fs ?? nodeFs;
  const runner = options.runner ?? createExecaRunner();
  const env = options.env ?? {};
  const firewallCmd = options.programs?.firewallCmd ?? 'firewall-cmd';
  const offlineCmd = options.programs?.offlineCmd ?? 'firewall-offline-cmd';
  const clock = options.clock ?? (() => new Date());
  const { configDir } = options;
  const backupRoot = options.backupDir ?? `${configDir.replace(/\/+$/, '')}.invis-backup`;

  const io = async <T>(what: string, op: () => Promise<T>): Promise<T> => {
    try {
      return await op();
    } catch (e) {
      if (e instanceof FirewalldError) throw e;
      throw new FirewalldError('FW_IO', `${what}: ${(e as Error).message}`, { data: { configDir }, cause: e });
    }
  };

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
      if (current.get(path) === text) continue;
      const target = join(dir, path);
      const tmp = `${target}.invis-tmp`;
      await fs.writeFile(tmp, text, 0o640);
      await fs.rename(tmp, target);
    }
    for (const path of current.keys()) if (!next.has(path)) await fs.rm(join(dir, path));
  }

  const offline = (dir: string, args: string[]): Promise<CommandResult> =>
    runner(offlineCmd, ['--system-config', dir, ...args], { env });

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
      await fs.rm(copy);
    }
  }

  async function isRunning(): Promise<boolean> {
    return (await runner(firewallCmd, ['--state'], { env })).exitCode === 0;
  }

  async function activate(): Promise<void> {
    if (options.driver === 'offline') return checkDir(configDir);
    const result = await runner(firewallCmd, ['--reload'], { env });
    // No --state pre-check (a whole Python start-up): a stopped daemon shows here as NOT_RUNNING.
    if (result.exitCode === FIREWALLD_EXIT_CODES.NOT_RUNNING) {
      throw new FirewalldError('FW_DAEMON_STATE', 'firewalld is not running (firewall-cmd --reload)', {
        data: { driver: 'daemon', exitCode: result.exitCode },
      });
    }
    if (result.exitCode !== 0) {
      const cause = checkerError(result);
      throw new FirewalldError('FW_RELOAD_FAILED', `firewall-cmd --reload failed: ${cause.message}`, {
        data: { exitCode: result.exitCode },
        cause,
      });
    }
  }

  return {
    driver: options.driver,
    async read() {
      return parseConfigFiles(await io('reading the config directory', () => readFiles(configDir)));
    },
    async plan(input) {
      const { current, next } = await desired(input);
      return diffFiles(current, next);
    },
    async validate(input) {
      const { next } = await desired(input);
      await validateFiles(next);
    },
    isRunning,
    async apply(input, applyOptions = {}) {
      const { current, next } = await desired(input);
      const changes = diffFiles(current, next);
      if (changes.length === 0) return { changed: false, changes, timings: { validateMs: 0, activateMs: 0 } };
      const t0 = performance.now();
      await validateFiles(next);
      const validateMs = performance.now() - t0;

      const backupDir = join(backupRoot, clock().toISOString().replace(/[:.]/g, '-'));
      await io('writing the backup', () => writeFiles(backupDir, new Map(), current));
      const t1 = performance.now();
      try {
        await io('writing the configuration', () => writeFiles(configDir, current, next));
        await activate();
        if (applyOptions.safetyProbe && !(await applyOptions.safetyProbe().catch(() => false))) {
          throw new FirewalldError(
            'FW_SAFETY_PROBE_FAILED',
            'the safety probe failed after activating the new firewall; the previous configuration was restored',
            { data: { backupDir } },
          );
        }
      } catch (error) {
        await io('restoring the backup', () => writeFiles(configDir, next, current));
        await activate().catch(() => undefined);
        throw error;
      }
      const activateMs = performance.now() - t1;
      await io('pruning old backups', async () => {
        // ISO timestamps sort chronologically.
        const all = (await fs.readdir(backupRoot)).sort();
        for (const old of all.slice(0, Math.max(0, all.length - (options.keepBackups ?? 10)))) {
          await fs.rm(join(backupRoot, old));
        }
      });
      return { changed: true, changes, backupDir, timings: { validateMs, activateMs } };
    },
  };
}

/**
 * Turns a failed firewall-cmd / firewall-offline-cmd run into a typed error: the exit code names
 * the firewalld error (`102` → `FW_INVALID_PORT`), the `NAME: message` line becomes the message.
 * @param result the program's exit code and output
 * @returns the error (callers throw it)
 */
export function checkerError(result: CommandResult): FirewalldError {
  const named = firewalldErrorName(result.exitCode);
  const line = result.output
    .split('\n')
    .map((l) => /(?:^|:\s)([A-Z_]{4,}): (.*)$/.exec(l.trim()))
    .find((m) => m !== null && m[1] !== 'ERROR');
  const name: FirewalldErrorName = named ?? (line?.[1] as FirewalldErrorName | undefined) ?? 'UNKNOWN_ERROR';
  const message = line ? `${line[1]}: ${line[2]}` : result.output.trim().split('\n').pop() || `exit ${result.exitCode}`;
  return firewalldError(name in FIREWALLD_EXIT_CODES ? name : 'UNKNOWN_ERROR', message, { exitCode: result.exitCode });
}

// The only layer that touches disk and runs programs: render → compare → write a temp file →
// check it with the daemon's own checker → back up → rename → reload → roll back on failure.
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { execa } from 'execa';
import { validateDhcpConfig } from './conflicts';
import { type DhcpdSettings, renderDhcpdConf } from './dhcpd';
import { lineDiff } from './diff';
import { DhcpConfigError } from './errors';
import { type KeaSettings, renderKeaConfig } from './kea';
import { createKeaControl, type KeaControl } from './kea-control';
import type { DhcpConfig, DhcpConfigInput } from './model';

/** Outcome of one program run. */
export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a program with an argument array (never a shell). */
export type CommandRunner = (command: string, args: readonly string[]) => Promise<CommandResult>;

/** The file operations apply needs; the default uses node:fs/promises. */
export interface ApplyFs {
  /** File text, or `undefined` when the file does not exist. */
  readFile(path: string): Promise<string | undefined>;
  writeFile(path: string, data: string, mode: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
}

/** Restarts a service (systemd on a server; the testbed's daemon in tests). */
export interface ServiceManager {
  restart(service: string): Promise<void>;
}

/** What {@link DhcpApplier.apply} did. */
export interface ApplyReport {
  changed: boolean;
  path: string;
  /** Line diff old → new ('' when unchanged). */
  diff: string;
  /** Copy of the previous file (absent for a first write or no change). */
  backupPath?: string;
  /** Time of the daemon's own config check. */
  checkMs?: number;
  /** Time of the reload or restart. */
  reloadMs?: number;
}

/** Writes, checks and activates one DHCP server config. */
export interface DhcpApplier {
  /**
   * Validates the model, renders it and, when the file differs, activates it.
   * @throws DhcpConfigError `DHCP_CONFLICT`/`DHCP_INVALID_CONFIG` (model), `DHCP_CHECK_FAILED`
   *   (daemon rejected the file; nothing changed), `DHCP_RELOAD_FAILED` (reload failed; old file restored)
   */
  apply(config: DhcpConfigInput | DhcpConfig): Promise<ApplyReport>;
  /** Renders without touching anything (for previews and benchmarks). */
  render(config: DhcpConfigInput | DhcpConfig): string;
}

/** Collaborators shared by both appliers. */
export interface ApplierCommon {
  /** The daemon's config file, e.g. `/etc/kea/kea-dhcp4.conf`. */
  configPath: string;
  run?: CommandRunner;
  fs?: ApplyFs;
  /**
   * Prefix for the checker command, e.g. `['ip', 'netns', 'exec', 'srv']`: `kea-dhcp4 -t` fails
   * for interfaces that do not exist where it runs, so it must run where the daemon runs.
   */
  checkCommandPrefix?: readonly string[];
}

/** Options of {@link createKeaApplier}. */
export interface KeaApplierOptions extends ApplierCommon {
  /** Rendered into the file; `controlSocket` is where `config-reload` is sent. */
  settings: KeaSettings & { controlSocket: string };
  /** Default: a client for `settings.controlSocket`. */
  control?: KeaControl;
  /** Default `kea-dhcp4`. */
  keaCommand?: string;
}

/** Options of {@link createDhcpdApplier}. */
export interface DhcpdApplierOptions extends ApplierCommon {
  settings?: DhcpdSettings;
  /** dhcpd has no reload: it is restarted through this. */
  service: ServiceManager;
  /** Default `isc-dhcp-server` (Debian's unit; openSUSE: `dhcpd`). */
  serviceName?: string;
  /** Default `dhcpd`. */
  dhcpdCommand?: string;
}

const defaultRun: CommandRunner = async (command, args) => {
  const r = await execa(command, args, { reject: false });
  if (r.failed && r.exitCode === undefined) {
    throw new DhcpConfigError('DHCP_CHECK_FAILED', `${command} could not be run: ${r.shortMessage}`, {
      cause: r,
      data: { command },
    });
  }
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
};

const defaultFs: ApplyFs = {
  async readFile(path) {
    try {
      return await readFile(path, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw e;
    }
  },
  writeFile: (path, data, mode) => writeFile(path, data, { mode }),
  rename: (from, to) => rename(from, to),
  remove: (path) => rm(path, { force: true }),
};

/**
 * A `ServiceManager` that runs `systemctl restart <service>`.
 * @param run command runner (default execa)
 * @returns the manager
 * @example createDhcpdApplier({ configPath: '/etc/dhcp/dhcpd.conf', service: systemdServiceManager() })
 */
export function systemdServiceManager(run: CommandRunner = defaultRun): ServiceManager {
  return {
    async restart(service) {
      const r = await run('systemctl', ['restart', service]);
      if (r.exitCode !== 0) throw new Error(`systemctl restart ${service}: ${r.stderr.trim()}`);
    },
  };
}

const resolve = (config: DhcpConfigInput | DhcpConfig): DhcpConfig => validateDhcpConfig(config as DhcpConfigInput);

/** Last lines of checker output: the error is at the end, the banner at the start. */
const tail = (text: string): string => text.trim().split('\n').slice(-5).join('\n');

interface Steps {
  common: ApplierCommon;
  text: string;
  checkArgs: (file: string) => [string, string[]];
  reload: () => Promise<void>;
}

/** The daemon-specific parts of an applier: how to render, check and reload. */
function makeApplier(parts: Omit<Steps, 'text'> & { render: (config: DhcpConfig) => string }): DhcpApplier {
  const render = (config: DhcpConfigInput | DhcpConfig): string => parts.render(resolve(config));
  return {
    render,
    apply: async (config) => applyText({ ...parts, text: render(config) }),
  };
}

async function applyText({ common, text, checkArgs, reload }: Steps): Promise<ApplyReport> {
  const fs = common.fs ?? defaultFs;
  const run = common.run ?? defaultRun;
  const path = common.configPath;
  const current = await fs.readFile(path);
  if (current === text) return { changed: false, path, diff: '' };

  // Same directory as the target so rename() is atomic.
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  await fs.writeFile(tmp, text, 0o644);
  const t0 = performance.now();
  const [command, args] = checkArgs(tmp);
  let checked: CommandResult;
  try {
    checked = await run(common.checkCommandPrefix?.[0] ?? command, [
      ...(common.checkCommandPrefix?.slice(1) ?? []),
      ...(common.checkCommandPrefix?.length ? [command] : []),
      ...args,
    ]);
  } catch (e) {
    await fs.remove(tmp);
    throw e;
  }
  const checkMs = performance.now() - t0;
  if (checked.exitCode !== 0) {
    await fs.remove(tmp);
    const output = tail(`${checked.stdout}\n${checked.stderr}`.replaceAll(tmp, path));
    throw new DhcpConfigError('DHCP_CHECK_FAILED', `${command} rejected the new config:\n${output}`, {
      data: { command, exitCode: checked.exitCode, output },
    });
  }
  let backupPath: string | undefined;
  if (current !== undefined) {
    backupPath = `${path}.bak`;
    await fs.writeFile(backupPath, current, 0o644);
  }
  await fs.rename(tmp, path);
  const t1 = performance.now();
  try {
    await reload();
  } catch (e) {
    // Put the old file back and bring the daemon back onto it.
    if (current === undefined) await fs.remove(path);
    else {
      await fs.writeFile(tmp, current, 0o644);
      await fs.rename(tmp, path);
    }
    const restored = await reload().then(
      () => true,
      () => false,
    );
    throw new DhcpConfigError(
      'DHCP_RELOAD_FAILED',
      `activating the new config failed (${(e as Error).message}); previous file restored${restored ? ' and reloaded' : ', but reloading it failed too'}`,
      { cause: e, data: { restored } },
    );
  }
  return {
    changed: true,
    path,
    diff: lineDiff(current ?? '', text),
    ...(backupPath ? { backupPath } : {}),
    checkMs,
    reloadMs: performance.now() - t1,
  };
}

/**
 * Applies configs to a running Kea: `kea-dhcp4 -t` on a temp file, atomic rename, then
 * `config-reload` over the control socket (no restart; leases and sockets stay).
 * @param options config path, settings (with control socket), collaborators
 * @returns the applier
 * @example
 * const kea = createKeaApplier({ configPath: '/etc/kea/kea-dhcp4.conf', settings: { controlSocket: '/run/kea/kea4-ctrl-socket' } });
 * const report = await kea.apply(model);
 */
export function createKeaApplier(options: KeaApplierOptions): DhcpApplier {
  const control = options.control ?? createKeaControl({ socketPath: options.settings.controlSocket });
  return makeApplier({
    common: options,
    render: (config) => renderKeaConfig(config, options.settings),
    checkArgs: (file) => [options.keaCommand ?? 'kea-dhcp4', ['-t', file]],
    reload: async () => {
      await control.command('config-reload');
    },
  });
}

/**
 * Applies configs to ISC dhcpd: `dhcpd -t -cf` on a temp file, atomic rename, service restart
 * (dhcpd cannot reload).
 * @param options config path, settings, service manager, collaborators
 * @returns the applier
 * @example createDhcpdApplier({ configPath: '/etc/dhcp/dhcpd.conf', service: systemdServiceManager() })
 */
export function createDhcpdApplier(options: DhcpdApplierOptions): DhcpApplier {
  return makeApplier({
    common: options,
    render: (config) => renderDhcpdConf(config, options.settings),
    checkArgs: (file) => [options.dhcpdCommand ?? 'dhcpd', ['-t', '-q', '-4', '-cf', file]],
    reload: () => options.service.restart(options.serviceName ?? 'isc-dhcp-server'),
  });
}

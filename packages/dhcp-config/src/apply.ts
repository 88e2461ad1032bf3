// The only layer that touches disk and runs programs: render → compare → write a temp file →
// check it with the daemon's own checker → back up → atomic write → reload → roll back on failure.
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import {
  type ApplyPlan,
  type ApplyReport,
  applyReport,
  type CommandResult,
  type CommandRunner,
  createExecaRunner,
  createNodeFs,
  createSystemdServiceManager,
  emptyPlan,
  fileChange,
  type HostFs,
  isHostError,
  type ServiceManager,
} from '@invis/host';
import { validateDhcpConfig } from './conflicts';
import { type DhcpdSettings, renderDhcpdConf } from './dhcpd';
import { DhcpConfigError } from './errors';
import { type KeaSettings, renderKeaConfig } from './kea';
import { createKeaControl, type KeaControl } from './kea-control';
import type { DhcpConfig, DhcpConfigInput } from './model';

/** Writes, checks and activates one DHCP server config. */
export interface DhcpApplier {
  /**
   * Validates the model, renders it and, when the file differs, activates it.
   * @returns the host's report: `files` holds the config file with its unified diff, `backup` the
   *   copy of the previous file, `timings` the `check` and `reload` milliseconds
   * @throws DhcpConfigError `DHCP_CONFLICT`/`DHCP_INVALID_CONFIG` (model), `DHCP_CHECK_FAILED`
   *   (daemon rejected the file or could not run; nothing changed), `DHCP_RELOAD_FAILED` (reload
   *   failed; old file restored)
   */
  apply(config: DhcpConfigInput | DhcpConfig): Promise<ApplyReport>;
  /** Renders without touching anything (for previews and benchmarks). */
  render(config: DhcpConfigInput | DhcpConfig): string;
}

/** Collaborators shared by both appliers. */
export interface ApplierCommon {
  /** The daemon's config file, e.g. `/etc/kea/kea-dhcp4.conf`. */
  configPath: string;
  /** Runs the daemon's checker (default: the host's execa runner). */
  runner?: CommandRunner;
  /** File operations (default: the host's node:fs facade). */
  fs?: HostFs;
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
  /** dhcpd has no reload: it is restarted through this (default: systemd through `runner`). */
  services?: ServiceManager;
  /** Default `isc-dhcp-server` (Debian's unit; openSUSE: `dhcpd`). */
  serviceName?: string;
  /** Default `dhcpd`. */
  dhcpdCommand?: string;
}

const resolve = (config: DhcpConfigInput | DhcpConfig): DhcpConfig => validateDhcpConfig(config as DhcpConfigInput);

/** Last lines of checker output: the error is at the end, the banner at the start. */
const tail = (text: string): string => text.trim().split('\n').slice(-5).join('\n');

interface Steps {
  common: ApplierCommon;
  runner: CommandRunner;
  text: string;
  checkArgs: (file: string) => [string, string[]];
  /** How the new file is activated; the report lists the service actions. */
  reload: () => Promise<void>;
  reloadPlan: ApplyPlan['services'];
}

/** The daemon-specific parts of an applier: how to render, check and reload. */
function makeApplier(parts: Omit<Steps, 'text'> & { render: (config: DhcpConfig) => string }): DhcpApplier {
  const render = (config: DhcpConfigInput | DhcpConfig): string => parts.render(resolve(config));
  return {
    render,
    apply: async (config) => applyText({ ...parts, text: render(config) }),
  };
}

async function applyText({ common, runner, text, checkArgs, reload, reloadPlan }: Steps): Promise<ApplyReport> {
  const fs = common.fs ?? createNodeFs();
  const path = common.configPath;
  const current = await fs.readFileIfExists(path);
  const plan = emptyPlan();
  plan.files.push(fileChange(path, current, text));
  if (current === text) return applyReport(plan);

  // The checker reads a copy beside the target (relative includes resolve the same way); it is
  // created exclusively and never follows a link someone planted under its random name.
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  await fs.createExclusive(tmp, text, 0o644);
  const t0 = performance.now();
  const [command, args] = checkArgs(tmp);
  const prefix = common.checkCommandPrefix ?? [];
  const [program, ...programArgs] = [...prefix, command, ...args] as [string, ...string[]];
  let checked: CommandResult;
  try {
    checked = await runner.run(program, programArgs);
  } catch (e) {
    // A checker that cannot run (missing, timed out) has not accepted anything.
    if (!isHostError(e)) throw e;
    throw new DhcpConfigError('DHCP_CHECK_FAILED', `${command} could not be run: ${e.message}`, {
      cause: e,
      details: { command },
    });
  } finally {
    await fs.remove(tmp);
  }
  const check = performance.now() - t0;
  if (checked.exitCode !== 0) {
    const output = tail(checked.output.replaceAll(tmp, path));
    throw new DhcpConfigError('DHCP_CHECK_FAILED', `${command} rejected the new config:\n${output}`, {
      details: { command, exitCode: checked.exitCode, output },
    });
  }
  plan.commands.push({ command: program, args: programArgs, reason: 'check the new file' });
  let backup: string | undefined;
  if (current !== undefined) {
    backup = `${path}.bak`;
    await fs.writeFileAtomic(backup, current);
  }
  await fs.writeFileAtomic(path, text);
  const t1 = performance.now();
  try {
    await reload();
  } catch (e) {
    // Put the old file back and bring the daemon back onto it.
    if (current === undefined) await fs.remove(path);
    else await fs.writeFileAtomic(path, current);
    const restored = await reload().then(
      () => true,
      () => false,
    );
    throw new DhcpConfigError(
      'DHCP_RELOAD_FAILED',
      `activating the new config failed (${(e as Error).message}); previous file restored${restored ? ' and reloaded' : ', but reloading it failed too'}`,
      { cause: e, details: { restored } },
    );
  }
  plan.services.push(...reloadPlan);
  return applyReport(plan, {
    ...(backup === undefined ? {} : { backup }),
    timings: { check, reload: performance.now() - t1 },
  });
}

/**
 * Applies configs to a running Kea: `kea-dhcp4 -t` on a temp file, atomic write, then
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
    runner: options.runner ?? createExecaRunner(),
    render: (config) => renderKeaConfig(config, options.settings),
    checkArgs: (file) => [options.keaCommand ?? 'kea-dhcp4', ['-t', file]],
    reload: async () => {
      await control.command('config-reload');
    },
    // config-reload goes over Kea's control socket: no service action.
    reloadPlan: [],
  });
}

/**
 * Applies configs to ISC dhcpd: `dhcpd -t -cf` on a temp file, atomic write, service restart
 * (dhcpd cannot reload).
 * @param options config path, settings, service manager, collaborators
 * @returns the applier
 * @example createDhcpdApplier({ configPath: '/etc/dhcp/dhcpd.conf' })
 */
export function createDhcpdApplier(options: DhcpdApplierOptions): DhcpApplier {
  const runner = options.runner ?? createExecaRunner();
  const services = options.services ?? createSystemdServiceManager({ runner });
  const unit = options.serviceName ?? 'isc-dhcp-server';
  return makeApplier({
    common: options,
    runner,
    render: (config) => renderDhcpdConf(config, options.settings),
    checkArgs: (file) => [options.dhcpdCommand ?? 'dhcpd', ['-t', '-q', '-4', '-cf', file]],
    reload: () => services.restart(unit),
    reloadPlan: [{ unit, action: 'restart' }],
  });
}

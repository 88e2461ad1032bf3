// Apply: the only layer that changes a live OpenVPN server. Writes key material, CRL and ccd
// entries atomically, checks the new config with the real openvpn option parser before it goes
// live, and restarts only when something OpenVPN reads at start-up changed (config, CA, cert,
// key, tls-crypt). CRL and ccd changes never restart: OpenVPN re-reads them per connection.
import { basename, dirname } from 'node:path';
import {
  type ApplyReport,
  applyReport,
  type CommandRunner,
  createExecaRunner,
  createNodeFs,
  emptyPlan,
  fileChange,
  type HostFs,
  type ServiceManager,
} from '@invis/host';
import { OvpnPkiError } from './errors';
import { runOpenVpn } from './openvpn';

/** One file of a server deployment. */
export interface DeployFile {
  path: string;
  content: string;
  /** 0o600 for keys, 0o644 for certificates, CRL and ccd entries. A file not world-readable is secret: reports withhold its diff. */
  mode: number;
  /** `live`: OpenVPN re-reads it per connection (CRL, ccd); `restart`: read at start-up only. */
  effect: 'live' | 'restart';
}

/** A server deployment: its config file and every file it references. */
export interface ServerDeployment {
  configPath: string;
  /** Rendered by {@link renderServerConfig}. */
  config: string;
  files: DeployFile[];
}

/** Options of {@link applyServerDeployment}. */
export interface PkiApplyOptions {
  /** File system; default the real one (`createNodeFs()` of @invis/host). */
  fs?: HostFs;
  /** Runs the openvpn config check; default `createExecaRunner()` of @invis/host. */
  runner?: CommandRunner;
  /** Restarts the OpenVPN unit. Without it nothing is restarted and `restartNeeded` tells the caller to do it. */
  services?: ServiceManager;
  /** The unit to restart; default `openvpn-server@<config file name without .conf>` (Debian's and openSUSE's template). */
  unit?: string;
}

/** What {@link applyServerDeployment} did: the host's report (`files` with diffs, `services`, `backup`), plus restart flags. */
export interface DeploymentReport extends ApplyReport {
  /** True when a start-up file changed. */
  restartNeeded: boolean;
  /** True when the unit was restarted. */
  restarted: boolean;
}

/**
 * Validates an OpenVPN config with the real option parser: `openvpn --config FILE --genkey
 * secret /dev/null` parses every line (unknown options, wrong arguments, bad `push` quoting) and
 * exits before opening sockets or tun devices.
 * @param runner command runner (`createExecaRunner()` of @invis/host)
 * @param configPath the config file; relative paths inside resolve against its directory
 * @throws {OvpnPkiError} OVPN_CONFIG_INVALID with OpenVPN's message; OVPN_COMMAND_FAILED when openvpn cannot run
 * @example await checkOpenVpnConfig(createExecaRunner(), '/etc/openvpn/server/invis-server.conf');
 */
export async function checkOpenVpnConfig(runner: CommandRunner, configPath: string): Promise<void> {
  const result = await runOpenVpn(runner, [
    '--cd',
    dirname(configPath),
    '--config',
    configPath,
    '--verb',
    '0',
    '--genkey',
    'secret',
    '/dev/null',
  ]);
  if (result.exitCode !== 0) {
    const message =
      `${result.stderr}\n${result.stdout}`.split('\n').find((l) => /error/i.test(l)) ?? result.stderr.trim();
    throw new OvpnPkiError('OVPN_CONFIG_INVALID', `openvpn rejects ${configPath}: ${message.trim()}`, {
      details: { configPath, exitCode: result.exitCode },
    });
  }
}

/**
 * Writes a server deployment: checks a changed config with openvpn first (nothing is written when
 * it is rejected), then the files (atomically, with their modes), then the config, keeping the old
 * one as `<config>.bak`. Restarts the unit only when a start-up file changed; when the restart
 * fails every file is put back and the unit restarted with them.
 * @param deployment config and files
 * @param options fs, runner, service manager and unit
 * @returns every file with its action and diff (secrets withheld), the restart, the backup
 * @throws {OvpnPkiError} OVPN_CONFIG_INVALID (nothing written), OVPN_RELOAD_FAILED (everything rolled back)
 * @example
 * const report = await applyServerDeployment({ configPath, config, files }, { services: createSystemdServiceManager({ runner }) });
 */
export async function applyServerDeployment(
  deployment: ServerDeployment,
  options: PkiApplyOptions = {},
): Promise<DeploymentReport> {
  const fs = options.fs ?? createNodeFs();
  const runner = options.runner ?? createExecaRunner();
  const { configPath, config } = deployment;
  const unit = options.unit ?? `openvpn-server@${basename(configPath, '.conf')}`;
  const plan = emptyPlan();
  const timings: Record<string, number> = {};
  const previous = await fs.readFileIfExists(configPath);
  // The option parser reads no referenced file, so the new config is checked before anything
  // is written: a rejected config leaves the server exactly as it was.
  if (previous !== config) {
    const checkAt = performance.now();
    await fs.mkdir(dirname(configPath), 0o755);
    const candidate = `${configPath}.new`;
    await fs.writeFileAtomic(candidate, config, { mode: 0o644 });
    try {
      await checkOpenVpnConfig(runner, candidate);
    } finally {
      await fs.remove(candidate);
    }
    timings.check = performance.now() - checkAt;
  }
  const writeAt = performance.now();
  // Previous contents of everything we replace, for the rollback (undefined = did not exist).
  const before = new Map<string, { content: string | undefined; mode: number }>();
  let restartNeeded = false;
  for (const file of deployment.files) {
    const old = await fs.readFileIfExists(file.path);
    plan.files.push(fileChange(file.path, old, file.content, { secret: (file.mode & 0o004) === 0 }));
    if (old === file.content) continue;
    before.set(file.path, { content: old, mode: file.mode });
    await fs.mkdir(dirname(file.path), 0o755);
    await fs.writeFileAtomic(file.path, file.content, { mode: file.mode });
    if (file.effect === 'restart') restartNeeded = true;
  }
  plan.files.push(fileChange(configPath, previous, config));
  let backup: string | undefined;
  if (previous !== config) {
    before.set(configPath, { content: previous, mode: 0o644 });
    if (previous !== undefined) {
      backup = `${configPath}.bak`;
      await fs.writeFileAtomic(backup, previous, { mode: 0o644 });
    }
    await fs.writeFileAtomic(configPath, config, { mode: 0o644 });
    restartNeeded = true;
  }
  timings.write = performance.now() - writeAt;
  let restarted = false;
  if (restartNeeded && options.services) {
    const services = options.services;
    const restartAt = performance.now();
    try {
      await services.restart(unit);
      restarted = true;
      plan.services.push({ unit, action: 'restart' });
    } catch (cause) {
      for (const [path, old] of before) {
        if (old.content === undefined) await fs.remove(path);
        else await fs.writeFileAtomic(path, old.content, { mode: old.mode });
      }
      await services.restart(unit).catch(() => undefined);
      throw new OvpnPkiError(
        'OVPN_RELOAD_FAILED',
        'OpenVPN did not start with the new files; the previous ones are back',
        { cause, details: { configPath, unit } },
      );
    }
    timings.restart = performance.now() - restartAt;
  }
  return {
    ...applyReport(plan, { ...(backup === undefined ? {} : { backup }), timings }),
    restartNeeded,
    restarted,
  };
}

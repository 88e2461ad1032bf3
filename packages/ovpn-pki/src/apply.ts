// Apply: the only layer that changes a live OpenVPN server. Writes key material, CRL and ccd
// entries atomically, checks the new config with the real openvpn option parser before it goes
// live, and restarts only when something OpenVPN reads at start-up changed (config, CA, cert,
// key, tls-crypt). CRL and ccd changes never restart: OpenVPN re-reads them per connection.
import { dirname } from 'node:path';
import { OvpnPkiError } from './errors';
import { createNodeFs, isMissing, type PkiFs } from './fs';
import { type CommandRunner, createExecaRunner } from './runner';

/** One file of a server deployment. */
export interface DeployFile {
  path: string;
  content: string;
  /** 0o600 for keys, 0o644 for certificates, CRL and ccd entries. */
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

/** Restarts the OpenVPN service of this deployment (systemd on servers, a test daemon in tests). */
export interface ServiceControl {
  restart(): Promise<void>;
}

/** Options of {@link applyServerDeployment}. */
export interface ApplyOptions {
  fs?: PkiFs;
  runner?: CommandRunner;
  /** Without it nothing is restarted and `restartNeeded` tells the caller to do it. */
  service?: ServiceControl;
}

/** What {@link applyServerDeployment} did. */
export interface ApplyReport {
  changed: string[];
  unchanged: string[];
  /** True when a start-up file changed. */
  restartNeeded: boolean;
  restarted: boolean;
  /** Line diff of the config (`-`/`+` lines), empty when unchanged. */
  configDiff: string;
}

async function readOrUndefined(fs: PkiFs, path: string): Promise<string | undefined> {
  try {
    return await fs.readFile(path);
  } catch (cause) {
    if (isMissing(cause)) return undefined;
    throw cause;
  }
}

/**
 * Validates an OpenVPN config with the real option parser: `openvpn --config FILE --genkey
 * secret /dev/null` parses every line (unknown options, wrong arguments, bad `push` quoting) and
 * exits before opening sockets or tun devices.
 * @param runner command runner
 * @param configPath the config file; relative paths inside resolve against its directory
 * @throws {OvpnPkiError} OVPN_CONFIG_INVALID with OpenVPN's message
 */
export async function checkOpenVpnConfig(runner: CommandRunner, configPath: string): Promise<void> {
  const result = await runner.run('openvpn', [
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
      data: { configPath, exitCode: result.exitCode },
    });
  }
}

/** A minimal line diff (LCS), enough to show what changed in a config. */
export function diffLines(before: string, after: string): string {
  const a = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const b = after === '' ? [] : after.replace(/\n$/, '').split('\n');
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      const row = lcs[i] as number[];
      row[j] = a[i] === b[j] ? (lcs[i + 1]?.[j + 1] ?? 0) + 1 : Math.max(lcs[i + 1]?.[j] ?? 0, row[j + 1] ?? 0);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      i++;
      j++;
    } else if (j < b.length && (i >= a.length || (lcs[i]?.[j + 1] ?? 0) >= (lcs[i + 1]?.[j] ?? 0))) {
      out.push(`+${b[j++]}`);
    } else {
      out.push(`-${a[i++]}`);
    }
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

/**
 * Writes a server deployment: checks a changed config with openvpn first (nothing is written when
 * it is rejected), then the files (atomically, with their modes), then the config, keeping the old
 * one as `<config>.bak`. Restarts
 * the service only when a start-up file changed; when the restart fails the old config is put
 * back and the service restarted with it.
 * @param deployment config and files
 * @param options fs, runner, service
 * @returns changed/unchanged files, restart flags and the config diff
 * @throws {OvpnPkiError} OVPN_CONFIG_INVALID (nothing written), OVPN_RELOAD_FAILED (everything rolled back)
 */
export async function applyServerDeployment(
  deployment: ServerDeployment,
  options: ApplyOptions = {},
): Promise<ApplyReport> {
  const fs = options.fs ?? createNodeFs();
  const runner = options.runner ?? createExecaRunner();
  const report: ApplyReport = { changed: [], unchanged: [], restartNeeded: false, restarted: false, configDiff: '' };
  const { configPath, config } = deployment;
  const previous = await readOrUndefined(fs, configPath);
  // The option parser reads no referenced file, so the new config is checked before anything
  // is written: a rejected config leaves the server exactly as it was.
  if (previous !== config) {
    await fs.mkdir(dirname(configPath), 0o755);
    const candidate = `${configPath}.new`;
    await fs.writeFileAtomic(candidate, config, 0o644);
    try {
      await checkOpenVpnConfig(runner, candidate);
    } finally {
      await fs.remove(candidate);
    }
  }
  // Previous contents of everything we replace, for the rollback (undefined = did not exist).
  const before = new Map<string, { content: string | undefined; mode: number }>();
  for (const file of deployment.files) {
    const old = await readOrUndefined(fs, file.path);
    if (old === file.content) {
      report.unchanged.push(file.path);
      continue;
    }
    before.set(file.path, { content: old, mode: file.mode });
    await fs.mkdir(dirname(file.path), 0o755);
    await fs.writeFileAtomic(file.path, file.content, file.mode);
    report.changed.push(file.path);
    if (file.effect === 'restart') report.restartNeeded = true;
  }
  if (previous === config) {
    report.unchanged.push(configPath);
  } else {
    before.set(configPath, { content: previous, mode: 0o644 });
    if (previous !== undefined) await fs.writeFileAtomic(`${configPath}.bak`, previous, 0o644);
    await fs.writeFileAtomic(configPath, config, 0o644);
    report.changed.push(configPath);
    report.configDiff = diffLines(previous ?? '', config);
    report.restartNeeded = true;
  }
  if (report.restartNeeded && options.service) {
    try {
      await options.service.restart();
      report.restarted = true;
    } catch (cause) {
      for (const [path, old] of before) {
        if (old.content === undefined) await fs.remove(path);
        else await fs.writeFileAtomic(path, old.content, old.mode);
      }
      await options.service.restart().catch(() => undefined);
      throw new OvpnPkiError(
        'OVPN_RELOAD_FAILED',
        'OpenVPN did not start with the new files; the previous ones are back',
        {
          cause,
          data: { configPath },
        },
      );
    }
  }
  return report;
}

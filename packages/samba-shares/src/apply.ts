// The only layer that touches disk and runs programs: render → compare → testparm on a candidate
// → back up → atomic write → testparm on the main smb.conf → smbcontrol reload-config; the
// previous file comes back when the check or the reload fails.
import { basename, dirname, join } from 'node:path';
import {
  type ApplyReport,
  applyReport,
  type CommandRunner,
  createExecaRunner,
  createNodeFs,
  emptyPlan,
  fileChange,
  type HostFs,
  isHostError,
  lastOutputLine,
} from '@invis/host';
import { SharesError } from './errors';
import type { ShareInput } from './model';
import { renderSharesConf } from './render';

/** Options of {@link createSharesApplier}. */
export interface SharesApplierOptions {
  /** The shares file, e.g. `/etc/samba/smb.shares.conf`. */
  configPath: string;
  /**
   * The main smb.conf that includes `configPath`. When given, it is checked with testparm after
   * the write (the shares in the context of the server's globals; a failure restores the old
   * file) and passed to smbcontrol, which finds the daemons' pid files through it.
   */
  mainConfig?: string;
  /**
   * Whom `smbcontrol … reload-config` tells: `smbd` on a file server, `samba` or `smbd` on an AD
   * DC (where the `samba` process runs smbd). Empty: no reload (staging). Default `['smbd']`.
   */
  reloadTargets?: readonly string[];
  /** Default `testparm`. */
  testparm?: string;
  /** Default `smbcontrol`. */
  smbcontrol?: string;
  /** Runs the checkers (default: the host's execa runner). */
  runner?: CommandRunner;
  /** File operations (default: the host's node:fs facade). */
  fs?: HostFs;
}

/** Writes, checks and activates a shares file. */
export interface SharesApplier {
  /**
   * Validates and renders the shares and, when the file differs, checks and activates it.
   * @returns the host's report: `files` with the unified diff, `backup` the previous file's copy,
   *   `timings` of `check` and `reload`
   * @throws SharesError `SHARES_INVALID_SHARE` (model), `SHARES_CHECK_FAILED` (testparm refused
   *   the file or could not run; the old file is in place), `SHARES_RELOAD_FAILED` (smbcontrol
   *   failed; the old file is restored)
   */
  apply(shares: readonly ShareInput[]): Promise<ApplyReport>;
}

/** testparm's complaints that still exit 0 (an unknown parameter is ignored, not refused). */
const COMPLAINT = /unknown parameter|ignoring unknown|invalid|error|not boolean/i;

/**
 * Runs `testparm -s` on an smb.conf and fails closed: a non-zero exit or a complaint line is a refusal.
 * @param runner the command runner
 * @param file the smb.conf to check (a real path)
 * @param testparm the program (default `testparm`)
 * @throws SharesError `SHARES_CHECK_FAILED` with testparm's line
 */
export async function testparmCheck(runner: CommandRunner, file: string, testparm = 'testparm'): Promise<void> {
  let result: Awaited<ReturnType<CommandRunner['run']>>;
  try {
    result = await runner.run(testparm, ['-s', '--suppress-prompt', file], { timeoutMs: 30_000 });
  } catch (e) {
    if (!isHostError(e)) throw e;
    throw new SharesError('SHARES_CHECK_FAILED', `${testparm} could not be run: ${e.message}`, { cause: e });
  }
  const complaint = result.stderr.split('\n').find((l) => COMPLAINT.test(l));
  if (result.exitCode !== 0 || complaint !== undefined) {
    const output = (complaint ?? lastOutputLine(result)).trim();
    throw new SharesError('SHARES_CHECK_FAILED', `testparm refused the shares: ${output}`, {
      details: { exitCode: result.exitCode, output },
    });
  }
}

/**
 * Checks a shares file's text with testparm: a candidate and a small main smb.conf that includes
 * it, both in a fresh folder inside `dir` (removed afterwards).
 * @param text the shares file
 * @param options `dir` (a real folder for the candidate), runner, fs, testparm program
 * @throws SharesError `SHARES_CHECK_FAILED`
 * @example await checkSharesConf(renderSharesConf(shares), { dir: '/etc/samba' });
 */
export async function checkSharesConf(
  text: string,
  options: { dir: string; runner?: CommandRunner; fs?: HostFs; testparm?: string },
): Promise<void> {
  const fs = options.fs ?? createNodeFs();
  const temp = await fs.mkdtemp(join(options.dir, '.invis-shares-'));
  try {
    const candidate = join(temp, 'smb.shares.conf');
    const main = join(temp, 'smb.conf');
    await fs.writeFileAtomic(candidate, text, { mode: 0o644 });
    await fs.writeFileAtomic(main, `[global]\n\tinclude = ${candidate}\n`, { mode: 0o644 });
    await testparmCheck(options.runner ?? createExecaRunner(), main, options.testparm);
  } finally {
    await fs.remove(temp);
  }
}

/**
 * The applier of a shares file.
 * @param options paths, reload targets and collaborators
 * @returns the applier
 * @example
 * const shares = createSharesApplier({ configPath: '/etc/samba/smb.shares.conf', mainConfig: '/etc/samba/smb.conf' });
 * await shares.apply([{ name: 'aktuell', path: '/srv/shares/aktuell', recycle: {} }]);
 */
export function createSharesApplier(options: SharesApplierOptions): SharesApplier {
  const fs = options.fs ?? createNodeFs();
  const runner = options.runner ?? createExecaRunner();
  const targets = options.reloadTargets ?? ['smbd'];
  const smbcontrol = options.smbcontrol ?? 'smbcontrol';
  const path = options.configPath;

  async function reload(): Promise<void> {
    for (const target of targets) {
      const args = [...(options.mainConfig ? ['-s', options.mainConfig] : []), target, 'reload-config'];
      const result = await runner.run(smbcontrol, args, { timeoutMs: 30_000 });
      if (result.exitCode !== 0) {
        throw new SharesError('SHARES_RELOAD_FAILED', `smbcontrol ${target} reload-config: ${lastOutputLine(result)}`, {
          details: { target, exitCode: result.exitCode },
        });
      }
    }
  }

  return {
    async apply(shares) {
      const text = renderSharesConf(shares);
      const current = await fs.readFileIfExists(path);
      const plan = emptyPlan();
      plan.files.push(fileChange(path, current, text));
      if (current === text) return applyReport(plan);
      const t0 = performance.now();
      await checkSharesConf(text, {
        dir: dirname(path),
        runner,
        fs,
        ...(options.testparm ? { testparm: options.testparm } : {}),
      });
      const check = performance.now() - t0;
      let backup: string | undefined;
      if (current !== undefined) {
        backup = join(dirname(path), `${basename(path)}.bak`);
        await fs.writeFileAtomic(backup, current);
      }
      await fs.writeFileAtomic(path, text, { mode: 0o644 });
      const t1 = performance.now();
      try {
        if (options.mainConfig) await testparmCheck(runner, options.mainConfig, options.testparm);
        await reload();
      } catch (e) {
        if (current === undefined) await fs.remove(path);
        else await fs.writeFileAtomic(path, current);
        const restored = await reload().then(
          () => true,
          () => false,
        );
        const message = `${(e as Error).message}; previous file restored${restored ? ' and reloaded' : ', reloading it failed too'}`;
        if (e instanceof SharesError && e.code === 'SHARES_CHECK_FAILED') {
          throw new SharesError('SHARES_CHECK_FAILED', message, { cause: e, details: { ...e.details, restored } });
        }
        const cause = isHostError(e) || e instanceof SharesError ? e : undefined;
        throw new SharesError('SHARES_RELOAD_FAILED', message, { cause: cause ?? e, details: { restored } });
      }
      if (targets.length > 0) {
        plan.commands.push(
          ...targets.map((t) => ({ command: smbcontrol, args: [t, 'reload-config'], reason: 'the shares changed' })),
        );
      }
      return applyReport(plan, {
        ...(backup === undefined ? {} : { backup }),
        timings: { check, reload: performance.now() - t1 },
      });
    },
  };
}

// `mailfilter`: rspamd with ClamAV behind Postfix's milter (the mailserver module points
// smtpd_milters/non_smtpd_milters at 127.0.0.1:11332 when `mail.filter` is rspamd). rspamd's
// `local.d/` overrides only (Debian's files stay as shipped), the whole clamd.conf, and the
// signature-update timer. Each file passes its real checker first: `rspamadm configtest` with the
// candidate as the local configuration, `clamconf`, `systemd-analyze verify`.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { CommandRunner } from '@invis/host';
import {
  renderClamdConf,
  renderRspamdLocal,
  renderSignatureUnits,
  SIGNATURES_UNIT,
  serverEndpoints,
} from '../mailfilter-render';
import {
  type CheckResult,
  type DesiredFile,
  fileModule,
  type ModuleContext,
  type Rendered,
  type SetupModule,
} from '../module';
import type { PlatformProfile } from '../profiles';
import { verifyUnit } from '../systemd';

/**
 * Lines `rspamadm configtest` prints where the machine has no name resolution (the setup host is
 * offline, a staging host, the test sandbox): rspamd's default fuzzy servers are looked up at
 * load. Every other line refuses the configuration — configtest exits 0 for semantic errors
 * such as an unknown scanner type and only prints them.
 */
const OFFLINE_LINE = /^address resolution for \S+ failed: /;
const FUZZY_AFTER_OFFLINE = 'cannot read servers definition';

/**
 * Judges `rspamadm configtest` output strictly: exit 0, `syntax OK`, and no other line than the
 * tolerated offline ones.
 * @param exitCode configtest's exit code
 * @param output its interleaved output
 * @returns the verdict
 */
export function judgeRspamdConfigtest(exitCode: number, output: string): CheckResult {
  const lines = output
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '');
  const problems = lines.filter(
    (line, i) =>
      line !== 'syntax OK' &&
      !OFFLINE_LINE.test(line) &&
      !(line === FUZZY_AFTER_OFFLINE && OFFLINE_LINE.test(lines[i - 1] ?? '')),
  );
  return exitCode === 0 && lines.includes('syntax OK') && problems.length === 0
    ? { ok: true }
    : { ok: false, message: problems.join('; ') || `rspamadm configtest exit ${exitCode}` };
}

/**
 * Checks rspamd's local configuration: every rendered `local.d/` file (the candidate in place of
 * its own) in a `local.d/` beside the candidate, tested as `LOCAL_CONFDIR` over the installed
 * `rspamd.conf`.
 */
async function checkRspamd(
  ctx: ModuleContext,
  candidate: string,
  name: string,
  files: Readonly<Record<string, string>>,
): Promise<CheckResult> {
  const localConfDir = dirname(candidate);
  const localD = join(localConfDir, 'local.d');
  // The candidate is a real path in a hidden folder of its own (see checkCandidate).
  await mkdir(localD, { mode: 0o700 });
  for (const [file, content] of Object.entries(files)) {
    await writeFile(join(localD, file), file === name ? await readFile(candidate, 'utf8') : content, { mode: 0o644 });
  }
  return rspamdConfigtest(ctx.runner, ctx.profile, localConfDir);
}

/**
 * Runs `rspamadm configtest` on the installed rspamd.conf with `localConfDir` as its
 * `LOCAL_CONFDIR` (the folder holding `local.d/`), judged by {@link judgeRspamdConfigtest}.
 * @param runner the runner
 * @param profile where rspamadm and rspamd.conf are
 * @param localConfDir the local configuration to test
 * @returns the verdict
 */
export async function rspamdConfigtest(
  runner: CommandRunner,
  profile: Pick<PlatformProfile, 'mailfilter'>,
  localConfDir: string,
): Promise<CheckResult> {
  const { rspamd } = profile.mailfilter;
  const result = await runner.run(
    rspamd.rspamadm,
    // DBDIR too: configtest compiles its regexp cache there, which must not touch the live one.
    [`--var=LOCAL_CONFDIR=${localConfDir}`, `--var=DBDIR=${localConfDir}`, 'configtest', '-c', rspamd.config],
    { timeoutMs: 60_000 },
  );
  return judgeRspamdConfigtest(result.exitCode, result.output);
}

/**
 * Checks a clamd.conf with `clamconf -c <its folder>`, which exits 0 even for unknown options and
 * only prints `ERROR:` — so any such line refuses.
 */
async function checkClamd(ctx: ModuleContext, candidate: string): Promise<CheckResult> {
  const result = await ctx.runner.run(ctx.profile.mailfilter.clamav.clamconf, ['-c', dirname(candidate)], {
    timeoutMs: 30_000,
  });
  const errors = result.output.split(/(?=ERROR:)/).filter((part) => part.startsWith('ERROR:'));
  return result.exitCode === 0 && errors.length === 0
    ? { ok: true }
    : { ok: false, message: errors.map((e) => e.trim()).join('; ') || `clamconf exit ${result.exitCode}` };
}

function render(ctx: ModuleContext): Rendered {
  const { profile } = ctx;
  if (ctx.answers.mail.filter !== 'rspamd') return { directories: [], files: [], services: [], commands: [] };
  const { rspamd, clamav } = profile.mailfilter;
  const local = renderRspamdLocal(serverEndpoints(profile));
  const units = renderSignatureUnits(profile);
  const unitPath = (suffix: string) => `${profile.systemd.unitDir}/${SIGNATURES_UNIT}.${suffix}`;
  const installedLater = [profile.setupCommand[0] ?? ''];
  // Every local.d/ file is checked as part of the whole local configuration, which is the same
  // for each of them: one configtest (seconds each: it compiles rspamd's regexp cache) serves all.
  let rspamdVerdict: Promise<CheckResult> | undefined;
  const rspamdFiles: DesiredFile[] = Object.entries(local).map(([name, content]) => ({
    path: `${rspamd.localDir}/${name}`,
    content,
    mode: 0o644,
    check: (c, candidate) => {
      rspamdVerdict ??= checkRspamd(c, candidate, name, local);
      return rspamdVerdict;
    },
  }));
  return {
    directories: [
      { path: rspamd.localDir, mode: 0o755 },
      { path: dirname(clamav.config), mode: 0o755 },
      { path: profile.systemd.unitDir, mode: 0o755 },
    ],
    files: [
      ...rspamdFiles,
      { path: clamav.config, content: renderClamdConf(profile), mode: 0o644, check: checkClamd },
      {
        path: unitPath('service'),
        content: units.service,
        mode: 0o644,
        check: (c, candidate) => verifyUnit(c, candidate, [], installedLater),
      },
      {
        path: unitPath('timer'),
        content: units.timer,
        mode: 0o644,
        check: (c, candidate) =>
          verifyUnit(c, candidate, [{ name: `${SIGNATURES_UNIT}.service`, content: units.service }], installedLater),
      },
    ],
    // clamd first: rspamd's antivirus module connects to it.
    services: [
      { unit: clamav.unit, action: 'restart' },
      { unit: rspamd.unit, action: 'reload-or-restart' },
    ],
    commands: [{ command: 'systemctl', args: ['daemon-reload'], reason: 'load the signature-update units' }],
  };
}

const spec = fileModule({
  id: 'mailfilter',
  title: { de: 'Spam- und Virenfilter', en: 'Spam and virus filter' },
  dependsOn: ['mailserver'],
  render,
  async verifyLive(ctx) {
    if (ctx.answers.mail.filter !== 'rspamd') return [];
    const { rspamd, clamav } = ctx.profile.mailfilter;
    const units = [clamav.unit, rspamd.unit, `${SIGNATURES_UNIT}.timer`];
    return Promise.all(
      units.map(async (unit) => {
        const active = await ctx.services.isActive(unit);
        return { name: `service ${unit}`, ok: active, ...(active ? {} : { problem: `${unit} is not running` }) };
      }),
    );
  },
});

/** The `mailfilter` module: the files, then (after daemon-reload) the signature timer. */
export const mailfilterModule: SetupModule = {
  ...spec,
  async apply(ctx) {
    const report = await spec.apply(ctx);
    if (report.changed && !ctx.staging && ctx.answers.mail.filter === 'rspamd') {
      await ctx.services.start(`${SIGNATURES_UNIT}.timer`);
    }
    return report;
  },
};

// `fetchmail`: collects the users' provider mailboxes (`fspFetchMailAccount` in AD) into their
// local mailboxes through the local Postfix (so fetched mail passes the filter and the rewriting).
// The rc is rendered by @invis/mail-rewrite from the directory and presence — an absent user's
// accounts are not polled, their mail stays at the provider —, checked with `fetchmail
// --configdump` (whose output holds the passwords and is never quoted), written 0600 for the
// fetchmail user; the service restarts when it changes (fetchmail reads its rc only at start) and
// stops when nobody is to be collected (fetchmail refuses an rc without servers).
import { chmod } from 'node:fs/promises';
import { type ApplyReport, lastOutputLine } from '@invis/host';
import { buildFetchmailRc, type FetchmailRc, type MailConfig, renderFetchmailRc } from '@invis/mail-rewrite';
import { SetupError } from '../errors';
import { type CheckResult, type DesiredFile, fileModule, type ModuleContext, type SetupModule } from '../module';
import type { PlatformProfile } from '../profiles';
import { HARDENING, renderUnit, verifyUnit } from '../systemd';
import { directoryMail, mailserverModule, systemUser } from './mailserver';

/**
 * The rc data for the directory's mail configuration (none polled without one).
 * @param ctx answers and profile
 * @param config the directory's mail configuration (undefined when staging)
 * @returns the rc
 */
export function fetchmailRcOf(
  ctx: Pick<ModuleContext, 'answers' | 'profile'>,
  config: MailConfig | undefined,
): FetchmailRc {
  const options = {
    smtpHost: '127.0.0.1',
    idFile: `${ctx.profile.mail.fetchmail.stateDir}/.fetchids`,
    postmaster: `postmaster@${ctx.answers.domain}`,
    ...(ctx.answers.mail.providerCaFile ? { sslCertFile: ctx.answers.mail.providerCaFile } : {}),
  };
  if (!config) return { postmaster: options.postmaster, idFile: options.idFile, polls: [] };
  return buildFetchmailRc(config, options);
}

/**
 * The unit: fetchmail as its own user in the foreground, polling every minute (and at start).
 * @param profile the platform profile
 * @returns the unit file
 */
export function renderFetchmailUnit(profile: PlatformProfile): string {
  const f = profile.mail.fetchmail;
  return renderUnit('fetchmail collects the users\u2019 provider mailboxes (rc rendered by invis-setup).', {
    Unit: [
      ['Description', 'invis fetchmail'],
      ['After', `network-online.target ${profile.mail.postfix.unit}.service`],
      ['Wants', 'network-online.target'],
    ],
    Service: [
      ['Type', 'simple'],
      ['User', f.user],
      [
        'ExecStart',
        `${f.fetchmail} --nodetach --daemon 60 --nosyslog -f ${f.rc} --pidfile /run/fetchmail/fetchmail.pid`,
      ],
      ['RuntimeDirectory', 'fetchmail'],
      ['Restart', 'on-failure'],
      ...HARDENING,
      ['ReadWritePaths', f.stateDir],
      ['CapabilityBoundingSet', ''],
    ],
    Install: [['WantedBy', 'multi-user.target']],
  });
}

/** The unit name of the directory → mail sync (service and timer). */
export const MAIL_SYNC_UNIT = 'invis-mail-sync';

/**
 * The directory → mail sync units: `invis-setup sync mail` every two minutes, so accounts,
 * passwords and presence changed in the portal reach Postfix's tables, the rc (fetchmail restarted)
 * and the vacation scripts without an apply. Root (it writes /etc/postfix, /etc/fetchmailrc and
 * restarts fetchmail), but no new privileges, no home access beyond the mail store.
 * @param profile the platform profile
 * @returns the service and the timer
 */
export function renderMailSyncUnits(profile: PlatformProfile): { service: string; timer: string } {
  const service = renderUnit('Directory → mail: provider accounts, presence and vacation from AD.', {
    Unit: [
      ['Description', 'invis: mail accounts and presence from the directory'],
      ['After', `network-online.target samba-ad-dc.service ${profile.mail.postfix.unit}.service`],
      ['Wants', 'network-online.target'],
    ],
    Service: [
      ['Type', 'oneshot'],
      ['ExecStart', [...profile.setupCommand, 'sync', 'mail'].join(' ')],
      ['NoNewPrivileges', 'yes'],
      ['PrivateTmp', 'yes'],
      ['ProtectSystem', 'yes'],
      ['ProtectHome', 'yes'],
      ['UMask', '0077'],
    ],
  });
  const timer = renderUnit('Runs the directory → mail sync every two minutes.', {
    Unit: [['Description', 'invis: mail accounts from the directory, every two minutes']],
    Timer: [
      ['OnBootSec', '2min'],
      ['OnUnitActiveSec', '2min'],
      ['AccuracySec', '5s'],
    ],
    Install: [['WantedBy', 'timers.target']],
  });
  return { service, timer };
}

/** `fetchmail --configdump` on a candidate (0600, as fetchmail insists); its output is never shown. */
async function checkRc(ctx: ModuleContext, candidate: string): Promise<CheckResult> {
  await chmod(candidate, 0o600);
  const result = await ctx.runner.run(
    ctx.profile.mail.fetchmail.fetchmail,
    ['--configdump', '--nosyslog', '-f', candidate],
    {
      timeoutMs: 30_000,
    },
  );
  return result.exitCode === 0
    ? { ok: true }
    : { ok: false, message: `fetchmail --configdump refused the rc (exit ${result.exitCode})` };
}

const unitPath = (profile: PlatformProfile) => `${profile.systemd.unitDir}/${profile.mail.fetchmail.unit}.service`;

function syncFiles(profile: PlatformProfile): DesiredFile[] {
  const { service, timer } = renderMailSyncUnits(profile);
  const dir = profile.systemd.unitDir;
  return [
    {
      path: `${dir}/${MAIL_SYNC_UNIT}.service`,
      content: service,
      mode: 0o644,
      check: (c, candidate) => verifyUnit(c, candidate, [], [profile.setupCommand[0] ?? '']),
    },
    {
      path: `${dir}/${MAIL_SYNC_UNIT}.timer`,
      content: timer,
      mode: 0o644,
      check: (c, candidate) =>
        verifyUnit(
          c,
          candidate,
          [{ name: `${MAIL_SYNC_UNIT}.service`, content: service }],
          [profile.setupCommand[0] ?? ''],
        ),
    },
  ];
}

const filesOf = (rc: string) =>
  fileModule({
    id: 'fetchmail',
    title: { de: 'Mailabholung (fetchmail)', en: 'Mail collection (fetchmail)' },
    dependsOn: [],
    render: (ctx) => ({
      directories: [{ path: ctx.profile.systemd.unitDir, mode: 0o755 }],
      files: [
        { path: ctx.profile.mail.fetchmail.rc, content: rc, mode: 0o600, secret: true, check: checkRc },
        {
          path: unitPath(ctx.profile),
          content: renderFetchmailUnit(ctx.profile),
          mode: 0o644,
          check: (c, candidate) => verifyUnit(c, candidate, [], []),
        },
        ...syncFiles(ctx.profile),
      ],
      services: [],
      commands: [{ command: 'systemctl', args: ['daemon-reload'], reason: 'load the fetchmail unit' }],
    }),
  });

async function rendered(ctx: ModuleContext): Promise<{ rc: FetchmailRc; text: string }> {
  const rc = fetchmailRcOf(ctx, await directoryMail(ctx));
  return { rc, text: renderFetchmailRc(rc) };
}

async function apply(ctx: ModuleContext): Promise<ApplyReport> {
  const { rc, text } = await rendered(ctx);
  const report = await filesOf(text).apply(ctx);
  if (ctx.staging) return report;
  const f = ctx.profile.mail.fetchmail;
  const owner = await systemUser(ctx, f.user);
  if (!owner) {
    throw new SetupError('SETUP_PREREQUISITES', `no system user ${f.user} (install the fetchmail package)`, {
      details: { problems: [`user ${f.user}`] },
    });
  }
  // fetchmail reads only an rc that its own user owns.
  const chown = await ctx.runner.run('chown', [`${owner.uid}:${owner.gid}`, f.rc]);
  if (chown.exitCode !== 0) {
    throw new SetupError('SETUP_CHECK_FAILED', `chown ${f.rc} failed: ${lastOutputLine(chown)}`, {
      details: { module: 'fetchmail' },
    });
  }
  const active = await ctx.services.isActive(f.unit);
  if (rc.polls.length === 0) {
    if (active) await ctx.services.stop(f.unit);
  } else if (report.changed || !active) {
    await ctx.services.restart(f.unit);
  }
  const timer = `${MAIL_SYNC_UNIT}.timer`;
  if (!(await ctx.services.isActive(timer))) await ctx.services.start(timer);
  return report;
}

/** The `fetchmail` module. */
export const fetchmailModule: SetupModule = {
  id: 'fetchmail',
  title: { de: 'Mailabholung (fetchmail)', en: 'Mail collection (fetchmail)' },
  dependsOn: ['mailserver'],
  async plan(ctx) {
    const { rc, text } = await rendered(ctx);
    const plan = await filesOf(text).plan(ctx);
    if (ctx.staging) return plan;
    const active = await ctx.services.isActive(ctx.profile.mail.fetchmail.unit);
    const unit = ctx.profile.mail.fetchmail.unit;
    if (rc.polls.length === 0 && active) plan.services.push({ unit, action: 'stop' });
    const changed = plan.files.some((f) => f.action !== 'unchanged');
    if (rc.polls.length > 0 && (changed || !active)) plan.services.push({ unit, action: 'restart' });
    const timer = `${MAIL_SYNC_UNIT}.timer`;
    if (!(await ctx.services.isActive(timer))) plan.services.push({ unit: timer, action: 'start' });
    return plan;
  },
  apply,
  async verify(ctx) {
    const { rc, text } = await rendered(ctx);
    const checks = await filesOf(text).verify(ctx);
    if (ctx.staging) return checks;
    const unit = ctx.profile.mail.fetchmail.unit;
    const active = await ctx.services.isActive(unit);
    const wanted = rc.polls.length > 0;
    const timer = `${MAIL_SYNC_UNIT}.timer`;
    const timerActive = await ctx.services.isActive(timer);
    checks.push({
      name: `timer ${timer}`,
      ok: timerActive,
      ...(timerActive ? {} : { problem: `${timer} is not running` }),
    });
    checks.push({
      name: `service ${unit}`,
      ok: active === wanted,
      ...(active === wanted
        ? {}
        : { problem: wanted ? `${unit} is not running` : `${unit} runs with nothing to collect` }),
    });
    return checks;
  },
};

/**
 * `invis-setup sync mail`: brings the mail server in step with the directory — the mailserver's
 * compiled tables and vacation scripts, then the fetchmail rc (fetchmail restarted when it changed,
 * stopped when nobody is collected). Nothing changed → nothing written, nothing restarted.
 * @param ctx the module context (live only)
 * @returns the two modules' reports
 */
export async function syncMail(ctx: ModuleContext): Promise<{ changed: boolean; reports: ApplyReport[] }> {
  const reports = [await mailserverModule.apply(ctx), await apply(ctx)];
  return { changed: reports.some((r) => r.changed), reports };
}

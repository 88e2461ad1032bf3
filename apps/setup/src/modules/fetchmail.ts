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
import { type CheckResult, fileModule, type ModuleContext, type SetupModule } from '../module';
import type { PlatformProfile } from '../profiles';
import { HARDENING, renderUnit, verifyUnit } from '../systemd';
import { directoryMail, systemUser } from './mailserver';

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

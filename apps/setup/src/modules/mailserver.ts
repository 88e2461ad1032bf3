// `mailserver`: Postfix + Dovecot with AD login. Postfix and Dovecot configurations are rendered
// whole (mail-render.ts) and checked with `postfix check`, `doveconf -n` and `sievec`; mailboxes,
// sender logins, group addresses and the address rewriting are LDAP tables served live from AD;
// the per-sender relay, SASL and TLS tables of @invis/mail-rewrite are compiled from the directory
// (mail-tables.ts) before main.cf names them; vacation scripts are put with `doveadm sieve` (as
// the mail user, through Dovecot's own storage: nothing root writes follows a link in a home).
import { utimes, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { type AdClient, createAdClient } from '@invis/ad-client';
import {
  type ApplyReport,
  applyReport,
  type CommandResult,
  lastOutputLine,
  type PlannedCommand,
  type ServiceAction,
} from '@invis/host';
import { type MailConfig, type MailUser, renderVacationSieve } from '@invis/mail-rewrite';
import { SetupError } from '../errors';
import { ensureMailKey, readDirectoryMail } from '../mail-directory';
import {
  dovecotPaths,
  postfixPaths,
  renderDovecotConf,
  renderDovecotLdap,
  renderJunkSieve,
  renderMainCf,
  renderMasterCf,
  renderPostfixLdapTables,
  renderServerItself,
  renderVmailSysusers,
} from '../mail-render';
import { planTables, renderTables, writeTables } from '../mail-tables';
import {
  type DesiredFile,
  fileModule,
  type ModuleContext,
  type ModulePlan,
  type Rendered,
  runChecker,
  type SetupModule,
  type VerifyCheck,
} from '../module';
import { parseCidr } from '../net';
import { renderDovecotMasterBlock, renderMasterUsers, WEBMAIL_MASTER_SECRET, webmailPaths } from '../webmail-render';
import { certificatePaths } from './ca';

/** The name of the vacation script setup puts for a user who is on vacation. */
export const VACATION_SCRIPT = 'invis-vacation';

const sysusersPath = (ctx: Pick<ModuleContext, 'profile'>) =>
  `/etc/sysusers.d/invis-${ctx.profile.mail.vmail.user}.conf`;

/**
 * `postfix check` on a candidate main.cf or master.cf, with its rendered partner beside it
 * (Postfix reads both from one folder).
 */
async function postfixCheck(ctx: ModuleContext, candidate: string, partner: { name: string; content: string }) {
  const dir = dirname(candidate);
  await writeFile(join(dir, partner.name), partner.content, { mode: 0o644 });
  // Postfix commands stall ~2 s while main.cf is younger than 2 s.
  const past = new Date(Date.now() - 3000);
  await utimes(join(dir, 'main.cf'), past, past).catch(() => undefined);
  return runChecker(ctx.runner, ctx.profile.mail.postfix.postfix, ['-c', dir, 'check']);
}

/** The static files: Postfix, Dovecot, the Junk rule, the vmail user; with `master`, the webmail's master passdb. */
function renderFiles(ctx: ModuleContext, bindPassword: string, master: string | undefined): Rendered {
  const { profile } = ctx;
  const p = postfixPaths(profile);
  const d = dovecotPaths(profile);
  const mainCf = renderMainCf(ctx);
  const masterCf = renderMasterCf();
  const ldapTables = Object.entries(renderPostfixLdapTables(ctx, { password: bindPassword }));
  const files: DesiredFile[] = [
    { path: sysusersPath(ctx), content: renderVmailSysusers(profile), mode: 0o644 },
    // Tables before main.cf: main.cf never names a file that is not there yet.
    ...ldapTables.map(([path, content]) => ({ path, content, mode: 0o600, secret: true })),
    { path: p.serverItself, content: renderServerItself(), mode: 0o644 },
    {
      path: p.masterCf,
      content: masterCf,
      mode: 0o644,
      check: (c, candidate) => postfixCheck(c, candidate, { name: 'main.cf', content: mainCf }),
    },
    {
      path: p.mainCf,
      content: mainCf,
      mode: 0o644,
      check: (c, candidate) => postfixCheck(c, candidate, { name: 'master.cf', content: masterCf }),
    },
    {
      path: d.ldap,
      content: renderDovecotLdap(ctx, { password: bindPassword }),
      mode: 0o600,
      secret: true,
    },
    {
      path: d.junkSieve,
      content: renderJunkSieve(),
      mode: 0o644,
      check: (c, candidate) => runChecker(c.runner, c.profile.mail.dovecot.sievec, [candidate]),
    },
    // The webmail's master user (module webmail): its hash before dovecot.conf names the file.
    ...(master === undefined
      ? []
      : [
          {
            path: webmailPaths(profile.id).dovecotMasterUsers,
            content: renderMasterUsers(master),
            mode: 0o640,
            secret: true,
          },
        ]),
    {
      path: d.conf,
      content: renderDovecotConf(ctx) + (master === undefined ? '' : renderDovecotMasterBlock(ctx)),
      mode: 0o644,
      check: (c, candidate) => runChecker(c.runner, c.profile.mail.dovecot.doveconf, ['-n', '-c', candidate]),
    },
  ];
  return {
    directories: [
      { path: p.invis, mode: 0o755 },
      { path: d.sieveDir, mode: 0o755 },
      { path: '/etc/sysusers.d', mode: 0o755 },
    ],
    files,
    services: [],
    commands: [],
  };
}

/** The static part as a file module (render needs the bind password and the webmail's master password, read before). */
const filesOf = (bindPassword: string, master: string | undefined) =>
  fileModule({
    id: 'mailserver',
    title: { de: 'Mailserver', en: 'Mail server' },
    dependsOn: [],
    render: (ctx) => renderFiles(ctx, bindPassword, master),
  });

/** The webmail's master password (made at the first apply with `mail.webmail`), undefined without webmail. */
async function webmailMaster(ctx: ModuleContext): Promise<string | undefined> {
  if (!ctx.answers.mail.webmail) return undefined;
  return (await ctx.secrets.ensure(WEBMAIL_MASTER_SECRET)).value;
}

async function bindPassword(ctx: ModuleContext): Promise<string> {
  const password = await ctx.secrets.get('ad-invis-portal');
  if (password === undefined) {
    throw new SetupError('SETUP_SECRET_MISSING', 'no secret ad-invis-portal (run init first)', {
      details: { name: 'ad-invis-portal' },
    });
  }
  return password;
}

/**
 * A client of the DC bound as the read-only `invis-portal` (the invis tree is readable for it).
 * @param ctx the module context
 * @returns the client (close it)
 */
export async function connectReadOnly(ctx: ModuleContext): Promise<AdClient> {
  const ca = await ctx.fs.readFile(certificatePaths(ctx).caCert);
  const address = parseCidr(ctx.answers.lan.address)?.address ?? '';
  return createAdClient({
    url: `ldaps://${address}:636`,
    upn: `invis-portal@${ctx.answers.domain}`,
    password: await bindPassword(ctx),
    ca,
    connectTimeoutMs: 3000,
  });
}

/**
 * The mail configuration of the directory (undefined when staging: no directory to read).
 * @param ctx the module context
 * @returns the configuration
 */
export async function directoryMail(ctx: ModuleContext): Promise<MailConfig | undefined> {
  if (ctx.staging) return undefined;
  const key = await ensureMailKey(ctx);
  const ad = await connectReadOnly(ctx);
  try {
    return (await readDirectoryMail(ctx, ad, key)).config;
  } finally {
    await ad.close();
  }
}

/** The uid and gid of a system user from `/etc/passwd` (below the root when staging). */
export async function systemUser(
  ctx: Pick<ModuleContext, 'fs'>,
  name: string,
): Promise<{ uid: number; gid: number } | undefined> {
  const passwd = (await ctx.fs.readFileIfExists('/etc/passwd')) ?? '';
  for (const line of passwd.split('\n')) {
    const [user, , uid, gid] = line.split(':');
    if (user === name && uid !== undefined && gid !== undefined) return { uid: Number(uid), gid: Number(gid) };
  }
  return undefined;
}

/** One vacation step per user whose script is not as presence says. */
interface VacationStep {
  user: MailUser;
  action: 'put' | 'remove';
  script?: string;
}

async function doveadm(ctx: ModuleContext, args: string[], input?: string) {
  return ctx.runner.run(ctx.profile.mail.dovecot.doveadm, args, {
    timeoutMs: 30_000,
    ...(input === undefined ? {} : { input }),
  });
}

/** What the users' vacation scripts need (Dovecot must run: the scripts live in its storage). */
async function vacationSteps(ctx: ModuleContext, config: MailConfig | undefined): Promise<VacationStep[]> {
  if (!config || ctx.staging) return [];
  const running = await ctx.services.isActive(ctx.profile.mail.dovecot.unit);
  const steps: VacationStep[] = [];
  for (const user of config.users) {
    const wanted = user.presence === 'vacation' ? renderVacationSieve(user) : undefined;
    if (!running) {
      if (wanted) steps.push({ user, action: 'put', script: wanted });
      continue;
    }
    const current = await doveadm(ctx, ['sieve', 'get', '-u', user.user, VACATION_SCRIPT]);
    const list = await doveadm(ctx, ['sieve', 'list', '-u', user.user]);
    const active = isActive(list.stdout);
    const exists = current.exitCode === 0;
    // doveadm's formatter puts a `sieve script:` header line above the script.
    const stored = current.stdout.replace(/^sieve script:\n/, '').trimEnd();
    if (wanted && (!exists || stored !== wanted.trimEnd() || !active)) {
      steps.push({ user, action: 'put', script: wanted });
    } else if (!wanted && exists) {
      steps.push({ user, action: 'remove' });
    }
  }
  return steps;
}

/** Whether `doveadm sieve list` shows the vacation script as the active one. */
const isActive = (list: string): boolean =>
  list.split('\n').some((line) => {
    const [name, flag] = line.trim().split(/\s+/);
    return name === VACATION_SCRIPT && flag === 'ACTIVE';
  });

async function runVacationStep(ctx: ModuleContext, step: VacationStep): Promise<void> {
  const fail = (result: CommandResult) =>
    new SetupError('SETUP_CHECK_FAILED', `doveadm sieve for ${step.user.user} failed: ${lastOutputLine(result)}`, {
      details: { module: 'mailserver', user: step.user.user },
    });
  if (step.action === 'put') {
    // -a: activate it (the user's own active script is replaced for the time away, as in the original).
    const put = await doveadm(ctx, ['sieve', 'put', '-u', step.user.user, '-a', VACATION_SCRIPT], step.script);
    if (put.exitCode !== 0) throw fail(put);
    return;
  }
  // Deactivate only if ours is the active one; then delete it.
  const list = await doveadm(ctx, ['sieve', 'list', '-u', step.user.user]);
  if (isActive(list.stdout)) {
    const off = await doveadm(ctx, ['sieve', 'deactivate', '-u', step.user.user]);
    if (off.exitCode !== 0) throw fail(off);
  }
  const del = await doveadm(ctx, ['sieve', 'delete', '-u', step.user.user, VACATION_SCRIPT]);
  if (del.exitCode !== 0) throw fail(del);
}

/** Live state the files do not show: the vmail user and store, the two services. */
async function liveGaps(ctx: ModuleContext): Promise<{ commands: PlannedCommand[]; services: ServiceAction[] }> {
  if (ctx.staging) return { commands: [], services: [] };
  const { mail } = ctx.profile;
  const commands: PlannedCommand[] = [];
  const services: ServiceAction[] = [];
  if (!(await systemUser(ctx, mail.vmail.user))) {
    commands.push({
      command: 'systemd-sysusers',
      args: [sysusersPath(ctx)],
      reason: `create the ${mail.vmail.user} user`,
    });
  }
  if (!(await ctx.fs.exists(mail.vmail.home))) {
    commands.push({ command: 'install', args: ['-d', '-m', '0750', mail.vmail.home], reason: 'the mail store' });
  }
  for (const unit of [mail.postfix.unit, mail.dovecot.unit]) {
    if (!(await ctx.services.isActive(unit))) services.push({ unit, action: 'start' });
  }
  return { commands, services };
}

async function planOf(ctx: ModuleContext, config: MailConfig | undefined, password: string): Promise<ModulePlan> {
  const plan = await filesOf(password, await webmailMaster(ctx)).plan(ctx);
  const tableChanges = await planTables(ctx, renderTables(ctx, config));
  const gaps = await liveGaps(ctx);
  const vacation = await vacationSteps(ctx, config);
  const changed = [...plan.files, ...tableChanges].some((f) => f.action !== 'unchanged');
  return {
    ...plan,
    files: [...tableChanges, ...plan.files],
    commands: [
      ...gaps.commands,
      ...vacation.map((s) => ({
        command: 'doveadm',
        args: ['sieve', s.action === 'put' ? 'put' : 'delete', '-u', s.user.user, VACATION_SCRIPT],
        reason: s.action === 'put' ? 'on vacation' : 'back from vacation',
      })),
    ],
    services: [
      ...gaps.services,
      ...(changed && !ctx.staging
        ? [mail(ctx).postfix, mail(ctx).dovecot]
            .filter((u) => !gaps.services.some((s) => s.unit === u))
            .map((unit) => ({ unit, action: 'reload' as const }))
        : []),
    ],
  };
}

const mail = (ctx: ModuleContext) => ({
  postfix: ctx.profile.mail.postfix.unit,
  dovecot: ctx.profile.mail.dovecot.unit,
});

async function apply(ctx: ModuleContext): Promise<ApplyReport> {
  const started = Date.now();
  const config = await directoryMail(ctx);
  const password = await bindPassword(ctx);
  const master = await webmailMaster(ctx);
  const files = filesOf(password, master);
  const plan = await planOf(ctx, config, password);
  // 1. the compiled tables (main.cf names them), each replaced by rename.
  ctx.progress('mailserver: compiling the Postfix tables');
  await writeTables(ctx, renderTables(ctx, config), renderMainCf(ctx));
  // 2. the static files, each checked by its real checker first.
  ctx.progress('mailserver: writing Postfix and Dovecot configuration');
  const report = await files.apply(ctx);
  if (!ctx.staging) {
    // 3. the vmail user and store, then the services.
    const { mail: m } = ctx.profile;
    const run = async (command: string, args: string[]) => {
      const result = await ctx.runner.run(command, args, { timeoutMs: 60_000 });
      if (result.exitCode !== 0) {
        throw new SetupError('SETUP_CHECK_FAILED', `${command} failed: ${lastOutputLine(result)}`, {
          details: { module: 'mailserver', exitCode: result.exitCode },
        });
      }
    };
    if (!(await systemUser(ctx, m.vmail.user))) await run('systemd-sysusers', [sysusersPath(ctx)]);
    await ctx.fs.mkdir(m.vmail.home, 0o750);
    await run('chown', [`${m.vmail.user}:${m.vmail.user}`, m.vmail.home]);
    // Dovecot's auth process (its own user) reads the master users' hashes.
    if (master !== undefined) await run('chown', ['root:dovecot', webmailPaths(ctx.profile.id).dovecotMasterUsers]);
    // The global Junk rule compiled where Dovecot (as vmail) cannot write.
    await run(m.dovecot.sievec, [dovecotPaths(ctx.profile).junkSieve]);
    const changed = plan.files.some((f) => f.action !== 'unchanged');
    for (const unit of [m.postfix.unit, m.dovecot.unit]) {
      if (!(await ctx.services.isActive(unit))) await ctx.services.start(unit);
      else if (changed) await ctx.services.reload(unit);
    }
    // 4. vacation scripts, through the running Dovecot.
    for (const step of await vacationSteps(ctx, config)) await runVacationStep(ctx, step);
  }
  return applyReport(plan, { timings: { total: Date.now() - started, ...(report.timings ?? {}) } });
}

async function verify(ctx: ModuleContext): Promise<VerifyCheck[]> {
  const checks = await filesOf(await bindPassword(ctx), await webmailMaster(ctx)).verify(ctx);
  const config = await directoryMail(ctx);
  for (const change of await planTables(ctx, renderTables(ctx, config))) {
    checks.push(
      change.action === 'unchanged'
        ? { name: change.path, ok: true }
        : { name: change.path, ok: false, problem: 'differs from the directory (run apply)' },
    );
  }
  if (ctx.staging) return checks;
  for (const unit of Object.values(mail(ctx))) {
    const active = await ctx.services.isActive(unit);
    checks.push({ name: `service ${unit}`, ok: active, ...(active ? {} : { problem: `${unit} is not running` }) });
  }
  const steps = await vacationSteps(ctx, config);
  checks.push({
    name: 'vacation scripts',
    ok: steps.length === 0,
    ...(steps.length === 0 ? {} : { problem: `not as presence says: ${steps.map((s) => s.user.user).join(', ')}` }),
  });
  return checks;
}

/** The `mailserver` module. */
export const mailserverModule: SetupModule = {
  id: 'mailserver',
  title: { de: 'Mailserver (Postfix, Dovecot)', en: 'Mail server (Postfix, Dovecot)' },
  dependsOn: ['ca', 'samba_ad'],
  plan: async (ctx) => planOf(ctx, await directoryMail(ctx), await bindPassword(ctx)),
  apply,
  verify,
};

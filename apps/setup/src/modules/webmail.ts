// `webmail` (optional, `mail.webmail`): Roundcube from Debian for the portal's users, with single
// sign-on. An nginx of its own on the LAN address asks the portal about every request (forward
// authentication); PHP-FPM of its own runs Roundcube as the system user `invis-webmail`, the only
// reader of the Dovecot master password; the plugin `invis_sso` logs the user the portal vouched
// for in to Dovecot and Postfix as `<account>*webmail` (the master passdb is the mailserver's).
// Nothing is installed here: the packages are the admin's (checked before anything is written).
import { constants } from 'node:fs';
import { open, writeFile } from 'node:fs/promises';
import type { PortalEntry } from '@invis/ad-client';
import { type ApplyReport, applyReport, lastOutputLine, type PlannedCommand } from '@invis/host';
import { SetupError } from '../errors';
import {
  type CheckResult,
  type DesiredFile,
  fileModule,
  type ModuleContext,
  type ModulePlan,
  noChangePlan,
  type Rendered,
  runChecker,
  type SetupModule,
  type VerifyCheck,
} from '../module';
import { HARDENING, renderUnit, verifyUnit } from '../systemd';
import {
  renderRoundcubeConfig,
  renderRoundcubeDefaults,
  renderSsoPlugin,
  renderWebmailLogrotate,
  renderWebmailNginx,
  renderWebmailPhpFpm,
  renderWebmailSysusers,
  WEBMAIL_DES_SECRET,
  WEBMAIL_MASTER_SECRET,
  type WebmailPaths,
  webmailPaths,
} from '../webmail-render';
import { packagesCheck } from './check';
import { systemUser } from './mailserver';
import { connectAsAdministrator } from './samba-ad';

const TITLE = { de: 'Webmail (Roundcube)', en: 'Webmail (Roundcube)' };

/** The secrets the files need: the master password (made by mailserver) and Roundcube's des_key. */
interface WebmailSecrets {
  master: string;
  desKey: string;
}

const unitPath = (ctx: Pick<ModuleContext, 'profile'>, unit: string) =>
  `${ctx.profile.systemd.unitDir}/${unit}.service`;

/**
 * The PHP-FPM unit: its own master with the one pool, hardened, only Roundcube's data and the log
 * folder writable; the socket folder is its RuntimeDirectory.
 * @param w the paths
 * @returns the unit file
 */
export function renderWebmailPhpUnit(w: WebmailPaths): string {
  return renderUnit('invis webmail: PHP-FPM running Roundcube as its own user.', {
    Unit: [
      ['Description', 'invis webmail (PHP-FPM for Roundcube)'],
      ['After', 'network.target'],
    ],
    Service: [
      ['Type', 'notify'],
      ['ExecStart', `${w.phpFpm} --nodaemonize --fpm-config ${w.phpFpmConf}`],
      ['ExecReload', '/bin/kill -USR2 $MAINPID'],
      ['RuntimeDirectory', w.runDir.slice('/run/'.length)],
      ['RuntimeDirectoryMode', '0755'],
      ['Restart', 'on-failure'],
      ...HARDENING,
      ['ReadWritePaths', `${w.dataDir} ${w.logDir}`],
    ],
    Install: [['WantedBy', 'multi-user.target']],
  });
}

/**
 * The nginx unit: the webmail's own nginx (not Debian's, whose default site listens on port 80),
 * checked with `nginx -t` before each start, hardened, only its temp and log folders writable.
 * @param w the paths
 * @returns the unit file
 */
export function renderWebmailNginxUnit(w: WebmailPaths): string {
  return renderUnit('invis webmail: nginx in front of Roundcube, every request asked of the portal.', {
    Unit: [
      ['Description', 'invis webmail (nginx with the portal as forward authentication)'],
      ['After', `network.target ${w.phpUnit}.service`],
      ['Wants', `${w.phpUnit}.service`],
    ],
    Service: [
      ['Type', 'simple'],
      ['ExecStartPre', `${w.nginx} -t -q -c ${w.nginxConf}`],
      ['ExecStart', `${w.nginx} -c ${w.nginxConf} -g "daemon off;"`],
      ['ExecReload', '/bin/kill -HUP $MAINPID'],
      ['RuntimeDirectory', w.nginxRunDir.slice('/run/'.length)],
      ['Restart', 'on-failure'],
      ...HARDENING,
      ['ReadWritePaths', `${w.nginxTempDir} ${w.logDir}`],
    ],
    Install: [['WantedBy', 'multi-user.target']],
  });
}

/** `nginx -t` on the config with its paths placed below the staging root (certificates, CA, logs), on a socket of its own. */
async function checkNginx(ctx: ModuleContext, candidate: string): Promise<CheckResult> {
  const dir = candidate.slice(0, candidate.lastIndexOf('/'));
  const placed = `${dir}/placed.conf`;
  // nginx -t writes its pid file: into the check's folder (the real one is the unit's RuntimeDirectory).
  const { nginxRunDir: runDir, logDir } = webmailPaths(ctx.profile.id);
  await writeFile(
    placed,
    renderWebmailNginx(ctx, {
      // Its logs too: a check makes no file of the server's (the logs are the PHP user's, made by apply).
      place: (p) => (p === runDir || p === logDir ? dir : ctx.fs.hostPath(p)),
      listen: `unix:${dir}/check.sock`,
    }),
    { mode: 0o600 },
  );
  const result = await ctx.runner.run(webmailPaths(ctx.profile.id).nginx, ['-t', '-q', '-c', placed], {
    timeoutMs: 30_000,
  });
  if (result.exitCode === 0) return { ok: true };
  // nginx's last line only says "test failed"; its reason is the [emerg] line.
  const reason = result.output.split('\n').find((l) => l.includes('[emerg]'));
  return { ok: false, message: reason?.trim() ?? lastOutputLine(result) };
}

/** `php-fpm -t` on the config placed below the staging root, the pool as nobody (the PHP user is made after). */
async function checkPhpFpm(ctx: ModuleContext, candidate: string): Promise<CheckResult> {
  const dir = candidate.slice(0, candidate.lastIndexOf('/'));
  const placed = `${dir}/placed.conf`;
  const { logDir, phpFpm } = webmailPaths(ctx.profile.id);
  const place = (p: string) => (p === logDir ? dir : ctx.fs.hostPath(p));
  await writeFile(placed, renderWebmailPhpFpm(ctx, { place, user: 'nobody', group: 'nogroup' }), { mode: 0o600 });
  return runChecker(ctx.runner, phpFpm, ['-t', '--fpm-config', placed]);
}

/** `logrotate -d` on the rule as root (the PHP user comes after the checks; the check's folder is root's), with its own logs and state. */
async function checkLogrotate(ctx: ModuleContext, candidate: string): Promise<CheckResult> {
  const dir = candidate.slice(0, candidate.lastIndexOf('/'));
  const placed = `${dir}/placed.conf`;
  await writeFile(placed, renderWebmailLogrotate(ctx, { logDir: dir, user: 'root', group: 'root' }), {
    mode: 0o600,
  });
  return runChecker(ctx.runner, 'logrotate', ['-d', '-s', `${dir}/state`, placed]);
}

/**
 * Makes each log the PHP user's before nginx and PHP-FPM (root) open it, so logrotate can work as
 * that user. The folder is that user's, so whatever is there is hostile: a missing log is created
 * exclusively, an existing one opened without following a link (a link is left alone), and only a
 * plain file with one name is given to the user, through its descriptor.
 */
async function createLogs(ctx: ModuleContext, w: WebmailPaths, owner: { uid: number; gid: number }): Promise<void> {
  const { O_CREAT, O_EXCL, O_WRONLY, O_NOFOLLOW, O_NONBLOCK } = constants;
  const openLog = (path: string, flags: number) =>
    open(path, flags | O_WRONLY | O_NOFOLLOW | O_NONBLOCK, 0o640).catch((e: NodeJS.ErrnoException) => {
      if (['EEXIST', 'ELOOP', 'ENXIO', 'EISDIR'].includes(e.code ?? '')) return undefined;
      throw e;
    });
  for (const log of w.logs) {
    const path = ctx.fs.hostPath(log);
    const handle = (await openLog(path, O_CREAT | O_EXCL)) ?? (await openLog(path, 0));
    if (!handle) continue;
    try {
      const st = await handle.stat();
      if (st.isFile() && st.nlink === 1 && (st.uid !== owner.uid || (st.mode & 0o777) !== 0o640)) {
        await handle.chown(owner.uid, owner.gid);
        await handle.chmod(0o640);
      }
    } finally {
      await handle.close();
    }
  }
}

/** The module's files for the answers; none when the webmail is off. */
function renderWebmail(ctx: ModuleContext, secrets: WebmailSecrets | undefined): Rendered {
  const none: Rendered = { files: [], directories: [], services: [], commands: [] };
  if (!ctx.answers.mail.webmail || !secrets) return none;
  const w = webmailPaths(ctx.profile.id);
  const phpUnit = renderWebmailPhpUnit(w);
  const nginxUnit = renderWebmailNginxUnit(w);
  const files: DesiredFile[] = [
    { path: `/etc/sysusers.d/${w.phpUser}.conf`, content: renderWebmailSysusers(ctx), mode: 0o644 },
    // 0640 root:<PHP user> (the apply sets the group): only Roundcube's PHP reads them.
    { path: w.masterPassword, content: `${secrets.master}\n`, mode: 0o640, secret: true },
    {
      path: `${w.roundcubeConfigDir}/config.inc.php`,
      content: renderRoundcubeConfig(ctx, secrets.desKey),
      mode: 0o640,
      secret: true,
    },
    { path: `${w.roundcubeConfigDir}/defaults.inc.php`, content: renderRoundcubeDefaults(ctx), mode: 0o644 },
    {
      path: `${w.pluginDir}/invis_sso.php`,
      content: renderSsoPlugin(),
      mode: 0o644,
      check: (c, candidate) => runChecker(c.runner, 'php', ['-l', candidate]),
    },
    {
      path: w.phpFpmConf,
      content: renderWebmailPhpFpm(ctx),
      mode: 0o644,
      check: checkPhpFpm,
    },
    { path: w.nginxConf, content: renderWebmailNginx(ctx), mode: 0o644, check: checkNginx },
    { path: w.logrotateConf, content: renderWebmailLogrotate(ctx), mode: 0o644, check: checkLogrotate },
    {
      path: unitPath(ctx, w.phpUnit),
      content: phpUnit,
      mode: 0o644,
      check: (c, candidate) => verifyUnit(c, candidate, [], []),
    },
    {
      path: unitPath(ctx, w.nginxUnit),
      content: nginxUnit,
      mode: 0o644,
      check: (c, candidate) => verifyUnit(c, candidate, [], []),
    },
  ];
  return {
    files,
    directories: [
      { path: '/etc/sysusers.d', mode: 0o755 },
      { path: '/etc/logrotate.d', mode: 0o755 },
      { path: w.etc, mode: 0o755 },
      { path: w.roundcubeConfigDir, mode: 0o755 },
      { path: w.pluginDir, mode: 0o755 },
      { path: w.logDir, mode: 0o750 },
      { path: w.nginxTempDir, mode: 0o755 },
      { path: ctx.profile.systemd.unitDir, mode: 0o755 },
    ],
    services: [],
    commands: [],
  };
}

/**
 * The secrets, undefined when the webmail is off. The master password is the mailserver's (it puts
 * its hash into Dovecot), so the mailserver must have run with the webmail on.
 */
async function secretsOf(ctx: ModuleContext): Promise<WebmailSecrets | undefined> {
  if (!ctx.answers.mail.webmail) return undefined;
  const master = await ctx.secrets.get(WEBMAIL_MASTER_SECRET);
  if (master === undefined) {
    throw new SetupError('SETUP_SECRET_MISSING', `no secret ${WEBMAIL_MASTER_SECRET} (apply mailserver first)`, {
      details: { name: WEBMAIL_MASTER_SECRET },
    });
  }
  // Roundcube's des_key is 24 characters (Triple DES); 32 random base64url characters, cut.
  const { value } = await ctx.secrets.ensure(WEBMAIL_DES_SECRET);
  return { master, desKey: value.slice(0, 24) };
}

const filesOf = (secrets: WebmailSecrets | undefined) =>
  fileModule({ id: 'webmail', title: TITLE, dependsOn: [], render: (ctx) => renderWebmail(ctx, secrets) });

/** The name (`cn`) of the webmail's tile on the portal's home page. */
export const WEBMAIL_TILE = 'Webmail';

/**
 * The webmail's tile on the portal's home page (the invis tree's portal entries): for logged-in
 * users, in the LAN section, linked to the webmail on this server.
 * @param port the webmail's port
 * @returns the entry
 */
export const webmailTile = (port: number): PortalEntry => ({
  name: 'Webmail',
  url: `[servername]:${port}/`,
  ssl: true,
  description: 'E-Mail im Browser (Roundcube)',
  active: true,
  position: 'Lokal',
  priv: 'user',
  button: 'Webmail',
});

/**
 * The step that puts the tile into the directory when it is missing (live only). Made once: the
 * admin may edit or deactivate it in the portal afterwards, and setup leaves it so.
 */
async function tileStep(ctx: ModuleContext): Promise<PlannedCommand | undefined> {
  if (ctx.staging) return undefined;
  const ad = await connectAsAdministrator(ctx);
  try {
    if (await ad.invis.portal.get(WEBMAIL_TILE)) return undefined;
  } finally {
    await ad.close();
  }
  return { command: 'ldaps', args: [`create portal entry ${WEBMAIL_TILE}`], reason: 'missing in AD' };
}

async function putTile(ctx: ModuleContext): Promise<void> {
  const ad = await connectAsAdministrator(ctx);
  try {
    await ad.invis.portal.put(WEBMAIL_TILE, webmailTile(ctx.answers.mail.webmailPort));
  } finally {
    await ad.close();
  }
}

/** Runs a command that must succeed. */
async function must(ctx: ModuleContext, command: string, args: string[]): Promise<void> {
  const result = await ctx.runner.run(command, args, { timeoutMs: 60_000 });
  if (result.exitCode !== 0) {
    throw new SetupError('SETUP_CHECK_FAILED', `${command} failed: ${lastOutputLine(result)}`, {
      details: { module: 'webmail', exitCode: result.exitCode },
    });
  }
}

async function apply(ctx: ModuleContext): Promise<ApplyReport> {
  if (!ctx.answers.mail.webmail) return applyReport(noChangePlan());
  const w = webmailPaths(ctx.profile.id);
  if (!ctx.staging) {
    const packages = await packagesCheck(ctx, w.packages);
    if (!packages.ok) {
      const problem = packages.problem ?? 'packages missing';
      throw new SetupError('SETUP_PREREQUISITES', problem, { details: { problems: [problem] } });
    }
  }
  const secrets = await secretsOf(ctx);
  const report = await filesOf(secrets).apply(ctx);
  if (ctx.staging) return report;
  // The PHP user, its folders, its two files; written files are root's until then (more closed).
  if (!(await systemUser(ctx, w.phpUser))) await must(ctx, 'systemd-sysusers', [`/etc/sysusers.d/${w.phpUser}.conf`]);
  for (const dir of [w.dataDir, `${w.dataDir}/temp`]) await ctx.fs.mkdir(dir, 0o700);
  await must(ctx, 'chown', [`${w.phpUser}:${w.phpUser}`, w.dataDir, `${w.dataDir}/temp`, w.logDir]);
  await must(ctx, 'chown', [`root:${w.phpUser}`, w.masterPassword, `${w.roundcubeConfigDir}/config.inc.php`]);
  const phpUser = await systemUser(ctx, w.phpUser);
  if (!phpUser) {
    throw new SetupError('SETUP_PREREQUISITES', `no system user ${w.phpUser} (systemd-sysusers did not make it)`, {
      details: { problems: [`user ${w.phpUser}`] },
    });
  }
  await createLogs(ctx, w, phpUser);
  const changed = report.files.some((f) => f.action !== 'unchanged');
  for (const unit of [w.phpUnit, w.nginxUnit]) {
    if (!(await ctx.services.isActive(unit))) await ctx.services.start(unit);
    else if (changed) await ctx.services.reloadOrRestart(unit);
  }
  const tile = await tileStep(ctx);
  if (!tile) return report;
  await putTile(ctx);
  return applyReport({ ...report, commands: [...report.commands, tile] }, { timings: report.timings ?? {} });
}

async function plan(ctx: ModuleContext): Promise<ModulePlan> {
  if (!ctx.answers.mail.webmail) return noChangePlan();
  const plan = await filesOf(await secretsOf(ctx)).plan(ctx);
  if (ctx.staging) return plan;
  const w = webmailPaths(ctx.profile.id);
  const starts = [];
  for (const unit of [w.phpUnit, w.nginxUnit]) {
    if (!(await ctx.services.isActive(unit))) starts.push({ unit, action: 'start' as const });
  }
  const tile = await tileStep(ctx);
  return { ...plan, services: [...plan.services, ...starts], commands: [...plan.commands, ...(tile ? [tile] : [])] };
}

async function verify(ctx: ModuleContext): Promise<VerifyCheck[]> {
  if (!ctx.answers.mail.webmail) return [];
  const checks = await filesOf(await secretsOf(ctx)).verify(ctx);
  if (ctx.staging) return checks;
  const w = webmailPaths(ctx.profile.id);
  checks.push(await packagesCheck(ctx, w.packages));
  for (const unit of [w.phpUnit, w.nginxUnit]) {
    const active = await ctx.services.isActive(unit);
    checks.push({ name: `service ${unit}`, ok: active, ...(active ? {} : { problem: `${unit} is not running` }) });
  }
  const tile = await tileStep(ctx);
  checks.push({ name: `portal tile ${WEBMAIL_TILE}`, ok: !tile, ...(tile ? { problem: 'missing (run apply)' } : {}) });
  return checks;
}

/** The `webmail` module (nothing when `mail.webmail` is off). */
export const webmailModule: SetupModule = {
  id: 'webmail',
  title: TITLE,
  dependsOn: ['mailserver', 'portal'],
  plan,
  apply,
  verify,
};

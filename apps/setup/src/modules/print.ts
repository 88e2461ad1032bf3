// `print`: the print server. CUPS listens on this server and its LAN address only; printing and
// the web pages are open to the LAN, administration needs a system user (lpadmin group) and
// comes only from the LAN too. Samba shares each printer of the answers with Windows clients as a
// printable share (printing = cups) and offers `[print$]` for Point-and-Print drivers — both in
// `smb.printers.conf`, rendered with @invis/samba-shares and included from smb.conf. The queues
// are added with lpadmin: IPP Everywhere (driverless) first, or the virtual PDF printer of
// printer-driver-cups-pdf.
import { chmod, lstat } from 'node:fs/promises';
import { type ApplyReport, generatedMarker, lastOutputLine, type PlannedCommand } from '@invis/host';
import { checkSharesConf, renderSharesConf, type ShareInput } from '@invis/samba-shares';
import type { Answers } from '../answers';
import { SetupError } from '../errors';
import {
  type CheckResult,
  fileModule,
  type ModuleContext,
  type ModulePlan,
  runChecker,
  type SetupModule,
  type VerifyCheck,
} from '../module';
import { networkOf, parseCidr } from '../net';
import type { PlatformProfile } from '../profiles';
import { lpadminCommand, printerUri, queueMatches, readQueues } from './print-queues';
import { sambaNames } from './samba-ad';

/** CUPS's port (IPP). */
const IPP_PORT = 631;

/** The Debian policy for IPP operations: jobs by their owner, administration by system users. */
const POLICY = [
  '<Policy default>',
  '  JobPrivateAccess default',
  '  JobPrivateValues default',
  '  SubscriptionPrivateAccess default',
  '  SubscriptionPrivateValues default',
  '  <Limit Create-Job Print-Job Print-URI Validate-Job>',
  '    Order deny,allow',
  '  </Limit>',
  '  <Limit Send-Document Send-URI Hold-Job Release-Job Restart-Job Purge-Jobs Set-Job-Attributes Create-Job-Subscription Renew-Subscription Cancel-Subscription Get-Notifications Reprocess-Job Cancel-Current-Job Suspend-Current-Job Resume-Job Cancel-My-Jobs Close-Job CUPS-Move-Job>',
  '    Require user @OWNER @SYSTEM',
  '    Order deny,allow',
  '  </Limit>',
  '  <Limit CUPS-Get-Document>',
  '    AuthType Default',
  '    Require user @OWNER @SYSTEM',
  '    Order deny,allow',
  '  </Limit>',
  '  <Limit CUPS-Add-Modify-Printer CUPS-Delete-Printer CUPS-Add-Modify-Class CUPS-Delete-Class CUPS-Set-Default CUPS-Get-Devices>',
  '    AuthType Default',
  '    Require user @SYSTEM',
  '    Order deny,allow',
  '  </Limit>',
  '  <Limit Pause-Printer Resume-Printer Enable-Printer Disable-Printer Pause-Printer-After-Current-Job Hold-New-Jobs Release-Held-New-Jobs Deactivate-Printer Activate-Printer Restart-Printer Shutdown-Printer Startup-Printer Promote-Job Schedule-Job-After Cancel-Jobs CUPS-Accept-Jobs CUPS-Reject-Jobs>',
  '    AuthType Default',
  '    Require user @SYSTEM',
  '    Order deny,allow',
  '  </Limit>',
  '  <Limit Cancel-Job CUPS-Authenticate-Job>',
  '    Require user @OWNER @SYSTEM',
  '    Order deny,allow',
  '  </Limit>',
  '  <Limit All>',
  '    Order deny,allow',
  '  </Limit>',
  '</Policy>',
];

/**
 * cupsd.conf for the answers: listens on localhost, the domain socket and the LAN address — not on
 * the WAN —, no browsing (Windows clients find the printers through Samba), every location open
 * only to this server and the LAN network, administration pages behind a system user.
 * @param answers LAN address, host name and domain
 * @returns the file content
 */
export function renderCupsdConf(answers: Answers): string {
  const lan = parseCidr(answers.lan.address);
  if (!lan) throw new SetupError('SETUP_INVALID_ANSWERS', `lan.address ${answers.lan.address} is no CIDR`);
  const lanNet = networkOf(lan).cidr;
  const location = (path: string, admin: boolean) => [
    `<Location ${path}>`,
    ...(admin ? ['  AuthType Default', '  Require user @SYSTEM'] : []),
    '  Order allow,deny',
    '  Allow from 127.0.0.1',
    '  Allow from ::1',
    `  Allow from ${lanNet}`,
    '</Location>',
  ];
  return [
    generatedMarker('@invis/setup-1', 'hash'),
    '# CUPS for this server and the LAN: no WAN listener, administration only from the LAN.',
    'LogLevel warn',
    'PageLogFormat',
    'MaxLogSize 0',
    // A printer that is switched off keeps its jobs until it is back.
    'ErrorPolicy retry-job',
    `Listen localhost:${IPP_PORT}`,
    `Listen ${lan.address}:${IPP_PORT}`,
    'Listen /run/cups/cups.sock',
    // The names LAN clients use for this server (CUPS refuses other Host headers).
    `ServerAlias ${answers.hostname} ${answers.hostname}.${answers.domain}`,
    'Browsing No',
    'DefaultAuthType Basic',
    'WebInterface Yes',
    ...location('/', false),
    ...location('/admin', false),
    ...location('/admin/conf', true),
    ...location('/admin/log', true),
    ...POLICY,
    '',
  ].join('\n');
}

/**
 * The printer shares as shares of @invis/samba-shares: one printable share per printer of the
 * answers (named like the CUPS queue, for domain users; smbd spools each job in the 1777 spool
 * folder and hands it to CUPS in the user's name) and `[print$]` for drivers, readable by everyone
 * and writable by the domain's admins. Not `[printers]`: on the AD DC smbd starts no background
 * print-queue process (samba-bgqd), so Samba never learns CUPS's queue list and `[printers]` would
 * share nothing.
 * @param answers the domain (its NetBIOS name) and the printers
 * @param profile spool and driver folders
 * @returns the shares
 */
export function printShares(answers: Answers, profile: PlatformProfile): ShareInput[] {
  const { workgroup } = sambaNames(answers);
  return [
    ...answers.print.printers.map(
      (printer): ShareInput => ({
        name: printer.name,
        comment: printer.description ?? printer.name,
        path: profile.print.spoolDir,
        printable: true,
        guestOk: false,
        validUsers: [{ kind: 'group', name: 'Domain Users', domain: workgroup }],
        createMask: 0o600,
        options: { printing: 'cups', 'printer name': printer.name },
      }),
    ),
    {
      name: 'print$',
      comment: 'Druckertreiber',
      path: profile.print.driversDir,
      readOnly: true,
      guestOk: false,
      writeList: [{ kind: 'group', name: 'Domain Admins', domain: workgroup }],
    },
  ];
}

/** testparm on the shares, included from a minimal main smb.conf beside the candidate. */
async function checkPrintShares(ctx: ModuleContext, candidate: string, content: string): Promise<CheckResult> {
  try {
    await checkSharesConf(content, {
      dir: candidate.slice(0, candidate.lastIndexOf('/')),
      runner: ctx.runner,
      testparm: ctx.profile.samba.testparm,
    });
    return { ok: true };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

const files = fileModule({
  id: 'print',
  title: { de: 'Druckserver', en: 'Print server' },
  dependsOn: ['samba_ad'],
  render: (ctx) => {
    const { print, samba } = ctx.profile;
    const filesConfig = ctx.fs.hostPath(print.filesConfig);
    const shares = renderSharesConf(printShares(ctx.answers, ctx.profile));
    return {
      directories: [
        { path: print.cupsdConfig.slice(0, print.cupsdConfig.lastIndexOf('/')), mode: 0o755 },
        { path: samba.config.slice(0, samba.config.lastIndexOf('/')), mode: 0o755 },
        // Made 1777 after the apply (ensureSpoolMode): mkdir applies the umask.
        { path: print.spoolDir, mode: 0o1777 },
        { path: print.driversDir, mode: 0o755 },
      ],
      files: [
        {
          path: print.cupsdConfig,
          content: renderCupsdConf(ctx.answers),
          mode: 0o640,
          // cupsd -t reads cups-files.conf beside the candidate unless -s names the real one.
          check: async (c, candidate) =>
            runChecker(c.runner, c.profile.print.cupsd, [
              '-t',
              '-c',
              candidate,
              ...((await c.fs.exists(c.profile.print.filesConfig)) ? ['-s', filesConfig] : []),
            ]),
        },
        {
          path: print.sambaConfig,
          content: shares,
          mode: 0o644,
          check: (c, candidate) => checkPrintShares(c, candidate, shares),
        },
      ],
      services: [{ unit: print.unit, action: 'restart' }],
      commands: [
        {
          command: ctx.profile.shares.smbcontrol,
          args: ['smbd', 'reload-config'],
          reason: 'Samba reads the printer shares',
        },
      ],
    };
  },
  async verifyLive(ctx) {
    const active = await ctx.services.isActive(ctx.profile.print.unit);
    return [
      {
        name: `service ${ctx.profile.print.unit}`,
        ok: active,
        ...(active ? {} : { problem: `${ctx.profile.print.unit} is not running` }),
      },
    ];
  },
});

/** smbd writes each job into the spool folder as the printing user: world-writable and sticky. */
const SPOOL_MODE = 0o1777;

/** The spool folder's permission bits, undefined when it is missing or not a real folder. */
async function spoolMode(ctx: ModuleContext): Promise<number | undefined> {
  if (!(await ctx.fs.exists(ctx.profile.print.spoolDir))) return undefined;
  const info = await lstat(ctx.fs.hostPath(ctx.profile.print.spoolDir));
  return info.isDirectory() ? info.mode & 0o7777 : undefined;
}

/** mkdir applies the umask; the spool folder needs its sticky, world-writable mode exactly. */
async function ensureSpoolMode(ctx: ModuleContext): Promise<void> {
  const mode = await spoolMode(ctx);
  if (mode === undefined) {
    throw new SetupError('SETUP_CHECK_FAILED', `${ctx.profile.print.spoolDir} is not a folder`, {
      details: { module: 'print', path: ctx.profile.print.spoolDir },
    });
  }
  if (mode !== SPOOL_MODE) await chmod(ctx.fs.hostPath(ctx.profile.print.spoolDir), SPOOL_MODE);
}

/** The lpadmin runs the answers need now (none when staging: there is no CUPS to ask). */
async function queueCommands(ctx: ModuleContext, cupsRunning: boolean): Promise<PlannedCommand[]> {
  const { printers } = ctx.answers.print;
  if (ctx.staging || printers.length === 0) return [];
  const queues = cupsRunning ? await readQueues(ctx.runner, ctx.profile, ctx.fs) : new Map();
  return printers.filter((p) => !queueMatches(queues.get(p.name), p)).map((p) => lpadminCommand(p, ctx.profile));
}

/**
 * lpadmin -m everywhere exits 0 even when the printer does not answer: the queue is made without
 * a driver and every job would fail. Such a queue is removed again (nothing half-made stays) and
 * the apply fails, naming the printer.
 */
async function refuseQueuesWithoutDriver(ctx: ModuleContext, changed: boolean): Promise<void> {
  if (!changed) return;
  const queues = await readQueues(ctx.runner, ctx.profile, ctx.fs);
  const broken = ctx.answers.print.printers.filter((p) => queues.get(p.name)?.driver !== true);
  for (const printer of broken) {
    await ctx.runner.run(ctx.profile.print.lpadmin, ['-x', printer.name], { timeoutMs: 30_000 });
  }
  if (broken.length > 0) {
    throw new SetupError(
      'SETUP_CHECK_FAILED',
      `CUPS made no driver for ${broken.map((p) => `${p.name} (${printerUri(p)})`).join(', ')}: the printer did not answer IPP Everywhere's query; the queue was removed — switch the printer on or correct its URI, then apply again`,
      { details: { module: 'print', printers: broken.map((p) => p.name) } },
    );
  }
}

/** The `print` module. */
export const printModule: SetupModule = {
  ...files,
  async plan(ctx): Promise<ModulePlan> {
    const plan = await files.plan(ctx);
    const running = !ctx.staging && (await ctx.services.isActive(ctx.profile.print.unit));
    const queues = await queueCommands(ctx, running);
    plan.commands.push(...queues);
    return plan;
  },
  async apply(ctx): Promise<ApplyReport> {
    const report = await files.apply(ctx);
    await ensureSpoolMode(ctx);
    if (ctx.staging) return report;
    const { unit } = ctx.profile.print;
    // Also when an earlier apply wrote the files but stopped before the start.
    if (!(await ctx.services.isActive(unit))) {
      await ctx.services.start(unit);
      report.services.push({ unit, action: 'start' });
    }
    const queues = await queueCommands(ctx, true);
    for (const command of queues) {
      ctx.progress(`print: ${[command.command, ...command.args].join(' ')}`);
      // lpadmin -m everywhere asks the printer over the network: give it time.
      const result = await ctx.runner.run(command.command, command.args, { timeoutMs: 120_000 });
      if (result.exitCode !== 0) {
        throw new SetupError('SETUP_CHECK_FAILED', `${command.reason ?? command.command}: ${lastOutputLine(result)}`, {
          details: { module: 'print', command: command.command, exitCode: result.exitCode },
        });
      }
    }
    await refuseQueuesWithoutDriver(ctx, queues.length > 0);
    const commands = [...report.commands, ...queues];
    return { ...report, commands, changed: report.changed || report.services.length > 0 || queues.length > 0 };
  },
  async verify(ctx): Promise<VerifyCheck[]> {
    const checks = await files.verify(ctx);
    const spool = await spoolMode(ctx);
    checks.push({
      name: ctx.profile.print.spoolDir,
      ok: spool === SPOOL_MODE,
      ...(spool === SPOOL_MODE ? {} : { problem: `mode ${spool?.toString(8) ?? 'missing'}, not 1777 (run apply)` }),
    });
    if (ctx.staging || !(await ctx.services.isActive(ctx.profile.print.unit))) return checks;
    const queues = await readQueues(ctx.runner, ctx.profile, ctx.fs);
    for (const printer of ctx.answers.print.printers) {
      const ok = queueMatches(queues.get(printer.name), printer);
      checks.push({
        name: `printer ${printer.name}`,
        ok,
        ...(ok
          ? {}
          : {
              problem:
                'missing in CUPS, disabled, without driver, or with another URI, description or location (run apply)',
            }),
      });
    }
    return checks;
  },
};

// `backup`: the restic repository password (setup secret `backup-restic`, 0600 under
// /etc/invis/secrets) and `invis-backup run` as a daily systemd timer. The run itself (staging,
// snapshot, retention, stamp, job state) is src/backup.ts; the repository is created by the first
// run, so a remote target that is not reachable yet does not stop the setup.
import { dirname } from 'node:path';
import { emptyPlan, lastOutputLine, readJobState } from '@invis/host';
import { sftpTargetParts } from '../answers';
import { BACKUP_JOB, BACKUP_SECRET } from '../backup';
import { SetupError } from '../errors';
import { fileModule, type ModuleContext, type ModulePlan, type SetupModule, type VerifyCheck } from '../module';
import { HARDENING, renderUnit, verifyUnit } from '../systemd';

/** The folders a backup run writes; `-`: systemd skips one that is missing (e.g. no local target). */
function writablePaths(ctx: Pick<ModuleContext, 'profile' | 'answers'>): string[] {
  const { profile } = ctx;
  const stamp = profile.backup.stampFile;
  const cacheParent = profile.backup.cacheDir.slice(0, profile.backup.cacheDir.lastIndexOf('/'));
  const paths = [
    profile.backup.stateRoot,
    stamp.slice(0, stamp.lastIndexOf('/')),
    cacheParent,
    // samba-tool's offline backup writes its copies beside the databases before packing them.
    profile.samba.dirs.state,
    profile.samba.dirs.cache,
    profile.samba.dirs.lock,
  ];
  const target = ctx.answers.backup.target;
  if (target.startsWith('/')) paths.push(target);
  return [...new Set(paths)].map((p) => `-${p}`);
}

/** The folders a run writes into, made by the module: the stamp's, the cache and a local target. */
function runDirectories(ctx: Pick<ModuleContext, 'profile' | 'answers'>): { path: string; mode: number }[] {
  const { backup } = ctx.profile;
  const parent = (path: string) => path.slice(0, path.lastIndexOf('/'));
  const dirs = [
    { path: backup.stateRoot, mode: 0o755 },
    { path: parent(backup.stampFile), mode: 0o755 },
    { path: parent(backup.cacheDir), mode: 0o755 },
    { path: backup.cacheDir, mode: 0o700 },
  ];
  const target = ctx.answers.backup.target;
  if (target.startsWith('/')) dirs.push({ path: target.replace(/\/+$/, ''), mode: 0o700 });
  return dirs;
}

/**
 * The backup service and its daily timer (the answers' `backup.time`, up to 15 minutes later;
 * `Persistent`: a run missed while the server was off happens at the next boot).
 * @param ctx profile and answers
 * @returns both units
 */
export function renderBackupUnits(ctx: Pick<ModuleContext, 'profile' | 'answers'>): { service: string; timer: string } {
  const { profile } = ctx;
  const service = renderUnit('Backs up the AD, the configuration, the portal database, mail, homes and shares.', {
    Unit: [
      ['Description', 'invis: backup with restic'],
      ['After', `network-online.target ${profile.samba.unit}.service`],
      ['Wants', 'network-online.target'],
    ],
    Service: [
      ['Type', 'oneshot'],
      ['ExecStart', [...profile.backup.command, 'run'].join(' ')],
      ['Nice', '10'],
      ['IOSchedulingClass', 'idle'],
      // Root reads every home and share; it writes only the folders below.
      ...HARDENING.filter(([key]) => key !== 'ProtectHome'),
      ['ProtectHome', 'read-only'],
      ['ReadWritePaths', writablePaths(ctx).join(' ')],
    ],
  });
  const timer = renderUnit('Runs invis-backup once a day.', {
    Unit: [['Description', 'invis: daily backup']],
    Timer: [
      ['OnCalendar', `*-*-* ${ctx.answers.backup.time}:00`],
      ['RandomizedDelaySec', '15min'],
      ['Persistent', 'true'],
    ],
    Install: [['WantedBy', 'timers.target']],
  });
  return { service, timer };
}

const spec = fileModule({
  id: 'backup',
  title: { de: 'Datensicherung', en: 'Backup' },
  dependsOn: [],
  render: (ctx) => {
    const { profile } = ctx;
    const units = renderBackupUnits(ctx);
    const installedLater = [profile.backup.command[0] ?? ''];
    const path = (suffix: string) => `${profile.systemd.unitDir}/${profile.backup.unit}.${suffix}`;
    return {
      directories: [
        { path: profile.systemd.unitDir, mode: 0o755 },
        // The service may write only into folders that exist (ProtectSystem=strict): made here.
        ...runDirectories(ctx),
      ],
      files: [
        {
          path: path('service'),
          content: units.service,
          mode: 0o644,
          check: (c, candidate) => verifyUnit(c, candidate, [], installedLater),
        },
        {
          path: path('timer'),
          content: units.timer,
          mode: 0o644,
          check: (c, candidate) =>
            verifyUnit(
              c,
              candidate,
              [{ name: `${profile.backup.unit}.service`, content: units.service }],
              installedLater,
            ),
        },
      ],
      services: [],
      commands: [{ command: 'systemctl', args: ['daemon-reload'], reason: 'load the backup units' }],
    };
  },
  async verifyLive(ctx) {
    const timer = `${ctx.profile.backup.unit}.timer`;
    const active = await ctx.services.isActive(timer);
    return [{ name: `timer ${timer}`, ok: active, ...(active ? {} : { problem: `${timer} is not running` }) }];
  },
});

/** The last run as the job state says (nothing to check before the first run). */
async function lastRunCheck(ctx: ModuleContext): Promise<VerifyCheck[]> {
  const job = await readJobState(ctx.fs, ctx.profile.jobsDir, BACKUP_JOB);
  if (job === undefined) return [];
  const ok = job.result !== 'failed';
  return [
    {
      name: 'last backup',
      ok,
      ...(ok
        ? {}
        : { problem: `failed at ${job.finishedAt}: ${job.message} (last success: ${job.lastSuccessAt ?? 'never'})` }),
    },
  ];
}

async function secretCheck(ctx: ModuleContext): Promise<VerifyCheck> {
  const name = `secret ${BACKUP_SECRET}`;
  if ((await ctx.secrets.get(BACKUP_SECRET)) === undefined) return { name, ok: false, problem: 'missing' };
  return { name, ok: true };
}

/**
 * The server's own ssh key for an `sftp:` target, made once (ed25519, no passphrase: the timer
 * runs unattended; 0600 in a 0700 folder). Its public half is printed for the target's
 * authorized_keys.
 * @returns whether a key was made
 */
async function ensureSshKey(ctx: ModuleContext): Promise<boolean> {
  const sftp = sftpTargetParts(ctx.answers.backup.target);
  const { backup } = ctx.profile;
  if (!sftp || (await ctx.fs.exists(backup.sshKey))) return false;
  await ctx.fs.mkdir(dirname(backup.sshKey), 0o700);
  const comment = `invis-backup@${ctx.answers.hostname}.${ctx.answers.domain}`;
  const made = await ctx.runner.run(backup.sshKeygen, [
    ...['-q', '-t', 'ed25519', '-N', '', '-C', comment, '-f', ctx.fs.hostPath(backup.sshKey)],
  ]);
  if (made.exitCode !== 0) {
    throw new SetupError('SETUP_BACKUP_FAILED', `ssh-keygen: ${lastOutputLine(made)}`, {
      details: { command: made.command, exitCode: made.exitCode },
    });
  }
  const pub = (await ctx.fs.readFile(`${backup.sshKey}.pub`)).trim();
  ctx.progress(`backup: add this key to ${sftp.user}@${sftp.host}'s ~/.ssh/authorized_keys: ${pub}`);
  return true;
}

/** The `backup` module. */
export const backupModule: SetupModule = {
  id: 'backup',
  title: { de: 'Datensicherung', en: 'Backup' },
  // After what it saves: the AD and the portal exist when the timer first fires.
  dependsOn: ['samba_ad', 'portal'],
  async plan(ctx): Promise<ModulePlan> {
    const plan = await spec.plan(ctx);
    const { sshKey } = ctx.profile.backup;
    const secrets = [
      ...((await ctx.secrets.get(BACKUP_SECRET)) === undefined ? [ctx.secrets.pathOf(BACKUP_SECRET)] : []),
      ...(sftpTargetParts(ctx.answers.backup.target) && !(await ctx.fs.exists(sshKey)) ? [sshKey] : []),
    ].map((path) => ({ path, action: 'create' as const, diff: '', secret: true }));
    if (secrets.length === 0) return plan;
    return { ...emptyPlan(), ...plan, files: [...secrets, ...plan.files] };
  },
  async apply(ctx) {
    const created = (await ctx.secrets.ensure(BACKUP_SECRET)).created;
    if (created) ctx.progress(`backup: repository password generated (${ctx.secrets.pathOf(BACKUP_SECRET)}, 0600)`);
    const keyMade = await ensureSshKey(ctx);
    const report = await spec.apply(ctx);
    // After daemon-reload (the module's command).
    if (report.changed && !ctx.staging) await ctx.services.start(`${ctx.profile.backup.unit}.timer`);
    return created || keyMade ? { ...report, changed: true } : report;
  },
  async verify(ctx) {
    return [await secretCheck(ctx), ...(await spec.verify(ctx)), ...(await lastRunCheck(ctx))];
  },
};

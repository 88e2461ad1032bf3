// invis-backup: what the original's adbackup (AD), alldump (databases) and dasi (files) did, in one
// run — consistent copies of what must not be read live (the AD through `samba-tool domain backup
// offline`, the portal's SQLite through `VACUUM INTO`) into a 0700 staging folder, then one
// encrypted, deduplicated restic snapshot of the staging folder, every configuration path the
// profile names under /etc, invis's state and the data folders (shares, homes, Maildirs), then
// retention. The repository password is the setup secret `backup-restic` and reaches restic only
// as RESTIC_PASSWORD_FILE; the repository (which may carry credentials in a rest: URL) only as
// RESTIC_REPOSITORY — neither is ever in argv.
import { chown, stat } from 'node:fs/promises';
import { DatabaseSync } from 'node:sqlite';
import { type CommandResult, lastOutputLine, recordJobRun } from '@invis/host';
import { z } from 'zod';
import { sftpTargetParts } from './answers';
import { SetupError } from './errors';
import type { ModuleContext } from './module';
import type { PlatformProfile } from './profiles';

/** The setup secret that is the restic repository password. */
export const BACKUP_SECRET = 'backup-restic';
/** The tag of every invis snapshot (retention and restore look only at these). */
export const SNAPSHOT_TAG = 'invis';
/** The job name of a backup run in the jobs folder (the portal's status page). */
export const BACKUP_JOB = 'backup';

/** What a run saves: absolute paths (that exist at run time) and what restic skips. */
export interface BackupSources {
  paths: string[];
  exclude: string[];
}

/** The staged copies inside the staging folder. */
export const staged = (profile: PlatformProfile) => ({
  samba: `${profile.backup.stagingDir}/samba/samba-backup.tar.bz2`,
  portalDb: `${profile.backup.stagingDir}/portal/portal.db`,
});

/** Keeps only the outermost of nested paths, sorted. */
function outermost(paths: Iterable<string>): string[] {
  const sorted = [...new Set(paths)].sort();
  return sorted.filter((p) => !sorted.some((q) => q !== p && p.startsWith(`${q}/`)));
}

/**
 * The configuration the profile names under /etc, saved by folder: a path `/etc/<daemon>/…` saves
 * the daemon's whole folder `/etc/<daemon>` (so what the admin added beside setup's files — CUPS
 * queues in printers.conf, sshd's host keys, Apache sites — comes back too), a file directly in
 * /etc (resolv.conf, fetchmailrc) only itself; plus /etc/invis. A module whose paths are in the
 * profile is saved without an edit here.
 * @param profile the platform profile
 * @returns outermost paths, sorted
 */
export function configPaths(profile: PlatformProfile): string[] {
  const found: string[] = ['/etc/invis'];
  const walk = (value: unknown): void => {
    if (typeof value === 'string') {
      const parts = value.split('/');
      if (value.startsWith('/etc/') && !parts.includes('..') && parts[2]) found.push(`/etc/${parts[2]}`);
    } else if (Array.isArray(value)) value.forEach(walk);
    else if (value !== null && typeof value === 'object') Object.values(value).forEach(walk);
  };
  walk(profile);
  return outermost(found);
}

/**
 * What a backup saves for this profile and answers: the configuration paths, invis's state
 * (with the staging folder), shares, homes, Maildirs, fetchmail's state and Samba's DNS keytab
 * folder. The AD databases and the portal's SQLite are not read live: they come from the staged
 * copies. A local repository below a saved folder is excluded.
 * @param profile the platform profile
 * @param target the answers' `backup.target`
 * @returns paths and exclusions
 */
export function backupSources(profile: PlatformProfile, target: string): BackupSources {
  const data = [
    profile.backup.stateRoot,
    profile.shares.root,
    profile.shares.homes,
    profile.mail.vmail.home,
    profile.mail.fetchmail.stateDir,
    profile.samba.dirs.bindDns,
  ];
  const db = `${profile.portal.dataDir}/portal.db`;
  const exclude = [
    db,
    `${db}-wal`,
    `${db}-shm`,
    // Hard links into the live sam.ldb.d: `samba_upgradedns` makes them again after a restore.
    `${profile.samba.dirs.bindDns}/dns`,
    profile.backup.cacheDir,
  ];
  if (target.startsWith('/')) exclude.push(target.replace(/\/+$/, ''));
  return { paths: outermost([...configPaths(profile), ...data]), exclude };
}

/**
 * restic's options for an sftp target: ssh with the server's own key only, never a password
 * prompt, and the target's host key pinned in the module's known_hosts (accepted at first contact,
 * refused when it changes).
 */
export function sftpOptions(profile: PlatformProfile, target: string, hostPath: (p: string) => string): string[] {
  const sftp = sftpTargetParts(target);
  if (!sftp) return [];
  const { backup } = profile;
  const ssh = [
    backup.ssh,
    ...['-i', hostPath(backup.sshKey), '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes'],
    ...['-o', 'StrictHostKeyChecking=accept-new', '-o', `UserKnownHostsFile=${hostPath(backup.knownHosts)}`],
    ...['-p', String(sftp.port), `${sftp.user}@${sftp.host}`, '-s', 'sftp'],
  ];
  return ['-o', `sftp.command=${ssh.join(' ')}`];
}

/** restic's environment: the repository and the password file, never argv. */
function resticEnv(ctx: ModuleContext, passwordFile: string): Record<string, string> {
  const target = ctx.answers.backup.target;
  return {
    RESTIC_REPOSITORY: target.startsWith('/') ? ctx.fs.hostPath(target) : target,
    RESTIC_PASSWORD_FILE: passwordFile,
    RESTIC_CACHE_DIR: ctx.fs.hostPath(ctx.profile.backup.cacheDir),
  };
}

/**
 * Runs restic with the repository environment (RESTIC_REPOSITORY, RESTIC_PASSWORD_FILE,
 * RESTIC_CACHE_DIR — never argv).
 * @param ctx the context
 * @param args restic's arguments
 * @param timeoutMs default 6 hours
 * @returns restic's result (any exit code)
 * @throws SetupError `SETUP_SECRET_MISSING` before the backup module made the password
 */
export async function resticCommand(
  ctx: ModuleContext,
  args: readonly string[],
  timeoutMs = 6 * 3600_000,
): Promise<CommandResult> {
  if ((await ctx.secrets.get(BACKUP_SECRET)) === undefined) {
    throw new SetupError('SETUP_SECRET_MISSING', `no secret ${BACKUP_SECRET}: run "invis-setup apply backup" first`, {
      details: { name: BACKUP_SECRET },
    });
  }
  const env = resticEnv(ctx, ctx.fs.hostPath(ctx.secrets.pathOf(BACKUP_SECRET)));
  const options = sftpOptions(ctx.profile, ctx.answers.backup.target, (p) => ctx.fs.hostPath(p));
  return ctx.runner.run(ctx.profile.backup.restic, [...options, ...args], { env, timeoutMs });
}

function failed(code: 'SETUP_BACKUP_FAILED' | 'SETUP_RESTORE_FAILED', what: string, result: CommandResult): never {
  throw new SetupError(code, `${what}: ${lastOutputLine(result)}`, {
    details: { command: result.command, exitCode: result.exitCode },
  });
}

/**
 * Opens the repository, creating it when there is none yet (a local target's folder is made
 * 0700 first). Any other failure (wrong password, unreachable server) is an error, never a new
 * repository.
 * @param ctx the context
 * @returns whether the repository was created
 * @throws SetupError `SETUP_BACKUP_FAILED`
 */
export async function ensureRepository(ctx: ModuleContext): Promise<boolean> {
  const probe = await resticCommand(ctx, ['cat', 'config'], 120_000);
  if (probe.exitCode === 0) return false;
  if (!probe.output.includes('Is there a repository at the following location?')) {
    failed('SETUP_BACKUP_FAILED', 'cannot open the backup repository', probe);
  }
  const target = ctx.answers.backup.target;
  if (target.startsWith('/')) await ctx.fs.mkdir(target.slice(0, target.lastIndexOf('/')) || '/', 0o700);
  ctx.progress(`backup: creating the repository ${target.startsWith('/') ? target : '(remote)'}`);
  const init = await resticCommand(ctx, ['init'], 300_000);
  if (init.exitCode !== 0) failed('SETUP_BACKUP_FAILED', 'restic init', init);
  return true;
}

/** The AD as Samba's offline backup (a tar with private/, state/, sysvol and smb.conf). */
async function stageDomain(ctx: ModuleContext): Promise<boolean> {
  const { samba } = ctx.profile;
  if (!(await ctx.fs.exists(`${samba.dirs.private}/sam.ldb`))) return false;
  const dir = `${ctx.profile.backup.stagingDir}/samba`;
  await ctx.fs.mkdir(dir, 0o700);
  ctx.progress('backup: AD (samba-tool domain backup offline)');
  const result = await ctx.runner.run(
    samba.sambaTool,
    [
      'domain',
      'backup',
      'offline',
      `--targetdir=${ctx.fs.hostPath(dir)}`,
      `--configfile=${ctx.fs.hostPath(samba.config)}`,
    ],
    { timeoutMs: 1800_000 },
  );
  if (result.exitCode !== 0) failed('SETUP_BACKUP_FAILED', 'samba-tool domain backup offline', result);
  const made = (await ctx.fs.readdir(dir)).filter((f) => f.startsWith('samba-backup-') && f.endsWith('.tar.bz2'));
  if (made.length !== 1) {
    throw new SetupError('SETUP_BACKUP_FAILED', `samba-tool left ${made.length} backup files in ${dir}`);
  }
  // One stable name: the restore finds it, the snapshot does not grow a new path each day.
  await ctx.fs.rename(`${dir}/${made[0]}`, staged(ctx.profile).samba);
  return true;
}

/**
 * The portal's database as one consistent file (`VACUUM INTO` on a read-only connection, which
 * the running portal's WAL allows). SQLite may create the -wal/-shm files when the portal is not
 * running: they are given back to the database's owner, so the portal can open it afterwards.
 */
async function stagePortalDb(ctx: ModuleContext): Promise<boolean> {
  const db = `${ctx.profile.portal.dataDir}/portal.db`;
  if (!(await ctx.fs.exists(db))) return false;
  const dir = `${ctx.profile.backup.stagingDir}/portal`;
  await ctx.fs.mkdir(dir, 0o700);
  ctx.progress('backup: portal database (VACUUM INTO)');
  const source = ctx.fs.hostPath(db);
  const owner = await stat(source);
  const connection = new DatabaseSync(source, { readOnly: true });
  try {
    connection.prepare('VACUUM INTO ?').run(ctx.fs.hostPath(staged(ctx.profile).portalDb));
  } finally {
    connection.close();
  }
  for (const suffix of ['-wal', '-shm']) {
    const side = await stat(`${source}${suffix}`).catch(() => undefined);
    if (side && (side.uid !== owner.uid || side.gid !== owner.gid))
      await chown(`${source}${suffix}`, owner.uid, owner.gid);
  }
  return true;
}

const summarySchema = z.object({
  message_type: z.literal('summary'),
  files_new: z.number(),
  files_changed: z.number(),
  files_unmodified: z.number(),
  data_added: z.number(),
  total_files_processed: z.number(),
  total_bytes_processed: z.number(),
  total_duration: z.number(),
  snapshot_id: z.string().regex(/^[0-9a-f]{8,64}$/),
});

/** restic's `backup --json` summary (the last line of its kind). */
export type BackupSummary = z.infer<typeof summarySchema>;

/**
 * Finds the summary in `restic backup --json` output (status lines and errors come before it).
 * @param stdout restic's stdout
 * @returns the summary
 * @throws SetupError `SETUP_BACKUP_FAILED` when there is none (a run without a snapshot)
 */
export function parseBackupSummary(stdout: string): BackupSummary {
  for (const line of stdout.split('\n').reverse()) {
    if (!line.includes('"summary"')) continue;
    try {
      const parsed = summarySchema.safeParse(JSON.parse(line));
      if (parsed.success) return parsed.data;
    } catch {
      // Not JSON: keep looking.
    }
  }
  throw new SetupError('SETUP_BACKUP_FAILED', 'restic wrote no summary: no snapshot was made');
}

/** The result of one backup run. */
export interface BackupResult {
  /** `warning`: the snapshot exists but restic could not read some files (listed in its output). */
  result: 'ok' | 'warning';
  snapshot: string;
  repositoryCreated: boolean;
  staged: { domain: boolean; portalDb: boolean };
  summary: BackupSummary;
  paths: string[];
}

/**
 * One backup run: staging, snapshot, retention (`forget --prune`), then the portal's stamp (only
 * on success) and the job state `backup` (always, with the error on failure).
 * @param ctx the context (live server)
 * @returns what was saved
 * @throws SetupError `SETUP_BACKUP_FAILED`, `SETUP_SECRET_MISSING`
 */
export async function runBackup(ctx: ModuleContext): Promise<BackupResult> {
  const startedAt = ctx.clock.now().toISOString();
  const job = (result: 'ok' | 'warning' | 'failed', message: string, details?: Record<string, number | string>) =>
    recordJobRun(ctx.fs, ctx.profile.jobsDir, {
      name: BACKUP_JOB,
      startedAt,
      finishedAt: ctx.clock.now().toISOString(),
      result,
      message,
      ...(details ? { details } : {}),
    });
  try {
    const result = await backupOnce(ctx);
    const { summary } = result;
    const message = `snapshot ${summary.snapshot_id.slice(0, 8)}: ${summary.files_new} new, ${summary.files_changed} changed, ${summary.data_added} bytes added`;
    await job(result.result, result.result === 'ok' ? message : `${message}; some files could not be read`, {
      snapshot: summary.snapshot_id,
      filesNew: summary.files_new,
      filesChanged: summary.files_changed,
      filesUnmodified: summary.files_unmodified,
      bytesAdded: summary.data_added,
      bytesProcessed: summary.total_bytes_processed,
      seconds: Math.round(summary.total_duration),
    });
    if (result.result === 'ok') {
      const stamp = ctx.profile.backup.stampFile;
      await ctx.fs.mkdir(stamp.slice(0, stamp.lastIndexOf('/')), 0o755);
      // The portal shows the stamp's mtime as "last backup"; the content is for people.
      await ctx.fs.writeFileAtomic(stamp, `${ctx.clock.now().toISOString()} ${summary.snapshot_id}\n`, { mode: 0o644 });
    }
    return result;
  } catch (error) {
    await job('failed', error instanceof Error ? error.message : String(error));
    throw error;
  }
}

async function backupOnce(ctx: ModuleContext): Promise<BackupResult> {
  const { backup } = ctx.profile;
  // A fresh staging folder each run: nothing of an older run can pass for today's copy.
  await ctx.fs.remove(backup.stagingDir);
  await ctx.fs.mkdir(backup.stateRoot, 0o755);
  await ctx.fs.mkdir(backup.stagingDir, 0o700);
  await ctx.fs.mkdir(backup.cacheDir.slice(0, backup.cacheDir.lastIndexOf('/')), 0o755);
  await ctx.fs.mkdir(backup.cacheDir, 0o700);
  const domain = await stageDomain(ctx);
  const portalDb = await stagePortalDb(ctx);
  const repositoryCreated = await ensureRepository(ctx);
  const sources = backupSources(ctx.profile, ctx.answers.backup.target);
  const paths: string[] = [];
  for (const path of sources.paths) if (await ctx.fs.exists(path)) paths.push(path);
  ctx.progress(`backup: restic snapshot of ${paths.join(' ')}`);
  const run = await resticCommand(ctx, [
    'backup',
    '--json',
    '--tag',
    SNAPSHOT_TAG,
    ...sources.exclude.flatMap((e) => ['--exclude', ctx.fs.hostPath(e)]),
    '--',
    ...paths.map((p) => ctx.fs.hostPath(p)),
  ]);
  // Exit 3: the snapshot was made, but some files could not be read.
  if (run.exitCode !== 0 && run.exitCode !== 3) failed('SETUP_BACKUP_FAILED', 'restic backup', run);
  const summary = parseBackupSummary(run.stdout);
  ctx.progress(
    `backup: snapshot ${summary.snapshot_id.slice(0, 8)} — ${summary.total_files_processed} files, ${summary.files_new} new, ${summary.files_changed} changed, ${summary.data_added} bytes added`,
  );
  const { keep } = ctx.answers.backup;
  ctx.progress(`backup: retention (daily ${keep.daily}, weekly ${keep.weekly}, monthly ${keep.monthly})`);
  const forget = await resticCommand(ctx, [
    'forget',
    '--tag',
    SNAPSHOT_TAG,
    // By host and tag, not by paths: a module that adds a path must not start a second history.
    '--group-by',
    'host,tags',
    '--keep-daily',
    String(keep.daily),
    '--keep-weekly',
    String(keep.weekly),
    '--keep-monthly',
    String(keep.monthly),
    '--prune',
  ]);
  if (forget.exitCode !== 0) failed('SETUP_BACKUP_FAILED', 'restic forget --prune', forget);
  return {
    result: run.exitCode === 0 ? 'ok' : 'warning',
    snapshot: summary.snapshot_id,
    repositoryCreated,
    staged: { domain, portalDb },
    summary,
    paths,
  };
}

const snapshotsSchema = z.array(
  z.object({
    id: z.string().regex(/^[0-9a-f]{64}$/),
    short_id: z.string(),
    time: z.string(),
    hostname: z.string(),
    paths: z.array(z.string()),
    tags: z.array(z.string()).nullish(),
  }),
);

/** One invis snapshot. */
export interface Snapshot {
  id: string;
  time: string;
  hostname: string;
  paths: string[];
}

/**
 * The invis snapshots, oldest first.
 * @param ctx the context
 * @returns the snapshots
 * @throws SetupError `SETUP_BACKUP_FAILED` when the repository cannot be read or answers nonsense
 */
export async function listSnapshots(ctx: ModuleContext): Promise<Snapshot[]> {
  const result = await resticCommand(ctx, ['snapshots', '--json', '--tag', SNAPSHOT_TAG], 300_000);
  if (result.exitCode !== 0) failed('SETUP_BACKUP_FAILED', 'restic snapshots', result);
  let parsed: ReturnType<typeof snapshotsSchema.safeParse>;
  try {
    parsed = snapshotsSchema.safeParse(JSON.parse(result.stdout));
  } catch {
    parsed = snapshotsSchema.safeParse(undefined);
  }
  if (!parsed.success) throw new SetupError('SETUP_BACKUP_FAILED', 'restic snapshots: unexpected answer');
  return parsed.data
    .map((s) => ({ id: s.id, time: s.time, hostname: s.hostname, paths: s.paths }))
    .sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
}

/**
 * The snapshot to restore: the one whose id starts with `wanted` (at least 8 hex digits), or the
 * newest.
 * @param ctx the context
 * @param wanted an id prefix, or undefined for the newest
 * @returns the snapshot
 * @throws SetupError `SETUP_RESTORE_FAILED` when there is none or the prefix is ambiguous
 */
export async function pickSnapshot(ctx: ModuleContext, wanted: string | undefined): Promise<Snapshot> {
  const all = await listSnapshots(ctx);
  if (wanted !== undefined && !/^[0-9a-f]{8,64}$/.test(wanted)) {
    throw new SetupError('SETUP_USAGE', `--snapshot wants 8–64 hex digits, not ${JSON.stringify(wanted.slice(0, 70))}`);
  }
  const matching = wanted === undefined ? all.slice(-1) : all.filter((s) => s.id.startsWith(wanted));
  if (matching.length !== 1) {
    throw new SetupError(
      'SETUP_RESTORE_FAILED',
      matching.length === 0 ? 'no such invis snapshot in the repository' : `snapshot ${wanted} is ambiguous`,
      { details: { snapshots: all.length } },
    );
  }
  return matching[0] as Snapshot;
}

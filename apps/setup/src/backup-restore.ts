// invis-backup restore: a single file or folder (restic restores it in place, owners, modes and
// ACLs included), or the whole server: the services that hold the data stopped, every path of the
// snapshot put back, then the AD from the staged offline backup by putting `private/` back (not
// `samba-tool domain backup restore`: that makes a new DC with a new name and invocation id, for a
// second server; here the same server gets its own databases back), the DLZ hard links made again
// with `samba_upgradedns`, sysvol unpacked with its default ACLs, the portal database copied back
// for its user, and the services started again.
import { chmod, lstat, mkdtemp, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { lastOutputLine } from '@invis/host';
import { pickSnapshot, resticCommand, type Snapshot, staged } from './backup';
import { SetupError } from './errors';
import type { ModuleContext } from './module';

/** Whether `path` is an absolute path without `..` or NUL (what a restore accepts). */
const isCleanPath = (path: string): boolean =>
  path.startsWith('/') && !path.includes('\0') && !path.split('/').includes('..');

/** What a restore did. */
export interface RestoreResult {
  snapshot: string;
  /** The path restored (single) or the snapshot's paths (full). */
  paths: string[];
  /** Where files were written: `/` in place, or the `--to` folder. */
  target: string;
  domain: boolean;
  portalDb: boolean;
  /** Where what was at the restored path was moved (single path). */
  movedAside?: string;
  /** Units started after a full restore (those that ran before, and Samba, BIND and the portal). */
  services: string[];
}

async function runOrFail(ctx: ModuleContext, what: string, command: string, args: readonly string[]): Promise<void> {
  const result = await ctx.runner.run(command, args, { timeoutMs: 1800_000 });
  if (result.exitCode !== 0) {
    throw new SetupError('SETUP_RESTORE_FAILED', `${what}: ${lastOutputLine(result)}`, {
      details: { command, exitCode: result.exitCode },
    });
  }
}

/** restic 0.14 cannot replace a symbolic link: `ignoring error for P: Symlink: symlink T P: file exists`. */
const SYMLINK_EXISTS = /^ignoring error for (.+): Symlink: symlink (.+) \1: file exists$/;

/**
 * The errors of a restic restore that matter: a link restic could not write because the same
 * link (same target) is already there is in place, not an error.
 * @param output restic's output
 * @returns the remaining `ignoring error for …` lines
 */
export async function restoreErrors(output: string): Promise<string[]> {
  const remaining: string[] = [];
  for (const line of output.split('\n').filter((l) => l.startsWith('ignoring error for '))) {
    const link = SYMLINK_EXISTS.exec(line);
    const present = link ? await readlink(link[1] as string).catch(() => undefined) : undefined;
    if (link === null || present !== link[2]) remaining.push(line);
  }
  return remaining;
}

async function resticRestore(ctx: ModuleContext, snapshot: Snapshot, target: string, include?: string): Promise<void> {
  ctx.progress(`restore: snapshot ${snapshot.id.slice(0, 8)}${include ? ` ${include}` : ''} → ${target}`);
  const result = await resticCommand(ctx, [
    'restore',
    snapshot.id,
    // The snapshot's paths are as restic saw them (below the root when staging): in place is `/`.
    '--target',
    target,
    ...(include ? ['--include', ctx.fs.hostPath(include)] : []),
  ]);
  if (result.exitCode === 0) return;
  const errors = await restoreErrors(result.output);
  // restic's only other failure after per-file errors is its summary "There were N errors".
  if (errors.length === 0 && /^Fatal: There were \d+ errors$/.test(lastOutputLine(result))) return;
  throw new SetupError(
    'SETUP_RESTORE_FAILED',
    `restic restore: ${[...errors.slice(0, 3), lastOutputLine(result)].join('; ')}`,
    {
      details: { exitCode: result.exitCode, errors: errors.length },
    },
  );
}

/**
 * Restores one file or folder from a snapshot, in place (`to` = `/`, the default) or below
 * another folder (`<to>/<path>`), with owner, mode and ACLs.
 * @param ctx the context (live server)
 * @param options the path, a snapshot id prefix (default: the newest) and the target folder
 * @returns what was restored
 * @throws SetupError `SETUP_USAGE` for a path that is not absolute and clean, `SETUP_RESTORE_FAILED`
 *   when the snapshot does not hold it or restic fails
 */
export async function restorePath(
  ctx: ModuleContext,
  options: { path: string; snapshot?: string; to?: string },
): Promise<RestoreResult> {
  const path = options.path.replace(/(.)\/+$/, '$1');
  const to = options.to ?? '/';
  if (!isCleanPath(path) || !isCleanPath(to)) {
    throw new SetupError('SETUP_USAGE', 'restore: --path and --to must be absolute paths without ..');
  }
  const snapshot = await pickSnapshot(ctx, options.snapshot);
  // The snapshot names the paths as restic saw them (below the root when staging).
  const wanted = ctx.fs.hostPath(path);
  const inside = snapshot.paths.some((root) => wanted === root || wanted.startsWith(`${root}/`));
  if (!inside) {
    throw new SetupError('SETUP_RESTORE_FAILED', `${path} is not in the backup (saved: ${snapshot.paths.join(', ')})`, {
      details: { path },
    });
  }
  const destination = to === '/' ? wanted : join(to, wanted);
  const aside = await clearDestination(ctx, destination);
  await resticRestore(ctx, snapshot, to, path);
  return {
    snapshot: snapshot.id,
    paths: [path],
    target: to,
    domain: false,
    portalDb: false,
    services: [],
    ...(aside ? { movedAside: aside } : {}),
  };
}

/**
 * Makes the destination safe for restic, which follows symbolic links when it creates folders and
 * files: shares and homes are written by users, who may have put a link where the snapshot has a
 * folder. Every existing folder on the way must be a real folder (else refused); whatever is at
 * the destination itself (a file, a folder that may hold links, a link) is moved aside to
 * `<path>.before-restore-<time>`, so restic writes only into folders it makes.
 * @returns the moved-aside path, if something was there
 * @throws SetupError `SETUP_RESTORE_FAILED` when a folder on the way is a link or not a folder
 */
async function clearDestination(ctx: ModuleContext, destination: string): Promise<string | undefined> {
  const parts = destination.split('/').filter(Boolean);
  let current = '';
  for (const part of parts.slice(0, -1)) {
    current += `/${part}`;
    const found = await lstat(current).catch(() => undefined);
    if (found === undefined) return undefined;
    if (!found.isDirectory()) {
      throw new SetupError(
        'SETUP_RESTORE_FAILED',
        `${current} is not a folder (a symbolic link?): not restoring through it`,
        {
          details: { path: current },
        },
      );
    }
  }
  if ((await lstat(destination).catch(() => undefined)) === undefined) return undefined;
  let aside = `${destination}${asideSuffix(ctx)}`;
  // Never onto something already there (two restores within the same clock tick).
  for (let n = 2; (await lstat(aside).catch(() => undefined)) !== undefined; n++) {
    aside = `${destination}${asideSuffix(ctx)}-${n}`;
  }
  // mv rather than rename(2): see emptyUserRoot.
  await runOrFail(ctx, `moving ${destination} aside`, 'mv', ['--no-target-directory', '--', destination, aside]);
  ctx.progress(`restore: ${destination} was there: moved aside to ${aside}`);
  return aside;
}

/**
 * Moves everything in a folder users write (shares, homes) into `<root>/.before-restore-<time>`
 * (0700, same file system even when the root is a mount point), so that a full restore writes
 * only into folders restic makes — never through a link a user put where the snapshot has a
 * folder. The admin finds what was there (work after the backup) in that folder.
 * @throws SetupError `SETUP_RESTORE_FAILED` when the root itself is not a real folder
 */
async function emptyUserRoot(ctx: ModuleContext, root: string): Promise<void> {
  const path = ctx.fs.hostPath(root);
  const found = await lstat(path).catch(() => undefined);
  if (found === undefined) return;
  if (!found.isDirectory()) {
    throw new SetupError('SETUP_RESTORE_FAILED', `${root} is not a folder (a symbolic link?): not restoring into it`, {
      details: { path: root },
    });
  }
  const entries = (await readdir(path)).filter((name) => !name.startsWith('.before-restore-'));
  if (entries.length === 0) return;
  const aside = await mkdtemp(`${path}/.before-restore-${ctx.clock.now().toISOString().replace(/[:.]/g, '-')}-`);
  await chmod(aside, 0o700);
  // mv, not rename(2): an overlay's lower-layer folders (and some bind mounts) refuse a rename with
  // EXDEV, where mv copies with owners, modes and xattrs, then removes.
  await runOrFail(ctx, `moving the contents of ${root} aside`, 'mv', [
    '--no-clobber',
    '--target-directory',
    aside,
    '--',
    ...entries.map((name) => `${path}/${name}`),
  ]);
  ctx.progress(`restore: what was in ${root} is now in ${aside.slice(path.length - root.length)}`);
}

/**
 * Units that hold restored data open, in start order (stopped in reverse), and those every invis
 * server runs — started after a full restore even when they were down (a crashed DC is what the
 * restore is for).
 */
function dataUnits(ctx: ModuleContext): { all: string[]; core: string[] } {
  const p = ctx.profile;
  return {
    all: [p.samba.unit, p.bind.unit, p.mail.dovecot.unit, p.mail.postfix.unit, p.portal.unit],
    core: [p.samba.unit, p.bind.unit, p.portal.unit],
  };
}

/**
 * Restores the whole server from a snapshot (see the file comment for the steps). The damaged
 * Samba folders are kept beside the new ones (`<dir>.before-restore-<time>`) for the admin.
 * @param ctx the context (live server, root)
 * @param options a snapshot id prefix (default: the newest)
 * @returns what was restored
 * @throws SetupError `SETUP_RESTORE_FAILED` (a failed step; services that were stopped are started
 *   again before the error is thrown), `HOST_SERVICE_FAILED`
 */
export async function restoreFull(ctx: ModuleContext, options: { snapshot?: string } = {}): Promise<RestoreResult> {
  const snapshot = await pickSnapshot(ctx, options.snapshot);
  const units = dataUnits(ctx);
  const running: string[] = [];
  for (const unit of units.all) if (await ctx.services.isActive(unit)) running.push(unit);
  ctx.progress(`restore: stopping ${running.join(', ') || 'nothing'}`);
  for (const unit of [...running].reverse()) await ctx.services.stop(unit);
  const start = units.all.filter((u) => running.includes(u) || units.core.includes(u));
  let domain = false;
  let portalDb = false;
  const startAll = async () => {
    ctx.progress(`restore: starting ${start.join(', ')}`);
    for (const unit of start) await ctx.services.start(unit);
  };
  try {
    for (const root of [ctx.profile.shares.root, ctx.profile.shares.homes]) await emptyUserRoot(ctx, root);
    await resticRestore(ctx, snapshot, '/');
    domain = await restoreDomain(ctx);
    portalDb = await restorePortalDb(ctx);
  } catch (error) {
    // The server keeps serving what it has; the restore's own error is the one to report.
    await startAll().catch(() => undefined);
    throw error;
  }
  await startAll();
  return { snapshot: snapshot.id, paths: snapshot.paths, target: '/', domain, portalDb, services: start };
}

/** A suffix for the folders a restore moves aside. */
const asideSuffix = (ctx: ModuleContext) => `.before-restore-${ctx.clock.now().toISOString().replace(/[:.]/g, '-')}`;

async function moveAside(ctx: ModuleContext, path: string, suffix: string): Promise<void> {
  if (await ctx.fs.exists(path)) await ctx.fs.rename(path, `${path}${suffix}`);
}

/** The AD from the staged offline backup: private/ and share_info.tdb put back, sysvol unpacked. */
async function restoreDomain(ctx: ModuleContext): Promise<boolean> {
  const { samba } = ctx.profile;
  const tar = staged(ctx.profile).samba;
  if (!(await ctx.fs.exists(tar))) return false;
  ctx.progress('restore: AD from the offline backup');
  // Unpacked beside the target folders (same file system: the moves below are renames).
  const unpacked = await ctx.fs.mkdtemp(`${samba.dirs.state}/.invis-restore-`);
  try {
    await runOrFail(ctx, 'unpacking the AD backup', 'tar', [
      '--extract',
      '--bzip2',
      '--same-owner',
      '--same-permissions',
      '--file',
      ctx.fs.hostPath(tar),
      '--directory',
      ctx.fs.hostPath(unpacked),
    ]);
    for (const part of ['backup.txt', 'private/sam.ldb', 'sysvol.tar.gz']) {
      if (!(await ctx.fs.exists(`${unpacked}/${part}`))) {
        throw new SetupError('SETUP_RESTORE_FAILED', `the AD backup lacks ${part}: not a samba-tool offline backup`);
      }
    }
    const suffix = asideSuffix(ctx);
    await moveAside(ctx, samba.dirs.private, suffix);
    await ctx.fs.rename(`${unpacked}/private`, samba.dirs.private);
    await chmod(ctx.fs.hostPath(samba.dirs.private), 0o700);
    await removeBackupMarkers(ctx);
    if (await ctx.fs.exists(`${unpacked}/state/share_info.tdb`)) {
      await ctx.fs.rename(`${unpacked}/state/share_info.tdb`, `${samba.dirs.state}/share_info.tdb`);
    }
    const sysvol = ctx.profile.shares.sysvol;
    await moveAside(ctx, sysvol, suffix);
    await ctx.fs.mkdir(sysvol, 0o755);
    await runOrFail(ctx, 'unpacking sysvol', 'tar', [
      '--extract',
      '--gzip',
      '--same-owner',
      '--same-permissions',
      '--file',
      ctx.fs.hostPath(`${unpacked}/sysvol.tar.gz`),
      '--directory',
      ctx.fs.hostPath(sysvol),
      '--exclude',
      '*.NTACL',
    ]);
    const config = `--configfile=${ctx.fs.hostPath(samba.config)}`;
    // The DLZ module's copy of the DNS partitions is hard links into sam.ldb.d: make them again.
    await runOrFail(ctx, 'samba_upgradedns', 'samba_upgradedns', ['--dns-backend=BIND9_DLZ', config]);
    await runOrFail(ctx, 'samba-tool ntacl sysvolreset', samba.sambaTool, ['ntacl', 'sysvolreset', config]);
    return true;
  } finally {
    await ctx.fs.remove(unpacked);
  }
}

/** What `samba-tool domain backup offline` writes into the copy's `@SAMBA_DSDB` record. */
const BACKUP_MARKERS = ['backupDate', 'sidForRestore', 'backupRename', 'backupType'] as const;

/**
 * Samba refuses to start on a database that carries the offline backup's markers ("Database is a
 * backup. Please run samba-tool domain backup restore"); `domain backup restore` removes them at
 * its end — so does this restore of the same DC.
 */
async function removeBackupMarkers(ctx: ModuleContext): Promise<void> {
  const samLdb = ctx.fs.hostPath(`${ctx.profile.samba.dirs.private}/sam.ldb`);
  const search = await ctx.runner.run('ldbsearch', [
    '-H',
    samLdb,
    '-b',
    '@SAMBA_DSDB',
    '-s',
    'base',
    ...BACKUP_MARKERS,
  ]);
  if (search.exitCode !== 0) {
    throw new SetupError('SETUP_RESTORE_FAILED', `ldbsearch of the restored sam.ldb: ${lastOutputLine(search)}`);
  }
  const present = BACKUP_MARKERS.filter((m) => new RegExp(`^${m}:`, 'm').test(search.stdout));
  if (present.length === 0) return;
  const ldif = `dn: @SAMBA_DSDB\nchangetype: modify\n${present.map((m) => `delete: ${m}\n`).join('-\n')}`;
  const modify = await ctx.runner.run('ldbmodify', ['-H', samLdb], { input: ldif });
  if (modify.exitCode !== 0) {
    throw new SetupError('SETUP_RESTORE_FAILED', `removing the backup markers: ${lastOutputLine(modify)}`);
  }
}

/** The staged portal database back in place for the portal's user (0600, stale WAL removed). */
async function restorePortalDb(ctx: ModuleContext): Promise<boolean> {
  const copy = staged(ctx.profile).portalDb;
  if (!(await ctx.fs.exists(copy))) return false;
  const { dataDir } = ctx.profile.portal;
  const db = `${dataDir}/portal.db`;
  ctx.progress(`restore: portal database → ${db}`);
  await ctx.fs.mkdir(dataDir, 0o700);
  const owner = await stat(ctx.fs.hostPath(dataDir));
  for (const suffix of ['-wal', '-shm']) await ctx.fs.remove(`${db}${suffix}`);
  await ctx.fs.writeFileAtomic(db, await ctx.fs.readBytes(copy), { mode: 0o600, uid: owner.uid, gid: owner.gid });
  return true;
}

// Files the sync trusts (its state folder, the CLI's config, the password file) must be ours:
// owned by the effective user, not writable by group or others (secrets not readable either),
// never reached through a symlink, in folders that nobody else can swap them out of.
import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, realpath, stat } from 'node:fs/promises';
import { dirname, sep } from 'node:path';
import { SyncError, toSyncError } from './errors';

const { O_RDONLY, O_NOFOLLOW, O_NONBLOCK } = constants;

const euid = (): number => process.geteuid?.() ?? 0;

const untrusted = (path: string, message: string): SyncError =>
  new SyncError('SYNC_UNTRUSTED_FILE', message, { details: { path } });

/** Owner and mode of one trusted file or folder. */
function checkOwnerMode(path: string, st: Stats, what: string, secret: boolean): void {
  if (st.uid !== euid()) {
    throw untrusted(path, `${what} ${path} must be owned by uid ${euid()}, not ${st.uid} (chown)`);
  }
  if ((st.mode & 0o022) !== 0) {
    throw untrusted(path, `${what} ${path} must not be writable by group or others (chmod ${secret ? 600 : 'go-w'})`);
  }
  if (secret && (st.mode & 0o044) !== 0) {
    throw untrusted(path, `${what} ${path} must not be readable by others (chmod 600)`);
  }
}

/**
 * Every folder from `/` down to `dir` (symlinks resolved) is owned by root or us and not
 * writable by group or others, unless sticky (`/tmp`): nobody else can rename our files away.
 */
async function checkAncestors(dir: string, what: string): Promise<void> {
  const real = await realpath(dir);
  const parts = real.split(sep).filter((s) => s !== '');
  for (let i = 0; i <= parts.length; i++) {
    const p = `${sep}${parts.slice(0, i).join(sep)}`;
    const st = await stat(p);
    const ownerOk = st.uid === 0 || st.uid === euid();
    const writableByOthers = (st.mode & 0o022) !== 0 && (st.mode & 0o1000) === 0;
    if (!ownerOk || writableByOthers) {
      throw untrusted(
        p,
        `${what}: folder ${p} on the way is writable by others (owner uid ${st.uid}, mode ${(st.mode & 0o7777).toString(8)})`,
      );
    }
  }
}

/**
 * Creates `dir` (0700) when missing and checks that it is a real folder of ours that nobody else
 * can write to or swap out.
 *
 * @throws {SyncError} `SYNC_UNTRUSTED_FILE`, `SYNC_LOCAL_IO`
 */
export async function ensurePrivateDir(dir: string, what = 'state folder'): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 }).catch((error: unknown) => {
    throw toSyncError(error, 'SYNC_LOCAL_IO', { path: dir });
  });
  const st = await lstat(dir);
  if (!st.isDirectory()) throw untrusted(dir, `${what} ${dir} must be a folder, not a symlink`);
  checkOwnerMode(dir, st, what, false);
  await checkAncestors(dirname(dir), what);
}

/**
 * Reads a file the caller trusts (config, password): opened without following a symlink, a
 * regular file owned by the effective user, not writable by others (`secret`: not readable
 * either), in folders nobody else can write.
 *
 * @throws {SyncError} `SYNC_UNTRUSTED_FILE`; a missing or unreadable file as `SYNC_INVALID_OPTIONS`
 */
export async function readTrustedFile(file: string, what: string, secret: boolean): Promise<string> {
  const fh = await open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ELOOP') throw untrusted(file, `${what} ${file} must not be a symlink`);
    throw toSyncError(error, 'SYNC_INVALID_OPTIONS', { path: file });
  });
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw untrusted(file, `${what} ${file} must be a regular file`);
    checkOwnerMode(file, st, what, secret);
    await checkAncestors(dirname(file), what);
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}

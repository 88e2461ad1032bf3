// The file operations @invis/host's HostFs does not offer, on node:fs (package-private IO module).
//
// Mostly the users' Dovecot homes: a home and its `sieve` folder belong to the mail user, so
// whoever runs as that user can put symbolic links there, while apply runs as root. Nothing
// here follows a link: folders are checked with lstat and chowned with lchown, files are read
// and created with O_NOFOLLOW and changed through the open handle (mode, owner) — operations on
// handles that a path-based facade cannot express.
import { constants } from 'node:fs';
import { lchown, lstat, mkdir, open, readlink, rename, symlink, unlink, utimes } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { MailRewriteError } from './errors';

/** File owner (numeric, so no lookup of /etc/passwd inside the library). */
export interface Owner {
  uid: number;
  gid: number;
}

const { O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_WRONLY } = constants;
const errno = (error: unknown): string | undefined => (error as NodeJS.ErrnoException | undefined)?.code;

/**
 * The error for a path that is a link or not what it should be.
 * @param path the refused path
 * @param cause the node:fs error, when there is one
 * @returns `MAIL_UNSAFE_PATH` with the path in `details`
 */
export const unsafePath = (path: string, cause?: unknown): MailRewriteError =>
  new MailRewriteError('MAIL_UNSAFE_PATH', `${path} is a symbolic link or not what it should be; refused`, {
    cause,
    details: { path },
  });

/**
 * Sets a file's access and modification time (Postfix stalls while main.cf is younger than 2 s).
 * @param path the file
 * @param at the time to set
 */
export async function setFileTime(path: string, at: Date): Promise<void> {
  await utimes(path, at, at);
}

/**
 * Sets a file's mode without following a link (e.g. postmap's compiled copy of a secret table).
 * @param path the file
 * @param mode permission bits
 * @throws MailRewriteError `MAIL_UNSAFE_PATH` when it is a link
 */
export async function setFileMode(path: string, mode: number): Promise<void> {
  const handle = await open(path, O_RDONLY | O_NOFOLLOW).catch((error: unknown) => {
    throw errno(error) === 'ELOOP' ? unsafePath(path, error) : error;
  });
  try {
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

/**
 * A user's home and its `sieve` folder must be real directories (or absent; `create` makes
 * them). A link there would send root's writes and chowns anywhere.
 * @param home the user's Dovecot home
 * @param create make missing folders
 * @throws MailRewriteError `MAIL_UNSAFE_PATH`
 */
export async function checkUserDirs(home: string, create: boolean): Promise<void> {
  for (const dir of [home, join(home, 'sieve')]) {
    let stat = await lstat(dir).catch((error: unknown) => {
      if (errno(error) === 'ENOENT') return undefined;
      throw error;
    });
    if (!stat && !create) return;
    if (!stat) {
      await mkdir(dir, { recursive: dir === home });
      stat = await lstat(dir);
    }
    if (stat.isSymbolicLink() || !stat.isDirectory()) throw unsafePath(dir);
  }
}

/**
 * Content of a file in a user's home, never read through a link (its target would end up in
 * the report).
 * @param path the file
 * @returns the text, or undefined when missing
 * @throws MailRewriteError `MAIL_UNSAFE_PATH` when it is a link
 */
export async function readUserFile(path: string): Promise<string | undefined> {
  const handle = await open(path, O_RDONLY | O_NOFOLLOW).catch((error: unknown) => {
    if (errno(error) === 'ELOOP') throw unsafePath(path, error);
    if (errno(error) === 'ENOENT') return undefined;
    throw error;
  });
  if (!handle) return undefined;
  try {
    return await handle.readFile({ encoding: 'utf8' });
  } finally {
    await handle.close();
  }
}

/**
 * Writes a file in a user's home atomically: a temp file beside it (a leftover or planted link
 * under its name is unlinked, never followed; O_EXCL|O_NOFOLLOW then refuses whatever appears
 * in its place), mode and owner set through the open handle, renamed over the target.
 * @param home the user's Dovecot home (checked, missing folders created)
 * @param path the file inside it
 * @param content the text
 * @param options mode and owner
 * @throws MailRewriteError `MAIL_UNSAFE_PATH`
 */
export async function writeUserFile(
  home: string,
  path: string,
  content: string,
  options: { mode: number; owner?: Owner | undefined },
): Promise<void> {
  await checkUserDirs(home, true);
  const tmp = join(dirname(path), `.${basename(path)}.invis-tmp`);
  await unlinkIfPresent(tmp);
  const handle = await open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, options.mode).catch((error: unknown) => {
    throw ['EEXIST', 'ELOOP'].includes(errno(error) ?? '') ? unsafePath(tmp, error) : error;
  });
  try {
    try {
      await handle.writeFile(content);
      await handle.chmod(options.mode);
      if (options.owner) await handle.chown(options.owner.uid, options.owner.gid);
    } finally {
      await handle.close();
    }
    await rename(tmp, path);
  } catch (error) {
    await unlinkIfPresent(tmp);
    throw error;
  }
}

/**
 * Removes a file or link in a user's home (a link itself, never its target).
 * @param home the user's Dovecot home (checked first)
 * @param path the file inside it
 */
export async function removeUserFile(home: string, path: string): Promise<void> {
  await checkUserDirs(home, false);
  await unlinkIfPresent(path);
}

/**
 * Where a user's link points.
 * @param path the link
 * @returns its target, or undefined when it is missing or not a link
 */
export async function readUserLink(path: string): Promise<string | undefined> {
  return readlink(path).catch(() => undefined);
}

/**
 * Replaces whatever is at `path` with a link to `target` (or only removes it).
 * @param path the link
 * @param target where it points; undefined removes the link
 */
export async function replaceUserLink(path: string, target: string | undefined): Promise<void> {
  await unlinkIfPresent(path);
  if (target !== undefined) await symlink(target, path);
}

/**
 * Gives the user's home and `sieve` folder to `owner`; lchown, so should a link appear after
 * the check, only the link changes owner. Missing folders are skipped.
 * @param home the user's Dovecot home
 * @param owner the mail user
 */
export async function chownUserDirs(home: string, owner: Owner): Promise<void> {
  for (const dir of [home, join(home, 'sieve')]) {
    await lchown(dir, owner.uid, owner.gid).catch((error: unknown) => {
      if (errno(error) !== 'ENOENT') throw error;
    });
  }
}

async function unlinkIfPresent(path: string): Promise<void> {
  await unlink(path).catch((error: unknown) => {
    if (errno(error) !== 'ENOENT') throw error;
  });
}

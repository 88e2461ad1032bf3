// The housekeeping cleaner: removes what is older than a cut-off below one folder that users
// write to (the transfer share, a recycle bin). Those folders are hostile: a user can put a
// symbolic link anywhere in them, or swap a folder for a link while the cleaner runs. So every
// step goes through a handle of a folder opened with O_NOFOLLOW, and names are resolved below
// that handle (`/proc/self/fd/<fd>/<name>`, the openat() of Node): a link is never followed —
// neither on the way to the folder nor inside it — and nothing outside the folder is reached.
import { constants } from 'node:fs';
import { type FileHandle, lstat, open, opendir, rmdir, unlink } from 'node:fs/promises';
import { HostError } from '@invis/host';

/** O_NOFOLLOW + O_DIRECTORY: opens a real folder or fails (ELOOP for a link, ENOTDIR for a file). */
const DIR_FLAGS = constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/** What one cleaning run did. */
export interface CleanResult {
  /** The folder that was cleaned. */
  root: string;
  /** Files, symbolic links (as links) and other non-folders removed. */
  removedFiles: number;
  removedDirs: number;
  /** Sum of the removed files' sizes. */
  freedBytes: number;
  /** Symbolic links met; never followed, removed as links when old. */
  links: number;
  /** Folders on another file system (a mount inside the folder), left alone. */
  skippedMounts: number;
  /** Entries that could not be removed, or changed under the cleaner, with the reason. */
  problems: { path: string; reason: string }[];
}

/** When an entry counts as old. */
export interface CleanOptions {
  /** Entries whose newest of modification and access time is before this are removed. */
  cutoff: Date;
}

/** The path of `name` below an open folder, resolved by the kernel without leaving it. */
const below = (dir: FileHandle, name: string) => `/proc/self/fd/${dir.fd}/${name}`;

/**
 * Opens the folder `path` component by component, each with O_NOFOLLOW, so a symbolic link on
 * the way (also one a user swapped in) is refused instead of followed.
 * @param path an absolute path without `.` or `..`
 * @returns a handle of the folder
 * @throws HostError `HOST_UNSAFE_PATH` when a component is a link or not a folder
 */
export async function openFolderNoFollow(path: string): Promise<FileHandle> {
  const parts = path.split('/').filter((p) => p !== '');
  if (!path.startsWith('/') || parts.some((p) => p === '.' || p === '..')) {
    throw new HostError('HOST_UNSAFE_PATH', `${path}: not an absolute path without . and ..`, { details: { path } });
  }
  let dir = await open('/', DIR_FLAGS);
  try {
    for (const [index, part] of parts.entries()) {
      let next: FileHandle;
      try {
        next = await open(below(dir, part), DIR_FLAGS);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        const at = `/${parts.slice(0, index + 1).join('/')}`;
        if (code === 'ENOENT') throw error;
        // O_NOFOLLOW | O_DIRECTORY on a link fails with ELOOP or ENOTDIR: say which it was.
        const link = await lstat(below(dir, part)).then(
          (s) => s.isSymbolicLink(),
          () => false,
        );
        throw new HostError(
          'HOST_UNSAFE_PATH',
          link ? `${at} is a symbolic link; not followed` : `${at} is not a folder (${code})`,
          { details: { path: at }, cause: error },
        );
      }
      await dir.close();
      dir = next;
    }
    return dir;
  } catch (error) {
    await dir.close();
    throw error;
  }
}

/**
 * Removes every file, link and emptied folder below `root` whose newest of mtime and atime is
 * before the cut-off; `root` itself stays. Links are removed as links (their targets are never
 * touched), other file systems below `root` are left alone, and a folder swapped for a link while
 * the run goes on is refused by O_NOFOLLOW.
 * @param root the folder to clean (absolute)
 * @param options the cut-off
 * @returns counts and problems; a missing `root` is an empty result
 * @throws HostError `HOST_UNSAFE_PATH` when `root` or a folder on its way is a link or no folder
 */
export async function cleanFolder(root: string, options: CleanOptions): Promise<CleanResult> {
  const result: CleanResult = {
    root,
    removedFiles: 0,
    removedDirs: 0,
    freedBytes: 0,
    links: 0,
    skippedMounts: 0,
    problems: [],
  };
  let dir: FileHandle;
  try {
    dir = await openFolderNoFollow(root);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return result;
    throw error;
  }
  try {
    const device = (await dir.stat()).dev;
    await cleanBelow(dir, root, device, options.cutoff.getTime(), result);
  } finally {
    await dir.close();
  }
  return result;
}

const isOld = (stat: { mtimeMs: number; atimeMs: number }, cutoff: number) =>
  Math.max(stat.mtimeMs, stat.atimeMs) < cutoff;

/** Cleans the folder open as `dir` (shown as `path`); resolves true when it is empty afterwards. */
async function cleanBelow(
  dir: FileHandle,
  path: string,
  device: number,
  cutoff: number,
  result: CleanResult,
): Promise<boolean> {
  let left = 0;
  const names: string[] = [];
  for await (const entry of await opendir(`/proc/self/fd/${dir.fd}`)) names.push(entry.name);
  for (const name of names) {
    const shown = `${path}/${name}`;
    const entry = below(dir, name);
    try {
      // lstat: the entry itself, a link is not followed.
      const stat = await lstat(entry);
      if (stat.isSymbolicLink()) result.links += 1;
      if (stat.isDirectory()) {
        // Only folders say reliably where a mount starts: on overlayfs (containers, the test
        // sandbox) a file reports the device of the layer it lives in, not the overlay's.
        if (stat.dev !== device) {
          result.skippedMounts += 1;
          left += 1;
        } else if (!(await cleanSubfolder(dir, name, shown, stat, device, cutoff, result))) left += 1;
      } else if (isOld(stat, cutoff)) {
        // Files, links (removed as links), sockets, fifos: unlink only drops the name in `dir`.
        await unlink(entry);
        result.removedFiles += 1;
        result.freedBytes += stat.size;
      } else {
        left += 1;
      }
    } catch (error) {
      left += 1;
      result.problems.push({ path: shown, reason: reasonOf(error) });
    }
  }
  return left === 0;
}

/** Cleans one subfolder; removes it when it ends up empty and was old or emptied now. */
async function cleanSubfolder(
  parent: FileHandle,
  name: string,
  shown: string,
  stat: { ino: number; mtimeMs: number; atimeMs: number },
  device: number,
  cutoff: number,
  result: CleanResult,
): Promise<boolean> {
  let sub: FileHandle;
  try {
    sub = await open(below(parent, name), DIR_FLAGS);
  } catch (error) {
    // Swapped for a link or a file since the lstat: not followed.
    result.problems.push({ path: shown, reason: `no longer a folder, not followed (${reasonOf(error)})` });
    return false;
  }
  let empty: boolean;
  let wasEmpty: boolean;
  try {
    if ((await sub.stat()).ino !== stat.ino) {
      result.problems.push({ path: shown, reason: 'changed while cleaning' });
      return false;
    }
    wasEmpty = (await opendir(`/proc/self/fd/${sub.fd}`).then(firstName)) === undefined;
    empty = await cleanBelow(sub, shown, device, cutoff, result);
  } finally {
    await sub.close();
  }
  // A folder a user made recently stays until it is old itself; one this run emptied goes now.
  if (!empty || (wasEmpty && !isOld(stat, cutoff))) return false;
  await rmdir(below(parent, name));
  result.removedDirs += 1;
  return true;
}

async function firstName(dir: AsyncIterable<{ name: string }> & { close(): Promise<void> }) {
  for await (const entry of dir) return entry.name;
  return undefined;
}

function reasonOf(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? (error as Error).message;
}

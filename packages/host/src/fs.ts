// The file operations the libraries need, behind one injectable facade: the real one on
// node:fs, a staging root for `--root` renders, or a test's own.
import { constants } from 'node:fs';
import { cp, lstat, mkdir, mkdtemp, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { type WriteFileOptions, writeFileAtomic } from './atomic';
import { HostError, isMissing } from './errors';

/** The file operations of every invis library. Paths are absolute. */
export interface HostFs {
  /** Reads a UTF-8 file; rejects with `code: 'ENOENT'` when it is missing. */
  readFile(path: string): Promise<string>;
  /** Reads a UTF-8 file, or undefined when it is missing. */
  readFileIfExists(path: string): Promise<string | undefined>;
  /** Reads a file's bytes; rejects with `code: 'ENOENT'` when it is missing. */
  readBytes(path: string): Promise<Uint8Array>;
  /** {@link writeFileAtomic}. */
  writeFileAtomic(path: string, data: string | Uint8Array, options?: WriteFileOptions): Promise<void>;
  /**
   * Creates `path` only if nothing is there (O_EXCL, no-follow): true when created, false when
   * it exists. Used for lock files.
   */
  createExclusive(path: string, data: string, mode: number): Promise<boolean>;
  /** Creates a directory with its parents; `mode` applies to the ones created. */
  mkdir(path: string, mode?: number): Promise<void>;
  /** Names in a directory; empty when it does not exist. */
  readdir(path: string): Promise<string[]>;
  rename(from: string, to: string): Promise<void>;
  /** Removes a file or a whole tree; no error when it is missing. */
  remove(path: string): Promise<void>;
  /** Whether anything (a link included, not followed) is at `path`. */
  exists(path: string): Promise<boolean>;
  /** Modification time in ms since the epoch, or undefined when missing. */
  mtimeMs(path: string): Promise<number | undefined>;
  /** A new empty directory named `prefix` + random characters. */
  mkdtemp(prefix: string): Promise<string>;
  /** Recursive copy of a directory (links copied as links). */
  copyDir(from: string, to: string): Promise<void>;
}

/**
 * The real file system.
 * @returns a {@link HostFs} on node:fs/promises
 */
export function createNodeFs(): HostFs {
  return {
    readFile: (path) => readFile(path, 'utf8'),
    async readFileIfExists(path) {
      try {
        return await readFile(path, 'utf8');
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
    },
    readBytes: (path) => readFile(path),
    writeFileAtomic,
    async createExclusive(path, data, mode) {
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        handle = await open(
          path,
          constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
          mode,
        );
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw e;
      }
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      return true;
    },
    async mkdir(path, mode) {
      await mkdir(path, { recursive: true, ...(mode === undefined ? {} : { mode }) });
    },
    async readdir(path) {
      try {
        return await readdir(path);
      } catch (e) {
        if (isMissing(e)) return [];
        throw e;
      }
    },
    rename,
    remove: (path) => rm(path, { recursive: true, force: true }),
    async exists(path) {
      try {
        await lstat(path);
        return true;
      } catch (e) {
        if (isMissing(e)) return false;
        throw e;
      }
    },
    async mtimeMs(path) {
      try {
        return (await lstat(path)).mtimeMs;
      } catch (e) {
        if (isMissing(e)) return undefined;
        throw e;
      }
    },
    mkdtemp,
    copyDir: (from, to) => cp(from, to, { recursive: true, verbatimSymlinks: true }),
  };
}

/**
 * Resolves a relative path below `root` and refuses anything that would leave it: `..`
 * segments, absolute paths, NUL bytes. Does not touch the disk (pair with no-follow opens).
 * @param root the directory everything must stay in
 * @param relativePath a path from an untrusted source (a server's listing, a request)
 * @returns the absolute path, inside `root`
 * @throws HostError `HOST_UNSAFE_PATH`
 * @example resolveInside('/srv/shares/x', 'a/b.txt') // '/srv/shares/x/a/b.txt'
 */
export function resolveInside(root: string, relativePath: string): string {
  const unsafe = (why: string): HostError =>
    new HostError('HOST_UNSAFE_PATH', `refusing path ${JSON.stringify(relativePath)}: ${why}`, {
      details: { root },
    });
  if (relativePath.includes('\0')) throw unsafe('it contains a NUL byte');
  if (isAbsolute(relativePath)) throw unsafe('it is absolute');
  const base = resolve(root);
  const target = resolve(base, relativePath);
  const rel = relative(base, target);
  if (rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) throw unsafe('it leaves the root');
  return target;
}

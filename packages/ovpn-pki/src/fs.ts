// The file-system facade the PKI and apply steps write through: atomic writes with explicit
// modes, so private keys are 0600 from the first byte (never chmod after the fact).
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** The file operations @invis/ovpn-pki needs; inject another implementation for tests or staging roots. */
export interface PkiFs {
  /** Reads a UTF-8 file; rejects with `code: 'ENOENT'` when it is missing. */
  readFile(path: string): Promise<string>;
  /** Writes to a temp file with `mode` in the same directory, then renames it over `path`. */
  writeFileAtomic(path: string, data: string, mode: number): Promise<void>;
  /** Creates a directory and its parents with `mode`. */
  mkdir(path: string, mode: number): Promise<void>;
  /** Names in a directory; empty when it does not exist. */
  readdir(path: string): Promise<string[]>;
  /** Renames (moves) a file. */
  rename(from: string, to: string): Promise<void>;
  /** Removes a file; no error when it is missing. */
  remove(path: string): Promise<void>;
  /** Whether a file or directory exists. */
  exists(path: string): Promise<boolean>;
  /**
   * Creates `path` only if it does not exist (O_EXCL): true when created, false when it exists;
   * rejects with `code: 'ENOENT'` when the directory is missing. Used as a lock file.
   */
  createExclusive(path: string, data: string, mode: number): Promise<boolean>;
  /** Milliseconds since the last modification, or undefined when the file is missing. */
  ageMs(path: string): Promise<number | undefined>;
}

/**
 * The real file system (node:fs/promises).
 * @returns a {@link PkiFs}
 */
export function createNodeFs(): PkiFs {
  return {
    readFile: (path) => readFile(path, 'utf8'),
    async writeFileAtomic(path, data, mode) {
      const tmp = join(dirname(path), `.${randomBytes(6).toString('hex')}.tmp`);
      try {
        await writeFile(tmp, data, { mode, flag: 'wx' });
        await rename(tmp, path);
      } catch (error) {
        await rm(tmp, { force: true });
        throw error;
      }
    },
    async mkdir(path, mode) {
      await mkdir(path, { recursive: true, mode });
    },
    async readdir(path) {
      try {
        return await readdir(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw error;
      }
    },
    rename: (from, to) => rename(from, to),
    remove: (path) => rm(path, { force: true }),
    async exists(path) {
      try {
        await stat(path);
        return true;
      } catch {
        return false;
      }
    },
    async createExclusive(path, data, mode) {
      try {
        await writeFile(path, data, { mode, flag: 'wx' });
        return true;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
        throw error;
      }
    },
    async ageMs(path) {
      try {
        return Date.now() - (await stat(path)).mtimeMs;
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw error;
      }
    },
  };
}

/** Whether `e` is a missing-file error. */
export function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}

// Local file access of the engine inside the synced folder. Users of the share can write there
// while the sync (as root) runs, so every path is checked to stay below the folder, no folder on
// the way may be a symlink, and the last component is opened without following a symlink.
// Node has no openat(), so a folder swapped for a symlink between the check and the open is a
// window of microseconds that these checks narrow but cannot close.
import { constants, type Stats } from 'node:fs';
import { type FileHandle, lstat, mkdir, open, unlink } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import { SyncError } from './errors';
import { isSafeSegment } from './multistatus';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;

const unsafe = (path: string, why: string): SyncError =>
  new SyncError('SYNC_UNSAFE_PATH', `${path}: ${why}; left alone`, { path });

/** Maps the errors of a no-follow open to what they mean here. */
const refused = (path: string) => (error: unknown) => {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ELOOP' || code === 'ENOTDIR') throw unsafe(path, 'is a symlink');
  throw error;
};

/** File access below one root folder; relative paths use `/` as in the journal. */
export interface LocalTree {
  /** The absolute path of `rel`. @throws {SyncError} `SYNC_UNSAFE_PATH` unless every segment is a plain name */
  abs(rel: string): string;
  /** Checks that every folder between the root and `rel` is a real folder (a missing one is left to the operation). */
  parents(rel: string): Promise<void>;
  /** Opens a regular file for reading (no symlink, no FIFO or device). */
  openRead(rel: string): Promise<{ fh: FileHandle; stat: Stats }>;
  /** Opens a part file: a fresh one replaces a leftover, `append` continues one we wrote (one link only). */
  openPart(rel: string, append: boolean): Promise<FileHandle>;
  /** Creates the folder `rel` (its parent must exist); an existing real folder is fine. */
  mkdir(rel: string): Promise<void>;
  /** Opens a folder below the root (or the root) for fsync. */
  openDir(absPath: string): Promise<FileHandle>;
}

/** File access confined to `root`. */
export function localTree(root: string): LocalTree {
  const rootAbs = resolve(root);
  const abs = (rel: string): string => {
    if (rel === '') return root;
    const segments = rel.split('/');
    if (!segments.every(isSafeSegment)) throw unsafe(rel, 'not a plain relative path');
    const out = join(root, ...segments);
    if (!resolve(out).startsWith(`${rootAbs}${rootAbs.endsWith(sep) ? '' : sep}`)) {
      throw unsafe(rel, 'outside the folder');
    }
    return out;
  };
  const parents = async (rel: string): Promise<void> => {
    const segments = rel.split('/');
    let dir = root;
    for (let i = 0; i < segments.length - 1; i++) {
      dir = join(dir, segments[i] as string);
      const st = await lstat(dir).catch(() => undefined);
      if (!st) return;
      if (!st.isDirectory()) throw unsafe(rel, `${segments.slice(0, i + 1).join('/')} is not a folder (a symlink?)`);
    }
  };
  return {
    abs,
    parents,
    async openRead(rel) {
      const file = abs(rel);
      await parents(rel);
      // O_NONBLOCK: a FIFO put in place of a file would otherwise block the open forever.
      const fh = await open(file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK).catch(refused(rel));
      const stat = await fh.stat();
      if (!stat.isFile()) {
        await fh.close();
        throw unsafe(rel, 'not a regular file');
      }
      return { fh, stat };
    },
    async openPart(rel, append) {
      const file = abs(rel);
      await parents(rel);
      if (append) {
        const fh = await open(file, O_WRONLY | O_APPEND | O_NOFOLLOW | O_NONBLOCK).catch(refused(rel));
        const st = await fh.stat();
        // A hard link to a file elsewhere would be written through: only our own single-link file.
        if (!st.isFile() || st.nlink !== 1) {
          await fh.close();
          throw unsafe(rel, 'the part file is not a plain file of ours');
        }
        return fh;
      }
      await unlink(file).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'ENOENT') throw error;
      });
      return open(file, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o666).catch(refused(rel));
    },
    async mkdir(rel) {
      const dir = abs(rel);
      await parents(rel);
      await mkdir(dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      if (!(await lstat(dir)).isDirectory()) throw unsafe(rel, 'is not a folder (a symlink?)');
    },
    openDir(absPath) {
      return open(absPath, O_RDONLY | O_DIRECTORY | O_NOFOLLOW).catch(refused(absPath));
    },
  };
}

// Local file access of the engine inside the synced folder. Users of the share can write there
// while the sync (as root) runs, so every path is checked to stay below the folder, no folder on
// the way may be a symlink, and the last component is opened without following a symlink.
// Node has no openat(), so a folder swapped for a symlink between the check and the open is a
// window of microseconds that these checks narrow but cannot close.
// @invis/host's HostFs works on whole files by absolute path; this tree needs open handles
// (streamed reads at offsets, appends to part files, O_NOFOLLOW|O_NONBLOCK, nlink checks) and
// link()/rmdir(), so it stays here, on node:fs.
import { createHash } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { type FileHandle, link, lstat, mkdir, open, rename, rmdir, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { isHostError, resolveInside } from '@invis/host';
import { SyncError } from './errors';
import { isSafeSegment } from './multistatus';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_APPEND, O_NOFOLLOW, O_NONBLOCK, O_DIRECTORY } = constants;

const unsafe = (path: string, why: string, cause?: unknown): SyncError =>
  new SyncError('SYNC_UNSAFE_PATH', `${path}: ${why}; left alone`, {
    details: { path },
    ...(cause === undefined ? {} : { cause }),
  });

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
  /** `lstat` of `rel`. */
  lstat(rel: string): Promise<Stats>;
  /** `lstat` of `rel`, undefined when nothing (or nothing reachable) is there. */
  lstatIfAny(rel: string): Promise<Stats | undefined>;
  /** Opens a regular file for reading (no symlink, no FIFO or device). */
  openRead(rel: string): Promise<{ fh: FileHandle; stat: Stats }>;
  /** The whole content of a regular file, read without following a symlink. */
  readAll(rel: string): Promise<Buffer>;
  /** Opens a part file: a fresh one replaces a leftover, `append` continues one we wrote (one link only). */
  openPart(rel: string, append: boolean): Promise<FileHandle>;
  /** Whether the part file `part` (ours) is a prefix of the local file `rel`. */
  isPrefix(part: string, rel: string): Promise<boolean>;
  /** Whether the part file `part` (ours) has the content of the local file `rel`. */
  sameContent(part: string, rel: string): Promise<boolean>;
  /** Creates the folder `rel` (its parent must exist); an existing real folder is fine. */
  mkdir(rel: string): Promise<void>;
  /** Renames `from` to `to` (replacing a file at `to`). */
  rename(from: string, to: string): Promise<void>;
  /** Hard-links `from` as `to`; fails when `to` exists (never replaces a file created meanwhile). */
  link(from: string, to: string): Promise<void>;
  /** Removes a file; `missingOk` ignores one that is already gone. */
  unlink(rel: string, missingOk?: boolean): Promise<void>;
  /** Removes an empty folder. */
  rmdir(rel: string): Promise<void>;
  /** Opens a folder below the root (or the root) for fsync. */
  openDir(rel: string): Promise<FileHandle>;
}

/** File access confined to `root`. */
export function localTree(root: string): LocalTree {
  const abs = (rel: string): string => {
    if (rel === '') return root;
    const segments = rel.split('/');
    if (!segments.every(isSafeSegment)) throw unsafe(rel, 'not a plain relative path');
    try {
      return resolveInside(root, join(...segments));
    } catch (error) {
      if (isHostError(error)) throw unsafe(rel, 'outside the folder', error);
      throw error;
    }
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
  const openRead = async (rel: string): Promise<{ fh: FileHandle; stat: Stats }> => {
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
  };
  return {
    abs,
    parents,
    lstat: (rel) => lstat(abs(rel)),
    lstatIfAny: (rel) => lstat(abs(rel)).catch(() => undefined),
    openRead,
    async readAll(rel) {
      const { fh } = await openRead(rel);
      try {
        return await fh.readFile();
      } finally {
        await fh.close();
      }
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
    async isPrefix(part, rel) {
      const [head, { fh: whole }] = await Promise.all([this.readAll(part), openRead(rel)]);
      try {
        const buf = Buffer.alloc(head.length);
        const { bytesRead } = await whole.read(buf, 0, buf.length, 0);
        return bytesRead === head.length && buf.equals(head);
      } finally {
        await whole.close();
      }
    },
    async sameContent(part, rel) {
      const hash = async (file: string): Promise<string | undefined> => {
        const fh = await openRead(file).then(
          (o) => o.fh,
          () => undefined,
        );
        if (!fh) return undefined;
        try {
          const h = createHash('sha256');
          for await (const chunk of fh.createReadStream({ autoClose: false })) h.update(chunk as Buffer);
          return h.digest('hex');
        } finally {
          await fh.close().catch(() => undefined);
        }
      };
      const [x, y] = await Promise.all([hash(part), hash(rel)]);
      return x !== undefined && x === y;
    },
    async mkdir(rel) {
      const dir = abs(rel);
      await parents(rel);
      await mkdir(dir).catch((error: NodeJS.ErrnoException) => {
        if (error.code !== 'EEXIST') throw error;
      });
      if (!(await lstat(dir)).isDirectory()) throw unsafe(rel, 'is not a folder (a symlink?)');
    },
    rename: (from, to) => rename(abs(from), abs(to)),
    link: (from, to) => link(abs(from), abs(to)),
    unlink: (rel, missingOk = false) =>
      unlink(abs(rel)).catch((error: NodeJS.ErrnoException) => {
        if (!missingOk || error.code !== 'ENOENT') throw error;
      }),
    rmdir: (rel) => rmdir(abs(rel)),
    openDir(rel) {
      return open(abs(rel), O_RDONLY | O_DIRECTORY | O_NOFOLLOW).catch(refused(rel));
    },
  };
}

// The transfer stage of a run: one file down (into a part file, then into place) or up (in one
// PUT, or resumable in chunks), with bandwidth limit, progress and the checks that keep a local
// change made meanwhile. It records nothing: the executor puts what it returns into the journal.
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { Readable } from 'node:stream';
import { resumeOffset, transferId } from './chunking';
import type { PutResult, ServerInfo, WebDavClient } from './client';
import { type LocalEntry, parentOf, type RemoteEntry } from './decision';
import { SyncError, syncCodeOf } from './errors';
import type { RateLimiter } from './limit';
import type { LocalTree } from './localfs';
import type { SyncEvent, SyncReport } from './report';

/** Files up to this size are read whole (and hashed when racy); larger ones are streamed in pieces of it. */
const SMALL_FILE = 256 * 1024;
/** A file modified this close to our stat may be written again within the same timestamp tick. */
const RACY_MS = 50;

/** The remote side of a journal record. */
export interface RemoteRecord {
  etag?: string;
  size: number;
  mtimeMs?: number;
  fileId?: string;
  /** Content hash of a racy upload (see `JournalEntry.racyHash`). */
  racyHash?: string;
}

/** What a finished transfer leaves to record: both sides as they are now. */
export interface Transferred {
  local: LocalEntry;
  remote: RemoteRecord;
}

/** A download in its part file (relative path next to the target), not yet in place. */
export interface FetchedPart {
  part: string;
  etag?: string;
  size: number;
}

/** Collaborators and settings of {@link createTransfer}. */
export interface TransferContext {
  client: WebDavClient;
  tree: LocalTree;
  /** The local folder (part of the upload id). */
  localDir: string;
  /** This host's name (part of the upload id). */
  host: string;
  server: ServerInfo;
  /** Uploads above this size are resumable, in pieces of it. */
  chunkSize: number;
  /** Uploads an interrupted run left pending (local stat then): their partial uploads are resumed. */
  pending: ReadonlyMap<string, { size: number; mtimeMs: number; inode: number }>;
  /** Whether the server honours `Content-Range` on PUT; probed once per engine, so shared between runs. */
  rangePut: { supported?: boolean };
  /** fsync downloaded files (and, by {@link Transfer.syncTouchedDirs}, their folders). */
  fsync: boolean;
  limiter?: RateLimiter;
  /** Byte counters (the run's report). */
  progress: Pick<SyncReport, 'bytesUp' | 'bytesDown'>;
  emit: (event: SyncEvent) => void;
}

/** The transfers of one run. */
export interface Transfer {
  /** Downloads `path` into a part file next to it, resuming one a previous run left (`Range` + `If-Range`). */
  fetchPart(path: string, remote: RemoteEntry): Promise<FetchedPart>;
  /**
   * Downloads `path` and puts it in place: over `expected` (the local file the plan saw, still
   * unchanged) or, for a new file, only if nothing appeared there meanwhile.
   * @throws {SyncError} `SYNC_CHANGED_DURING_SYNC` (the part file is dropped, the local file kept)
   */
  download(path: string, remote: RemoteEntry, expected: LocalEntry | undefined): Promise<Transferred>;
  /**
   * Uploads the local file `path` with `If-Match` (a change) or `If-None-Match: *` (`create`).
   * `etagMissing`: the server sent no ETag, the caller looks it up.
   */
  upload(path: string, opts: { ifMatch?: string; create: boolean }): Promise<Transferred & { etagMissing: boolean }>;
  /** fsyncs the folders downloads were renamed into (when `fsync` is on). */
  syncTouchedDirs(): Promise<void>;
}

const partName = (path: string, etag: string | undefined): string =>
  `.~sync-${createHash('sha1')
    .update(`${path}\0${etag ?? ''}`)
    .digest('hex')
    .slice(0, 20)}.part`;
/** `If-Match` for a change, `If-None-Match: *` for a new file, nothing for a re-sent one. */
const conditionOf = (ifMatch: string | undefined, create: boolean): { ifMatch?: string; ifNoneMatch?: '*' } =>
  ifMatch ? { ifMatch } : create ? { ifNoneMatch: '*' } : {};
/** SHA-1 of a buffer, as racy journal entries keep it. */
export const sha1 = (buf: Buffer): string => createHash('sha1').update(buf).digest('hex');
const sibling = (path: string, name: string): string => {
  const dir = parentOf(path);
  return `${dir === '' ? '' : `${dir}/`}${name}`;
};

/** A local entry from a stat. */
export const toLocal = (path: string, st: Stats): LocalEntry => ({
  path,
  isDir: st.isDirectory(),
  size: st.isDirectory() ? 0 : st.size,
  mtimeMs: st.mtimeMs,
  inode: st.ino,
});

/** Whether a stat still shows the local entry the plan saw. */
export const sameStat = (a: LocalEntry, st: Stats): boolean =>
  st.size === a.size && st.mtimeMs === a.mtimeMs && st.ino === a.inode;

/**
 * Runs a request with `If-Match`. Apache answers 412 for weak ETags (files changed in the last
 * second) even when nothing changed, so a 412 is re-checked and retried without the condition
 * only when the current ETag still is the expected one.
 */
export async function guarded<T>(
  client: WebDavClient,
  path: string,
  etag: string | undefined,
  send: (ifMatch?: string) => Promise<T>,
): Promise<T> {
  try {
    return await send(etag);
  } catch (error) {
    if (etag === undefined || syncCodeOf(error) !== 'DAV_PRECONDITION_FAILED') throw error;
    const [current] = await client.propfind(path, 0).catch(() => []);
    if (current?.etag !== etag) throw error;
    return send();
  }
}

/**
 * The transfer stage over one local tree and one client.
 *
 * @example
 * const transfer = createTransfer({ client, tree: localTree(dir), localDir: dir, host: 'branch1', server, chunkSize: 10 << 20, pending: new Map(), rangePut: {}, fsync: true, progress: report, emit });
 * const { local, remote } = await transfer.download('a.txt', remoteEntry, undefined);
 */
export function createTransfer(ctx: TransferContext): Transfer {
  const { client, tree, progress, emit, limiter } = ctx;
  const touchedDirs = new Set<string>();

  async function fetchPart(path: string, r: RemoteEntry): Promise<FetchedPart> {
    const part = sibling(path, partName(path, r.etag));
    tree.abs(part);
    const existing = r.etag === undefined ? 0 : ((await tree.lstatIfAny(part))?.size ?? 0);
    return client.get(path, existing > 0 && r.etag ? { offset: existing, ifRange: r.etag } : {}, async (reply) => {
      const offset = reply.status === 206 ? existing : 0;
      const fh = await tree.openPart(part, reply.status === 206);
      let size = offset;
      try {
        for await (const chunk of reply.body as AsyncIterable<Buffer>) {
          if (limiter) await limiter.take(chunk.length);
          await fh.write(chunk);
          size += chunk.length;
          progress.bytesDown += chunk.length;
          emit({ type: 'bytes', path, direction: 'down', transferred: size, total: reply.totalSize ?? r.size });
        }
        // Keep the server's mtime (as sync clients do); it also keeps the file out of the racy window.
        if (r.mtimeMs !== undefined) await fh.utimes(new Date(), new Date(r.mtimeMs));
        if (ctx.fsync) await fh.sync();
      } finally {
        await fh.close();
      }
      touchedDirs.add(parentOf(part));
      const out: FetchedPart = { part, size };
      const etag = reply.etag ?? r.etag;
      if (etag !== undefined) out.etag = etag;
      return out;
    });
  }

  /**
   * Streams bytes `start` to `end` of the local file `path` of `size` bytes (bandwidth-limited,
   * counted); the file must still be the one with `inode`.
   */
  function uploadBody(path: string, size: number, inode: number, start = 0, end = size): Readable {
    return Readable.from(
      (async function* () {
        const { fh, stat } = await tree.openRead(path);
        try {
          if (stat.ino !== inode) {
            throw new SyncError('SYNC_CHANGED_DURING_SYNC', `${path} was replaced during upload`, {
              details: { path },
            });
          }
          for (let pos = start; pos < end; ) {
            const buf = Buffer.allocUnsafe(Math.min(SMALL_FILE, end - pos));
            const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
            if (bytesRead === 0)
              throw new SyncError('SYNC_CHANGED_DURING_SYNC', `${path} shrank during upload`, { details: { path } });
            if (limiter) await limiter.take(bytesRead);
            pos += bytesRead;
            progress.bytesUp += bytesRead;
            emit({ type: 'bytes', path, direction: 'up', transferred: pos, total: size });
            yield buf.subarray(0, bytesRead);
          }
        } finally {
          await fh.close();
        }
      })(),
    );
  }

  /**
   * Uploads a large file so that an interrupted upload is continued by the next run (when the
   * local file is still the version whose upload was pending): ownCloud chunked upload where the
   * server offers it, else range PUTs to a hidden temp file next to the target that is verified
   * by size and then MOVEd over the target. Nothing is ever written under the real name until the
   * whole file is on the server.
   */
  async function uploadResumable(
    path: string,
    before: LocalEntry,
    opts: { ifMatch?: string; create: boolean },
  ): Promise<PutResult> {
    const total = before.size;
    const p = ctx.pending.get(path);
    const resume = p !== undefined && p.size === total && p.mtimeMs === before.mtimeMs && p.inode === before.inode;
    const id = transferId(ctx.host, ctx.localDir, client.baseUrl.href, path);
    const piece = (offset: number): number => Math.min(ctx.chunkSize, total - offset);
    const body = (offset: number, end = offset + piece(offset)): Readable =>
      uploadBody(path, total, before.inode, offset, end);
    if (ctx.server.chunkedUpload) {
      const up = client.chunkedUpload(path, id);
      const have = resume ? await up.list() : undefined;
      if (!have) await up.start(total);
      for (let offset = have ? resumeOffset(have, total, ctx.chunkSize) : 0; offset < total; offset += piece(offset)) {
        await up.putChunk(offset, body(offset), piece(offset));
      }
      return refusedDrops(
        guarded(client, path, opts.ifMatch, (ifMatch) =>
          up.commit({ totalSize: total, mtimeMs: before.mtimeMs, ...conditionOf(ifMatch, opts.create) }),
        ),
        () => up.abort(),
      );
    }
    const dir = parentOf(path);
    const temp = sibling(path, `.~sync-${id}.part`);
    const sizeOf = async (): Promise<number | undefined> => {
      const [t] = await client.propfind(temp, 0).catch((error: unknown) => {
        if (syncCodeOf(error) === 'DAV_NOT_FOUND') return [];
        throw error;
      });
      return t && !t.isDir ? t.size : undefined;
    };
    ctx.rangePut.supported ??= await probeRangePut(client, dir, id);
    let done = false;
    if (ctx.rangePut.supported) {
      const have = resume ? await sizeOf() : undefined;
      for (let offset = have !== undefined && have <= total ? have : 0; offset < total; offset += piece(offset)) {
        const range = offset > 0 ? { range: { offset, totalSize: total } } : {};
        await client.put(temp, body(offset), { size: piece(offset), ...range });
      }
      done = (await sizeOf()) === total;
      // A server that took the probe but then ignored a range: never again, send it whole.
      if (!done) ctx.rangePut.supported = false;
    }
    if (!done) {
      await client.put(temp, body(0, total), { size: total });
      const got = await sizeOf();
      if (got !== total) {
        throw new SyncError('DAV_UPLOAD_INCOMPLETE', `PUT ${path}: the server holds ${got ?? 'no'} of ${total} bytes`, {
          details: { path },
        });
      }
    }
    await refusedDrops(
      guarded(client, path, opts.ifMatch, (ifMatch) =>
        client.move(temp, path, { overwrite: !opts.create, ...(ifMatch ? { ifMatch } : {}) }),
      ),
      () => client.delete(temp),
    );
    // MOVE replies carry no ETag on plain servers: the executor lists the folder afterwards.
    return { mtimeAccepted: false };
  }

  return {
    fetchPart,
    async download(path, r, expected) {
      const got = await fetchPart(path, r);
      tree.abs(path);
      await tree.parents(path);
      const current = await tree.lstatIfAny(path);
      if (expected ? !current || !sameStat(expected, current) : current) {
        await tree.unlink(got.part).catch(() => undefined);
        throw new SyncError(
          'SYNC_CHANGED_DURING_SYNC',
          `${path} changed locally during the sync; kept, retried next run`,
          {
            details: { path },
          },
        );
      }
      if (expected) await tree.rename(got.part, path);
      else {
        // link() never replaces: a file created meanwhile under this name survives.
        await tree.link(got.part, path);
        await tree.unlink(got.part);
      }
      return {
        local: toLocal(path, await tree.lstat(path)),
        remote: { ...r, size: got.size, ...(got.etag ? { etag: got.etag } : {}) },
      };
    },
    async upload(path, opts) {
      // The racy window is about the file system's own timestamps, so it is measured against the
      // system time (the kernel stamps mtimes with it), not an injected clock.
      const statAt = Date.now();
      // Stat and content come from one no-follow handle: a symlink swapped in is never read.
      const opened = await tree.openRead(path);
      let before: LocalEntry;
      let small: Buffer | undefined;
      try {
        before = toLocal(path, opened.stat);
        if (before.size <= SMALL_FILE) small = await opened.fh.readFile();
      } finally {
        await opened.fh.close();
      }
      let body: () => Buffer | Readable;
      let size = before.size;
      let racyHash: string | undefined;
      const racy = before.mtimeMs >= statAt - RACY_MS;
      if (small) {
        const buf = small;
        size = buf.length;
        if (racy) racyHash = sha1(buf);
        if (limiter) await limiter.take(size);
        progress.bytesUp += size;
        body = () => buf;
      } else body = () => uploadBody(path, size, before.inode);
      const res =
        size > ctx.chunkSize
          ? await uploadResumable(path, before, opts)
          : await guarded(client, path, opts.ifMatch, (ifMatch) =>
              client.put(path, body(), { size, mtimeMs: before.mtimeMs, ...conditionOf(ifMatch, opts.create) }),
            );
      // Recorded with the stat from before the upload: a change during it shows up next run. A
      // write in the same timestamp tick as that stat would be invisible ("racy", as in git): small
      // files keep a content hash that the next run compares; large ones are recorded as changed.
      return {
        local: { ...before, size, ...(racy && !racyHash ? { mtimeMs: -1 } : {}) },
        remote: {
          size,
          ...(res.etag ? { etag: res.etag } : {}),
          ...(res.fileId ? { fileId: res.fileId } : {}),
          ...(racyHash ? { racyHash } : {}),
        },
        etagMissing: !res.etag,
      };
    },
    async syncTouchedDirs() {
      if (!ctx.fsync) return;
      await Promise.all(
        [...touchedDirs].map(async (d) => {
          const fh = await tree.openDir(d);
          await fh.sync().finally(() => fh.close());
        }),
      );
    },
  };
}

/**
 * A final MOVE refused by its condition (412) will not be retried with this upload: the next run
 * makes the path a conflict. The uploaded data is dropped then (best effort), not left behind.
 */
async function refusedDrops<T>(move: Promise<T>, drop: () => Promise<void>): Promise<T> {
  try {
    return await move;
  } catch (error) {
    if (syncCodeOf(error) === 'DAV_PRECONDITION_FAILED') await drop().catch(() => undefined);
    throw error;
  }
}

/**
 * Whether the server writes a `Content-Range` PUT at the offset (Apache mod_dav) instead of
 * replacing the resource with the body (rclone, golang.org/x/net/webdav) or refusing it: a
 * 1-byte hidden file in `dir` is extended by one byte and its size checked, then deleted.
 */
async function probeRangePut(client: WebDavClient, dir: string, id: string): Promise<boolean> {
  const probe = `${dir === '' ? '' : `${dir}/`}.~sync-${id}-probe.part`;
  try {
    await client.put(probe, Buffer.from('a'), { size: 1 });
    await client.put(probe, Buffer.from('b'), { size: 1, range: { offset: 1, totalSize: 2 } });
    return (await client.propfind(probe, 0))[0]?.size === 2;
  } catch (error) {
    // A refusal (400, 403, 501 …) means no range PUTs; a dead connection is the run's problem.
    if (syncCodeOf(error) === 'DAV_NETWORK') throw error;
    return false;
  } finally {
    await client.delete(probe).catch(() => undefined);
  }
}

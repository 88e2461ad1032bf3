// The sync engine: discovery → reconcile → execute, with the journal as the common ancestor.
import { createHash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { type FileHandle, link, lstat, open, readFile, rename, rmdir, unlink } from 'node:fs/promises';
import { hostname as osHostname } from 'node:os';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { resumeOffset, transferId } from './chunking';
import type { PutResult, ServerInfo, WebDavClient } from './client';
import { scanRemoteInto, walkLocal } from './discovery';
import { SyncError, type SyncErrorCode, toSyncError } from './errors';
import { createExcludeMatcher, DEFAULT_EXCLUDES, parseExcludeFile } from './exclude';
import { type Journal, type JournalEntry, journalEntry, openJournal } from './journal';
import { createRateLimiter, createSemaphore, type RateLimiter } from './limit';
import { type LocalTree, localTree } from './localfs';
import { acquireLock } from './lock';
import {
  conflictCopyName,
  type LocalEntry,
  openPlanStore,
  type PlanStore,
  type RemoteEntry,
  type SyncAction,
} from './reconcile';
import { ensurePrivateDir } from './trust';

/** Options of {@link createSyncEngine}. */
export interface SyncEngineOptions {
  /** The local folder to keep in sync. */
  localDir: string;
  /** WebDAV client pointing at the remote folder. */
  client: WebDavClient;
  /**
   * Journal and lock folder, outside `localDir` (users of the synced folder must not be able to
   * write the journal). Created 0700; it must be ours and not writable by others.
   */
  stateDir: string;
  /** Host name used in conflict copy names. Default `os.hostname()`. */
  hostname?: string;
  /** Clock for conflict copy names. */
  now?: () => Date;
  /** Extra exclude globs on top of {@link DEFAULT_EXCLUDES}. */
  excludes?: readonly string[];
  /** File with one exclude glob per line. */
  excludeFile?: string;
  /** Transfers in flight. Default 8. */
  concurrency?: number;
  /** Bytes per second for all transfers together (up + down). Default unlimited. */
  bandwidthLimit?: number;
  /** Refuse runs deleting more than `ratio` of the known files (and at least `minFiles`). Default 0.5 / 10. */
  massDelete?: { ratio?: number; minFiles?: number };
  /** Retries of a step after a network error. Default 2. */
  retries?: number;
  /** fsync downloaded files before renaming them into place. Default true. */
  fsync?: boolean;
  /**
   * Uploads larger than this are resumable and sent in pieces of this size: ownCloud chunked
   * upload where offered, else range PUTs to a hidden temp file that is then MOVEd into place.
   * Default 10 MiB (as the ownCloud desktop client).
   */
  chunkSize?: number;
}

/** Options of one run. */
export interface SyncRunOptions {
  /** Plan only; change nothing (the journal included). */
  dryRun?: boolean;
  /** Allow a run that the mass-delete guard would refuse. */
  allowMassDelete?: boolean;
  onEvent?: (event: SyncEvent) => void;
}

/** Progress events of a run. */
export type SyncEvent =
  | { type: 'discovered'; local: number; remote: number; remoteRequests: number; prunedDirs: number }
  | { type: 'planned'; actions: number }
  | { type: 'done'; action: SyncAction['kind']; path: string }
  | { type: 'bytes'; path: string; direction: 'up' | 'down'; transferred: number; total: number }
  | { type: 'error'; path: string; code: SyncErrorCode; message: string };

/** A conflict: both versions kept, the local one under `copy`. */
export interface SyncConflict {
  path: string;
  copy: string;
}

/** What a run did (or, with `dryRun`, would do). */
export interface SyncReport {
  dryRun: boolean;
  server: ServerInfo;
  /** Planned steps in plan order. */
  planned: { kind: SyncAction['kind']; path: string }[];
  /**
   * Dry run only: the mass-delete guard would stop a real run (it deletes `files` of `known`
   * files); the deletions are in `planned`.
   */
  massDelete?: { files: number; known: number };
  uploaded: number;
  downloaded: number;
  deletedLocal: number;
  deletedRemote: number;
  moved: number;
  conflicts: SyncConflict[];
  errors: { path: string; code: SyncErrorCode; message: string }[];
  bytesUp: number;
  bytesDown: number;
  remoteRequests: number;
  prunedDirs: number;
  durationMs: number;
}

/** A configured two-way sync of one folder. */
export interface SyncEngine {
  /**
   * Runs one sync. Step failures are reported in `errors` (the next run picks them up).
   * @throws {SyncError} `SYNC_LOCKED`, `SYNC_MASS_DELETE` (not in a dry run), `SYNC_UNTRUSTED_FILE`
   *   (state folder), discovery errors (`DAV_*` including `DAV_UNSAFE_HREF`, `SYNC_LOCAL_IO`)
   */
  run(options?: SyncRunOptions): Promise<SyncReport>;
}

const SMALL_FILE = 256 * 1024;
const CHUNK_SIZE = 10 * 1024 * 1024;
const RACY_MS = 50;
const isUnder = (p: string, dir: string): boolean => dir === '' || p === dir || p.startsWith(`${dir}/`);
const depth = (p: string): number => p.split('/').length;
const parentOf = (p: string): string => p.slice(0, Math.max(0, p.lastIndexOf('/')));
const partName = (path: string, etag: string | undefined): string =>
  `.~sync-${createHash('sha1')
    .update(`${path}\0${etag ?? ''}`)
    .digest('hex')
    .slice(0, 20)}.part`;
/** `If-Match` for a change, `If-None-Match: *` for a new file, nothing for a re-sent one. */
const conditionOf = (ifMatch: string | undefined, create: boolean): { ifMatch?: string; ifNoneMatch?: '*' } =>
  ifMatch ? { ifMatch } : create ? { ifNoneMatch: '*' } : {};
const sha1 = (buf: Buffer): string => createHash('sha1').update(buf).digest('hex');
const toLocal = (path: string, st: Stats): LocalEntry => ({
  path,
  isDir: st.isDirectory(),
  size: st.isDirectory() ? 0 : st.size,
  mtimeMs: st.mtimeMs,
  inode: st.ino,
});
const sameStat = (a: LocalEntry, st: Stats): boolean =>
  st.size === a.size && st.mtimeMs === a.mtimeMs && st.ino === a.inode;

/**
 * Creates a sync engine for one local folder and one remote folder.
 *
 * @example
 * const client = createWebDavClient({ url, auth: { type: 'basic', username, password } });
 * const engine = createSyncEngine({ localDir: '/srv/branch', stateDir: '/var/lib/invis/sync/branch', client });
 * const report = await engine.run({ onEvent: (e) => console.log(e) });
 * @throws {SyncError} `SYNC_INVALID_OPTIONS` when `stateDir` is missing or inside `localDir`
 */
export function createSyncEngine(options: SyncEngineOptions): SyncEngine {
  const { localDir, client, stateDir } = options;
  if (!stateDir) throw new SyncError('SYNC_INVALID_OPTIONS', 'stateDir is required (a folder outside localDir)');
  const inside = relative(resolve(localDir), resolve(stateDir));
  if (inside === '' || (!inside.startsWith('..') && !isAbsolute(inside))) {
    throw new SyncError('SYNC_INVALID_OPTIONS', `stateDir ${stateDir} must lie outside the synced folder ${localDir}`);
  }
  const tree = localTree(localDir);
  const host = (options.hostname ?? osHostname()).replace(/[/\\]/g, '_');
  const now = options.now ?? (() => new Date());
  const concurrency = options.concurrency ?? 8;
  const retries = options.retries ?? 2;
  const doFsync = options.fsync ?? true;
  const chunkSize = options.chunkSize ?? CHUNK_SIZE;
  let server: ServerInfo | undefined;
  let infinityRefused = false;
  const rangePut: { supported?: boolean } = {};

  async function excludeMatcher(): Promise<ReturnType<typeof createExcludeMatcher>> {
    const extra = options.excludeFile
      ? parseExcludeFile(
          await readFile(options.excludeFile, 'utf8').catch((error: unknown) => {
            throw toSyncError(error, 'SYNC_INVALID_OPTIONS', { path: options.excludeFile as string });
          }),
        )
      : [];
    return createExcludeMatcher([...DEFAULT_EXCLUDES, ...(options.excludes ?? []), ...extra]);
  }

  return {
    async run(runOptions = {}) {
      const started = performance.now();
      await ensurePrivateDir(stateDir);
      const release = await acquireLock(join(stateDir, 'lock'), host);
      const journal = openJournal(join(stateDir, 'journal.db'));
      let opened: PlanStore | undefined;
      try {
        // Discovery goes into a temporary database, not into maps: memory does not grow with the tree.
        const store = openPlanStore();
        opened = store;
        server ??= await client.detect();
        const excluded = await excludeMatcher();
        let root: JournalEntry | undefined;
        for (const e of journal.entries()) {
          if (e.path === '') root = e;
          else store.addJournal(e);
        }
        // Remote first: its requests are in flight while the (mostly synchronous) local walk runs.
        const remotePromise = scanRemoteInto(
          {
            client,
            excluded,
            prune: server.recursiveDirEtags,
            tryInfinity: !server.recursiveDirEtags && !infinityRefused,
          },
          {
            add: (e) => store.addRemote(e),
            known: (path) => (path === '' ? root : store.journalEntry(path)),
            copyKnown: (dir) => store.copyJournalTree(dir),
          },
        );
        const [, remoteScan] = await Promise.all([
          walkLocal(localDir, excluded, (e) => store.addLocal(e)),
          remotePromise,
        ]);
        if (!server.recursiveDirEtags && !remoteScan.stats.depthInfinity) infinityRefused = true;
        const emit = runOptions.onEvent ?? (() => undefined);
        const counts = store.counts();
        emit({
          type: 'discovered',
          local: counts.local,
          remote: counts.remote,
          remoteRequests: remoteScan.stats.requests,
          prunedDirs: remoteScan.stats.prunedDirs,
        });
        await settleRacy(store, tree, journal);
        const plan = store.reconcile();
        const pending = journal.loadPending();
        markInterruptedUploads(plan.actions, pending);
        emit({ type: 'planned', actions: plan.actions.length });
        const ratio = options.massDelete?.ratio ?? 0.5;
        const minFiles = options.massDelete?.minFiles ?? 10;
        const massDelete =
          !runOptions.allowMassDelete && plan.deletedFiles >= minFiles && plan.deletedFiles > ratio * plan.knownFiles;
        // A dry run shows what would be deleted; only a real run stops here.
        if (massDelete && !runOptions.dryRun) {
          throw new SyncError(
            'SYNC_MASS_DELETE',
            `refusing to delete ${plan.deletedFiles} of ${plan.knownFiles} files; run with --allow-mass-delete if intended`,
          );
        }
        const report: SyncReport = {
          dryRun: runOptions.dryRun === true,
          server,
          planned: plan.actions.map((a) => ({ kind: a.kind, path: a.path })),
          uploaded: 0,
          downloaded: 0,
          deletedLocal: 0,
          deletedRemote: 0,
          moved: 0,
          conflicts: [],
          errors: [],
          bytesUp: 0,
          bytesDown: 0,
          remoteRequests: remoteScan.stats.requests,
          prunedDirs: remoteScan.stats.prunedDirs,
          durationMs: 0,
        };
        if (massDelete) report.massDelete = { files: plan.deletedFiles, known: plan.knownFiles };
        if (!runOptions.dryRun) {
          const executor = createExecutor({
            localDir,
            tree,
            client,
            journal,
            taken: (p) => store.hasLocal(p) || store.hasRemote(p),
            report,
            emit,
            host,
            now,
            concurrency,
            retries,
            fsync: doFsync,
            server,
            pending,
            chunkSize,
            rangePut,
            ...(options.bandwidthLimit ? { limiter: createRateLimiter(options.bandwidthLimit) } : {}),
          });
          const { remoteChanged } = await executor.execute(plan.actions);
          if (report.errors.length === 0 && !remoteChanged && remoteScan.rootEtag !== undefined) {
            journal.put({
              path: '',
              isDir: true,
              size: 0,
              mtimeMs: 0,
              inode: 0,
              remoteSize: 0,
              etag: remoteScan.rootEtag,
            });
          }
          journal.flush();
        }
        report.durationMs = performance.now() - started;
        return report;
      } catch (error) {
        // The temporary database fails as the journal does (say, a full temp dir): local I/O.
        if ((error as { code?: string }).code === 'ERR_SQLITE_ERROR') throw toSyncError(error, 'SYNC_LOCAL_IO');
        throw error;
      } finally {
        opened?.close();
        journal.close();
        await release();
      }
    },
  };
}

interface ExecutorContext {
  localDir: string;
  tree: LocalTree;
  client: WebDavClient;
  journal: Journal;
  /** Whether a path exists on either side (as discovered), for conflict copy names. */
  taken: (path: string) => boolean;
  report: SyncReport;
  emit: (e: SyncEvent) => void;
  host: string;
  now: () => Date;
  concurrency: number;
  retries: number;
  fsync: boolean;
  server: ServerInfo;
  /** Uploads an interrupted run left pending (local stat then): their partial uploads are resumed. */
  pending: ReadonlyMap<string, { size: number; mtimeMs: number; inode: number }>;
  chunkSize: number;
  /** Whether the server honours `Content-Range` on PUT; probed once per engine. */
  rangePut: { supported?: boolean };
  limiter?: RateLimiter;
}

function createExecutor(ctx: ExecutorContext): { execute(actions: SyncAction[]): Promise<{ remoteChanged: boolean }> } {
  const { client, journal, report, emit, tree } = ctx;
  const abs = tree.abs;
  const errorPaths: string[] = [];
  const deferredDirs: JournalEntry[] = [];
  const missingEtags: { path: string; size: number }[] = [];
  const touchedDirs = new Set<string>();
  const sem = createSemaphore(ctx.concurrency);

  const put = (
    path: string,
    l: LocalEntry,
    r: { etag?: string; size: number; mtimeMs?: number; fileId?: string; racyHash?: string },
  ): void => {
    const e = journalEntry(
      { path, isDir: l.isDir, size: l.size, mtimeMs: l.mtimeMs, inode: l.inode, remoteSize: r.size },
      { etag: r.etag, remoteMtimeMs: r.mtimeMs, fileId: r.fileId, racyHash: r.racyHash },
    );
    if (l.isDir) deferredDirs.push(e);
    else journal.put(e);
  };

  const networkFailed = new Set<string>();
  const fail = (path: string, error: unknown): void => {
    const e = toSyncError(error, 'SYNC_LOCAL_IO', { path });
    if (e.code === 'DAV_NETWORK') networkFailed.add(path);
    errorPaths.push(path);
    report.errors.push({ path, code: e.code, message: e.message });
    emit({ type: 'error', path, code: e.code, message: e.message });
  };

  async function retry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (error) {
        if (attempt >= ctx.retries || (error as SyncError).code !== 'DAV_NETWORK') throw error;
        await new Promise((r) => setTimeout(r, 250 * 2 ** attempt));
      }
    }
  }

  async function step(a: SyncAction, fn: () => Promise<void>): Promise<boolean> {
    try {
      await retry(fn);
      emit({ type: 'done', action: a.kind, path: a.path });
      return true;
    } catch (error) {
      fail(a.path, error);
      return false;
    }
  }

  /** Downloads into a part file next to the target (resuming a previous partial download). */
  async function fetchPart(path: string, r: RemoteEntry): Promise<{ part: string; etag?: string; size: number }> {
    const dir = parentOf(path);
    const partRel = `${dir === '' ? '' : `${dir}/`}${partName(path, r.etag)}`;
    const part = abs(partRel);
    const existing =
      r.etag === undefined
        ? 0
        : await lstat(part).then(
            (s) => s.size,
            () => 0,
          );
    return client.get(path, existing > 0 && r.etag ? { offset: existing, ifRange: r.etag } : {}, async (reply) => {
      const offset = reply.status === 206 ? existing : 0;
      const fh = await tree.openPart(partRel, reply.status === 206);
      let size = offset;
      try {
        for await (const chunk of reply.body as AsyncIterable<Buffer>) {
          if (ctx.limiter) await ctx.limiter.take(chunk.length);
          await fh.write(chunk);
          size += chunk.length;
          report.bytesDown += chunk.length;
          emit({ type: 'bytes', path, direction: 'down', transferred: size, total: reply.totalSize ?? r.size });
        }
        // Keep the server's mtime (as sync clients do); it also keeps the file out of the racy window.
        if (r.mtimeMs !== undefined) await fh.utimes(new Date(), new Date(r.mtimeMs));
        if (ctx.fsync) await fh.sync();
      } finally {
        await fh.close();
      }
      touchedDirs.add(dirname(part));
      const out: { part: string; etag?: string; size: number } = { part, size };
      const etag = reply.etag ?? r.etag;
      if (etag !== undefined) out.etag = etag;
      return out;
    });
  }

  async function install(path: string, r: RemoteEntry, expected: LocalEntry | undefined): Promise<void> {
    const got = await fetchPart(path, r);
    const target = abs(path);
    await tree.parents(path);
    const current = await lstat(target).catch(() => undefined);
    if (expected ? !current || !sameStat(expected, current) : current) {
      await unlink(got.part).catch(() => undefined);
      throw new SyncError(
        'SYNC_CHANGED_DURING_SYNC',
        `${path} changed locally during the sync; kept, retried next run`,
        {
          path,
        },
      );
    }
    if (expected) await rename(got.part, target);
    else {
      // link() never replaces: a file created meanwhile under this name survives.
      await link(got.part, target);
      await unlink(got.part);
    }
    put(path, toLocal(path, await lstat(target)), { ...r, size: got.size, ...(got.etag ? { etag: got.etag } : {}) });
    report.downloaded++;
  }

  /**
   * Streams bytes `start` to `end` of the local file `path` of `size` bytes (bandwidth-limited,
   * counted); the file must still be the one with `inode`.
   */
  function uploadBody(path: string, size: number, inode: number, start = 0, end = size): Readable {
    const { limiter } = ctx;
    return Readable.from(
      (async function* () {
        const { fh, stat } = await tree.openRead(path);
        try {
          if (stat.ino !== inode) {
            throw new SyncError('SYNC_CHANGED_DURING_SYNC', `${path} was replaced during upload`, { path });
          }
          for (let pos = start; pos < end; ) {
            const buf = Buffer.allocUnsafe(Math.min(SMALL_FILE, end - pos));
            const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
            if (bytesRead === 0)
              throw new SyncError('SYNC_CHANGED_DURING_SYNC', `${path} shrank during upload`, { path });
            if (limiter) await limiter.take(bytesRead);
            pos += bytesRead;
            report.bytesUp += bytesRead;
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
   * Runs a request with `If-Match`. Apache answers 412 for weak ETags (files changed in the last
   * second) even when nothing changed, so a 412 is re-checked and retried without the condition
   * only when the current ETag still is the expected one.
   */
  async function guarded<T>(
    path: string,
    etag: string | undefined,
    send: (ifMatch?: string) => Promise<T>,
  ): Promise<T> {
    try {
      return await send(etag);
    } catch (error) {
      if (etag === undefined || (error as SyncError).code !== 'DAV_PRECONDITION_FAILED') throw error;
      const [current] = await client.propfind(path, 0).catch(() => []);
      if (current?.etag !== etag) throw error;
      return send();
    }
  }

  async function upload(path: string, opts: { ifMatch?: string; create: boolean }): Promise<void> {
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
      if (ctx.limiter) await ctx.limiter.take(size);
      report.bytesUp += size;
      body = () => buf;
    } else body = () => uploadBody(path, size, before.inode);
    const res =
      size > ctx.chunkSize
        ? await uploadResumable(path, before, opts)
        : await guarded(path, opts.ifMatch, (ifMatch) =>
            client.put(path, body(), { size, mtimeMs: before.mtimeMs, ...conditionOf(ifMatch, opts.create) }),
          );
    // Recorded with the stat from before the upload: a change during it shows up next run. A
    // write in the same timestamp tick as that stat would be invisible ("racy", as in git): small
    // files keep a content hash that the next run compares; large ones are recorded as changed.
    put(
      path,
      { ...before, size, ...(racy && !racyHash ? { mtimeMs: -1 } : {}) },
      {
        size,
        ...(res.etag ? { etag: res.etag } : {}),
        ...(res.fileId ? { fileId: res.fileId } : {}),
        ...(racyHash ? { racyHash } : {}),
      },
    );
    if (!res.etag) missingEtags.push({ path, size });
    report.uploaded++;
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
        guarded(path, opts.ifMatch, (ifMatch) =>
          up.commit({ totalSize: total, mtimeMs: before.mtimeMs, ...conditionOf(ifMatch, opts.create) }),
        ),
        () => up.abort(),
      );
    }
    const dir = parentOf(path);
    const temp = `${dir === '' ? '' : `${dir}/`}.~sync-${id}.part`;
    const sizeOf = async (): Promise<number | undefined> => {
      const [t] = await client.propfind(temp, 0).catch((error: unknown) => {
        if ((error as SyncError).code === 'DAV_NOT_FOUND') return [];
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
          path,
        });
      }
    }
    await refusedDrops(
      guarded(path, opts.ifMatch, (ifMatch) =>
        client.move(temp, path, { overwrite: !opts.create, ...(ifMatch ? { ifMatch } : {}) }),
      ),
      () => client.delete(temp),
    );
    // MOVE replies carry no ETag on plain servers: fixMissingEtags() lists the folder.
    return { mtimeAccepted: false };
  }

  async function conflict(a: Extract<SyncAction, { kind: 'conflict' }>): Promise<void> {
    const got = await fetchPart(a.path, a.remote);
    const target = abs(a.path);
    await tree.parents(a.path);
    if (a.compare === 'prefix' && (await isPrefix(tree, got.part, a.path))) {
      // Our own truncated upload from an interrupted run: send the file again.
      await unlink(got.part);
      await upload(a.path, got.etag ? { ifMatch: got.etag, create: false } : { create: false });
      return;
    }
    if (a.compare === 'equal' && (await sameContent(tree, got.part, a.path))) {
      await unlink(got.part);
      put(a.path, toLocal(a.path, await lstat(target)), {
        ...a.remote,
        size: got.size,
        ...(got.etag ? { etag: got.etag } : {}),
      });
      return;
    }
    const copy = conflictCopyName(a.path, ctx.host, ctx.now(), ctx.taken);
    await rename(target, abs(copy));
    await link(got.part, target);
    await unlink(got.part);
    put(a.path, toLocal(a.path, await lstat(target)), {
      ...a.remote,
      size: got.size,
      ...(got.etag ? { etag: got.etag } : {}),
    });
    report.conflicts.push({ path: a.path, copy });
    report.downloaded++;
    await retry(() => upload(copy, { create: true }));
  }

  const runAll = <T extends SyncAction>(list: T[], fn: (a: T) => Promise<void>): Promise<boolean[]> =>
    Promise.all(list.map((a) => sem.run(() => step(a, () => fn(a)))));

  async function fixMissingEtags(): Promise<void> {
    if (missingEtags.length === 0) return;
    const parents = [...new Set(missingEtags.map((m) => m.path.slice(0, Math.max(0, m.path.lastIndexOf('/')))))];
    const listed = new Map<string, { etag?: string; size: number; mtimeMs?: number }>();
    await Promise.all(
      parents.map(async (dir) => {
        const entries = await client.propfind(dir, 1).catch(() => []);
        for (const e of entries) {
          const v: { etag?: string; size: number; mtimeMs?: number } = { size: e.size };
          if (e.etag !== undefined) v.etag = e.etag;
          if (e.lastModified !== undefined) v.mtimeMs = e.lastModified;
          listed.set(e.path, v);
        }
      }),
    );
    journal.flush();
    for (const m of missingEtags) {
      const l = listed.get(m.path);
      const j = journal.get(m.path);
      // A different size means someone else wrote it meanwhile: keep the ETag unknown so the next run looks.
      if (!l || !j || l.size !== m.size) continue;
      journal.put({ ...j, ...(l.etag ? { etag: l.etag } : {}), ...(l.mtimeMs ? { remoteMtimeMs: l.mtimeMs } : {}) });
    }
  }

  return {
    async execute(actions) {
      const of = <K extends SyncAction['kind']>(...kinds: K[]): Extract<SyncAction, { kind: K }>[] =>
        actions.filter((a): a is Extract<SyncAction, { kind: K }> => (kinds as string[]).includes(a.kind));

      for (const a of of('moveRemote', 'moveLocal')) {
        const ok = await step(a, async () => {
          if (a.kind === 'moveRemote') {
            await client.move(a.from, a.to);
            journal.renameTree(a.from, a.to);
          } else {
            if (await lstat(abs(a.to)).catch(() => undefined)) {
              throw new SyncError('SYNC_CHANGED_DURING_SYNC', `${a.to} appeared locally during the sync`, {
                path: a.to,
              });
            }
            await tree.parents(a.from);
            await tree.parents(a.to);
            await rename(abs(a.from), abs(a.to));
            journal.renameTree(a.from, a.to);
          }
          report.moved++;
        });
        // Later steps were planned on the moved tree; without the move they would be wrong.
        if (!ok) {
          forgetTouchedEtags(actions);
          return { remoteChanged: true };
        }
      }
      journal.flush();

      for (const a of of('typeConflict')) {
        fail(a.path, new SyncError('SYNC_TYPE_CONFLICT', `${a.path} is a file on one side and a folder on the other`));
      }

      for (const a of of('mkdirLocal').sort((x, y) => depth(x.path) - depth(y.path))) {
        await step(a, async () => {
          await tree.mkdir(a.path);
          put(a.path, toLocal(a.path, await lstat(abs(a.path))), a.remote);
        });
      }
      const mkRemote = of('mkdirRemote');
      for (const level of [...new Set(mkRemote.map((a) => depth(a.path)))].sort((x, y) => x - y)) {
        await runAll(
          mkRemote.filter((a) => depth(a.path) === level),
          async (a) => {
            await client.mkcol(a.path);
            put(a.path, toLocal(a.path, await lstat(abs(a.path))), { size: 0 });
          },
        );
      }

      journal.markPending(of('upload').map((a) => a.local));
      await runAll(of('conflict', 'upload', 'download', 'record'), async (a) => {
        if (a.kind === 'conflict') await conflict(a);
        else if (a.kind === 'upload')
          await upload(a.path, a.ifMatch ? { ifMatch: a.ifMatch, create: false } : { create: true });
        else if (a.kind === 'download') await install(a.path, a.remote, a.local);
        else if (a.kind === 'record') put(a.path, a.local, a.remote);
      });
      // Only uploads cut off by a network error stay pending for the next run.
      for (const a of of('upload')) {
        if (!networkFailed.has(a.path)) journal.clearPending(a.path);
      }
      if (ctx.fsync) {
        await Promise.all(
          [...touchedDirs].map(async (d) => {
            const fh = await tree.openDir(d);
            await fh.sync().finally(() => fh.close());
          }),
        );
      }
      await fixMissingEtags();

      await runAll(
        of('deleteLocal').filter((a) => !a.local.isDir),
        async (a) => {
          await tree.parents(a.path);
          const current = await lstat(abs(a.path)).catch(() => undefined);
          if (current && !sameStat(a.local, current)) {
            throw new SyncError('SYNC_CHANGED_DURING_SYNC', `${a.path} changed locally; not deleted`, { path: a.path });
          }
          await unlink(abs(a.path)).catch((e: NodeJS.ErrnoException) => {
            if (e.code !== 'ENOENT') throw e;
          });
          journal.removeTree(a.path);
          report.deletedLocal++;
        },
      );
      for (const a of of('deleteLocal')
        .filter((x) => x.local.isDir)
        .sort((x, y) => depth(y.path) - depth(x.path))) {
        if (errorPaths.some((e) => isUnder(e, a.path))) continue;
        await step(a, async () => {
          await tree.parents(a.path);
          await rmdir(abs(a.path));
          journal.removeTree(a.path);
        });
      }
      await runAll(of('deleteRemote'), async (a) => {
        await guarded(a.path, a.remote.isDir ? undefined : a.remote.etag, (ifMatch) =>
          client.delete(a.path, ifMatch ? { ifMatch } : {}),
        );
        journal.removeTree(a.path);
        report.deletedRemote += a.files;
      });
      for (const a of of('forget')) journal.removeTree(a.path);

      // A directory's ETag is only trusted (for pruning) when everything below it synced.
      for (const d of deferredDirs) {
        if (!errorPaths.some((e) => isUnder(e, d.path))) journal.put(d);
        else {
          const unknownEtag = { ...d };
          delete unknownEtag.etag;
          journal.put(unknownEtag);
        }
      }
      return { remoteChanged: forgetTouchedEtags(actions) };
    },
  };

  /**
   * Folders this run changed on the server (and their ancestors) lose their recorded ETag: it
   * describes the state before our changes, and a server whose ETags hash the contents would
   * show that very ETag again if someone restored that state (A → B → A), hiding the change.
   * Returns whether anything on the server was (or may have been) changed.
   */
  function forgetTouchedEtags(actions: SyncAction[]): boolean {
    const touched = actions.flatMap((a) =>
      a.kind === 'moveRemote'
        ? [a.from, a.to]
        : a.kind === 'upload' || a.kind === 'conflict' || a.kind === 'mkdirRemote' || a.kind === 'deleteRemote'
          ? [a.path]
          : [],
    );
    const dirty = new Set<string>();
    for (const p of touched) {
      for (let d = parentOf(p); !dirty.has(d); d = parentOf(d)) {
        dirty.add(d);
        if (d === '') break;
      }
    }
    for (const d of dirty) journal.forgetEtag(d);
    return touched.length > 0;
  }
}

/**
 * A final MOVE refused by its condition (412) will not be retried with this upload: the next run
 * makes the path a conflict. The uploaded data is dropped then (best effort), not left behind.
 */
async function refusedDrops<T>(move: Promise<T>, drop: () => Promise<void>): Promise<T> {
  try {
    return await move;
  } catch (error) {
    if ((error as SyncError).code === 'DAV_PRECONDITION_FAILED') await drop().catch(() => undefined);
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
    if ((error as SyncError).code === 'DAV_NETWORK') throw error;
    return false;
  } finally {
    await client.delete(probe).catch(() => undefined);
  }
}

/**
 * Resolves racy journal entries (see `JournalEntry.racyHash`): with an unchanged stat the content
 * decides. Equal → the entry is trusted from now on; different → it counts as changed.
 */
async function settleRacy(store: PlanStore, tree: LocalTree, journal: Journal): Promise<void> {
  for (const j of store.racyCandidates()) {
    const content = await readLocal(tree, j.path).catch(() => undefined);
    if (content && sha1(content) === j.racyHash) {
      const trusted = { ...j };
      delete trusted.racyHash;
      store.replaceJournal(trusted);
      journal.put(trusted);
    } else store.replaceJournal({ ...j, mtimeMs: -1 });
  }
}

/**
 * A server may keep a truncated file after an interrupted PUT (rclone writes in place). When the
 * local file is still the one whose upload was pending and the remote one is shorter, the
 * conflict is checked for that: a remote prefix of the local file is re-uploaded, not kept.
 */
function markInterruptedUploads(
  actions: SyncAction[],
  pending: ReadonlyMap<string, { size: number; mtimeMs: number; inode: number }>,
): void {
  for (const a of actions) {
    if (a.kind !== 'conflict') continue;
    const p = pending.get(a.path);
    const l = a.local;
    if (p && l.size === p.size && l.mtimeMs === p.mtimeMs && l.inode === p.inode && a.remote.size < l.size) {
      a.compare = 'prefix';
    }
  }
}

/** The whole content of a local file, read without following a symlink. */
async function readLocal(tree: LocalTree, path: string): Promise<Buffer> {
  const { fh } = await tree.openRead(path);
  try {
    return await fh.readFile();
  } finally {
    await fh.close();
  }
}

/** Whether the part file `part` (absolute, ours) is a prefix of the local file `path`. */
async function isPrefix(tree: LocalTree, part: string, path: string): Promise<boolean> {
  const [head, { fh: whole }] = await Promise.all([readFile(part), tree.openRead(path)]);
  try {
    const buf = Buffer.alloc(head.length);
    const { bytesRead } = await whole.read(buf, 0, buf.length, 0);
    return bytesRead === head.length && buf.equals(head);
  } finally {
    await whole.close();
  }
}

/** Whether the part file `part` (absolute, ours) has the content of the local file `path`. */
async function sameContent(tree: LocalTree, part: string, path: string): Promise<boolean> {
  const hash = async (open: () => Promise<FileHandle>): Promise<string | undefined> => {
    const fh = await open().catch(() => undefined);
    if (!fh) return undefined;
    try {
      const h = createHash('sha256');
      for await (const chunk of fh.createReadStream({ autoClose: false })) h.update(chunk as Buffer);
      return h.digest('hex');
    } finally {
      await fh.close().catch(() => undefined);
    }
  };
  const [x, y] = await Promise.all([hash(() => open(part, 'r')), hash(async () => (await tree.openRead(path)).fh)]);
  return x !== undefined && x === y;
}

// The execution stage of a run: the planned steps in their order (moves → folders → transfers →
// deletes), each one retried on network errors and reported on failure, and what succeeded
// recorded in the journal. The transfers themselves are transfer.ts.
import type { Clock } from '@invis/host';
import type { WebDavClient } from './client';
import { conflictCopyName, type LocalEntry, parentOf, type SyncAction } from './decision';
import { SyncError, syncCodeOf, toSyncError } from './errors';
import { type Journal, type JournalEntry, journalEntry } from './journal';
import { createSemaphore } from './limit';
import type { LocalTree } from './localfs';
import type { SyncEvent, SyncReport } from './report';
import { guarded, type RemoteRecord, sameStat, type Transfer, toLocal } from './transfer';

/** Collaborators and settings of {@link createExecutor}. */
export interface ExecutorContext {
  tree: LocalTree;
  client: WebDavClient;
  transfer: Transfer;
  journal: Journal;
  /** Whether a path exists on either side (as discovered), for conflict copy names. */
  taken: (path: string) => boolean;
  /** The run's report: counters, conflicts and errors are added to it. */
  report: SyncReport;
  emit: (e: SyncEvent) => void;
  /** Host name in conflict copy names. */
  host: string;
  /** Time in conflict copy names. */
  clock: Clock;
  /** Transfers in flight. */
  concurrency: number;
  /** Retries of a step after a network error (after 250 ms, then twice as long each time). */
  retries: number;
}

/** Runs a plan. */
export interface Executor {
  /**
   * Executes `actions` (a plan of the plan store) and records them in the journal (not flushed
   * at the end). Step failures go to `report.errors`; a failed move ends the run early, since
   * later steps were planned on the moved tree.
   * @returns whether anything on the server was (or may have been) changed
   */
  execute(actions: SyncAction[]): Promise<{ remoteChanged: boolean }>;
}

const isUnder = (p: string, dir: string): boolean => dir === '' || p === dir || p.startsWith(`${dir}/`);
const depth = (p: string): number => p.split('/').length;

/**
 * The execution stage of one run.
 *
 * @example
 * const executor = createExecutor({ tree, client, transfer, journal, taken: () => false, report, emit, host: 'branch1', clock: systemClock, concurrency: 8, retries: 2 });
 * await executor.execute(plan.actions);
 * journal.flush();
 */
export function createExecutor(ctx: ExecutorContext): Executor {
  const { client, journal, report, emit, tree, transfer } = ctx;
  const abs = tree.abs;
  const errorPaths: string[] = [];
  const deferredDirs: JournalEntry[] = [];
  const missingEtags: { path: string; size: number }[] = [];
  const sem = createSemaphore(ctx.concurrency);

  const put = (path: string, l: LocalEntry, r: RemoteRecord): void => {
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
        if (attempt >= ctx.retries || syncCodeOf(error) !== 'DAV_NETWORK') throw error;
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

  async function download(path: string, r: Parameters<Transfer['download']>[1], expected?: LocalEntry): Promise<void> {
    const got = await transfer.download(path, r, expected);
    put(path, got.local, got.remote);
    report.downloaded++;
  }

  async function upload(path: string, opts: { ifMatch?: string; create: boolean }): Promise<void> {
    const sent = await transfer.upload(path, opts);
    put(path, sent.local, sent.remote);
    if (sent.etagMissing) missingEtags.push({ path, size: sent.remote.size });
    report.uploaded++;
  }

  async function conflict(a: Extract<SyncAction, { kind: 'conflict' }>): Promise<void> {
    const got = await transfer.fetchPart(a.path, a.remote);
    abs(a.path);
    await tree.parents(a.path);
    if (a.compare === 'prefix' && (await tree.isPrefix(got.part, a.path))) {
      // Our own truncated upload from an interrupted run: send the file again.
      await tree.unlink(got.part);
      await upload(a.path, got.etag ? { ifMatch: got.etag, create: false } : { create: false });
      return;
    }
    const remote = { ...a.remote, size: got.size, ...(got.etag ? { etag: got.etag } : {}) };
    if (a.compare === 'equal' && (await tree.sameContent(got.part, a.path))) {
      await tree.unlink(got.part);
      put(a.path, toLocal(a.path, await tree.lstat(a.path)), remote);
      return;
    }
    const copy = conflictCopyName(a.path, ctx.host, ctx.clock.now(), ctx.taken);
    await tree.rename(a.path, copy);
    await tree.link(got.part, a.path);
    await tree.unlink(got.part);
    put(a.path, toLocal(a.path, await tree.lstat(a.path)), remote);
    report.conflicts.push({ path: a.path, copy });
    report.downloaded++;
    await retry(() => upload(copy, { create: true }));
  }

  const runAll = <T extends SyncAction>(list: T[], fn: (a: T) => Promise<void>): Promise<boolean[]> =>
    Promise.all(list.map((a) => sem.run(() => step(a, () => fn(a)))));

  /** Uploads whose reply carried no ETag (plain servers after MOVE): their folders are listed once. */
  async function fixMissingEtags(): Promise<void> {
    if (missingEtags.length === 0) return;
    const parents = [...new Set(missingEtags.map((m) => parentOf(m.path)))];
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
            if (await tree.lstatIfAny(a.to)) {
              throw new SyncError('SYNC_CHANGED_DURING_SYNC', `${a.to} appeared locally during the sync`, {
                details: { path: a.to },
              });
            }
            await tree.parents(a.from);
            await tree.parents(a.to);
            await tree.rename(a.from, a.to);
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
          put(a.path, toLocal(a.path, await tree.lstat(a.path)), a.remote);
        });
      }
      const mkRemote = of('mkdirRemote');
      for (const level of [...new Set(mkRemote.map((a) => depth(a.path)))].sort((x, y) => x - y)) {
        await runAll(
          mkRemote.filter((a) => depth(a.path) === level),
          async (a) => {
            await client.mkcol(a.path);
            put(a.path, toLocal(a.path, await tree.lstat(a.path)), { size: 0 });
          },
        );
      }

      journal.markPending(of('upload').map((a) => a.local));
      await runAll(of('conflict', 'upload', 'download', 'record'), async (a) => {
        if (a.kind === 'conflict') await conflict(a);
        else if (a.kind === 'upload')
          await upload(a.path, a.ifMatch ? { ifMatch: a.ifMatch, create: false } : { create: true });
        else if (a.kind === 'download') await download(a.path, a.remote, a.local);
        else if (a.kind === 'record') put(a.path, a.local, a.remote);
      });
      // Only uploads cut off by a network error stay pending for the next run.
      for (const a of of('upload')) {
        if (!networkFailed.has(a.path)) journal.clearPending(a.path);
      }
      await transfer.syncTouchedDirs();
      await fixMissingEtags();

      await runAll(
        of('deleteLocal').filter((a) => !a.local.isDir),
        async (a) => {
          await tree.parents(a.path);
          const current = await tree.lstatIfAny(a.path);
          if (current && !sameStat(a.local, current)) {
            throw new SyncError('SYNC_CHANGED_DURING_SYNC', `${a.path} changed locally; not deleted`, {
              details: { path: a.path },
            });
          }
          await tree.unlink(a.path, true);
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
          await tree.rmdir(a.path);
          journal.removeTree(a.path);
        });
      }
      await runAll(of('deleteRemote'), async (a) => {
        await guarded(client, a.path, a.remote.isDir ? undefined : a.remote.etag, (ifMatch) =>
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
}

// The sync engine, orchestration: lock → discovery → plan → mass-delete guard → execution →
// journal commit. The stages are their own modules: discovery.ts, reconcile.ts (plan store) with
// decision.ts (the decision table), executor.ts and transfer.ts.
import { hostname as osHostname } from 'node:os';
import { isAbsolute, join, relative, resolve } from 'node:path';
import { type Clock, createNodeFs, systemClock } from '@invis/host';
import type { ServerInfo, WebDavClient } from './client';
import type { SyncAction } from './decision';
import { scanRemoteInto, walkLocal } from './discovery';
import { SyncError, toSyncError } from './errors';
import { createExcludeMatcher, DEFAULT_EXCLUDES, parseExcludeFile } from './exclude';
import { createExecutor } from './executor';
import { type Journal, openJournal } from './journal';
import { createRateLimiter } from './limit';
import { type LocalTree, localTree } from './localfs';
import { acquireLock } from './lock';
import type { DavResource } from './multistatus';
import { openPlanStore, type PlanStore } from './reconcile';
import type { SyncEvent, SyncReport } from './report';
import { createTransfer, sha1 } from './transfer';
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
  /** Clock for conflict copy names and the lock's start time. Default {@link systemClock}. */
  clock?: Clock;
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
  /**
   * The caller knows that nothing changed in the local tree since this engine's previous run
   * began (a watcher saw no change, see {@link watchLocalTree}). When that run ended without
   * errors, left no upload pending and the server's tree is unchanged too (its base collection
   * still has the ETag that run recorded: one `Depth: 0` request), the run ends there, without
   * walking the local tree (`localSkipped` in the report). Otherwise it is a full run. Only for
   * servers with recursive folder ETags (ownCloud); a plain WebDAV server always gets a full run.
   */
  localUnchanged?: boolean;
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

const CHUNK_SIZE = 10 * 1024 * 1024;
const hostFs = createNodeFs();

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
  const clock = options.clock ?? systemClock;
  const concurrency = options.concurrency ?? 8;
  const retries = options.retries ?? 2;
  const doFsync = options.fsync ?? true;
  const chunkSize = options.chunkSize ?? CHUNK_SIZE;
  let server: ServerInfo | undefined;
  let infinityRefused = false;
  /** This engine's previous run ended without errors and thrown failures (a quiet run may follow it). */
  let lastRunClean = false;
  const rangePut: { supported?: boolean } = {};

  async function excludeMatcher(): Promise<ReturnType<typeof createExcludeMatcher>> {
    const extra = options.excludeFile
      ? parseExcludeFile(
          await hostFs.readFile(options.excludeFile).catch((error: unknown) => {
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
      const release = await acquireLock(join(stateDir, 'lock'), host, clock);
      const journalFile = join(stateDir, 'journal.db');
      const journal = openJournal(journalFile);
      let opened: PlanStore | undefined;
      const wasClean = lastRunClean;
      lastRunClean = false;
      try {
        const root = journal.get('');
        let firstListing: Promise<DavResource[]> | undefined;
        if (
          runOptions.localUnchanged &&
          wasClean &&
          server?.recursiveDirEtags &&
          root?.etag !== undefined &&
          journal.loadPending().size === 0
        ) {
          firstListing = client.propfind('', 0);
          const [self] = await firstListing;
          if (self?.etag === root.etag) {
            lastRunClean = true;
            const quiet = emptyReport(server, runOptions.dryRun === true, { requests: 1, prunedDirs: 1 });
            quiet.localSkipped = true;
            quiet.durationMs = performance.now() - started;
            return quiet;
          }
        }
        // Discovery goes into a temporary database, not into maps: memory does not grow with the tree.
        const store = openPlanStore();
        opened = store;
        const excluded = await excludeMatcher();
        store.loadJournal(journalFile);
        // Remote first: the server's detection and listing requests are in flight while the
        // (mostly synchronous) local walk runs; the walk does not depend on the server.
        // A fresh engine does not know the server yet: the base collection's Depth 0 listing, the
        // first request of a pruned scan, is sent alongside the detection (an ownCloud server's
        // unchanged tree then costs one round trip). A plain server does not use it; its failure
        // then does not matter, else it fails the scan where it is awaited.
        const speculative =
          firstListing ?? (server === undefined && root?.etag !== undefined ? client.propfind('', 0) : undefined);
        speculative?.catch(() => undefined);
        let remoteDone = false;
        const remotePromise = (async () => {
          const info = server ?? (await client.detect());
          server = info;
          const scan = await scanRemoteInto(
            {
              client,
              excluded,
              prune: info.recursiveDirEtags,
              tryInfinity: !info.recursiveDirEtags && !infinityRefused,
              ...(speculative && info.recursiveDirEtags ? { rootListing: speculative } : {}),
            },
            {
              add: (e) => store.addRemote(e),
              known: (path) => (path === '' ? root : store.journalEntry(path)),
              copyKnown: (dir) => store.copyJournalTree(dir),
            },
          );
          return { info, scan };
        })().finally(() => {
          remoteDone = true;
        });
        // Both settle before the store is closed (a failing side must not leave the other writing to it).
        const [walked, scanned] = await Promise.allSettled([
          // Still waiting for the server after the walk: compare the local tree with the journal
          // meanwhile, the plan of a run whose remote tree is unchanged.
          walkLocal(localDir, excluded, (e) => store.addLocal(e)).then(() => {
            if (!remoteDone) store.compareLocal();
          }),
          remotePromise,
        ]);
        if (scanned.status === 'rejected') throw scanned.reason;
        if (walked.status === 'rejected') throw walked.reason;
        const { info, scan: remoteScan } = scanned.value;
        // A speculative listing a plain server had no use for was still a request.
        if (speculative && !info.recursiveDirEtags) remoteScan.stats.requests++;
        if (!info.recursiveDirEtags && !remoteScan.stats.depthInfinity) infinityRefused = true;
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
        const report = emptyReport(info, runOptions.dryRun === true, remoteScan.stats);
        report.planned = plan.actions.map((a) => ({ kind: a.kind, path: a.path }));
        if (massDelete) report.massDelete = { files: plan.deletedFiles, known: plan.knownFiles };
        if (!runOptions.dryRun) {
          const transfer = createTransfer({
            client,
            tree,
            localDir,
            host,
            server: info,
            chunkSize,
            pending,
            rangePut,
            fsync: doFsync,
            progress: report,
            emit,
            ...(options.bandwidthLimit ? { limiter: createRateLimiter(options.bandwidthLimit) } : {}),
          });
          const executor = createExecutor({
            tree,
            client,
            transfer,
            journal,
            taken: (p) => store.hasLocal(p) || store.hasRemote(p),
            report,
            emit,
            host,
            clock,
            concurrency,
            retries,
          });
          const { remoteChanged } = await executor.execute(plan.actions);
          // An unchanged root ETag is not written again: a run that changed nothing writes nothing.
          const rootEtag = remoteScan.rootEtag;
          if (report.errors.length === 0 && !remoteChanged && rootEtag !== undefined && rootEtag !== root?.etag) {
            journal.put({
              path: '',
              isDir: true,
              size: 0,
              mtimeMs: 0,
              inode: 0,
              remoteSize: 0,
              etag: rootEtag,
            });
          }
          journal.flush();
        }
        report.durationMs = performance.now() - started;
        lastRunClean = report.errors.length === 0 && !runOptions.dryRun;
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

/** A report with nothing done yet: no steps, no transfers, no time. */
function emptyReport(server: ServerInfo, dryRun: boolean, scan: { requests: number; prunedDirs: number }): SyncReport {
  return {
    dryRun,
    server,
    planned: [],
    uploaded: 0,
    downloaded: 0,
    deletedLocal: 0,
    deletedRemote: 0,
    moved: 0,
    conflicts: [],
    errors: [],
    bytesUp: 0,
    bytesDown: 0,
    remoteRequests: scan.requests,
    prunedDirs: scan.prunedDirs,
    durationMs: 0,
  };
}

/**
 * Resolves racy journal entries (see `JournalEntry.racyHash`): with an unchanged stat the content
 * decides. Equal → the entry is trusted from now on; different → it counts as changed.
 */
async function settleRacy(store: PlanStore, tree: LocalTree, journal: Journal): Promise<void> {
  for (const j of store.racyCandidates()) {
    const content = await tree.readAll(j.path).catch(() => undefined);
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

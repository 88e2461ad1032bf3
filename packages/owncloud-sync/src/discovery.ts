// Discovery of both trees: local by lstat, remote by PROPFIND (pruned by directory ETags).
import { lstatSync, readdirSync } from 'node:fs';
import type { WebDavClient } from './client';
import type { LocalEntry, RemoteEntry } from './decision';
import { isOwncloudSyncError, toSyncError } from './errors';
import type { ExcludeMatcher } from './exclude';
import type { JournalEntry } from './journal';
import { type DavResource, isSafeSegment } from './multistatus';

/**
 * Walks `root` (symlinks, excluded names and names with `\` are skipped) and returns every file and directory
 * with size, mtime and inode; nothing is read, so an unchanged tree costs only `readdir` + `lstat`.
 *
 * @example
 * const local = await scanLocal('/srv/branch', createExcludeMatcher(DEFAULT_EXCLUDES));
 */
export async function scanLocal(root: string, excluded: ExcludeMatcher): Promise<Map<string, LocalEntry>> {
  const out = new Map<string, LocalEntry>();
  await walkLocal(root, excluded, (e) => out.set(e.path, e));
  return out;
}

/** How long the walk runs before it lets the event loop read the server's answers. */
const WALK_SLICE_MS = 4;

/**
 * {@link scanLocal} handing each entry to `onEntry` instead of collecting them: memory stays that of
 * the largest directory. Synchronous calls are 2–3× faster than the thread-pool ones for many
 * small stats; the walk yields to the event loop every few milliseconds so it never blocks for long
 * (not after every folder: in a tree of thousands of small folders the yields cost more than
 * they let through).
 *
 * @throws {SyncError} `SYNC_LOCAL_IO` when a directory cannot be read
 */
export async function walkLocal(
  root: string,
  excluded: ExcludeMatcher,
  onEntry: (entry: LocalEntry) => void,
): Promise<void> {
  const queue: string[] = [''];
  let slice = performance.now();
  for (let rel = queue.pop(); rel !== undefined; rel = queue.pop()) {
    const abs = rel === '' ? root : `${root}/${rel}`;
    // Names only: every entry is lstat'ed anyway, and its type comes from that (no Dirent per entry).
    let names: string[];
    try {
      names = readdirSync(abs);
    } catch (error) {
      throw toSyncError(error, 'SYNC_LOCAL_IO', { path: rel });
    }
    for (const name of names) {
      // A `\` in a name would come back from the server as an href every run refuses (DAV_UNSAFE_HREF).
      if (!isSafeSegment(name)) continue;
      const st = lstatSync(`${abs}/${name}`, { throwIfNoEntry: false });
      if (!st) continue;
      const isDir = st.isDirectory();
      if (!isDir && !st.isFile()) continue;
      const p = rel === '' ? name : `${rel}/${name}`;
      if (excluded(p, isDir)) continue;
      onEntry({ path: p, isDir, size: isDir ? 0 : st.size, mtimeMs: st.mtimeMs, inode: st.ino });
      if (isDir) queue.push(p);
    }
    if (performance.now() - slice > WALK_SLICE_MS) {
      await new Promise((r) => setImmediate(r));
      slice = performance.now();
    }
  }
}

/** How the remote tree was read, for the report. */
export interface RemoteScanStats {
  requests: number;
  prunedDirs: number;
  depthInfinity: boolean;
}

/** The remote tree, the base collection's own ETag and how it was read. */
export interface RemoteScan {
  entries: Map<string, RemoteEntry>;
  rootEtag?: string;
  stats: RemoteScanStats;
}

/** Options of {@link scanRemote}. */
export interface RemoteScanOptions {
  client: WebDavClient;
  excluded: ExcludeMatcher;
  journal: ReadonlyMap<string, JournalEntry>;
  /** Skip directories whose ETag equals the journal's (only sound when directory ETags are recursive). */
  prune: boolean;
  /** Try one `Depth: infinity` PROPFIND first (falls back to depth 1 on refusal). */
  tryInfinity: boolean;
  /**
   * The base collection's `Depth: 0` listing when it is already in flight (sent alongside the
   * server's detection); with `prune` it stands for the request the scan would send first.
   */
  rootListing?: Promise<DavResource[]>;
}

const toRemote = (r: DavResource): RemoteEntry => {
  const e: RemoteEntry = { path: r.path, isDir: r.isDir, size: r.isDir ? 0 : r.size };
  if (r.etag !== undefined) e.etag = r.etag;
  if (r.lastModified !== undefined) e.mtimeMs = r.lastModified;
  if (r.fileId !== undefined) e.fileId = r.fileId;
  return e;
};

const fromJournal = (j: JournalEntry): RemoteEntry => {
  const e: RemoteEntry = { path: j.path, isDir: j.isDir, size: j.isDir ? 0 : j.remoteSize };
  if (j.etag !== undefined) e.etag = j.etag;
  if (j.remoteMtimeMs !== undefined) e.mtimeMs = j.remoteMtimeMs;
  if (j.fileId !== undefined) e.fileId = j.fileId;
  return e;
};

/** `excluded`, also true below an excluded folder; folder answers are remembered for the scan. */
function underExcluded(excluded: ExcludeMatcher): (path: string, isDir: boolean) => boolean {
  const dirs = new Map<string, boolean>();
  const check = (path: string, isDir: boolean): boolean => {
    const slash = path.lastIndexOf('/');
    if (slash > 0) {
      const parent = path.slice(0, slash);
      let out = dirs.get(parent);
      if (out === undefined) {
        out = check(parent, true);
        dirs.set(parent, out);
      }
      if (out) return true;
    }
    return excluded(path, isDir);
  };
  return check;
}

/**
 * Reads the remote tree. With `prune`, a directory whose ETag is unchanged since the last sync
 * is not listed again: its subtree is taken from the journal.
 *
 * @throws {SyncError} `DAV_*` when a listing fails
 */
export async function scanRemote(options: RemoteScanOptions): Promise<RemoteScan> {
  const { journal } = options;
  const entries = new Map<string, RemoteEntry>();
  let children: Map<string, JournalEntry[]> | undefined;
  const copySubtree = (dir: string): void => {
    for (const j of children?.get(dir) ?? []) {
      entries.set(j.path, fromJournal(j));
      if (j.isDir) copySubtree(j.path);
    }
  };
  const scan = await scanRemoteInto(options, {
    add: (e) => entries.set(e.path, e),
    known: (path) => journal.get(path),
    copyKnown(dir) {
      children ??= childrenOf(journal);
      copySubtree(dir);
    },
  });
  return { entries, ...scan };
}

/** Journal entries by parent path (the base collection itself left out). */
function childrenOf(journal: ReadonlyMap<string, JournalEntry>): Map<string, JournalEntry[]> {
  const children = new Map<string, JournalEntry[]>();
  for (const j of journal.values()) {
    if (j.path === '') continue;
    const parent = j.path.slice(0, Math.max(0, j.path.lastIndexOf('/')));
    const list = children.get(parent) ?? [];
    list.push(j);
    children.set(parent, list);
  }
  return children;
}

/** Where {@link scanRemoteInto} puts what it finds, and the journal it prunes against. */
export interface RemoteSink {
  /** A listed entry (a later one for the same path replaces it). */
  add(entry: RemoteEntry): void;
  /** The journal's entry of a path (`''` is the base collection). */
  known(path: string): JournalEntry | undefined;
  /** Takes the journal's subtree below `dir` (children, recursively through folders) as remote entries. */
  copyKnown(dir: string): void;
}

/**
 * {@link scanRemote} handing the entries to a sink instead of collecting them: a
 * `Depth: infinity` listing is passed on while it is parsed, depth-1 listings one folder at a time.
 *
 * @returns the base collection's ETag and how the tree was read
 * @throws {SyncError} `DAV_*` when a listing fails
 */
export async function scanRemoteInto(
  options: Omit<RemoteScanOptions, 'journal'>,
  sink: RemoteSink,
): Promise<Omit<RemoteScan, 'entries'>> {
  const { client } = options;
  const isExcluded = underExcluded(options.excluded);
  const stats: RemoteScanStats = { requests: 0, prunedDirs: 0, depthInfinity: false };
  if (options.tryInfinity) {
    stats.requests++;
    let root: { etag?: string | undefined } | undefined;
    const listed = await client
      .propfindEach('', 'infinity', (r) => {
        if (r.path === '') root ??= { etag: r.etag };
        else if (!isExcluded(r.path, r.isDir)) sink.add(toRemote(r));
      })
      .then(
        () => true,
        (error: unknown) => {
          if (isOwncloudSyncError(error) && error.details.status === 403) return false;
          throw error;
        },
      );
    if (listed) {
      stats.depthInfinity = true;
      return withRoot(root?.etag, stats);
    }
  }
  let rootEtag: string | undefined;
  const list = async (dir: string): Promise<void> => {
    stats.requests++;
    const entries = await client.propfind(dir, 1);
    const sub: string[] = [];
    for (const r of entries) {
      if (r.path === '') rootEtag = r.etag;
      if (r.path === dir || isExcluded(r.path, r.isDir)) continue;
      sink.add(toRemote(r));
      if (!r.isDir) continue;
      const j = sink.known(r.path);
      if (options.prune && j?.isDir && r.etag !== undefined && j.etag === r.etag) {
        stats.prunedDirs++;
        sink.copyKnown(r.path);
      } else sub.push(r.path);
    }
    await Promise.all(sub.map(list));
  };
  const root = sink.known('');
  if (options.prune && root?.etag !== undefined) {
    stats.requests++;
    const [self] = await (options.rootListing ?? client.propfind('', 0));
    if (self?.etag === root.etag) {
      stats.prunedDirs++;
      sink.copyKnown('');
      return withRoot(root.etag, stats);
    }
  }
  await list('');
  return withRoot(rootEtag, stats);
}

const withRoot = (rootEtag: string | undefined, stats: RemoteScanStats): Omit<RemoteScan, 'entries'> =>
  rootEtag === undefined ? { stats } : { rootEtag, stats };

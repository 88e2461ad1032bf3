// Discovery of both trees: local by lstat, remote by PROPFIND (pruned by directory ETags).
import { type Dirent, lstatSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { WebDavClient } from './client';
import { toSyncError } from './errors';
import type { ExcludeMatcher } from './exclude';
import type { JournalEntry } from './journal';
import type { DavResource } from './multistatus';
import type { LocalEntry, RemoteEntry } from './reconcile';

/**
 * Walks `root` (symlinks and excluded names are skipped) and returns every file and directory
 * with size, mtime and inode; nothing is read, so an unchanged tree costs only `readdir` + `lstat`.
 * Synchronous calls are 2–3× faster than the thread-pool ones for many small stats; the walk
 * yields to the event loop after every directory so it never blocks for long.
 */
export async function scanLocal(root: string, excluded: ExcludeMatcher): Promise<Map<string, LocalEntry>> {
  const out = new Map<string, LocalEntry>();
  const queue: string[] = [''];
  for (let rel = queue.pop(); rel !== undefined; rel = queue.pop()) {
    const abs = rel === '' ? root : join(root, rel);
    let dirents: Dirent[];
    try {
      dirents = readdirSync(abs, { withFileTypes: true });
    } catch (error) {
      throw toSyncError(error, 'SYNC_LOCAL_IO', { path: rel });
    }
    for (const d of dirents) {
      if (!d.isFile() && !d.isDirectory()) continue;
      const p = rel === '' ? d.name : `${rel}/${d.name}`;
      if (excluded(p, d.isDirectory())) continue;
      const st = lstatSync(join(abs, d.name), { throwIfNoEntry: false });
      if (!st || (!st.isFile() && !st.isDirectory())) continue;
      const isDir = st.isDirectory();
      out.set(p, { path: p, isDir, size: isDir ? 0 : st.size, mtimeMs: st.mtimeMs, inode: st.ino });
      if (isDir) queue.push(p);
    }
    await new Promise((r) => setImmediate(r));
  }
  return out;
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
 */
export async function scanRemote(options: RemoteScanOptions): Promise<RemoteScan> {
  const { client, journal } = options;
  const isExcluded = underExcluded(options.excluded);
  const out = new Map<string, RemoteEntry>();
  const stats: RemoteScanStats = { requests: 0, prunedDirs: 0, depthInfinity: false };
  if (options.tryInfinity) {
    stats.requests++;
    const all = await client.propfind('', 'infinity').catch((error: unknown) => {
      if ((error as { data?: { status?: number } }).data?.status === 403) return undefined;
      throw error;
    });
    if (all) {
      stats.depthInfinity = true;
      for (const r of all) if (r.path !== '' && !isExcluded(r.path, r.isDir)) out.set(r.path, toRemote(r));
      return withRoot(out, all.find((r) => r.path === '')?.etag, stats);
    }
  }
  const children = new Map<string, JournalEntry[]>();
  if (options.prune) {
    for (const j of journal.values()) {
      if (j.path === '') continue;
      const parent = j.path.slice(0, Math.max(0, j.path.lastIndexOf('/')));
      const list = children.get(parent) ?? [];
      list.push(j);
      children.set(parent, list);
    }
  }
  const copySubtree = (dir: string): void => {
    for (const j of children.get(dir) ?? []) {
      out.set(j.path, fromJournal(j));
      if (j.isDir) copySubtree(j.path);
    }
  };
  let rootEtag: string | undefined;
  const list = async (dir: string): Promise<void> => {
    stats.requests++;
    const entries = await client.propfind(dir, 1);
    const sub: string[] = [];
    for (const r of entries) {
      if (r.path === '') rootEtag = r.etag;
      if (r.path === dir || isExcluded(r.path, r.isDir)) continue;
      out.set(r.path, toRemote(r));
      if (!r.isDir) continue;
      const j = journal.get(r.path);
      if (options.prune && j?.isDir && r.etag !== undefined && j.etag === r.etag) {
        stats.prunedDirs++;
        copySubtree(r.path);
      } else sub.push(r.path);
    }
    await Promise.all(sub.map(list));
  };
  const root = journal.get('');
  if (options.prune && root?.etag !== undefined) {
    stats.requests++;
    const [self] = await client.propfind('', 0);
    if (self?.etag === root.etag) {
      stats.prunedDirs++;
      copySubtree('');
      return withRoot(out, root.etag, stats);
    }
  }
  await list('');
  return withRoot(out, rootEtag, stats);
}

const withRoot = (
  entries: Map<string, RemoteEntry>,
  rootEtag: string | undefined,
  stats: RemoteScanStats,
): RemoteScan => (rootEtag === undefined ? { entries, stats } : { entries, rootEtag, stats });

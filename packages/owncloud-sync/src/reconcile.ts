// Pure reconciliation: local tree + remote tree + journal → the actions of one sync run.
import type { JournalEntry } from './journal';

/** A local file or directory as discovery saw it. */
export interface LocalEntry {
  path: string;
  isDir: boolean;
  size: number;
  mtimeMs: number;
  inode: number;
}

/** A remote file or directory as discovery saw it. */
export interface RemoteEntry {
  path: string;
  isDir: boolean;
  size: number;
  etag?: string;
  mtimeMs?: number;
  fileId?: string;
}

/** One step of a sync run. `local`/`remote` are the states the step was planned against. */
export type SyncAction =
  | { kind: 'moveRemote'; path: string; from: string; to: string; isDir: boolean }
  | { kind: 'moveLocal'; path: string; from: string; to: string; isDir: boolean }
  | { kind: 'mkdirLocal'; path: string; remote: RemoteEntry }
  | { kind: 'mkdirRemote'; path: string; local: LocalEntry }
  | { kind: 'upload'; path: string; local: LocalEntry; ifMatch?: string }
  | { kind: 'download'; path: string; remote: RemoteEntry; local?: LocalEntry }
  | {
      kind: 'conflict';
      path: string;
      local: LocalEntry;
      remote: RemoteEntry;
      /** `equal`: same size, compare content first (identical → no copy); `prefix`: see the engine. */
      compare: 'none' | 'equal' | 'prefix';
    }
  | { kind: 'deleteLocal'; path: string; local: LocalEntry }
  | { kind: 'deleteRemote'; path: string; remote: RemoteEntry; files: number }
  | { kind: 'record'; path: string; local: LocalEntry; remote: RemoteEntry }
  | { kind: 'forget'; path: string }
  | { kind: 'typeConflict'; path: string };

/** The three views reconciliation works on. The maps are not modified. */
export interface ReconcileInput {
  local: ReadonlyMap<string, LocalEntry>;
  remote: ReadonlyMap<string, RemoteEntry>;
  journal: ReadonlyMap<string, JournalEntry>;
}

/** Actions plus the counts the mass-delete guard needs. */
export interface SyncPlan {
  actions: SyncAction[];
  /** Files that would be deleted on either side. */
  deletedFiles: number;
  /** Files in the journal (the tree size the guard compares against). */
  knownFiles: number;
}

/** True when the local entry differs from what the journal recorded. */
export function localChanged(j: JournalEntry, l: LocalEntry): boolean {
  if (j.isDir !== l.isDir) return true;
  if (l.isDir) return false;
  return j.size !== l.size || j.mtimeMs !== l.mtimeMs || j.inode !== l.inode;
}

/** True when the remote entry differs from what the journal recorded (ETag, else size + mtime). */
export function remoteChanged(j: JournalEntry, r: RemoteEntry): boolean {
  if (j.isDir !== r.isDir) return true;
  if (r.isDir) return r.etag !== undefined && r.etag !== j.etag;
  if (r.etag !== undefined) return r.etag !== j.etag;
  return r.size !== j.remoteSize || r.mtimeMs !== j.remoteMtimeMs;
}

const parentOf = (p: string): string => p.slice(0, Math.max(0, p.lastIndexOf('/')));
const isUnder = (p: string, dir: string): boolean => p === dir || p.startsWith(`${dir}/`);
const rebase = (p: string, from: string, to: string): string => to + p.slice(from.length);

function moveTree<T extends { path: string }>(map: Map<string, T>, from: string, to: string): void {
  for (const [p, v] of [...map]) {
    if (!isUnder(p, from)) continue;
    map.delete(p);
    const np = rebase(p, from, to);
    map.set(np, { ...v, path: np });
  }
}

/**
 * Plans one sync run. Moves are detected first (local: same inode as a vanished journal entry;
 * remote: same `oc:fileid`, or a file ETag that is unique) and applied to the views, then every
 * path is classified: new on one side → copy; changed on one side → copy; changed on both →
 * conflict (both kept); deleted on one side → delete on the other only when that side is
 * unchanged, otherwise the edit wins and is copied back.
 */
export function reconcile(input: ReconcileInput): SyncPlan {
  // Move detection rewrites the views; it can only find something when a known path vanished
  // on one side, so the (large) maps are copied only then.
  const mayMove = [...input.journal.keys()].some((p) => !input.local.has(p) || !input.remote.has(p));
  const local = mayMove ? new Map(input.local) : (input.local as Map<string, LocalEntry>);
  const remote = mayMove ? new Map(input.remote) : (input.remote as Map<string, RemoteEntry>);
  const journal = mayMove ? new Map(input.journal) : (input.journal as Map<string, JournalEntry>);
  const actions: SyncAction[] = [];
  detectLocalMoves(local, remote, journal, actions);
  detectRemoteMoves(local, remote, journal, actions);

  const suspect = ambiguousEtags(journal, remote);
  const all = [...new Set([...local.keys(), ...remote.keys(), ...journal.keys()])].sort();
  const typeClash = all.filter((p) => {
    const l = local.get(p);
    const r = remote.get(p);
    return l !== undefined && r !== undefined && l.isDir !== r.isDir;
  });
  for (const p of typeClash) actions.push({ kind: 'typeConflict', path: p });
  const clashed = (p: string): boolean => typeClash.some((c) => isUnder(p, c));

  // Children first, so a directory knows whether anything below it must survive.
  const needRemote = new Set<string>();
  const needLocal = new Set<string>();
  const mark = (set: Set<string>, p: string): void => {
    for (let d = parentOf(p); d !== '' && !set.has(d); d = parentOf(d)) set.add(d);
  };
  const perPath: SyncAction[] = [];
  for (let i = all.length - 1; i >= 0; i--) {
    const p = all[i] as string;
    if (clashed(p)) continue;
    const a = classify(p, local.get(p), remote.get(p), journal.get(p), needLocal, needRemote, suspect.has(p));
    if (a === undefined) continue;
    perPath.push(a);
    if (a.kind === 'upload' || a.kind === 'mkdirRemote') mark(needRemote, p);
    if (a.kind === 'download' || a.kind === 'mkdirLocal') mark(needLocal, p);
  }
  // A remote directory DELETE is recursive: drop the deletes of what lies below it.
  const remoteDirDeletes = perPath.filter((a) => a.kind === 'deleteRemote' && a.remote.isDir).map((a) => a.path);
  let deletedFiles = 0;
  for (const a of perPath) {
    if (a.kind === 'deleteRemote' && remoteDirDeletes.some((d) => d !== a.path && isUnder(a.path, d))) continue;
    if (a.kind === 'deleteRemote') {
      a.files = a.remote.isDir ? countFiles(remote, a.path) : 1;
      deletedFiles += a.files;
    }
    if (a.kind === 'deleteLocal' && !a.local.isDir) deletedFiles++;
    actions.push(a);
  }
  let knownFiles = 0;
  for (const j of input.journal.values()) if (!j.isDir) knownFiles++;
  return { actions, deletedFiles, knownFiles };
}

/**
 * ETags that only hash mtime and size (Apache, rclone) repeat for files written in the same
 * clock tick with the same size. When such a shared ETag moved between paths (say a rename over
 * a file that carried the same ETag), "ETag unchanged" proves nothing: the paths now carrying it
 * count as changed on the server, so they are downloaded (or kept) instead of trusted.
 */
function ambiguousEtags(
  journal: ReadonlyMap<string, JournalEntry>,
  remote: ReadonlyMap<string, RemoteEntry>,
): Set<string> {
  const group = (entries: Iterable<{ path: string; isDir: boolean; etag?: string }>): Map<string, string[]> => {
    const by = new Map<string, string[]>();
    for (const e of entries) {
      if (e.isDir || e.etag === undefined) continue;
      const list = by.get(e.etag);
      if (list) list.push(e.path);
      else by.set(e.etag, [e.path]);
    }
    return by;
  };
  const before = group(journal.values());
  const after = group(remote.values());
  const out = new Set<string>();
  for (const [etag, paths] of before) {
    if (paths.length < 2) continue;
    const now = after.get(etag) ?? [];
    const same = now.length === paths.length && now.every((p) => paths.includes(p));
    if (!same) for (const p of now) out.add(p);
  }
  return out;
}

function countFiles(remote: ReadonlyMap<string, RemoteEntry>, dir: string): number {
  let n = 0;
  for (const r of remote.values()) if (!r.isDir && isUnder(r.path, dir)) n++;
  return n;
}

function classify(
  p: string,
  l: LocalEntry | undefined,
  r: RemoteEntry | undefined,
  j: JournalEntry | undefined,
  needLocal: ReadonlySet<string>,
  needRemote: ReadonlySet<string>,
  ambiguous: boolean,
): SyncAction | undefined {
  if (!l && !r) return j ? { kind: 'forget', path: p } : undefined;
  if (l && r) {
    if (l.isDir)
      return !j || remoteChanged(j, r) || localChanged(j, l)
        ? { kind: 'record', path: p, local: l, remote: r }
        : undefined;
    const lc = !j || localChanged(j, l);
    const rc = !j || ambiguous || remoteChanged(j, r);
    if (lc && rc)
      return { kind: 'conflict', path: p, local: l, remote: r, compare: l.size === r.size ? 'equal' : 'none' };
    if (lc)
      return j?.etag ? { kind: 'upload', path: p, local: l, ifMatch: j.etag } : { kind: 'upload', path: p, local: l };
    if (rc) return { kind: 'download', path: p, remote: r, local: l };
    return undefined;
  }
  if (l) {
    if (!j || localChanged(j, l)) {
      return l.isDir ? { kind: 'mkdirRemote', path: p, local: l } : { kind: 'upload', path: p, local: l };
    }
    if (l.isDir && needRemote.has(p)) return { kind: 'mkdirRemote', path: p, local: l };
    return { kind: 'deleteLocal', path: p, local: l };
  }
  const rr = r as RemoteEntry;
  // A directory counts as changed only through what lies below it (its ETag may move with its children).
  if (!j || j.isDir !== rr.isDir || (!rr.isDir && (ambiguous || remoteChanged(j, rr)))) {
    return rr.isDir ? { kind: 'mkdirLocal', path: p, remote: rr } : { kind: 'download', path: p, remote: rr };
  }
  if (rr.isDir && needLocal.has(p)) return { kind: 'mkdirLocal', path: p, remote: rr };
  return { kind: 'deleteRemote', path: p, remote: rr, files: 1 };
}

function detectLocalMoves(
  local: Map<string, LocalEntry>,
  remote: Map<string, RemoteEntry>,
  journal: Map<string, JournalEntry>,
  actions: SyncAction[],
): void {
  const vanished = new Map<number, JournalEntry>();
  for (const j of journal.values()) if (!local.has(j.path)) vanished.set(j.inode, j);
  if (vanished.size === 0) return;
  for (const p of [...local.keys()].sort()) {
    const l = local.get(p);
    if (!l || journal.has(p) || remote.has(p)) continue;
    const j = vanished.get(l.inode);
    if (!j || j.isDir !== l.isDir || local.has(j.path)) continue;
    const r = remote.get(j.path);
    if (!r || r.isDir !== j.isDir || (!j.isDir && remoteChanged(j, r))) continue;
    const parent = parentOf(p);
    if (parent !== '' && !remote.get(parent)?.isDir) continue;
    vanished.delete(l.inode);
    actions.push({ kind: 'moveRemote', path: p, from: j.path, to: p, isDir: j.isDir });
    moveTree(journal, j.path, p);
    moveTree(remote, j.path, p);
  }
}

function detectRemoteMoves(
  local: Map<string, LocalEntry>,
  remote: Map<string, RemoteEntry>,
  journal: Map<string, JournalEntry>,
  actions: SyncAction[],
): void {
  const byId = new Map<string, JournalEntry>();
  const byEtag = new Map<string, JournalEntry>();
  const etagUses = new Map<string, number>();
  const count = (e: string | undefined): void => {
    if (e !== undefined) etagUses.set(e, (etagUses.get(e) ?? 0) + 1);
  };
  for (const j of journal.values()) {
    if (remote.has(j.path)) continue;
    if (j.fileId) byId.set(j.fileId, j);
    if (!j.isDir && j.etag) byEtag.set(j.etag, j);
  }
  if (byId.size === 0 && byEtag.size === 0) return;
  for (const r of remote.values()) if (!r.isDir) count(r.etag);
  for (const j of journal.values()) if (!j.isDir) count(j.etag);
  for (const p of [...remote.keys()].sort()) {
    const r = remote.get(p);
    if (!r || journal.has(p) || local.has(p)) continue;
    const j =
      (r.fileId ? byId.get(r.fileId) : undefined) ??
      // Without file ids an ETag identifies a file only if nothing else carries it.
      (!r.isDir && r.etag && etagUses.get(r.etag) === 2 ? byEtag.get(r.etag) : undefined);
    if (!j || j.isDir !== r.isDir || remote.has(j.path)) continue;
    const l = local.get(j.path);
    if (!l || l.isDir !== j.isDir || (!j.isDir && localChanged(j, l))) continue;
    const parent = parentOf(p);
    if (parent !== '' && !local.get(parent)?.isDir) continue;
    if (j.fileId) byId.delete(j.fileId);
    if (j.etag) byEtag.delete(j.etag);
    actions.push({ kind: 'moveLocal', path: p, from: j.path, to: p, isDir: j.isDir });
    moveTree(journal, j.path, p);
    moveTree(local, j.path, p);
  }
}

/**
 * The name of a conflict copy: `name (conflicted copy <host> <YYYY-MM-DD HHMMSS>).ext`, with a
 * counter when that name is `taken`.
 *
 * @example
 * conflictCopyName('a/report.docx', 'branch1', new Date('2026-11-28T18:00:00Z'), () => false);
 * // 'a/report (conflicted copy branch1 2026-11-28 180000).docx'
 */
export function conflictCopyName(path: string, host: string, date: Date, taken: (p: string) => boolean): string {
  const dir = parentOf(path);
  const base = path.slice(dir === '' ? 0 : dir.length + 1);
  const dot = base.lastIndexOf('.');
  const [stem, ext] = dot > 0 ? [base.slice(0, dot), base.slice(dot)] : [base, ''];
  const iso = date.toISOString();
  const stamp = `${iso.slice(0, 10)} ${iso.slice(11, 19).replace(/:/g, '')}`;
  for (let n = 1; ; n++) {
    const name = `${stem} (conflicted copy ${host} ${stamp}${n > 1 ? ` ${n}` : ''})${ext}`;
    const full = dir === '' ? name : `${dir}/${name}`;
    if (!taken(full)) return full;
  }
}

// The decision table of a sync run, pure: what to do with one path given its local, remote and
// journal state. The plan store (reconcile.ts) walks the tables and asks this module per path.
import { type JournalEntry, parentOf } from './journal';

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

/** Actions plus the counts the mass-delete guard needs. */
export interface SyncPlan {
  actions: SyncAction[];
  /** Files that would be deleted on either side. */
  deletedFiles: number;
  /** Files in the journal (the tree size the guard compares against). */
  knownFiles: number;
}

/**
 * Everything {@link decide} looks at for one path. A side is undefined where the path is absent;
 * where both sides have it, they are of one type (a file/folder clash is a `typeConflict` before).
 */
export interface PathState {
  path: string;
  local?: LocalEntry | undefined;
  remote?: RemoteEntry | undefined;
  journal?: JournalEntry | undefined;
  /** The remote ETag also moved between other paths, so "unchanged" proves nothing. */
  ambiguousEtag: boolean;
  /** Something below this local-only folder goes to the server: keep (create) it there. */
  neededRemote: boolean;
  /** Something below this remote-only folder comes down: keep (create) it locally. */
  neededLocal: boolean;
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

/**
 * The step for one path (moves and file/folder clashes are decided before, over the whole
 * tree): new on one side → copy; changed on one side → copy; changed on both → conflict (both
 * kept); deleted on one side → delete on the other only when that side is unchanged, otherwise
 * the edit wins and is copied back; gone on both → forget.
 *
 * @param s the path's three states
 * @returns the step, or undefined when nothing is to be done
 * @example
 * decide({ path: 'a', local: { path: 'a', isDir: false, size: 1, mtimeMs: 1, inode: 7 }, ambiguousEtag: false, neededLocal: false, neededRemote: false });
 * // { kind: 'upload', path: 'a', local: … }
 */
export function decide(s: PathState): SyncAction | undefined {
  const { path: p, local: l, remote: r, journal: j } = s;
  if (!l && !r) return j ? { kind: 'forget', path: p } : undefined;
  if (l && r) {
    if (l.isDir)
      return !j || remoteChanged(j, r) || localChanged(j, l)
        ? { kind: 'record', path: p, local: l, remote: r }
        : undefined;
    const lc = !j || localChanged(j, l);
    const rc = !j || s.ambiguousEtag || remoteChanged(j, r);
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
    if (l.isDir && s.neededRemote) return { kind: 'mkdirRemote', path: p, local: l };
    return { kind: 'deleteLocal', path: p, local: l };
  }
  const rr = r as RemoteEntry;
  // A directory counts as changed only through what lies below it (its ETag may move with its children).
  if (!j || j.isDir !== rr.isDir || (!rr.isDir && (s.ambiguousEtag || remoteChanged(j, rr)))) {
    return rr.isDir ? { kind: 'mkdirLocal', path: p, remote: rr } : { kind: 'download', path: p, remote: rr };
  }
  if (rr.isDir && s.neededLocal) return { kind: 'mkdirLocal', path: p, remote: rr };
  return { kind: 'deleteRemote', path: p, remote: rr, files: 1 };
}

// The parent folder of a relative path (the journal stores it with every entry).
export { parentOf };

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

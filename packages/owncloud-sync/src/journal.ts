// The sync journal: the last state both sides agreed on, in node:sqlite (no native addon).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type SQLInputValue } from 'node:sqlite';
import { toSyncError } from './errors';

/** What both sides looked like after the last successful sync of one path. */
export interface JournalEntry {
  path: string;
  isDir: boolean;
  /** Local stat at sync time (size, mtime in ms, inode). */
  size: number;
  mtimeMs: number;
  inode: number;
  /** Remote ETag at sync time (undefined when the server sent none). */
  etag?: string;
  /** Remote size and mtime, used when the server has no ETags. */
  remoteSize: number;
  remoteMtimeMs?: number;
  fileId?: string;
  /**
   * SHA-1 of the uploaded content when the local mtime was in the same clock tick as our stat
   * ("racy": a write right after it would not change size or mtime); checked by content next run.
   */
  racyHash?: string;
}

/**
 * Builds an entry from its required fields plus the optional ones that are set (`null` from
 * SQLite and `undefined` are left out).
 */
export function journalEntry(
  required: Omit<JournalEntry, 'etag' | 'remoteMtimeMs' | 'fileId' | 'racyHash'>,
  optional: {
    etag?: string | null | undefined;
    remoteMtimeMs?: number | null | undefined;
    fileId?: string | null | undefined;
    racyHash?: string | null | undefined;
  },
): JournalEntry {
  const e: JournalEntry = { ...required };
  if (optional.etag != null) e.etag = optional.etag;
  if (optional.remoteMtimeMs != null) e.remoteMtimeMs = optional.remoteMtimeMs;
  if (optional.fileId != null) e.fileId = optional.fileId;
  if (optional.racyHash != null) e.racyHash = optional.racyHash;
  return e;
}

/** Open journal; writes are buffered and committed in one transaction by `flush()`. */
export interface Journal {
  /** Every entry, keyed by path. */
  load(): Map<string, JournalEntry>;
  /** Every entry, read one at a time (in the order `load()` has them). */
  entries(): IterableIterator<JournalEntry>;
  /** The paths of the folders it knows (`''`, the base collection, when recorded). */
  dirs(): string[];
  /** One entry (as committed; buffered writes are not seen). */
  get(path: string): JournalEntry | undefined;
  put(entry: JournalEntry): void;
  /** Removes a path and everything below it. */
  removeTree(path: string): void;
  /** Drops the remote ETag of one entry, so the next run lists that folder again. */
  forgetEtag(path: string): void;
  /** Moves a path and everything below it to a new prefix. */
  renameTree(from: string, to: string): void;
  /** Uploads that were started but not confirmed (by local stat), from an interrupted run. */
  loadPending(): Map<string, { size: number; mtimeMs: number; inode: number }>;
  /** Records uploads about to start, committed at once so a crash mid-upload is recognisable. */
  markPending(entries: readonly { path: string; size: number; mtimeMs: number; inode: number }[]): void;
  /** Forgets a pending upload (buffered like the other writes). */
  clearPending(path: string): void;
  /** Commits buffered writes. */
  flush(): void;
  close(): void;
}

/** A journal row as SQLite holds it (the plan store keeps the same columns). */
export type JournalRow = {
  path: string;
  is_dir: number;
  size: number;
  mtime: number;
  inode: number;
  etag: string | null;
  rsize: number;
  rmtime: number | null;
  file_id: string | null;
  hash: string | null;
};

/** The columns of {@link JournalRow}, in the order of {@link journalRowValues}. */
export const JOURNAL_COLUMNS = 'path, is_dir, size, mtime, inode, etag, rsize, rmtime, file_id, hash';

/** An entry's column values in {@link JOURNAL_COLUMNS} order. */
export const journalRowValues = (e: JournalEntry): SQLInputValue[] => [
  e.path,
  e.isDir ? 1 : 0,
  e.size,
  e.mtimeMs,
  e.inode,
  e.etag ?? null,
  e.remoteSize,
  e.remoteMtimeMs ?? null,
  e.fileId ?? null,
  e.racyHash ?? null,
];

/** The folder a path lies in (`''` for the top level and the base collection itself). */
export const parentOf = (p: string): string => p.slice(0, Math.max(0, p.lastIndexOf('/')));

/** The entry of a row. */
export const fromJournalRow = (r: JournalRow): JournalEntry =>
  journalEntry(
    { path: r.path, isDir: r.is_dir === 1, size: r.size, mtimeMs: r.mtime, inode: r.inode, remoteSize: r.rsize },
    { etag: r.etag, remoteMtimeMs: r.rmtime, fileId: r.file_id, racyHash: r.hash },
  );

/**
 * Opens (and creates) the journal database at `file`.
 *
 * @throws {SyncError} `SYNC_LOCAL_IO` when the file cannot be opened
 */
export function openJournal(file: string): Journal {
  let db: DatabaseSync;
  try {
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    db = new DatabaseSync(file);
    db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
CREATE TABLE IF NOT EXISTS entries (path TEXT PRIMARY KEY, is_dir INTEGER NOT NULL, size INTEGER NOT NULL,
  mtime REAL NOT NULL, inode INTEGER NOT NULL, etag TEXT, rsize INTEGER NOT NULL, rmtime REAL, file_id TEXT, hash TEXT,
  parent TEXT);
CREATE TABLE IF NOT EXISTS pending (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime REAL NOT NULL, inode INTEGER NOT NULL)`);
    // Journals of earlier releases have no parent column: it is added and filled once.
    const columns = db.prepare('PRAGMA table_info(entries)').all() as { name: string }[];
    if (!columns.some((c) => c.name === 'parent')) {
      db.exec(`BEGIN; ALTER TABLE entries ADD COLUMN parent TEXT;
        UPDATE entries SET parent = rtrim(rtrim(path, replace(path, '/', '')), '/'); COMMIT`);
    }
    // The run's plan store reads the journal where it is: by parent (pruned subtrees) and ETag (moves).
    db.exec(`CREATE INDEX IF NOT EXISTS entries_parent ON entries (parent);
      CREATE INDEX IF NOT EXISTS entries_etag ON entries (etag)`);
  } catch (error) {
    throw toSyncError(error, 'SYNC_LOCAL_IO', { path: file });
  }
  const upsert = db.prepare(
    `INSERT OR REPLACE INTO entries (${JOURNAL_COLUMNS}, parent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  const del = db.prepare("DELETE FROM entries WHERE path = ? OR substr(path, 1, length(?) + 1) = ? || '/'");
  const ren = db.prepare(
    `UPDATE entries SET path = :to || substr(path, length(:from) + 1),
       parent = CASE WHEN path = :from THEN :toParent ELSE :to || substr(parent, length(:from) + 1) END
     WHERE path = :from OR substr(path, 1, length(:from) + 1) = :from || '/'`,
  );
  const getOne = db.prepare('SELECT * FROM entries WHERE path = ?');
  const noEtag = db.prepare('UPDATE entries SET etag = NULL WHERE path = ?');
  const addPending = db.prepare('INSERT OR REPLACE INTO pending (path, size, mtime, inode) VALUES (?, ?, ?, ?)');
  const delPending = db.prepare('DELETE FROM pending WHERE path = ?');
  const pending: (() => void)[] = [];
  function* entries(): IterableIterator<JournalEntry> {
    for (const r of db.prepare('SELECT * FROM entries').iterate() as Iterable<JournalRow>) yield fromJournalRow(r);
  }
  const transaction = (ops: (() => void)[]): void => {
    db.exec('BEGIN');
    try {
      for (const op of ops) op();
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw toSyncError(error, 'SYNC_LOCAL_IO', { path: file });
    }
  };
  return {
    dirs() {
      return (db.prepare('SELECT path FROM entries WHERE is_dir = 1').all() as { path: string }[]).map((r) => r.path);
    },
    load() {
      const map = new Map<string, JournalEntry>();
      for (const e of entries()) map.set(e.path, e);
      return map;
    },
    entries,
    get(path) {
      const r = getOne.get(path) as JournalRow | undefined;
      return r && fromJournalRow(r);
    },
    put(e) {
      pending.push(() => upsert.run(...journalRowValues(e), parentOf(e.path)));
    },
    removeTree(path) {
      pending.push(() => del.run(path, path, path));
    },
    forgetEtag(path) {
      pending.push(() => noEtag.run(path));
    },
    renameTree(from, to) {
      pending.push(() => ren.run({ to, from, toParent: parentOf(to) }));
    },
    loadPending() {
      const rows = db.prepare('SELECT * FROM pending').all() as {
        path: string;
        size: number;
        mtime: number;
        inode: number;
      }[];
      return new Map(rows.map((r) => [r.path, { size: r.size, mtimeMs: r.mtime, inode: r.inode }]));
    },
    markPending(entries) {
      if (entries.length > 0) transaction(entries.map((e) => () => addPending.run(e.path, e.size, e.mtimeMs, e.inode)));
    },
    clearPending(path) {
      pending.push(() => delPending.run(path));
    },
    flush() {
      if (pending.length > 0) transaction(pending.splice(0));
    },
    close() {
      db.close();
    },
  };
}

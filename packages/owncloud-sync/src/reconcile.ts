// The plan store: the three views of one run (local, remote, journal) in a temporary SQLite
// database, walked in path order; what each path needs is the pure decision table's call.
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import {
  decide,
  type LocalEntry,
  localChanged,
  parentOf,
  type RemoteEntry,
  remoteChanged,
  type SyncAction,
  type SyncPlan,
} from './decision';
import { fromJournalRow, JOURNAL_COLUMNS, type JournalEntry, type JournalRow, journalRowValues } from './journal';

/** The three views reconciliation works on. The maps are not modified. */
export interface ReconcileInput {
  local: ReadonlyMap<string, LocalEntry>;
  remote: ReadonlyMap<string, RemoteEntry>;
  journal: ReadonlyMap<string, JournalEntry>;
}

const isUnder = (p: string, dir: string): boolean => p === dir || p.startsWith(`${dir}/`);

/**
 * The three views of one run in SQLite tables (`l` local, `r` remote, `j` journal), so that a
 * run's memory does not grow with the tree: discovery streams rows in, reconcile walks them in
 * path order and keeps only what it plans (and the few unmatched entries move detection needs).
 * The database is a private temporary file (SQLite deletes it on close); its page cache is bounded.
 */
export interface PlanStore {
  addLocal(e: LocalEntry): void;
  /** Adds (or replaces) a remote entry. */
  addRemote(e: RemoteEntry): void;
  /** Adds a journal entry; entries keep the order they were added in (later ones win ties). */
  addJournal(e: JournalEntry): void;
  /**
   * Copies every entry of a journal database (see `openJournal`) but the base collection's, in the
   * journal's own order, inside SQLite: no row passes through JavaScript. Only before the first
   * other call (SQLite attaches a database only outside a transaction).
   */
  loadJournal(file: string): void;
  journalEntry(path: string): JournalEntry | undefined;
  /** Replaces the fields of a journal entry already added (racy entries settled by content). */
  replaceJournal(e: JournalEntry): void;
  /** Copies the journal's subtree below `dir` (children, recursively through folders) as remote entries. */
  copyJournalTree(dir: string): void;
  /** Journal entries with a `racyHash` whose local file has the recorded size, mtime and inode. */
  racyCandidates(): JournalEntry[];
  hasLocal(path: string): boolean;
  hasRemote(path: string): boolean;
  counts(): { local: number; remote: number };
  /**
   * Compares the local tree with the journal ahead of {@link PlanStore.reconcile}, which uses the
   * result when the remote tree turns out to be the journal's: the engine calls it when the local
   * walk is done and the server has not answered yet, so the plan of an unchanged run is mostly
   * done while it waits. Dropped by any later local or journal entry.
   */
  compareLocal(): void;
  /** Plans the run over the tables (see {@link reconcile}); moves rewrite the tables. */
  reconcile(): SyncPlan;
  close(): void;
}

type LocalRow = { path: string; is_dir: number; size: number; mtime: number; inode: number };
type RemoteRow = {
  path: string;
  is_dir: number;
  size: number;
  etag: string | null;
  mtime: number | null;
  file_id: string | null;
};
const JOURNAL_TABLE = `CREATE TABLE j (path TEXT PRIMARY KEY, is_dir INTEGER NOT NULL, size INTEGER NOT NULL, mtime REAL NOT NULL,
  inode INTEGER NOT NULL, etag TEXT, rsize INTEGER NOT NULL, rmtime REAL, file_id TEXT, hash TEXT,
  seq INTEGER NOT NULL, parent TEXT NOT NULL);
CREATE INDEX j_parent ON j (parent);
CREATE INDEX j_etag ON j (etag);`;
/**
 * The attached journal's rows as `j` rows: seq = rowid (the order in which the journal hands out
 * its entries; re-inserted keys go last), the base collection left out.
 */
const JOURNAL_FILE_ROWS = `SELECT ${JOURNAL_COLUMNS}, rowid AS seq, parent FROM jdb.entries WHERE path <> ''`;
const REMOTE_TABLE = `CREATE TABLE r (path TEXT PRIMARY KEY, is_dir INTEGER NOT NULL, size INTEGER NOT NULL, etag TEXT, mtime REAL, file_id TEXT);
CREATE INDEX r_etag ON r (etag);`;
/**
 * The journal's rows as remote rows: what `r` is (a view) when the whole remote tree is the
 * journal's (the base collection's recursive ETag is unchanged), instead of a copy of every row.
 */
const JOURNAL_AS_REMOTE = `SELECT path, is_dir, CASE WHEN is_dir = 1 THEN 0 ELSE rsize END AS size,
  etag, rmtime AS mtime, file_id FROM j`;
const SCHEMA = `PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = FILE; PRAGMA cache_size = -8192;
CREATE TABLE l (path TEXT PRIMARY KEY, is_dir INTEGER NOT NULL, size INTEGER NOT NULL, mtime REAL NOT NULL, inode INTEGER NOT NULL) WITHOUT ROWID;
${REMOTE_TABLE}
${JOURNAL_TABLE}
CREATE TABLE vanished (key_inode INTEGER PRIMARY KEY, ${JOURNAL_COLUMNS});
CREATE TABLE by_id (key_id TEXT PRIMARY KEY, ${JOURNAL_COLUMNS});
CREATE TABLE by_etag (etag_key TEXT PRIMARY KEY, ${JOURNAL_COLUMNS});
CREATE TABLE suspect (path TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE p (path TEXT PRIMARY KEY) WITHOUT ROWID;
CREATE TABLE lj (path TEXT PRIMARY KEY) WITHOUT ROWID;`;

/**
 * SQL over a row of `l LEFT JOIN r LEFT JOIN j`: 1 when the path is on all three sides with one
 * type, a folder's ETag is unchanged (or not sent), a file's stat equals the journal's, its ETag
 * (else size and mtime) too, and its ETag is not ambiguous — the cases where decide() plans
 * nothing for any marks; NULL or 0 otherwise.
 */
const SAME_ON_ALL_SIDES = `(r.path IS NOT NULL AND j.path IS NOT NULL AND l.is_dir = r.is_dir AND l.is_dir = j.is_dir AND
  CASE WHEN l.is_dir = 1 THEN r.etag IS NULL OR r.etag = j.etag
  ELSE l.size = j.size AND l.mtime = j.mtime AND l.inode = j.inode
    AND CASE WHEN r.etag IS NOT NULL THEN r.etag = j.etag ELSE r.size = j.rsize AND r.mtime IS j.rmtime END
    AND NOT EXISTS (SELECT 1 FROM suspect s WHERE s.path = l.path) END)`;

/** {@link SAME_ON_ALL_SIDES} where the remote rows are the journal's (no join of `r` needed). */
const LOCAL_AS_JOURNAL = `(j.path IS NOT NULL AND l.is_dir = j.is_dir AND
  (l.is_dir = 1 OR (l.size = j.size AND l.mtime = j.mtime AND l.inode = j.inode)))`;

const toLocalEntry = (r: LocalRow): LocalEntry => ({
  path: r.path,
  isDir: r.is_dir === 1,
  size: r.size,
  mtimeMs: r.mtime,
  inode: r.inode,
});

const toRemoteEntry = (r: RemoteRow): RemoteEntry => {
  const e: RemoteEntry = { path: r.path, isDir: r.is_dir === 1, size: r.size };
  if (r.etag !== null) e.etag = r.etag;
  if (r.mtime !== null) e.mtimeMs = r.mtime;
  if (r.file_id !== null) e.fileId = r.file_id;
  return e;
};

/**
 * One path of the plan walk: path; local is_dir, size, mtime, inode; remote is_dir, size, etag,
 * mtime, file_id; journal is_dir, size, mtime, inode, etag, rsize, rmtime, file_id, hash; whether
 * its ETag is ambiguous. A side's columns are all null where the path is absent there.
 */
type PlanRow = [
  string,
  number | null,
  number,
  number,
  number,
  number | null,
  number,
  string | null,
  number | null,
  string | null,
  number | null,
  number,
  number,
  number,
  string | null,
  number,
  number | null,
  string | null,
  string | null,
  number,
];

/**
 * Opens a plan store in a private temporary SQLite database.
 *
 * @returns the store; `close()` deletes the database
 * @example
 * const store = openPlanStore();
 * store.addLocal({ path: 'a', isDir: false, size: 1, mtimeMs: 1, inode: 7 });
 * const plan = store.reconcile(); // upload a
 * store.close();
 */
export function openPlanStore(): PlanStore {
  const db = new DatabaseSync('');
  db.exec(SCHEMA);
  // One transaction for the whole run (the database is thrown away), begun after a journal copy.
  let inTransaction = false;
  const begin = (): void => {
    if (!inTransaction) db.exec('BEGIN');
    inTransaction = true;
  };
  const stmts = new Map<string, StatementSync>();
  const q = (sql: string): StatementSync => {
    begin();
    let s = stmts.get(sql);
    if (!s) {
      s = db.prepare(sql);
      stmts.set(sql, s);
    }
    return s;
  };
  const has = (table: 'l' | 'r' | 'j', path: string): boolean =>
    q(`SELECT 1 AS x FROM ${table} WHERE path = ?`).get(path) !== undefined;
  const getLocal = (path: string): LocalEntry | undefined => {
    const row = q('SELECT * FROM l WHERE path = ?').get(path) as LocalRow | undefined;
    return row && toLocalEntry(row);
  };
  const getRemote = (path: string): RemoteEntry | undefined => {
    const row = q('SELECT * FROM r WHERE path = ?').get(path) as RemoteRow | undefined;
    return row && toRemoteEntry(row);
  };
  let seq = 0;
  /**
   * Whether `r` is the view of `j` ({@link JOURNAL_AS_REMOTE}): the remote tree equals the
   * journal's, so nothing can have moved or changed there. Any write to `r` or `j` turns the view
   * into a table of its own first (a copy of what it showed), so the two never change together.
   */
  let remoteIsJournal = false;
  /**
   * Set by `compareLocal`: the journal's file count, `vanished` filled and `lj` holding every path
   * whose local entry is not what the journal says (the plan's paths when the remote tree is the journal's).
   */
  let compared: { knownFiles: number } | undefined;
  const dropComparison = (): void => {
    if (!compared) return;
    compared = undefined;
    q('DELETE FROM lj').run();
    q('DELETE FROM vanished').run();
  };
  const knownFileCount = (): number => (q('SELECT count(*) AS n FROM j WHERE is_dir = 0').get() as { n: number }).n;
  /** Puts into `table` every path whose local entry is not what the journal says, or that is only in the journal. */
  const insertLocalNotJournal = (table: 'lj' | 'p'): void => {
    q(
      `INSERT INTO ${table} SELECT l.path FROM l LEFT JOIN j ON j.path = l.path WHERE coalesce(${LOCAL_AS_JOURNAL}, 0) = 0`,
    ).run();
    q(
      `INSERT OR IGNORE INTO ${table} SELECT path FROM j WHERE NOT EXISTS (SELECT 1 FROM l WHERE l.path = j.path)`,
    ).run();
  };
  /** Journal entries that vanished locally, by inode (the last one added wins, as in a map). */
  const fillVanished = (): void => {
    q(
      `INSERT OR REPLACE INTO vanished SELECT inode, ${JOURNAL_COLUMNS} FROM j
       WHERE NOT EXISTS (SELECT 1 FROM l WHERE l.path = j.path) ORDER BY seq`,
    ).run();
  };
  const ownRemote = (): void => {
    if (!remoteIsJournal) return;
    remoteIsJournal = false;
    begin();
    db.exec(`DROP VIEW r; ${REMOTE_TABLE} INSERT INTO r ${JOURNAL_AS_REMOTE};`);
  };
  /**
   * Whether `j` is a view of the attached journal file (see `loadJournal`; the journal has the
   * parent and ETag indexes the queries need) rather than a table of the store. Before anything
   * writes to `j` the rows are copied into the table (the remote view first, as it reads through `j`).
   */
  let journalIsFile = false;
  const ownJournal = (): void => {
    if (!journalIsFile) return;
    ownRemote();
    journalIsFile = false;
    begin();
    db.exec(`DROP VIEW temp.j; ${JOURNAL_TABLE}
      INSERT INTO main.j (${JOURNAL_COLUMNS}, seq, parent) ${JOURNAL_FILE_ROWS};`);
  };
  /**
   * Moves a path and everything below it to a new prefix, replacing what is there (as a map's
   * `set` would); moved journal entries go to the end of the journal order, as re-inserted keys.
   */
  const moveTree = (table: 'l' | 'r' | 'j', from: string, to: string): void => {
    if (table === 'j') ownJournal();
    if (table !== 'l') ownRemote();
    const where = "(path = :from OR (path >= :from || '/' AND path < :from || '0'))";
    if (table === 'j') {
      const moved = q(
        `UPDATE j SET seq = :base + m.rank FROM (SELECT path, row_number() OVER (ORDER BY seq) AS rank FROM j
         WHERE ${where}) AS m WHERE m.path = j.path`,
      ).run({ from, base: seq });
      seq += Number(moved.changes);
      q(
        `UPDATE OR REPLACE j SET path = :to || substr(path, length(:from) + 1),
         parent = CASE WHEN path = :from THEN :toParent ELSE :to || substr(parent, length(:from) + 1) END WHERE ${where}`,
      ).run({ from, to, toParent: parentOf(to) });
    } else
      q(`UPDATE OR REPLACE ${table} SET path = :to || substr(path, length(:from) + 1) WHERE ${where}`).run({
        from,
        to,
      });
  };

  function detectLocalMoves(actions: SyncAction[]): void {
    if (!compared) fillVanished();
    if (Number(q('SELECT count(*) AS n FROM vanished').get()?.n) === 0) return;
    const candidates = q(
      'SELECT * FROM l WHERE inode IN (SELECT key_inode FROM vanished) ORDER BY path',
    ).all() as LocalRow[];
    for (const row of candidates) {
      const l = toLocalEntry(row);
      const p = l.path;
      if (has('j', p) || has('r', p)) continue;
      const vrow = q(`SELECT ${JOURNAL_COLUMNS} FROM vanished WHERE key_inode = ?`).get(l.inode) as
        | JournalRow
        | undefined;
      const j = vrow && fromJournalRow(vrow);
      if (!j || j.isDir !== l.isDir || has('l', j.path)) continue;
      const r = getRemote(j.path);
      if (!r || r.isDir !== j.isDir || (!j.isDir && remoteChanged(j, r))) continue;
      const parent = parentOf(p);
      if (parent !== '' && !getRemote(parent)?.isDir) continue;
      q('DELETE FROM vanished WHERE key_inode = ?').run(l.inode);
      actions.push({ kind: 'moveRemote', path: p, from: j.path, to: p, isDir: j.isDir });
      moveTree('j', j.path, p);
      moveTree('r', j.path, p);
    }
  }

  function detectRemoteMoves(actions: SyncAction[]): void {
    // Journal entries that vanished remotely, by file id and (files) by ETag; later ones win.
    q(
      `INSERT OR REPLACE INTO by_id SELECT file_id, ${JOURNAL_COLUMNS} FROM j WHERE file_id IS NOT NULL AND file_id <> ''
       AND NOT EXISTS (SELECT 1 FROM r WHERE r.path = j.path) ORDER BY seq`,
    ).run();
    q(
      `INSERT OR REPLACE INTO by_etag SELECT etag, ${JOURNAL_COLUMNS} FROM j WHERE is_dir = 0 AND etag IS NOT NULL
       AND etag <> '' AND NOT EXISTS (SELECT 1 FROM r WHERE r.path = j.path) ORDER BY seq`,
    ).run();
    if (Number(q('SELECT (SELECT count(*) FROM by_id) + (SELECT count(*) FROM by_etag) AS n').get()?.n) === 0) return;
    // How many files (remote and journal) carry each candidate's ETag, counted before any move.
    const candidates = q(
      `SELECT r.*, CASE WHEN r.is_dir = 0 AND r.etag IS NOT NULL AND r.etag <> '' THEN
         (SELECT count(*) FROM r x WHERE x.is_dir = 0 AND x.etag = r.etag) +
         (SELECT count(*) FROM j WHERE j.is_dir = 0 AND j.etag = r.etag) ELSE 0 END AS uses
       FROM r WHERE (r.file_id <> '' AND r.file_id IN (SELECT key_id FROM by_id))
         OR (r.is_dir = 0 AND r.etag <> '' AND r.etag IN (SELECT etag_key FROM by_etag))
       ORDER BY r.path`,
    ).all() as (RemoteRow & { uses: number })[];
    for (const row of candidates) {
      const r = toRemoteEntry(row);
      const p = r.path;
      if (has('j', p) || has('l', p)) continue;
      const byId = r.fileId
        ? (q(`SELECT ${JOURNAL_COLUMNS} FROM by_id WHERE key_id = ?`).get(r.fileId) as JournalRow | undefined)
        : undefined;
      // Without file ids an ETag identifies a file only if nothing else carries it.
      const jrow =
        byId ??
        (!r.isDir && r.etag && row.uses === 2
          ? (q(`SELECT ${JOURNAL_COLUMNS} FROM by_etag WHERE etag_key = ?`).get(r.etag) as JournalRow | undefined)
          : undefined);
      const j = jrow && fromJournalRow(jrow);
      if (!j || j.isDir !== r.isDir || has('r', j.path)) continue;
      const l = getLocal(j.path);
      if (!l || l.isDir !== j.isDir || (!j.isDir && localChanged(j, l))) continue;
      const parent = parentOf(p);
      if (parent !== '' && !getLocal(parent)?.isDir) continue;
      if (j.fileId) q('DELETE FROM by_id WHERE key_id = ?').run(j.fileId);
      if (j.etag) q('DELETE FROM by_etag WHERE etag_key = ?').run(j.etag);
      actions.push({ kind: 'moveLocal', path: p, from: j.path, to: p, isDir: j.isDir });
      moveTree('j', j.path, p);
      moveTree('l', j.path, p);
    }
  }

  /**
   * ETags that only hash mtime and size (Apache, rclone) repeat for files written in the same
   * clock tick with the same size. When such a shared ETag moved between paths (say a rename over
   * a file that carried the same ETag), "ETag unchanged" proves nothing: the paths now carrying it
   * count as changed on the server, so they are downloaded (or kept) instead of trusted.
   */
  function markAmbiguousEtags(): void {
    q(
      `WITH shared AS (SELECT etag, count(*) AS n FROM j WHERE is_dir = 0 AND etag IS NOT NULL GROUP BY etag HAVING n >= 2),
       moved AS (SELECT s.etag FROM shared s
         WHERE (SELECT count(*) FROM r WHERE r.is_dir = 0 AND r.etag = s.etag) <> s.n
            OR EXISTS (SELECT 1 FROM r WHERE r.is_dir = 0 AND r.etag = s.etag AND NOT EXISTS
                (SELECT 1 FROM j y WHERE y.path = r.path AND y.is_dir = 0 AND y.etag = s.etag)))
       INSERT OR IGNORE INTO suspect SELECT path FROM r WHERE is_dir = 0 AND etag IN (SELECT etag FROM moved)`,
    ).run();
  }

  return {
    addLocal(e) {
      dropComparison();
      q('INSERT OR REPLACE INTO l (path, is_dir, size, mtime, inode) VALUES (?, ?, ?, ?, ?)').run(
        e.path,
        e.isDir ? 1 : 0,
        e.size,
        e.mtimeMs,
        e.inode,
      );
    },
    addRemote(e) {
      ownRemote();
      q('INSERT OR REPLACE INTO r (path, is_dir, size, etag, mtime, file_id) VALUES (?, ?, ?, ?, ?, ?)').run(
        e.path,
        e.isDir ? 1 : 0,
        e.size,
        e.etag ?? null,
        e.mtimeMs ?? null,
        e.fileId ?? null,
      );
    },
    addJournal(e) {
      dropComparison();
      ownJournal();
      ownRemote();
      seq++;
      q(`INSERT OR REPLACE INTO j (${JOURNAL_COLUMNS}, seq, parent) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
        ...journalRowValues(e),
        seq,
        parentOf(e.path),
      );
    },
    loadJournal(file) {
      if (inTransaction) throw new Error('loadJournal must come first');
      db.prepare('ATTACH DATABASE ? AS jdb').run(file);
      // The journal is read where it is, for the whole run (one read transaction: the journal's own
      // writes during the run are not seen); an unchanged run copies none of it.
      db.exec(`DROP TABLE j; CREATE TEMP VIEW j AS ${JOURNAL_FILE_ROWS}`);
      journalIsFile = true;
      seq = Number(q('SELECT coalesce(max(rowid), 0) AS n FROM jdb.entries').get()?.n);
    },
    journalEntry(path) {
      const row = q(`SELECT ${JOURNAL_COLUMNS} FROM j WHERE path = ?`).get(path) as JournalRow | undefined;
      return row && fromJournalRow(row);
    },
    replaceJournal(e) {
      dropComparison();
      ownJournal();
      ownRemote();
      q(`UPDATE j SET (${JOURNAL_COLUMNS}) = (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) WHERE path = ?`).run(
        ...journalRowValues(e),
        e.path,
      );
    },
    copyJournalTree(dir) {
      // The whole tree pruned into an empty remote view, and every journal entry reachable through
      // folders (no entry below a file or a missing folder): the view shows exactly what the copy would.
      if (
        dir === '' &&
        !remoteIsJournal &&
        q('SELECT 1 AS x FROM r LIMIT 1').get() === undefined &&
        q(
          // Each folder that holds entries once (the parent index); the journal file's own rows
          // when it is read in place (its base collection has parent '' and drops out).
          `SELECT 1 AS x FROM (SELECT DISTINCT parent FROM ${journalIsFile ? 'jdb.entries' : 'j'}) p WHERE p.parent <> ''
           AND NOT EXISTS (SELECT 1 FROM j d WHERE d.path = p.parent AND d.is_dir = 1) LIMIT 1`,
        ).get() === undefined
      ) {
        db.exec(`DROP TABLE r; CREATE TEMP VIEW r AS ${JOURNAL_AS_REMOTE}`);
        remoteIsJournal = true;
        return;
      }
      ownRemote();
      q(
        // The subtree's rows carry their columns: joining them back to j by path made SQLite scan
        // all of j for every pruned folder.
        `WITH RECURSIVE sub (path, is_dir, size, etag, mtime, file_id) AS (
           SELECT path, is_dir, rsize, etag, rmtime, file_id FROM j WHERE parent = :dir AND path <> ''
           UNION ALL SELECT j.path, j.is_dir, j.rsize, j.etag, j.rmtime, j.file_id FROM sub JOIN j
             ON sub.is_dir = 1 AND j.parent = sub.path)
         INSERT OR REPLACE INTO r (path, is_dir, size, etag, mtime, file_id)
         SELECT path, is_dir, CASE WHEN is_dir = 1 THEN 0 ELSE size END, etag, mtime, file_id FROM sub`,
      ).run({ dir });
    },
    racyCandidates() {
      const rows = q(
        `SELECT ${JOURNAL_COLUMNS.replace(/(\w+)/g, 'j.$1')} FROM j JOIN l ON l.path = j.path WHERE j.hash IS NOT NULL
         AND l.is_dir = 0 AND l.size = j.size AND l.mtime = j.mtime AND l.inode = j.inode ORDER BY j.seq`,
      ).all() as JournalRow[];
      return rows.map(fromJournalRow);
    },
    hasLocal: (path) => has('l', path),
    hasRemote: (path) => has('r', path),
    counts() {
      const count = (table: string): number => (q(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
      return { local: count('l'), remote: count('r') };
    },
    compareLocal() {
      dropComparison();
      const knownFiles = knownFileCount();
      fillVanished();
      insertLocalNotJournal('lj');
      compared = { knownFiles };
    },
    reconcile() {
      const knownFiles = compared?.knownFiles ?? knownFileCount();
      const actions: SyncAction[] = [];
      // The remote tree is the journal's (and local moves below move both alike): nothing moved
      // or changed there, so no remote move, no moved ETag, and a path is the same on all three
      // sides when it is locally what the journal says.
      const remoteSame = remoteIsJournal;
      detectLocalMoves(actions);
      // The early comparison is the plan's set of paths, unless a local move rewrote the journal.
      const early = remoteSame && compared !== undefined && actions.length === 0;
      if (!remoteSame) {
        detectRemoteMoves(actions);
        markAmbiguousEtags();
      }
      // The walk visits every path but those the same on all three sides (a narrower test than
      // decide()'s "nothing to do": such a path gets no step and marks no parent), so an unchanged
      // tree costs a scan of l, not a sorted walk and a decision per path.
      if (early) q('INSERT INTO p SELECT path FROM lj').run();
      else if (remoteSame) insertLocalNotJournal('p');
      else {
        q(
          `INSERT INTO p SELECT l.path FROM l LEFT JOIN r ON r.path = l.path LEFT JOIN j ON j.path = l.path
         WHERE coalesce(${SAME_ON_ALL_SIDES}, 0) = 0`,
        ).run();
        for (const t of ['r', 'j']) {
          q(
            `INSERT OR IGNORE INTO p SELECT path FROM ${t} WHERE NOT EXISTS (SELECT 1 FROM l WHERE l.path = ${t}.path)`,
          ).run();
        }
      }
      // A type clash is a path whose local entry is not the journal's when the remote tree is the journal's.
      const typeClash = (
        q(
          early
            ? 'SELECT l.path FROM p JOIN l ON l.path = p.path JOIN r ON r.path = p.path WHERE l.is_dir <> r.is_dir'
            : 'SELECT l.path FROM l JOIN r ON r.path = l.path WHERE l.is_dir <> r.is_dir',
        ).all() as { path: string }[]
      )
        .map((row) => row.path)
        .sort();
      for (const p of typeClash) actions.push({ kind: 'typeConflict', path: p });
      const clashed = (p: string): boolean => typeClash.some((c) => isUnder(p, c));

      // Children first, so a directory knows whether anything below it must survive.
      const needRemote = new Set<string>();
      const needLocal = new Set<string>();
      const mark = (set: Set<string>, p: string): void => {
        for (let d = parentOf(p); d !== '' && !set.has(d); d = parentOf(d)) set.add(d);
      };
      const perPath: SyncAction[] = [];
      const walk = q(
        `SELECT p.path, l.is_dir, l.size, l.mtime, l.inode, r.is_dir, r.size, r.etag, r.mtime, r.file_id,
           j.is_dir, j.size, j.mtime, j.inode, j.etag, j.rsize, j.rmtime, j.file_id, j.hash, s.path IS NOT NULL
         FROM p LEFT JOIN l ON l.path = p.path LEFT JOIN r ON r.path = p.path LEFT JOIN j ON j.path = p.path
           LEFT JOIN suspect s ON s.path = p.path
         ORDER BY p.path DESC`,
      );
      // Rows as arrays: node:sqlite builds them much faster than objects with twenty keys.
      walk.setReturnArrays(true);
      for (const row of walk.iterate() as Iterable<PlanRow>) {
        const p = row[0];
        if (typeClash.length > 0 && clashed(p)) continue;
        const a = decide({
          path: p,
          local:
            row[1] === null
              ? undefined
              : { path: p, isDir: row[1] === 1, size: row[2], mtimeMs: row[3], inode: row[4] },
          remote:
            row[5] === null
              ? undefined
              : toRemoteEntry({ path: p, is_dir: row[5], size: row[6], etag: row[7], mtime: row[8], file_id: row[9] }),
          journal:
            row[10] === null
              ? undefined
              : fromJournalRow({
                  path: p,
                  is_dir: row[10],
                  size: row[11],
                  mtime: row[12],
                  inode: row[13],
                  etag: row[14],
                  rsize: row[15],
                  rmtime: row[16],
                  file_id: row[17],
                  hash: row[18],
                }),
          ambiguousEtag: row[19] === 1,
          neededLocal: needLocal.has(p),
          neededRemote: needRemote.has(p),
        });
        if (a === undefined) continue;
        perPath.push(a);
        if (a.kind === 'upload' || a.kind === 'mkdirRemote') mark(needRemote, p);
        if (a.kind === 'download' || a.kind === 'mkdirLocal') mark(needLocal, p);
      }
      // A remote directory DELETE is recursive: drop the deletes of what lies below it.
      const remoteDirDeletes = perPath.filter((a) => a.kind === 'deleteRemote' && a.remote.isDir).map((a) => a.path);
      const countFiles = q(
        "SELECT count(*) AS n FROM r WHERE is_dir = 0 AND path >= :dir || '/' AND path < :dir || '0'",
      );
      let deletedFiles = 0;
      for (const a of perPath) {
        if (a.kind === 'deleteRemote' && remoteDirDeletes.some((d) => d !== a.path && isUnder(a.path, d))) continue;
        if (a.kind === 'deleteRemote') {
          a.files = a.remote.isDir ? (countFiles.get({ dir: a.path }) as { n: number }).n : 1;
          deletedFiles += a.files;
        }
        if (a.kind === 'deleteLocal' && !a.local.isDir) deletedFiles++;
        actions.push(a);
      }
      return { actions, deletedFiles, knownFiles };
    },
    close() {
      db.close();
    },
  };
}

/**
 * Plans one sync run. Moves are detected first (local: same inode as a vanished journal entry;
 * remote: same `oc:fileid`, or a file ETag that is unique) and applied to the views, then every
 * path gets the step of the decision table ({@link decide}). The maps are loaded into a
 * {@link PlanStore} (what the engine streams discovery into) and planned there.
 *
 * @param input local and remote trees and the journal, keyed by path
 * @returns the actions in plan order and the mass-delete guard's counts
 * @example
 * const plan = reconcile({ local: new Map([['a', { path: 'a', isDir: false, size: 1, mtimeMs: 1, inode: 7 }]]), remote: new Map(), journal: new Map() });
 * // plan.actions: [{ kind: 'upload', path: 'a', local: … }]
 */
export function reconcile(input: ReconcileInput): SyncPlan {
  const store = openPlanStore();
  try {
    for (const l of input.local.values()) store.addLocal(l);
    for (const r of input.remote.values()) store.addRemote(r);
    for (const j of input.journal.values()) store.addJournal(j);
    return store.reconcile();
  } finally {
    store.close();
  }
}

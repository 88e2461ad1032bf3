import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { type JournalEntry, openJournal } from './journal';
import { openPlanStore } from './reconcile';

const entry = (path: string, extra: Partial<JournalEntry> = {}): JournalEntry => ({
  path,
  isDir: false,
  size: 1,
  mtimeMs: 1.5,
  inode: 2,
  remoteSize: 1,
  ...extra,
});

describe('journal', () => {
  const dir = useTempDir('invis-journal-');

  it('keeps entries across reopen; renames and removes whole subtrees only', async () => {
    const file = join(dir(), 'state', 'journal.db');
    const j = openJournal(file);
    j.put(entry('a', { isDir: true, etag: 'd' }));
    j.put(entry('a/x', { etag: 'x', fileId: 'id', remoteMtimeMs: 5 }));
    j.put(entry('ab'));
    j.put(entry('b/y'));
    j.flush();
    j.renameTree('a', 'c');
    j.removeTree('b');
    j.flush();
    j.markPending([{ path: 'p', size: 3, mtimeMs: 4, inode: 5 }]);
    j.close();
    const again = openJournal(file);
    expect([...again.load().keys()].sort()).toEqual(['ab', 'c', 'c/x']);
    expect(again.load().get('c/x')).toEqual(entry('c/x', { etag: 'x', fileId: 'id', remoteMtimeMs: 5 }));
    expect(again.get('c/x')).toEqual(entry('c/x', { etag: 'x', fileId: 'id', remoteMtimeMs: 5 }));
    expect(again.get('a/x')).toBeUndefined();
    expect([...again.entries()].map((e) => e.path)).toEqual([...again.load().keys()]);
    expect(again.loadPending()).toEqual(new Map([['p', { size: 3, mtimeMs: 4, inode: 5 }]]));
    again.clearPending('p');
    again.flush();
    expect(again.loadPending().size).toBe(0);
    again.close();
  });

  it('gives a journal of an earlier release (no parent column) its parents, and keeps them on rename', () => {
    const file = join(dir(), 'old.db');
    const old = new DatabaseSync(file);
    old.exec(`CREATE TABLE entries (path TEXT PRIMARY KEY, is_dir INTEGER NOT NULL, size INTEGER NOT NULL,
      mtime REAL NOT NULL, inode INTEGER NOT NULL, etag TEXT, rsize INTEGER NOT NULL, rmtime REAL, file_id TEXT, hash TEXT);
      INSERT INTO entries VALUES ('', 1, 0, 0, 0, 'root', 0, NULL, NULL, NULL), ('d', 1, 0, 1, 1, 'de', 0, NULL, NULL, NULL),
        ('d/s', 1, 0, 1, 2, 'se', 0, NULL, NULL, NULL), ('d/s/f', 0, 1, 1.5, 3, 'fe', 1, NULL, NULL, NULL)`);
    old.close();
    const j = openJournal(file);
    expect(j.get('d/s/f')).toEqual(entry('d/s/f', { inode: 3, etag: 'fe' }));
    j.renameTree('d', 'e');
    j.flush();
    j.close();
    const parents = new DatabaseSync(file).prepare('SELECT path, parent FROM entries ORDER BY path').all();
    expect(parents.map((r) => [r.path, r.parent])).toEqual([
      ['', ''],
      ['e', ''],
      ['e/s', 'e'],
      ['e/s/f', 'e/s'],
    ]);
    // The plan store reads the subtree below a pruned folder through those parents.
    const store = openPlanStore();
    try {
      store.loadJournal(file);
      store.copyJournalTree('e');
      expect(store.counts().remote).toBe(2);
      expect(store.hasRemote('e/s/f')).toBe(true);
    } finally {
      store.close();
    }
  });
});

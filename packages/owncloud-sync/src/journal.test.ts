import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { type JournalEntry, openJournal } from './journal';

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
});

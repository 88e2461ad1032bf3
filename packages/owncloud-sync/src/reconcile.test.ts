import { join } from 'node:path';
import { withTempDir } from '@invis/test-utils';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decide, type LocalEntry, type RemoteEntry, type SyncAction } from './decision';
import { type JournalEntry, openJournal } from './journal';
import { openPlanStore, reconcile } from './reconcile';

const L = (path: string, inode: number, size = 1, mtimeMs = 1000): LocalEntry => ({
  path,
  isDir: false,
  size,
  mtimeMs,
  inode,
});
const LD = (path: string, inode: number): LocalEntry => ({ path, isDir: true, size: 0, mtimeMs: 1, inode });
const R = (path: string, etag: string, extra: Partial<RemoteEntry> = {}): RemoteEntry => ({
  path,
  isDir: false,
  size: 1,
  etag,
  ...extra,
});
const RD = (path: string, etag: string, extra: Partial<RemoteEntry> = {}): RemoteEntry => ({
  path,
  isDir: true,
  size: 0,
  etag,
  ...extra,
});
const J = (l: LocalEntry, r: RemoteEntry): JournalEntry => ({
  path: l.path,
  isDir: l.isDir,
  size: l.size,
  mtimeMs: l.mtimeMs,
  inode: l.inode,
  remoteSize: r.size,
  ...(r.etag ? { etag: r.etag } : {}),
  ...(r.fileId ? { fileId: r.fileId } : {}),
});
const map = <T extends { path: string }>(...xs: T[]): Map<string, T> => new Map(xs.map((x) => [x.path, x]));
const kinds = (actions: SyncAction[]): string[] => actions.map((a) => `${a.kind} ${a.path}`).sort();

describe('reconcile', () => {
  it('copies new files and folders both ways, parents included', () => {
    const plan = reconcile({
      local: map(LD('d', 1), L('d/a', 2)),
      remote: map(RD('e', 'e1'), R('e/b', 'b1')),
      journal: new Map(),
    });
    expect(kinds(plan.actions)).toEqual(['download e/b', 'mkdirLocal e', 'mkdirRemote d', 'upload d/a']);
  });

  it('one-sided changes are copied, two-sided ones are conflicts', () => {
    const l1 = L('f', 1);
    const r1 = R('f', 'e1');
    const base = map(J(l1, r1));
    expect(kinds(reconcile({ local: map(L('f', 1, 2)), remote: map(r1), journal: base }).actions)).toEqual([
      'upload f',
    ]);
    expect(kinds(reconcile({ local: map(l1), remote: map(R('f', 'e2')), journal: base }).actions)).toEqual([
      'download f',
    ]);
    const both = reconcile({ local: map(L('f', 1, 2)), remote: map(R('f', 'e2', { size: 2 })), journal: base });
    expect(both.actions).toMatchObject([{ kind: 'conflict', compare: 'equal' }]);
    expect(kinds(reconcile({ local: map(l1), remote: map(r1), journal: base }).actions)).toEqual([]);
  });

  it('a delete propagates only when the other side is unchanged; an edit wins', () => {
    const l1 = L('f', 1);
    const r1 = R('f', 'e1');
    const base = map(J(l1, r1));
    expect(kinds(reconcile({ local: new Map(), remote: map(r1), journal: base }).actions)).toEqual(['deleteRemote f']);
    expect(kinds(reconcile({ local: new Map(), remote: map(R('f', 'e2')), journal: base }).actions)).toEqual([
      'download f',
    ]);
    expect(kinds(reconcile({ local: map(l1), remote: new Map(), journal: base }).actions)).toEqual(['deleteLocal f']);
    expect(kinds(reconcile({ local: map(L('f', 1, 5)), remote: new Map(), journal: base }).actions)).toEqual([
      'upload f',
    ]);
    expect(kinds(reconcile({ local: new Map(), remote: new Map(), journal: base }).actions)).toEqual(['forget f']);
  });

  it('a deleted remote folder is one DELETE unless something below changed', () => {
    const ld = LD('d', 1);
    const la = L('d/a', 2);
    const lb = L('d/b', 3);
    const rd = RD('d', 'd1');
    const ra = R('d/a', 'a1');
    const rb = R('d/b', 'b1');
    const journal = map(J(ld, rd), J(la, ra), J(lb, rb));
    const all = reconcile({ local: new Map(), remote: map(rd, ra, rb), journal });
    expect(kinds(all.actions)).toEqual(['deleteRemote d']);
    expect(all.deletedFiles).toBe(2);
    const keep = reconcile({ local: new Map(), remote: map(rd, ra, R('d/b', 'b2')), journal });
    expect(kinds(keep.actions)).toEqual(['deleteRemote d/a', 'download d/b', 'mkdirLocal d']);
  });

  it('detects a local rename by inode and a remote one by file id or unique ETag', () => {
    const l1 = L('old', 7);
    const r1 = R('old', 'e1', { fileId: 'id1' });
    const journal = map(J(l1, r1));
    const local = reconcile({ local: map(L('new', 7)), remote: map(r1), journal });
    expect(local.actions).toEqual([{ kind: 'moveRemote', path: 'new', from: 'old', to: 'new', isDir: false }]);
    const remote = reconcile({ local: map(l1), remote: map(R('new', 'e9', { fileId: 'id1' })), journal });
    expect(kinds(remote.actions)).toEqual(['download new', 'moveLocal new']);
    const byEtag = reconcile({ local: map(l1), remote: map(R('new', 'e1')), journal });
    expect(kinds(byEtag.actions)).toEqual(['moveLocal new']);
    // An ETag shared with another file identifies nothing.
    const l2 = L('other', 8);
    const r2 = R('other', 'e1');
    const shared = reconcile({
      local: map(l1, l2),
      remote: map(R('new', 'e1'), r2),
      journal: map(J(l1, r1), J(l2, r2)),
    });
    // …and since it moved between paths, every path carrying it now is fetched again.
    expect(kinds(shared.actions)).toEqual(['deleteLocal old', 'download new', 'download other']);
  });

  it('does not trust an ETag that moved between paths (rename over a same-size same-tick file)', () => {
    const lc = L('c', 1);
    const ld = L('d', 2);
    const journal = map(J(lc, R('c', 'E')), J(ld, R('d', 'E')));
    // Remote: d renamed over c; c now has d's content but the very same mtime+size ETag.
    const plan = reconcile({ local: map(lc, ld), remote: map(R('c', 'E')), journal });
    expect(kinds(plan.actions)).toEqual(['deleteLocal d', 'download c']);
  });

  it('moves whole folders with their contents (oc:fileid)', () => {
    const ld = LD('a', 1);
    const lf = L('a/f', 2);
    const rd = RD('a', 'd1', { fileId: 'D' });
    const rf = R('a/f', 'f1', { fileId: 'F' });
    const journal = map(J(ld, rd), J(lf, rf));
    const plan = reconcile({
      local: map(ld, lf),
      remote: map(RD('b', 'd2', { fileId: 'D' }), R('b/f', 'f1', { fileId: 'F' })),
      journal,
    });
    expect(kinds(plan.actions)).toEqual(['moveLocal b', 'record b']);
  });

  it('reports file/folder clashes instead of guessing', () => {
    const plan = reconcile({ local: map(L('x', 1)), remote: map(RD('x', 'd'), R('x/y', 'y')), journal: new Map() });
    expect(kinds(plan.actions)).toEqual(['typeConflict x']);
  });

  it('never deletes a changed file and never overwrites without a conflict copy (property)', () => {
    const state = fc.option(fc.constantFrom(1, 2), { nil: undefined });
    fc.assert(
      fc.property(state, state, fc.boolean(), (lv, rv, inJournal) => {
        const journal = inJournal ? map(J(L('f', 1, 1), R('f', 'e1'))) : new Map<string, JournalEntry>();
        const local = lv === undefined ? new Map<string, LocalEntry>() : map(L('f', 1, lv));
        const remote = rv === undefined ? new Map<string, RemoteEntry>() : map(R('f', `e${rv}`));
        const [a] = reconcile({ local, remote, journal }).actions;
        const lChanged = lv !== undefined && (!inJournal || lv !== 1);
        const rChanged = rv !== undefined && (!inJournal || rv !== 1);
        if (a?.kind === 'deleteLocal') expect(lChanged).toBe(false);
        if (a?.kind === 'deleteRemote') expect(rChanged).toBe(false);
        if (a?.kind === 'download' && a.local) expect(lChanged).toBe(false);
        if (a?.kind === 'upload' && rv !== undefined) expect(rChanged).toBe(false);
        if (lChanged && rChanged) expect(a?.kind).toBe('conflict');
      }),
    );
  });

  it('plans for one path on all three sides exactly what the decision table says (property)', () => {
    // The walk leaves out paths that are the same on every side; it must never leave out a step.
    const num = fc.constantFrom(1, 2);
    const etag = fc.option(fc.constantFrom('e1', 'e2'), { nil: undefined });
    fc.assert(
      fc.property(
        fc.record({ dir: fc.boolean(), jDir: fc.boolean(), size: num, mtime: num, inode: num }),
        fc.record({ size: num, mtime: num, inode: num, etag, rsize: num, rmtime: fc.option(num, { nil: undefined }) }),
        fc.record({ size: num, etag, mtime: fc.option(num, { nil: undefined }) }),
        (l, j, r) => {
          const local: LocalEntry = {
            path: 'f',
            isDir: l.dir,
            size: l.dir ? 0 : l.size,
            mtimeMs: l.mtime,
            inode: l.inode,
          };
          const remote: RemoteEntry = { path: 'f', isDir: l.dir, size: l.dir ? 0 : r.size };
          if (r.etag) remote.etag = r.etag;
          if (r.mtime !== undefined) remote.mtimeMs = r.mtime;
          const journal: JournalEntry = {
            path: 'f',
            isDir: l.jDir,
            size: j.size,
            mtimeMs: j.mtime,
            inode: j.inode,
            remoteSize: j.rsize,
          };
          if (j.etag) journal.etag = j.etag;
          if (j.rmtime !== undefined) journal.remoteMtimeMs = j.rmtime;
          const expected = decide({
            path: 'f',
            local,
            remote,
            journal,
            ambiguousEtag: false,
            neededLocal: false,
            neededRemote: false,
          });
          const plan = reconcile({ local: map(local), remote: map(remote), journal: map(journal) });
          expect(plan.actions).toEqual(expected ? [expected] : []);
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('openPlanStore', () => {
  it('loads a journal file in its order with parents, leaving out the base collection', () =>
    withTempDir('invis-plan-', async (dir) => {
      const store = openPlanStore();
      try {
        const journal = openJournal(join(dir, 'journal.db'));
        const entries = [
          J(LD('', 0), RD('', 'root')),
          J(LD('ä b', 1), RD('ä b', 'd1')),
          J(L('ä b/c.txt', 2), R('ä b/c.txt', 'c1')),
          J(LD('ä b/sub', 3), RD('ä b/sub', 's1')),
          J(L('ä b/sub/x', 4), R('ä b/sub/x', 'x1')),
          J(L('top', 5), R('top', 't1')),
        ];
        for (const e of entries) journal.put(e);
        journal.flush();
        journal.close();
        store.loadJournal(join(dir, 'journal.db'));
        expect(store.journalEntry('')).toBeUndefined();
        expect(store.journalEntry('ä b/sub/x')).toEqual(entries[4]);
        // The subtree below a folder is found through the parents the copy computed.
        store.copyJournalTree('ä b');
        expect(store.counts()).toEqual({ local: 0, remote: 3 });
        expect(store.hasRemote('ä b/sub/x')).toBe(true);
        expect(store.hasRemote('top')).toBe(false);
        expect(() => store.loadJournal(join(dir, 'journal.db'))).toThrow();
      } finally {
        store.close();
      }
    }));

  it('copies a pruned subtree from the journal through its folders only, and finds racy entries', () => {
    const store = openPlanStore();
    try {
      const ld = LD('d', 1);
      const rd = RD('d', 'd1', { fileId: 'D' });
      const la = L('d/a', 2);
      const ra = R('d/a', 'a1', { mtimeMs: 5 });
      store.addJournal(J(ld, rd));
      store.addJournal({ ...J(la, ra), remoteMtimeMs: 5, racyHash: 'h' });
      // Below a file, so not reachable through folders (as a map walk by parent would not reach it).
      store.addJournal(J(L('d/a/x', 3), R('d/a/x', 'x1')));
      store.addJournal(J(L('e', 4), R('e', 'e1')));
      store.copyJournalTree('');
      expect(store.counts()).toEqual({ local: 0, remote: 3 });
      store.addLocal(ld);
      store.addLocal(la);
      store.addLocal(L('e', 4, 9));
      expect(store.counts()).toEqual({ local: 3, remote: 3 });
      expect(store.hasRemote('d/a/x')).toBe(false);
      expect(store.hasLocal('d/a')).toBe(true);
      expect(store.racyCandidates()).toEqual([{ ...J(la, ra), remoteMtimeMs: 5, racyHash: 'h' }]);
      store.replaceJournal({ ...J(la, ra), mtimeMs: -1 });
      expect(store.journalEntry('d/a')).toEqual({ ...J(la, ra), mtimeMs: -1 });
      expect(store.racyCandidates()).toEqual([]);
      // d/a counts as changed locally now, e changed locally; d/a/x is on neither side.
      expect(kinds(store.reconcile().actions)).toEqual(['forget d/a/x', 'upload d/a', 'upload e']);
    } finally {
      store.close();
    }
  });
});

describe('openPlanStore, remote tree pruned whole', () => {
  // A journal tree (every entry below a folder of the journal), the same as remote rows.
  const journalTree = [
    J(LD('a', 1), RD('a', 'da', { fileId: 'A' })),
    J(L('a/x', 2), R('a/x', 'ex', { fileId: 'X' })),
    J(L('a/y', 3), R('a/y', 'shared', { fileId: 'Y' })),
    J(LD('a/s', 4), RD('a/s', 'ds', { fileId: 'S' })),
    J(L('a/s/z', 5), R('a/s/z', 'shared', { fileId: 'Z' })),
    J(L('top', 6), R('top', 'et', { fileId: 'T' })),
  ];
  const asRemote = (j: JournalEntry): RemoteEntry => ({
    path: j.path,
    isDir: j.isDir,
    size: j.isDir ? 0 : j.remoteSize,
    ...(j.etag ? { etag: j.etag } : {}),
    ...(j.fileId ? { fileId: j.fileId } : {}),
  });
  /** What happens to one journal file locally: kept, edited, deleted or renamed (same inode). */
  const fate = fc.constantFrom('keep', 'edit', 'delete', 'rename');

  it(
    'plans exactly what copies of the journal plan, read from its file or added, compared early or not (property)',
    () =>
      withTempDir('invis-plan-', async (dir) => {
        const file = join(dir, 'journal.db');
        const journal = openJournal(file);
        journal.put(J(LD('', 0), RD('', 'root')));
        for (const j of journalTree) journal.put(j);
        journal.flush();
        journal.close();
        fc.assert(
          fc.property(
            fc.array(fate, { minLength: 6, maxLength: 6 }),
            fc.boolean(),
            fc.boolean(),
            fc.constantFrom('a', 'a/s'),
            (fates, racy, newFile, removedDir) => {
              const local: LocalEntry[] = [];
              journalTree.forEach((j, i) => {
                const l: LocalEntry = {
                  path: j.path,
                  isDir: j.isDir,
                  size: j.size,
                  mtimeMs: j.mtimeMs,
                  inode: j.inode,
                };
                const f = j.isDir ? (j.path === removedDir && fates[i] === 'delete' ? 'delete' : 'keep') : fates[i];
                if (f === 'keep') local.push(l);
                else if (f === 'edit') local.push({ ...l, size: l.size + 1 });
                else if (f === 'rename') local.push({ ...l, path: `${l.path}-renamed` });
              });
              if (newFile) local.push(L('new', 99));
              /**
               * `copy`: journal and remote rows added one by one; `view`: the remote rows are the journal's; `file`: both
               * read from the journal file. `early`: the local tree is compared with the journal before the remote rows
               * come (the engine's order when the server answers after the walk).
               */
              const plan = (mode: 'copy' | 'view' | 'file', early = false) => {
                const store = openPlanStore();
                try {
                  if (mode === 'file') store.loadJournal(file);
                  else for (const j of journalTree) store.addJournal(j);
                  const addRemote = (): void => {
                    if (mode === 'copy') for (const j of journalTree) store.addRemote(asRemote(j));
                    else store.copyJournalTree('');
                  };
                  if (!early) addRemote();
                  for (const l of local)
                    if (!local.some((o) => l.path.startsWith(`${o.path}/`) && !o.isDir)) store.addLocal(l);
                  if (early) {
                    store.compareLocal();
                    addRemote();
                  }
                  // A settled racy entry writes to the journal after discovery, as the engine does.
                  if (racy) store.replaceJournal({ ...(journalTree[1] as JournalEntry), mtimeMs: -1 });
                  return { plan: store.reconcile(), remote: store.counts().remote };
                } finally {
                  store.close();
                }
              };
              const expected = plan('copy');
              expect(plan('view')).toEqual(expected);
              expect(plan('file')).toEqual(expected);
              for (const mode of ['copy', 'view', 'file'] as const) expect(plan(mode, true)).toEqual(expected);
            },
          ),
          { numRuns: 150 },
        );
      }),
    30_000,
  );

  it('is a view until something is written, then a table of its own', () => {
    const store = openPlanStore();
    try {
      for (const j of journalTree) store.addJournal(j);
      store.copyJournalTree('');
      expect(store.counts().remote).toBe(journalTree.length);
      expect(store.hasRemote('a/s/z')).toBe(true);
      // A later write to the journal (racy settle) does not change what the remote side showed.
      store.replaceJournal({ ...(journalTree[5] as JournalEntry), etag: 'changed' });
      store.addRemote(R('extra', 'e1'));
      expect(store.counts().remote).toBe(journalTree.length + 1);
      for (const j of journalTree)
        store.addLocal({ path: j.path, isDir: j.isDir, size: j.size, mtimeMs: j.mtimeMs, inode: j.inode });
      // top: journal ETag "changed", remote still "et" → remote changed since the journal: download.
      expect(kinds(store.reconcile().actions)).toEqual(['download extra', 'download top']);
    } finally {
      store.close();
    }
  });
});

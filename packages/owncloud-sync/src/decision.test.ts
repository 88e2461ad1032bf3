import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  conflictCopyName,
  decide,
  type LocalEntry,
  localChanged,
  type PathState,
  type RemoteEntry,
  remoteChanged,
  type SyncAction,
} from './decision';
import type { JournalEntry } from './journal';

const J: JournalEntry = { path: 'f', isDir: false, size: 1, mtimeMs: 1000, inode: 7, remoteSize: 1, etag: 'e1' };
const L: LocalEntry = { path: 'f', isDir: false, size: 1, mtimeMs: 1000, inode: 7 };
const R: RemoteEntry = { path: 'f', isDir: false, size: 1, etag: 'e1' };
const state = (s: Partial<PathState>): PathState => ({
  path: 'f',
  ambiguousEtag: false,
  neededLocal: false,
  neededRemote: false,
  ...s,
});

describe('decide: the README table', () => {
  const changedL: LocalEntry = { ...L, size: 2, mtimeMs: 2000 };
  const changedR: RemoteEntry = { ...R, size: 2, etag: 'e2' };
  const local = { unchanged: L, changed: changedL, deleted: undefined };
  const remote = { unchanged: R, changed: changedR, deleted: undefined };
  const table: [keyof typeof local, keyof typeof remote, SyncAction['kind'] | undefined][] = [
    ['unchanged', 'unchanged', undefined],
    ['unchanged', 'changed', 'download'],
    ['unchanged', 'deleted', 'deleteLocal'],
    ['changed', 'unchanged', 'upload'],
    ['changed', 'changed', 'conflict'],
    ['changed', 'deleted', 'upload'],
    ['deleted', 'unchanged', 'deleteRemote'],
    ['deleted', 'changed', 'download'],
    ['deleted', 'deleted', 'forget'],
  ];
  it.each(table)('local %s, remote %s → %s', (l, r, kind) => {
    expect(decide(state({ journal: J, local: local[l], remote: remote[r] }))?.kind).toBe(kind);
  });

  it('a change uploads with If-Match of the recorded ETag, a new file without', () => {
    expect(decide(state({ journal: J, local: changedL, remote: R }))).toEqual({
      kind: 'upload',
      path: 'f',
      local: changedL,
      ifMatch: 'e1',
    });
    expect(decide(state({ local: L }))).toEqual({ kind: 'upload', path: 'f', local: L });
  });

  it('new on both sides is a conflict, compared by content when the sizes match', () => {
    expect(decide(state({ local: L, remote: R }))).toMatchObject({ kind: 'conflict', compare: 'equal' });
    expect(decide(state({ local: L, remote: changedR }))).toMatchObject({ kind: 'conflict', compare: 'none' });
  });

  it('an unchanged ETag that moved between paths proves nothing', () => {
    expect(decide(state({ journal: J, local: L, remote: R, ambiguousEtag: true }))?.kind).toBe('download');
    expect(decide(state({ journal: J, remote: R, ambiguousEtag: true }))?.kind).toBe('download');
  });

  it('keeps a folder that something below still needs', () => {
    const dirJ: JournalEntry = { ...J, isDir: true, size: 0, remoteSize: 0 };
    const dirL: LocalEntry = { ...L, isDir: true, size: 0 };
    const dirR: RemoteEntry = { ...R, isDir: true, size: 0 };
    expect(decide(state({ journal: dirJ, local: dirL }))?.kind).toBe('deleteLocal');
    expect(decide(state({ journal: dirJ, local: dirL, neededRemote: true }))?.kind).toBe('mkdirRemote');
    expect(decide(state({ journal: dirJ, remote: dirR }))?.kind).toBe('deleteRemote');
    expect(decide(state({ journal: dirJ, remote: dirR, neededLocal: true }))?.kind).toBe('mkdirLocal');
  });
});

describe('decide: property', () => {
  // Small domains, so that "equal to the journal" and "changed" both come up often.
  const isDir = fc.boolean();
  const small = fc.integer({ min: 0, max: 2 });
  const opt = <T>(a: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> => fc.option(a, { nil: undefined });
  const journal = opt(
    fc
      .record({
        isDir,
        size: small,
        mtimeMs: small,
        inode: small,
        remoteSize: small,
        etag: opt(fc.constantFrom('e0', 'e1')),
        remoteMtimeMs: opt(small),
      })
      .map((j) => {
        const e: JournalEntry = {
          path: 'p',
          isDir: j.isDir,
          size: j.size,
          mtimeMs: j.mtimeMs,
          inode: j.inode,
          remoteSize: j.remoteSize,
        };
        if (j.etag !== undefined) e.etag = j.etag;
        if (j.remoteMtimeMs !== undefined) e.remoteMtimeMs = j.remoteMtimeMs;
        return e;
      }),
  );
  const local = opt(
    fc.record({ isDir, size: small, mtimeMs: small, inode: small }).map((l): LocalEntry => ({ path: 'p', ...l })),
  );
  const remote = opt(
    fc.record({ isDir, size: small, etag: opt(fc.constantFrom('e0', 'e1')), mtimeMs: opt(small) }).map((r) => {
      const e: RemoteEntry = { path: 'p', isDir: r.isDir, size: r.size };
      if (r.etag !== undefined) e.etag = r.etag;
      if (r.mtimeMs !== undefined) e.mtimeMs = r.mtimeMs;
      return e;
    }),
  );
  // A file on one side and a folder on the other never reaches decide(): the plan store reports it
  // as a typeConflict first.
  const states = fc
    .record({
      journal,
      local,
      remote,
      ambiguousEtag: fc.boolean(),
      neededLocal: fc.boolean(),
      neededRemote: fc.boolean(),
    })
    .filter((s) => !(s.local && s.remote && s.local.isDir !== s.remote.isDir));
  const allowed: ReadonlySet<string> = new Set([
    'forget',
    'record',
    'conflict',
    'upload',
    'download',
    'mkdirLocal',
    'mkdirRemote',
    'deleteLocal',
    'deleteRemote',
  ]);

  it('is one of the allowed steps and never deletes or overwrites what changed on the other side', () => {
    fc.assert(
      fc.property(states, (s) => {
        const { journal: j, local: l, remote: r } = s;
        const a = decide({ path: 'p', ...s });
        if (a === undefined) {
          // Nothing to do only when nothing differs that a copy could fix.
          if (l && r && !l.isDir && !r.isDir) expect(j && !localChanged(j, l) && !remoteChanged(j, r)).toBe(true);
          expect(!l && !r && j !== undefined).toBe(false);
          return;
        }
        expect(allowed.has(a.kind)).toBe(true);
        expect(a.path).toBe('p');
        switch (a.kind) {
          case 'forget':
            expect(l === undefined && r === undefined && j !== undefined).toBe(true);
            break;
          case 'deleteLocal':
            // Only a local entry the journal knows unchanged, and only when the server lost it.
            expect(r).toBeUndefined();
            expect(j !== undefined && l !== undefined && !localChanged(j, l)).toBe(true);
            if (l?.isDir) expect(s.neededRemote).toBe(false);
            break;
          case 'deleteRemote':
            expect(l).toBeUndefined();
            expect(j !== undefined && r !== undefined && j.isDir === r.isDir).toBe(true);
            if (r && j && !r.isDir) expect(remoteChanged(j, r) || s.ambiguousEtag).toBe(false);
            if (r?.isDir) expect(s.neededLocal).toBe(false);
            expect(a.files).toBe(1);
            break;
          case 'download':
            expect(a.remote).toBe(r);
            // Over a local file only when that file is what the journal recorded.
            if (l) expect(j !== undefined && !localChanged(j, l)).toBe(true);
            expect(a.local).toBe(l);
            break;
          case 'upload':
            expect(a.local).toBe(l);
            if (r) {
              expect(j !== undefined && !remoteChanged(j, r) && !s.ambiguousEtag).toBe(true);
              expect(a.ifMatch).toBe(j?.etag);
            }
            break;
          case 'conflict':
            expect(l && r && !l.isDir && !r.isDir).toBe(true);
            expect(a.compare).toBe(l?.size === r?.size ? 'equal' : 'none');
            break;
          case 'record':
            expect(l?.isDir).toBe(true);
            expect(r).toBeDefined();
            break;
          case 'mkdirLocal':
            expect(r?.isDir === true && l === undefined).toBe(true);
            break;
          case 'mkdirRemote':
            expect(l?.isDir === true && r === undefined).toBe(true);
            break;
        }
        // Both files changed since the journal (or both new): always a conflict, never a copy over.
        if (l && r && !l.isDir && !r.isDir && (!j || (localChanged(j, l) && remoteChanged(j, r)))) {
          expect(a.kind).toBe('conflict');
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('conflictCopyName', () => {
  const at = new Date('2026-11-28T18:05:09Z');
  it('puts host and time before the extension', () => {
    expect(conflictCopyName('a/report.docx', 'branch1', at, () => false)).toBe(
      'a/report (conflicted copy branch1 2026-11-28 180509).docx',
    );
    expect(conflictCopyName('.bashrc', 'h', at, () => false)).toBe('.bashrc (conflicted copy h 2026-11-28 180509)');
  });
  it('counts up when the name is taken', () => {
    const taken = new Set(['x (conflicted copy h 2026-11-28 180509).txt']);
    expect(conflictCopyName('x.txt', 'h', at, (p) => taken.has(p))).toBe(
      'x (conflicted copy h 2026-11-28 180509 2).txt',
    );
  });
});

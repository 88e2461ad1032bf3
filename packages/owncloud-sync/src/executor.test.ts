// The executor alone: the real local file system and journal in a temp folder, a fake DAV server.
import { lstat, mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fixedClock } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { createFakeDav, type FakeDav } from '../test/fake-dav';
import type { LocalEntry, RemoteEntry, SyncAction } from './decision';
import { createExecutor } from './executor';
import { type Journal, openJournal } from './journal';
import { localTree } from './localfs';
import type { SyncReport } from './report';
import { createTransfer } from './transfer';

const tmp = useTempDir('invis-sync-executor-');

function setup(name = 'a', dav: FakeDav = createFakeDav()) {
  const root = join(tmp(), name, 'tree');
  const journal = openJournal(join(tmp(), name, 'state', 'journal.db'));
  const report: SyncReport = {
    dryRun: false,
    server: { dialect: 'webdav', recursiveDirEtags: false, checksumTypes: [], chunkedUpload: false },
    planned: [],
    uploaded: 0,
    downloaded: 0,
    deletedLocal: 0,
    deletedRemote: 0,
    moved: 0,
    conflicts: [],
    errors: [],
    bytesUp: 0,
    bytesDown: 0,
    remoteRequests: 0,
    prunedDirs: 0,
    durationMs: 0,
  };
  const tree = localTree(root);
  const emit = (): void => undefined;
  const transfer = createTransfer({
    client: dav,
    tree,
    localDir: root,
    host: 'h',
    server: report.server,
    chunkSize: 1 << 20,
    pending: new Map(),
    rangePut: {},
    fsync: false,
    progress: report,
    emit,
  });
  const executor = createExecutor({
    tree,
    client: dav,
    transfer,
    journal,
    taken: () => false,
    report,
    emit,
    host: 'h',
    clock: fixedClock('2026-11-28T18:05:09Z'),
    concurrency: 4,
    retries: 2,
  });
  return { root, dav, journal, report, executor };
}

const local = async (root: string, path: string): Promise<LocalEntry> => {
  const st = await lstat(join(root, path));
  return { path, isDir: st.isDirectory(), size: st.isDirectory() ? 0 : st.size, mtimeMs: st.mtimeMs, inode: st.ino };
};
const remote = (dav: FakeDav, path: string): RemoteEntry => ({
  path,
  isDir: dav.file(path) === undefined,
  size: dav.file(path)?.length ?? 0,
  etag: dav.etagOf(path) as string,
});
const committed = (journal: Journal) => {
  journal.flush();
  return journal.load();
};

describe('executor', () => {
  it('runs folders before the files in them, then deletes, and records each step', async () => {
    const { root, dav, journal, report, executor } = setup();
    await mkdir(join(root, 'up'), { recursive: true });
    await writeFile(join(root, 'up', 'a.txt'), 'a');
    await writeFile(join(root, 'old.txt'), 'old');
    dav.mkdir('down');
    dav.write('down/b.txt', 'b');
    dav.write('gone.txt', 'x');
    const actions: SyncAction[] = [
      { kind: 'deleteRemote', path: 'gone.txt', remote: remote(dav, 'gone.txt'), files: 1 },
      { kind: 'upload', path: 'up/a.txt', local: await local(root, 'up/a.txt') },
      { kind: 'download', path: 'down/b.txt', remote: remote(dav, 'down/b.txt') },
      { kind: 'mkdirRemote', path: 'up', local: await local(root, 'up') },
      { kind: 'mkdirLocal', path: 'down', remote: remote(dav, 'down') },
      { kind: 'deleteLocal', path: 'old.txt', local: await local(root, 'old.txt') },
    ];
    const { remoteChanged } = await executor.execute(actions);
    expect(report.errors).toEqual([]);
    expect(remoteChanged).toBe(true);
    // Transfers run side by side; folders come before them and deletes after them.
    expect(dav.log[0]).toBe('MKCOL up');
    expect(dav.log.slice(1, 3).sort()).toEqual(['GET down/b.txt', 'PUT up/a.txt']);
    expect(dav.log[3]).toBe('DELETE gone.txt');
    expect(dav.file('up/a.txt')?.toString()).toBe('a');
    expect(await readFile(join(root, 'down', 'b.txt'), 'utf8')).toBe('b');
    expect((await readdir(root)).sort()).toEqual(['down', 'up']);
    expect(report).toMatchObject({ uploaded: 1, downloaded: 1, deletedLocal: 1, deletedRemote: 1 });
    const j = committed(journal);
    expect([...j.keys()].sort()).toEqual(['down', 'down/b.txt', 'up', 'up/a.txt']);
    // Folders touched on the server lose their ETag, so the next run lists them again.
    expect(j.get('up')?.etag).toBeUndefined();
    expect(j.get('up/a.txt')?.etag).toBe(dav.etagOf('up/a.txt'));
    journal.close();
  });

  it('keeps both versions of a conflict: the server one under the name, ours as a conflict copy', async () => {
    const { root, dav, journal, report, executor } = setup();
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'r.docx'), 'ours');
    dav.write('r.docx', 'theirs!');
    const a: SyncAction = {
      kind: 'conflict',
      path: 'r.docx',
      local: await local(root, 'r.docx'),
      remote: remote(dav, 'r.docx'),
      compare: 'none',
    };
    await executor.execute([a]);
    const copy = 'r (conflicted copy h 2026-11-28 180509).docx';
    expect(report.conflicts).toEqual([{ path: 'r.docx', copy }]);
    expect(await readFile(join(root, 'r.docx'), 'utf8')).toBe('theirs!');
    expect(await readFile(join(root, copy), 'utf8')).toBe('ours');
    expect(dav.file(copy)?.toString()).toBe('ours');
    expect(dav.file('r.docx')?.toString()).toBe('theirs!');
    expect([...committed(journal).keys()].sort()).toEqual([copy, 'r.docx']);
    journal.close();
  });

  it('records identical files on both sides without a copy', async () => {
    const { root, dav, journal, report, executor } = setup();
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'same.txt'), 'same');
    dav.write('same.txt', 'same');
    await executor.execute([
      {
        kind: 'conflict',
        path: 'same.txt',
        local: await local(root, 'same.txt'),
        remote: remote(dav, 'same.txt'),
        compare: 'equal',
      },
    ]);
    expect(report.conflicts).toEqual([]);
    expect(await readdir(root)).toEqual(['same.txt']);
    expect(committed(journal).get('same.txt')?.etag).toBe(dav.etagOf('same.txt'));
    journal.close();
  });

  it('does not delete a local file that changed after planning, nor the folder holding it', async () => {
    const { root, journal, report, executor } = setup();
    await mkdir(join(root, 'd'), { recursive: true });
    await writeFile(join(root, 'd', 'f.txt'), 'v1');
    const planned = await local(root, 'd/f.txt');
    const dir = await local(root, 'd');
    await writeFile(join(root, 'd', 'f.txt'), 'v2, longer');
    await executor.execute([
      { kind: 'deleteLocal', path: 'd/f.txt', local: planned },
      { kind: 'deleteLocal', path: 'd', local: dir },
    ]);
    expect(report.errors.map((e) => `${e.code} ${e.path}`)).toEqual(['SYNC_CHANGED_DURING_SYNC d/f.txt']);
    expect(await readFile(join(root, 'd', 'f.txt'), 'utf8')).toBe('v2, longer');
    expect(report.deletedLocal).toBe(0);
    journal.close();
  });

  it('stops after a failed move: later steps were planned on the moved tree', async () => {
    const { root, dav, journal, report, executor } = setup();
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'a.txt'), 'a');
    await writeFile(join(root, 'b.txt'), 'b appeared meanwhile');
    await writeFile(join(root, 'new.txt'), 'n');
    const { remoteChanged } = await executor.execute([
      { kind: 'moveLocal', path: 'b.txt', from: 'a.txt', to: 'b.txt', isDir: false },
      { kind: 'upload', path: 'new.txt', local: await local(root, 'new.txt') },
    ]);
    expect(remoteChanged).toBe(true);
    expect(report.errors.map((e) => e.code)).toEqual(['SYNC_CHANGED_DURING_SYNC']);
    expect(dav.log).toEqual([]);
    expect(await readFile(join(root, 'a.txt'), 'utf8')).toBe('a');
    journal.close();
  });

  it('retries network errors in-run and keeps an upload pending when they do not stop', async () => {
    const { root, dav, journal, report, executor } = setup();
    await mkdir(root, { recursive: true });
    await writeFile(join(root, 'x.txt'), 'x');
    await utimes(join(root, 'x.txt'), new Date(0), new Date(1_000_000));
    dav.failNext('PUT', 'DAV_NETWORK', 2);
    await executor.execute([{ kind: 'upload', path: 'x.txt', local: await local(root, 'x.txt') }]);
    expect(report.errors).toEqual([]);
    expect(dav.log).toEqual(['PUT x.txt', 'PUT x.txt', 'PUT x.txt']);
    journal.flush();
    expect(journal.loadPending().size).toBe(0);
    journal.close();

    const second = setup('b');
    await mkdir(second.root, { recursive: true });
    await writeFile(join(second.root, 'y.txt'), 'y');
    second.dav.failNext('PUT', 'DAV_NETWORK', 3);
    await second.executor.execute([{ kind: 'upload', path: 'y.txt', local: await local(second.root, 'y.txt') }]);
    expect(second.report.errors.map((e) => e.code)).toEqual(['DAV_NETWORK']);
    second.journal.flush();
    expect([...second.journal.loadPending().keys()]).toEqual(['y.txt']);
    expect(second.journal.get('y.txt')).toBeUndefined();
    second.journal.close();
  }, 10_000);

  it('drops the ETag of a folder when something below it failed, and reports type clashes', async () => {
    const { root, dav, journal, report, executor } = setup();
    await mkdir(join(root, 'd'), { recursive: true });
    dav.mkdir('d');
    dav.write('d/ok.txt', 'ok');
    dav.write('d/bad.txt', 'bad');
    const d = await local(root, 'd');
    await writeFile(join(root, 'd', 'bad.txt'), 'a local file the plan did not see');
    await executor.execute([
      { kind: 'record', path: 'd', local: d, remote: remote(dav, 'd') },
      { kind: 'download', path: 'd/ok.txt', remote: remote(dav, 'd/ok.txt') },
      { kind: 'download', path: 'd/bad.txt', remote: remote(dav, 'd/bad.txt') },
      { kind: 'typeConflict', path: 'clash' },
    ]);
    expect(report.errors.map((e) => `${e.code} ${e.path}`).sort()).toEqual([
      'SYNC_CHANGED_DURING_SYNC d/bad.txt',
      'SYNC_TYPE_CONFLICT clash',
    ]);
    const j = committed(journal);
    expect(j.get('d')).toBeDefined();
    expect(j.get('d')?.etag).toBeUndefined();
    expect(j.get('d/ok.txt')?.etag).toBe(dav.etagOf('d/ok.txt'));
    journal.close();
  });
});

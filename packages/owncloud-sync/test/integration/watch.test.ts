// A long-running sync: `localUnchanged` runs (one request when nothing changed anywhere) and
// `invis-sync watch` against the ownCloud shim, and that a plain WebDAV server always gets full runs.
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { createSyncEngine, runCli, type SyncReport } from '../../src/index';
import { treeObject, useFixture } from './workspace';

describe('runs with localUnchanged against the ownCloud shim', () => {
  const fixture = useFixture('owncloud-shim');

  it('end after one request while neither side changed, and run in full when the server changed', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    const b = await folder.replica('hostB');
    await a.write('p/q/deep.txt', 'v1');
    await a.write('top.txt', 't');
    // A fresh engine has no clean run behind it: the first run is a full one, whatever the caller says.
    expect((await a.engine.run({ localUnchanged: true })).localSkipped).toBeUndefined();
    await a.engine.run(); // re-lists the folders our uploads changed
    const quiet = await a.engine.run({ localUnchanged: true });
    expect(quiet).toMatchObject({ localSkipped: true, remoteRequests: 1, planned: [], errors: [] });
    await b.engine.run();
    await b.write('p/q/deep.txt', 'v2, longer');
    await b.engine.run();
    const found = await a.engine.run({ localUnchanged: true });
    expect(found.localSkipped).toBeUndefined();
    expect(found.downloaded).toBe(1);
    expect(await a.read('p/q/deep.txt')).toBe('v2, longer');
  });

  it('the caller answers for the local side: a change it did not report waits for the next full run', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    await a.write('x.txt', 'x');
    await a.engine.run();
    await a.engine.run();
    await a.write('unreported.txt', 'u');
    expect((await a.engine.run({ localUnchanged: true })).localSkipped).toBe(true);
    expect((await a.engine.run()).uploaded).toBe(1);
    expect(await treeObject(folder.remoteDir)).toEqual({ 'unreported.txt': 'u', 'x.txt': 'x' });
  });

  it('a run with errors is followed by a full run', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    await a.write('ok.txt', 'ok');
    await a.write('gone.txt', 'g');
    await a.engine.run();
    await a.engine.run();
    // Deleted here; the server refuses the DELETE: the run ends with an error, nothing changed
    // on the server (its ETag is the recorded one) and no upload is pending.
    await rm(join(a.dir, 'gone.txt'));
    const broken = createSyncEngine({
      localDir: a.dir,
      stateDir: a.stateDir,
      client: { ...folder.client, delete: () => Promise.reject(new Error('refused')) },
      hostname: 'hostA',
      retries: 0,
    });
    expect((await broken.run()).errors).toHaveLength(1);
    const next = await broken.run({ localUnchanged: true });
    expect(next.localSkipped).toBeUndefined();
    expect(next.errors).toHaveLength(1);
    expect((await a.engine.run()).deletedRemote).toBe(1);
  });

  it('a run refused by the mass-delete guard is refused again, not skipped', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    for (let i = 0; i < 12; i++) await a.write(`m/f${i}.txt`, `${i}`);
    await a.engine.run();
    await a.engine.run();
    await rm(join(a.dir, 'm'), { recursive: true });
    // The first run sees the deletion; the next is told nothing changed since, and is refused again.
    for (const localUnchanged of [false, true]) {
      const refused = await a.engine.run({ localUnchanged }).catch((e: unknown) => e);
      expect((refused as { code?: string }).code).toBe('SYNC_MASS_DELETE');
    }
  });
});

describe('runs with localUnchanged against plain WebDAV (rclone)', () => {
  const fixture = useFixture('rclone');

  it('are full runs: without recursive folder ETags the server cannot say it is unchanged', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    await a.write('x.txt', 'x');
    await a.engine.run();
    await a.engine.run();
    const run = await a.engine.run({ localUnchanged: true });
    expect(run.localSkipped).toBeUndefined();
    expect(run.planned.filter((p) => p.kind !== 'record')).toEqual([]);
  });
});

describe('invis-sync watch against the ownCloud shim', () => {
  const fixture = useFixture('owncloud-shim');
  const work = useTempDir('invis-sync-watch-');

  it('syncs local and remote changes every interval, costs one request while nothing changed, stops on the signal', async () => {
    const folder = await fixture().folder();
    const dir = join(work(), 'branch');
    const pw = join(work(), 'pw');
    await writeFile(pw, fixture().server.info.password, { mode: 0o600 });
    const root = ['--state-root', join(work(), 'state')];
    const user = fixture().server.info.username;
    const init = await runCli(
      ['init', dir, '--url', folder.client.baseUrl.href, '--user', user, '--password-file', pw, ...root],
      { stdout: () => undefined, stderr: () => undefined, isTty: false },
    );
    expect(init).toBe(0);
    await writeFile(join(dir, 'first.txt'), 'one');
    const reports: SyncReport[] = [];
    let err = '';
    const stop = new AbortController();
    const waiters: { test: (r: SyncReport) => boolean; done: (r: SyncReport) => void }[] = [];
    /** The first report (from now on) that passes `test`. */
    const next = (test: (r: SyncReport) => boolean): Promise<SyncReport> =>
      new Promise((done) => waiters.push({ test, done }));
    const watching = runCli(['watch', dir, '--json', '--interval', '1', ...root], {
      stdout(line) {
        const report = JSON.parse(line) as SyncReport;
        reports.push(report);
        for (const w of waiters.splice(0)) {
          if (w.test(report)) w.done(report);
          else waiters.push(w);
        }
      },
      stderr(text) {
        err += text;
      },
      isTty: false,
      hostname: 'watcher',
      signal: stop.signal,
    });
    // The first runs walk (the watch is new); then nothing changed: one request per run.
    const quiet = await next((r) => r.localSkipped === true);
    expect(quiet).toMatchObject({ remoteRequests: 1, planned: [], errors: [] });
    expect(await treeObject(folder.remoteDir)).toEqual({ 'first.txt': 'one' });
    // A local change is seen by the watch: the next run walks and uploads it.
    await writeFile(join(dir, 'second.txt'), 'two');
    await next((r) => r.uploaded === 1);
    expect(await treeObject(folder.remoteDir)).toEqual({ 'first.txt': 'one', 'second.txt': 'two' });
    // A remote change is seen through the server's ETag, even while the local tree is unchanged.
    await next((r) => r.localSkipped === true);
    await folder.client.put('third.txt', Buffer.from('three'), { size: 5 });
    await next((r) => r.downloaded === 1);
    expect(await treeObject(dir)).toEqual({ 'first.txt': 'one', 'second.txt': 'two', 'third.txt': 'three' });
    // Lock files of office programs are excluded: they do not make a run walk.
    await next((r) => r.localSkipped === true);
    await writeFile(join(dir, '~$report.docx'), 'lock');
    expect(await next(() => true)).toMatchObject({ localSkipped: true });
    stop.abort();
    expect(await watching).toBe(0);
    expect(err).toBe('');
    expect(reports.every((r) => r.errors.length === 0)).toBe(true);
  });
});

// One conformance suite, run against every real WebDAV server of the testbed.
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSyncEngine, createWebDavClient, SyncError } from '../../src/index';
import { runUntilServerHalted, SERVER_KINDS, treeObject, useFixture } from './workspace';

describe.each(SERVER_KINDS)('sync against %s', (kind) => {
  const fixture = useFixture(kind);

  it('first sync both directions, then an unchanged tree plans nothing', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    const b = await folder.replica('hostB');
    await a.write('docs/a.txt', 'from A');
    await a.write('docs/deep/ä ö #1.txt', 'umlaut');
    await a.write('empty.bin', '');
    await b.write('docs/b.txt', 'from B');
    await b.write('other/c.txt', 'C');
    expect((await a.engine.run()).uploaded).toBe(3);
    const rb = await b.engine.run();
    expect(rb.uploaded).toBe(2);
    expect(rb.downloaded).toBe(3);
    await a.engine.run();
    const expected = {
      'docs/a.txt': 'from A',
      'docs/b.txt': 'from B',
      'docs/deep/ä ö #1.txt': 'umlaut',
      'empty.bin': '',
      'other/c.txt': 'C',
    };
    expect(await treeObject(a.dir)).toEqual(expected);
    expect(await treeObject(b.dir)).toEqual(expected);
    expect(await treeObject(folder.remoteDir)).toEqual(expected);
    const again = await a.engine.run();
    expect(again.planned.filter((p) => p.kind !== 'record')).toEqual([]);
    expect(again.errors).toEqual([]);
  });

  it('an unchanged tree costs one request where the server allows, and a deep change is still found', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    const b = await folder.replica('hostB');
    await a.write('p/q/r/deep.txt', 'v1');
    await a.write('other/x.txt', 'x');
    await a.write('top.txt', 't');
    await a.engine.run();
    await a.engine.run(); // re-lists the folders our uploads changed
    const idle = await a.engine.run();
    // ownCloud: one PROPFIND Depth 0 (recursive directory ETags); rclone: one Depth infinity;
    // Apache refuses infinity, so every folder is listed (root, p, p/q, p/q/r, other).
    expect(idle.remoteRequests).toBe(kind === 'apache' ? 5 : 1);
    await b.engine.run();
    // Another size: the shim's folder ETags hash path|mtime(s)|size, so a same-size write in
    // the same second would not change them (real ownCloud ETags change on every write).
    await b.write('p/q/r/deep.txt', 'v2, longer');
    await b.engine.run();
    const found = await a.engine.run();
    expect(found.downloaded).toBe(1);
    expect(await a.read('p/q/r/deep.txt')).toBe('v2, longer');
    if (kind === 'owncloud-shim') expect(found.prunedDirs).toBeGreaterThanOrEqual(1);
  });

  it('a fresh engine per run (the CLI from cron) detects the server alongside the first listing; a deep change is still found', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    const b = await folder.replica('hostB');
    await a.write('p/q/r/deep.txt', 'v1');
    await a.write('other/x.txt', 'x');
    await a.engine.run();
    await a.engine.run(); // re-lists the folders our uploads changed
    const fresh = () =>
      createSyncEngine({ localDir: a.dir, stateDir: a.stateDir, client: folder.client, hostname: 'hostA' }).run();
    const idle = await fresh();
    expect(idle.planned).toEqual([]);
    // The base collection's Depth 0 listing goes out with the detection when the journal has its
    // ETag: on ownCloud it is the whole scan. rclone gives its root no ETag (nothing sent ahead: one
    // Depth infinity); Apache's goes unused, then a fresh engine tries infinity (refused) and lists
    // root, p, p/q, p/q/r and other.
    expect(idle.remoteRequests).toBe(kind === 'apache' ? 7 : 1);
    await b.engine.run();
    await b.write('p/q/r/deep.txt', 'v2, longer');
    await b.engine.run();
    const found = await fresh();
    expect(found.downloaded).toBe(1);
    expect(await a.read('p/q/r/deep.txt')).toBe('v2, longer');
    if (kind === 'owncloud-shim') expect(found.prunedDirs).toBeGreaterThanOrEqual(1);
  });

  it('sees a remote change that restores an earlier folder state (A → B → A)', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    await a.write('only.txt', 'x');
    await a.engine.run(); // empty folder → one file, by us
    await folder.client.delete('only.txt'); // back to the empty folder: content-hash ETags repeat
    const r = await a.engine.run();
    expect(r.deletedLocal).toBe(1);
    expect(await treeObject(a.dir)).toEqual({});
  });

  it('edits on both sides keep both versions as a conflict copy', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    const b = await folder.replica('hostB');
    await a.write('report.docx', 'v1');
    await a.engine.run();
    await b.engine.run();
    await a.write('report.docx', 'edited on A');
    await b.write('report.docx', 'edited on B, longer');
    await a.engine.run();
    const rb = await b.engine.run();
    expect(rb.conflicts).toHaveLength(1);
    expect(rb.conflicts[0]?.copy).toMatch(/^report \(conflicted copy hostB \d{4}-\d\d-\d\d \d{6}\)\.docx$/);
    await a.engine.run();
    const tree = await treeObject(a.dir);
    expect(Object.values(tree).sort()).toEqual(['edited on A', 'edited on B, longer']);
    expect(tree['report.docx']).toBe('edited on A');
    expect(await treeObject(b.dir)).toEqual(tree);
    expect(await treeObject(folder.remoteDir)).toEqual(tree);
  });

  it('the same new file on both sides is not a conflict', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    const b = await folder.replica('hostB');
    await a.write('same.txt', 'identical');
    await b.write('same.txt', 'identical');
    await a.engine.run();
    const rb = await b.engine.run();
    expect(rb.conflicts).toEqual([]);
    expect(await treeObject(b.dir)).toEqual({ 'same.txt': 'identical' });
  });

  it('delete on one side while edited on the other: the edit wins, both ways', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    const b = await folder.replica('hostB');
    await a.write('x/one.txt', '1');
    await a.write('x/two.txt', '2');
    await a.engine.run();
    await b.engine.run();
    await rm(join(a.dir, 'x/one.txt'));
    await b.write('x/one.txt', '1 edited on B');
    await a.write('x/two.txt', '2 edited on A');
    await rm(join(b.dir, 'x/two.txt'));
    await a.engine.run();
    await b.engine.run();
    await a.engine.run();
    const expected = { 'x/one.txt': '1 edited on B', 'x/two.txt': '2 edited on A' };
    expect(await treeObject(a.dir)).toEqual(expected);
    expect(await treeObject(b.dir)).toEqual(expected);
    // An unchanged file deleted on one side is deleted on the other.
    await rm(join(b.dir, 'x/one.txt'));
    await b.engine.run();
    const ra = await a.engine.run();
    expect(ra.deletedLocal).toBe(1);
    expect(await treeObject(a.dir)).toEqual({ 'x/two.txt': '2 edited on A' });
  });

  it('detects renames: a local rename is a MOVE on the server, a remote rename a local rename', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    const b = await folder.replica('hostB');
    await a.write('dir/file.txt', 'content');
    await a.write('dir/sub/x.txt', 'x');
    await a.engine.run();
    await b.engine.run();
    await rename(join(a.dir, 'dir/file.txt'), join(a.dir, 'dir/renamed.txt'));
    await rename(join(a.dir, 'dir/sub'), join(a.dir, 'moved-sub'));
    const ra = await a.engine.run();
    expect(ra.moved).toBe(2);
    expect(ra.uploaded).toBe(0);
    const rb = await b.engine.run();
    expect(await treeObject(b.dir)).toEqual({ 'dir/renamed.txt': 'content', 'moved-sub/x.txt': 'x' });
    // File renames are recognised by ETag or oc:fileid. Folder renames need an oc:fileid that
    // survives MOVE, which none of these servers keeps (Sabre 1.8 copies folders): download + delete.
    expect(rb.moved).toBe(1);
    expect(await treeObject(folder.remoteDir)).toEqual({ 'dir/renamed.txt': 'content', 'moved-sub/x.txt': 'x' });
  });

  it('files changed locally during a sync are not lost', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    const b = await folder.replica('hostB');
    await a.write('f.txt', 'base');
    await a.engine.run();
    await b.engine.run();
    await b.write('f.txt', 'remote edit');
    await b.engine.run();
    const during = await a.engine.run({
      onEvent: (e) => {
        // After planning, before the download lands: synchronous, so the timing is deterministic.
        if (e.type === 'planned') writeFileSync(join(a.dir, 'f.txt'), 'local edit during sync');
      },
    });
    expect(during.errors.map((e) => e.code)).toEqual(['SYNC_CHANGED_DURING_SYNC']);
    expect(await a.read('f.txt')).toBe('local edit during sync');
    const after = await a.engine.run();
    expect(after.conflicts).toHaveLength(1);
    expect(Object.values(await treeObject(a.dir)).sort()).toEqual(['local edit during sync', 'remote edit']);
  });

  it('a wrong password fails the run with DAV_UNAUTHORIZED and changes nothing', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    await a.write('x.txt', 'x');
    const bad = createWebDavClient({
      url: folder.client.baseUrl.href,
      auth: { type: 'basic', username: fixture().server.info.username, password: 'wrong' },
    });
    const engine = createSyncEngine({ localDir: a.dir, stateDir: a.stateDir, client: bad });
    const error = await engine.run().catch((e: unknown) => e);
    await bad.close();
    expect((error as SyncError).code).toBe('DAV_UNAUTHORIZED');
    expect(JSON.stringify(error)).not.toContain('wrong');
    expect(await treeObject(folder.remoteDir)).toEqual({});
    expect(await treeObject(a.dir)).toEqual({ 'x.txt': 'x' });
  });

  it('refuses mass deletes unless allowed, and dry-run changes nothing', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    for (let i = 0; i < 12; i++) await a.write(`m/f${i}.txt`, `${i}`);
    await a.engine.run();
    await rm(join(a.dir, 'm'), { recursive: true });
    const refused = await a.engine.run().catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(SyncError);
    expect((refused as SyncError).code).toBe('SYNC_MASS_DELETE');
    const dry = await a.engine.run({ dryRun: true, allowMassDelete: true });
    expect(dry.planned.filter((p) => p.kind === 'deleteRemote')).toEqual([{ kind: 'deleteRemote', path: 'm' }]);
    expect(Object.keys(await treeObject(folder.remoteDir))).toHaveLength(12);
    const done = await a.engine.run({ allowMassDelete: true });
    expect(done.deletedRemote).toBe(12);
    expect(await treeObject(folder.remoteDir)).toEqual({});
  });

  it('honours excludes (defaults and an exclude file) and the per-folder lock', async () => {
    const folder = await fixture().folder();
    const excludeFile = join(await folder.replica('tmp').then((r) => r.dir), 'exclude.lst');
    await writeFile(excludeFile, '# build output\nbuild/\n*.log\n');
    const a = await folder.replica('hostA', { excludeFile });
    await a.write('keep.txt', 'k');
    await a.write('~$report.docx', 'office lock');
    await a.write('.~lock.x.odt#', 'lo lock');
    await a.write('x.swp', 'vim');
    await a.write('build/out.o', 'o');
    await a.write('app.log', 'log');
    const [first, second] = await Promise.allSettled([a.engine.run(), a.engine.run()]);
    const codes = [first, second].map((r) => (r.status === 'rejected' ? (r.reason as SyncError).code : 'ok'));
    expect(codes.sort()).toEqual(['SYNC_LOCKED', 'ok']);
    expect(await treeObject(folder.remoteDir)).toEqual({ 'keep.txt': 'k' });
  });

  it('server restarted mid-sync: the next run completes', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA', { retries: 0, concurrency: 2 });
    const b = await folder.replica('hostB');
    for (let i = 0; i < 60; i++) await a.write(`r/${i % 3}/f${i}.txt`, `content ${i}`);
    let halted: Promise<void> | undefined;
    let done = 0;
    const first = await a.engine.run({
      onEvent: (e) => {
        if (e.type === 'done' && e.action === 'upload' && ++done === 10) halted = fixture().server.halt();
      },
    });
    await halted;
    expect(first.errors.length).toBeGreaterThan(0);
    await fixture().server.restart();
    const second = await a.engine.run();
    expect(second.errors).toEqual([]);
    // Our own interrupted uploads (rclone keeps truncated files) are re-sent, not conflicts.
    expect(second.conflicts).toEqual([]);
    await b.engine.run();
    expect(await treeObject(b.dir)).toEqual(await treeObject(a.dir));
    expect(Object.keys(await treeObject(folder.remoteDir))).toHaveLength(60);
  });

  it('resumes a 64 MiB download after the server died mid-transfer', async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    const big = randomBytes(64 * 1024 * 1024);
    await a.write('big.bin', big);
    await a.engine.run();
    // 32 MiB/s keeps the transfer long enough (~2 s) to kill the server in the middle.
    const b = await folder.replica('hostB', { bandwidthLimit: 32 * 1024 * 1024, retries: 0 });
    const first = await runUntilServerHalted(fixture(), b.engine, 'down', 24 * 1024 * 1024);
    expect(first.errors.map((e) => e.path)).toEqual(['big.bin']);
    // The bandwidth limit held: 24 MiB at 32 MiB/s take at least 0.75 s.
    expect(first.durationMs).toBeGreaterThan(700);
    const parts = (await readdir(b.dir)).filter((n) => n.endsWith('.part'));
    expect(parts).toHaveLength(1);
    const partial = (await stat(join(b.dir, parts[0] as string))).size;
    expect(partial).toBeGreaterThan(24 * 1024 * 1024);
    await fixture().server.restart();
    // Apache sends weak ETags for files written within the last second, and If-Range needs a strong one.
    await new Promise((r) => setTimeout(r, 1100));
    const second = await b.engine.run();
    expect(second.errors).toEqual([]);
    expect(second.bytesDown).toBe(big.length - partial);
    const sha = (buf: Buffer): string => createHash('sha256').update(buf).digest('hex');
    expect(sha(await readFile(join(b.dir, 'big.bin')))).toBe(sha(big));
    expect((await readdir(b.dir)).filter((n) => n.endsWith('.part'))).toEqual([]);
  });
});

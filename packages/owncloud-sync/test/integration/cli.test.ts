import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../run-cli';
import { type Fixture, startFixture, treeObject } from './workspace';

describe('invis-sync CLI against rclone serve webdav', () => {
  let fx: Fixture;
  const work = useTempDir('invis-sync-cli-', { shared: true });
  beforeAll(async () => {
    fx = await startFixture('rclone');
  });
  afterAll(async () => {
    await fx?.stop();
  });

  const cli = (...argv: string[]) => runCliCaptured(argv, 'cli');

  const root = (): string[] => ['--state-root', join(work(), 'state')];

  it('init, run --json, status; refuses a world-readable password file', async () => {
    const folder = await fx.folder();
    const dir = join(work(), 'branch');
    const pw = join(work(), 'pw');
    await writeFile(pw, `${fx.server.info.password}\n`, { mode: 0o644 });
    await chmod(pw, 0o644);
    const url = folder.client.baseUrl.href;
    const args = ['init', dir, '--url', url, '--user', fx.server.info.username, '--password-file', pw, ...root()];
    const refused = await cli(...args);
    expect(refused.code).toBe(2);
    expect(refused.err).toMatch(/chmod 600/);
    await chmod(pw, 0o600);
    expect((await cli(...args)).code).toBe(0);
    await writeFile(join(dir, 'a.txt'), 'A');
    const dry = await cli('run', dir, '--dry-run', ...root());
    expect(dry.out).toMatch(/would upload a.txt/);
    const run = await cli('run', dir, '--json', ...root());
    expect(run.code).toBe(0);
    expect(JSON.parse(run.out)).toMatchObject({ uploaded: 1, errors: [] });
    expect(await treeObject(folder.remoteDir)).toEqual({ 'a.txt': 'A' });
    const status = JSON.parse((await cli('status', dir, '--json', ...root())).out);
    expect(status).toMatchObject({ files: 1, running: false, lastRun: { errors: 0, conflicts: 0 } });
    expect(JSON.stringify(status)).not.toContain(fx.server.info.password);
    expect((await cli('bogus', dir)).code).toBe(2);
  });

  it('a dry run lists the deletions the mass-delete guard would stop, and exits 0', async () => {
    const folder = await fx.folder();
    const dir = join(work(), 'mass');
    const pw = join(work(), 'pw-mass');
    await writeFile(pw, fx.server.info.password, { mode: 0o600 });
    const url = folder.client.baseUrl.href;
    const user = fx.server.info.username;
    expect((await cli('init', dir, '--url', url, '--user', user, '--password-file', pw, ...root())).code).toBe(0);
    await mkdir(join(dir, 'm'));
    for (let i = 0; i < 12; i++) await writeFile(join(dir, 'm', `f${i}.txt`), `${i}`);
    await writeFile(join(dir, 'keep.txt'), 'k');
    expect((await cli('run', dir, ...root())).code).toBe(0);
    await rm(join(dir, 'm'), { recursive: true });
    const dry = await cli('run', dir, '--dry-run', ...root());
    expect(dry.code).toBe(0);
    expect(dry.out).toMatch(/^ {2}would deleteRemote m$/m);
    expect(dry.out).toMatch(/a real run would stop at the mass-delete guard: it deletes 12 of 13 files/);
    const json = JSON.parse((await cli('run', dir, '--dry-run', '--json', ...root())).out);
    expect(json).toMatchObject({ dryRun: true, massDelete: { files: 12, known: 13 } });
    expect(json.planned).toContainEqual({ kind: 'deleteRemote', path: 'm' });
    expect(Object.keys(await treeObject(folder.remoteDir))).toHaveLength(13);
    const real = await cli('run', dir, ...root());
    expect(real.code).toBe(2);
    expect(real.err).toMatch(/SYNC_MASS_DELETE/);
  });
});

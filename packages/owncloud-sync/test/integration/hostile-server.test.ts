// Security: a hostile server (and hostile users of the synced folder) against the real engine,
// real files in a temp dir. The sync runs as root on a branch server, so nothing it is told may
// make it write or read outside its folder, or send its password anywhere but where it should.
import { mkdirSync, renameSync, symlinkSync, unlinkSync } from 'node:fs';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createSyncEngine, createWebDavClient, SyncError, type SyncEvent } from '../../src/index';
import { type HostileDav, startHostileDav } from './hostile';

let dav: HostileDav;
const work = useTempDir('invis-sync-hostile-');
beforeAll(async () => {
  dav = await startHostileDav();
});
afterAll(async () => {
  await dav?.stop();
});
afterEach(async () => {
  dav.requests.length = 0;
  dav.listing = () => [{ href: dav.basePath, dir: true }];
});

/** `<tmp>/sync` (the folder), `<tmp>/state`, `<tmp>/outside` (where nothing may land). */
async function setup(): Promise<{ dir: string; outside: string; stateDir: string }> {
  const dir = join(work(), 'sync');
  const outside = join(work(), 'outside');
  await mkdir(dir);
  await mkdir(outside);
  return { dir, outside, stateDir: join(work(), 'state') };
}

const engineFor = (dir: string, stateDir: string) =>
  createSyncEngine({
    localDir: dir,
    stateDir,
    client: createWebDavClient({ url: dav.url, auth: { type: 'basic', username: 'u', password: 'p' } }),
    hostname: 'branch',
  });

const listing = (...entries: { href: string; dir?: boolean }[]) => [{ href: dav.basePath, dir: true }, ...entries];
const codeOf = (e: unknown): string | undefined => (e instanceof SyncError ? e.code : undefined);

describe('hrefs from a hostile server never lead outside the folder', () => {
  const escapes: [string, () => string][] = [
    ['%2F inside a segment', () => `${dav.basePath}x%2F..%2F..%2Foutside%2Fevil`],
    ['%2F inside a segment, absolute URL', () => `${dav.origin}${dav.basePath}x%2F..%2F..%2Foutside%2Fevil`],
    ['plain .. segments', () => `${dav.basePath}x/../../outside/evil`],
    ['encoded dot segments', () => `${dav.basePath}x/%2e%2e/%2E%2E/outside/evil`],
    ['a backslash', () => `${dav.basePath}..%5C..%5Coutside%5Cevil`],
  ];
  it.each(escapes)('a file href with %s is refused (DAV_UNSAFE_HREF), nothing written', async (_, href) => {
    const { dir, outside, stateDir } = await setup();
    dav.listing = () => listing({ href: href() });
    const result = await engineFor(dir, stateDir)
      .run()
      .catch((e: unknown) => e);
    expect(codeOf(result)).toBe('DAV_UNSAFE_HREF');
    expect(await readdir(outside)).toEqual([]);
    expect(await readdir(dir)).toEqual([]);
  });

  it('a folder href escaping the folder is refused, no folder made outside', async () => {
    const { dir, outside, stateDir } = await setup();
    dav.listing = () => listing({ href: `${dav.basePath}..%2Foutside%2Fmade/`, dir: true });
    const result = await engineFor(dir, stateDir)
      .run()
      .catch((e: unknown) => e);
    expect(codeOf(result)).toBe('DAV_UNSAFE_HREF');
    expect(await readdir(outside)).toEqual([]);
  });

  it('a depth-1 listing may hold only the folder and its direct children', async () => {
    const { dir, stateDir } = await setup();
    // Refuses Depth: infinity (as Apache does), so the engine walks with depth-1 listings.
    dav.listing = (_path, depth) => (depth === 'infinity' ? 403 : listing({ href: `${dav.basePath}a/b/c.txt` }));
    const result = await engineFor(dir, stateDir)
      .run()
      .catch((e: unknown) => e);
    expect(codeOf(result)).toBe('DAV_UNSAFE_HREF');
    expect(await readdir(dir)).toEqual([]);
  });
});

describe('local symlinks are never followed', () => {
  it('a download into a folder that is a symlink out of the tree is refused', async () => {
    const { dir, outside, stateDir } = await setup();
    await symlink(outside, join(dir, 'docs'));
    dav.listing = () => listing({ href: `${dav.basePath}docs/`, dir: true }, { href: `${dav.basePath}docs/evil.txt` });
    const report = await engineFor(dir, stateDir).run();
    expect(report.errors.map((e) => e.code)).toContain('SYNC_UNSAFE_PATH');
    expect(await readdir(outside)).toEqual([]);
  });

  it('a local name with a backslash is not uploaded (the server would list it back as an unsafe href)', async () => {
    const { dir, stateDir } = await setup();
    await writeFile(join(dir, 'a\\b.txt'), 'x');
    await writeFile(join(dir, 'ok.txt'), 'y');
    const report = await engineFor(dir, stateDir).run();
    expect(report.planned).toEqual([{ kind: 'upload', path: 'ok.txt' }]);
    expect(dav.requests.filter((r) => r.method === 'PUT').map((r) => r.url)).toEqual([`${dav.basePath}ok.txt`]);
  });

  const secret = 'ROOT PRIVATE KEY';
  const putBodies = (): string[] => dav.requests.filter((r) => r.method === 'PUT').map((r) => r.body.toString());

  it('a file swapped for a symlink after discovery is not read through it', async () => {
    const { dir, outside, stateDir } = await setup();
    await writeFile(join(outside, 'id_rsa'), secret, { mode: 0o600 });
    await writeFile(join(dir, 'leak.txt'), 'harmless');
    const report = await engineFor(dir, stateDir).run({
      onEvent: (e: SyncEvent) => {
        if (e.type !== 'planned') return;
        unlinkSync(join(dir, 'leak.txt'));
        symlinkSync(join(outside, 'id_rsa'), join(dir, 'leak.txt'));
      },
    });
    expect(putBodies().some((b) => b.includes(secret))).toBe(false);
    expect(report.errors.map((e) => e.path)).toContain('leak.txt');
  });

  it('a folder swapped for a symlink after discovery is not read through it', async () => {
    const { dir, outside, stateDir } = await setup();
    await writeFile(join(outside, 'f.txt'), secret, { mode: 0o600 });
    mkdirSync(join(dir, 'd'));
    await writeFile(join(dir, 'd', 'f.txt'), 'harmless');
    const report = await engineFor(dir, stateDir).run({
      onEvent: (e: SyncEvent) => {
        if (e.type !== 'planned') return;
        renameSync(join(dir, 'd'), join(dir, 'd-real'));
        symlinkSync(outside, join(dir, 'd'));
      },
    });
    expect(putBodies().some((b) => b.includes(secret))).toBe(false);
    expect(report.errors.map((e) => e.path)).toContain('d/f.txt');
  });
});

describe('credentials only over https, except to loopback', () => {
  const auth = { type: 'basic' as const, username: 'u', password: 'p' };
  it('refuses plain http to anything but 127.0.0.0/8, ::1 and localhost', async () => {
    const port = new URL(dav.origin).port;
    // ::ffff:127.0.0.1 reaches the loopback listener but is not a loopback address by our rule.
    for (const url of [
      `http://[::ffff:127.0.0.1]:${port}/remote.php/webdav/Branch/`,
      'http://127.example.com/dav/',
      'http://localhost.example.com/dav/',
      'http://10.0.0.1/dav/',
    ]) {
      let thrown: unknown;
      try {
        const client = createWebDavClient({ url, auth, timeoutMs: 2000 });
        await client.propfind('', 0).catch(() => undefined);
        await client.close();
      } catch (error) {
        thrown = error;
      }
      expect(codeOf(thrown), url).toBe('SYNC_INVALID_OPTIONS');
    }
    expect(dav.requests.filter((r) => r.authorization)).toEqual([]);
    for (const url of [`http://localhost:${port}/remote.php/webdav/Branch/`, `${dav.url}`]) {
      const client = createWebDavClient({ url, auth });
      await client.propfind('', 0);
      await client.close();
    }
    expect(dav.requests.filter((r) => r.authorization)).toHaveLength(2);
    expect(() => createWebDavClient({ url: 'http://[::1]:1/dav/', auth })).not.toThrow();
    expect(() => createWebDavClient({ url: 'https://hq.example.com/dav/', auth })).not.toThrow();
  });
});

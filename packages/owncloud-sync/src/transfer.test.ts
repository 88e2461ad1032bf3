// The transfer stage alone: the real local file system in a temp folder, a fake DAV server.
import { lstat, readdir, readFile, stat, symlink, truncate, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { createFakeDav, type FakeDavOptions } from '../test/fake-dav';
import { isOwncloudSyncError } from './errors';
import { localTree } from './localfs';
import type { SyncEvent } from './report';
import { createTransfer, type TransferContext } from './transfer';

const dir = useTempDir('invis-sync-transfer-');

function setup(server: FakeDavOptions = {}, extra: Partial<TransferContext> = {}) {
  const dav = createFakeDav(server);
  const progress = { bytesUp: 0, bytesDown: 0 };
  const events: SyncEvent[] = [];
  const transfer = createTransfer({
    client: dav,
    tree: localTree(dir()),
    localDir: dir(),
    host: 'h',
    server: {
      dialect: 'webdav',
      recursiveDirEtags: false,
      checksumTypes: [],
      chunkedUpload: server.chunkedUpload === true,
    },
    chunkSize: 1024,
    pending: new Map(),
    rangePut: {},
    fsync: true,
    progress,
    emit: (e) => events.push(e),
    ...extra,
  });
  return { dav, transfer, progress, events };
}
const codeOf = (e: unknown): string | undefined => (isOwncloudSyncError(e) ? e.code : undefined);
const remoteOf = (dav: ReturnType<typeof createFakeDav>, path: string) => ({
  path,
  isDir: false,
  size: dav.file(path)?.length ?? 0,
  etag: dav.etagOf(path) as string,
  mtimeMs: 1_700_000_000_000,
});

describe('download', () => {
  it('puts a new file in place with the server mtime and leaves no part file', async () => {
    const { dav, transfer, progress } = setup();
    dav.write('a.txt', 'hello');
    const got = await transfer.download('a.txt', remoteOf(dav, 'a.txt'), undefined);
    expect(await readFile(join(dir(), 'a.txt'), 'utf8')).toBe('hello');
    expect((await stat(join(dir(), 'a.txt'))).mtimeMs).toBe(1_700_000_000_000);
    expect(await readdir(dir())).toEqual(['a.txt']);
    expect(got.remote).toMatchObject({ size: 5, etag: dav.etagOf('a.txt') });
    expect(got.local).toMatchObject({ path: 'a.txt', size: 5, mtimeMs: 1_700_000_000_000 });
    expect(progress.bytesDown).toBe(5);
  });

  it('never replaces a local file that appeared or changed meanwhile', async () => {
    const { dav, transfer } = setup();
    dav.write('a.txt', 'server');
    await writeFile(join(dir(), 'a.txt'), 'mine');
    const appeared = await transfer.download('a.txt', remoteOf(dav, 'a.txt'), undefined).catch((e: unknown) => e);
    expect(codeOf(appeared)).toBe('SYNC_CHANGED_DURING_SYNC');
    const st = await lstat(join(dir(), 'a.txt'));
    const expected = { path: 'a.txt', isDir: false, size: st.size, mtimeMs: st.mtimeMs, inode: st.ino };
    await writeFile(join(dir(), 'a.txt'), 'mine, edited');
    const changed = await transfer.download('a.txt', remoteOf(dav, 'a.txt'), expected).catch((e: unknown) => e);
    expect(codeOf(changed)).toBe('SYNC_CHANGED_DURING_SYNC');
    expect(await readFile(join(dir(), 'a.txt'), 'utf8')).toBe('mine, edited');
    expect(await readdir(dir())).toEqual(['a.txt']);
  });

  it('resumes a part file with Range + If-Range and fetches only the rest', async () => {
    const { dav, transfer, progress } = setup();
    const body = Buffer.from('0123456789'.repeat(100));
    dav.write('big.bin', body);
    const r = remoteOf(dav, 'big.bin');
    const first = await transfer.fetchPart('big.bin', r);
    await truncate(join(dir(), first.part), 400);
    progress.bytesDown = 0;
    await transfer.download('big.bin', r, undefined);
    expect((await readFile(join(dir(), 'big.bin'))).equals(body)).toBe(true);
    expect(progress.bytesDown).toBe(600);
  });

  it('refuses to write through a symlinked folder', async () => {
    const { dav, transfer } = setup();
    dav.mkdir('d');
    dav.write('d/x', 'x');
    await symlink('/tmp', join(dir(), 'd'));
    const e = await transfer.download('d/x', remoteOf(dav, 'd/x'), undefined).catch((error: unknown) => error);
    expect(codeOf(e)).toBe('SYNC_UNSAFE_PATH');
  });
});

describe('upload', () => {
  it('creates a new file with If-None-Match and records a racy file by content hash', async () => {
    const { dav, transfer, progress } = setup();
    await writeFile(join(dir(), 'n.txt'), 'new');
    const sent = await transfer.upload('n.txt', { create: true });
    expect(dav.file('n.txt')?.toString()).toBe('new');
    expect(sent.remote).toMatchObject({ size: 3, etag: dav.etagOf('n.txt') });
    // Written just now: within the racy window, so a hash decides next run.
    expect(sent.remote.racyHash).toMatch(/^[0-9a-f]{40}$/);
    expect(sent.etagMissing).toBe(false);
    expect(progress.bytesUp).toBe(3);
    // An old file is not racy.
    await utimes(join(dir(), 'n.txt'), new Date(0), new Date(1_000_000));
    const again = await transfer.upload('n.txt', { ifMatch: dav.etagOf('n.txt') as string, create: false });
    expect(again.remote.racyHash).toBeUndefined();
    expect(again.local.mtimeMs).toBe(1_000_000);
  });

  it('fails with DAV_PRECONDITION_FAILED when the server file changed, and never overwrites it', async () => {
    const { dav, transfer } = setup();
    dav.write('c.txt', 'v1');
    const old = dav.etagOf('c.txt') as string;
    dav.write('c.txt', 'v2 by someone else');
    await writeFile(join(dir(), 'c.txt'), 'mine');
    const e = await transfer.upload('c.txt', { ifMatch: old, create: false }).catch((error: unknown) => error);
    expect(codeOf(e)).toBe('DAV_PRECONDITION_FAILED');
    expect(dav.file('c.txt')?.toString()).toBe('v2 by someone else');
    // The 412 was re-checked: the ETag differs, so no unconditional retry.
    expect(dav.log).toEqual(['PUT c.txt', 'PROPFIND c.txt']);
  });

  it('retries a spurious 412 without the condition when the ETag still matches (Apache weak ETags)', async () => {
    const { dav, transfer } = setup();
    dav.write('w.txt', 'v1');
    await writeFile(join(dir(), 'w.txt'), 'v2');
    dav.failNext('PUT', 'DAV_PRECONDITION_FAILED');
    await transfer.upload('w.txt', { ifMatch: dav.etagOf('w.txt') as string, create: false });
    expect(dav.log).toEqual(['PUT w.txt', 'PROPFIND w.txt', 'PUT w.txt']);
    expect(dav.file('w.txt')?.toString()).toBe('v2');
  });

  it('sends a large file to a hidden temp file and MOVEs it over the target (no range PUTs)', async () => {
    const { dav, transfer } = setup({ rangePut: false });
    const body = Buffer.alloc(3000, 7);
    await writeFile(join(dir(), 'L.bin'), body);
    const sent = await transfer.upload('L.bin', { create: true });
    expect(dav.file('L.bin')?.equals(body)).toBe(true);
    expect(sent.etagMissing).toBe(true);
    const puts = dav.log.filter((l) => l.startsWith('PUT '));
    // The probe (two PUTs) and one whole PUT of the temp file; never a PUT of the real name.
    expect(puts.every((l) => /^PUT \.~sync-[\w-]+\.part$/.test(l))).toBe(true);
    expect(dav.log.at(-1)).toMatch(/^MOVE \.~sync-.*\.part$/);
  });

  it('continues an interrupted chunked upload from the chunks the server kept', async () => {
    await writeFile(join(dir(), 'C.bin'), Buffer.alloc(3000, 1));
    const st = await lstat(join(dir(), 'C.bin'));
    const pending = new Map([['C.bin', { size: st.size, mtimeMs: st.mtimeMs, inode: st.ino }]]);
    const first = setup({ chunkedUpload: true });
    // Chunks go 0, 1024, 2048: the second one dies.
    const orig = first.dav.chunkedUpload.bind(first.dav);
    let id = '';
    first.dav.chunkedUpload = (path, transferId) => {
      id = transferId;
      const up = orig(path, transferId);
      let n = 0;
      return {
        ...up,
        putChunk: async (offset, body, size) => {
          if (++n === 2) throw new Error('cut off');
          return up.putChunk(offset, body, size);
        },
      };
    };
    first.dav.log.length = 0;
    await first.transfer.upload('C.bin', { create: true }).catch(() => undefined);
    expect(first.dav.file('C.bin')).toBeUndefined();
    const kept = first.dav.chunks(id);
    expect([...(kept?.keys() ?? [])]).toEqual([0]);
    // The next run (same server, the pending stat matches) sends only the chunks from 1024 on.
    const next = createTransfer({
      client: first.dav,
      tree: localTree(dir()),
      localDir: dir(),
      host: 'h',
      server: { dialect: 'owncloud', recursiveDirEtags: true, checksumTypes: [], chunkedUpload: true },
      chunkSize: 1024,
      pending,
      rangePut: {},
      fsync: true,
      progress: { bytesUp: 0, bytesDown: 0 },
      emit: () => undefined,
    });
    first.dav.chunkedUpload = orig;
    first.dav.log.length = 0;
    await next.upload('C.bin', { create: true });
    expect(first.dav.log.filter((l) => l.startsWith('PUT '))).toEqual([
      `PUT uploads/${id}/1024`,
      `PUT uploads/${id}/2048`,
    ]);
    expect(first.dav.file('C.bin')?.equals(Buffer.alloc(3000, 1))).toBe(true);
  });

  it('never reads through a symlink', async () => {
    const { transfer, dav } = setup();
    await writeFile(join(dir(), 'target'), 'secret');
    await symlink(join(dir(), 'target'), join(dir(), 'link'));
    const e = await transfer.upload('link', { create: true }).catch((error: unknown) => error);
    expect(codeOf(e)).toBe('SYNC_UNSAFE_PATH');
    expect(dav.log).toEqual([]);
  });
});

// The resumable-upload test: a 1 GiB upload, the server killed in the middle, resumed.
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSyncEngine, type WebDavClient } from '../../src/index';
import { type Folder, runUntilServerHalted, SERVER_KINDS, stateDirOf, useFixture } from './workspace';

const GiB = 1024 * 1024 * 1024;

/** Writes `size` random bytes to `file` in 16 MiB blocks; returns their SHA-256. */
async function writeRandom(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  const fh = await open(file, 'w');
  try {
    for (let pos = 0; pos < size; ) {
      const block = randomBytes(Math.min(16 * 1024 * 1024, size - pos));
      hash.update(block);
      await fh.write(block);
      pos += block.length;
    }
  } finally {
    await fh.close();
  }
  return hash.digest('hex');
}

const sha = (buf: Buffer): string => createHash('sha256').update(buf).digest('hex');

async function sha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Bytes of an interrupted upload kept by the server: chunks (shim) or the hidden temp file. */
async function keptBytes(dirs: string[]): Promise<number> {
  let sum = 0;
  for (const dir of dirs) {
    for (const e of await readdir(dir, { withFileTypes: true, recursive: true }).catch(() => [])) {
      if (e.isFile() && (/^\d{16}$/.test(e.name) || /^\.~sync-.*\.part$/.test(e.name))) {
        sum += (await stat(join(e.parentPath, e.name))).size;
      }
    }
  }
  return sum;
}

/**
 * The same client, but `interfere` (another writer, through the server) runs right before the
 * final MOVE of a resumable upload: the race the MOVE's conditions must catch.
 */
function beforeCommit(client: WebDavClient, interfere: () => Promise<unknown>): WebDavClient {
  return {
    ...client,
    async move(from, to, options) {
      if (from.includes('.~sync-')) await interfere();
      return client.move(from, to, options);
    },
    chunkedUpload(path, id) {
      const up = client.chunkedUpload(path, id);
      return {
        ...up,
        async commit(options) {
          await interfere();
          return up.commit(options);
        },
      };
    },
  };
}

/**
 * Syncs `dir` (1 MiB chunks) while another writer puts its own `path` on the server right before
 * our final MOVE: our upload must fail with a 412 and their version stay.
 */
async function expectRefused(folder: Folder, uploadsDir: string | undefined, dir: string, path: string): Promise<void> {
  const theirs = randomBytes(2 << 20);
  const client = beforeCommit(folder.client, () => folder.client.put(path, theirs, { size: theirs.length }));
  const r = await createSyncEngine({
    localDir: dir,
    stateDir: stateDirOf(dir),
    hostname: 'hostA',
    chunkSize: 1 << 20,
    client,
  }).run();
  expect(r.errors.map((e) => [e.path, e.code])).toEqual([[path, 'DAV_PRECONDITION_FAILED']]);
  expect(sha(await readFile(join(folder.remoteDir, path)))).toBe(sha(theirs));
  // Our refused upload is dropped, not left on the server.
  expect(await keptBytes([folder.remoteDir, ...(uploadsDir ? [uploadsDir] : [])])).toBe(0);
}

describe.each(SERVER_KINDS)('resumable upload against %s', (kind) => {
  const fixture = useFixture(kind);

  it('resumes a 1 GiB upload after the server was killed mid-transfer', { timeout: 300_000 }, async () => {
    const folder = await fixture().folder();
    const a = await folder.replica('hostA');
    const size = GiB;
    const local = join(a.dir, 'big.bin');
    const digest = await writeRandom(local, size);
    // 256 MiB/s keeps the transfer long enough (≥ 1.5 s) to kill the server in the middle.
    const limited = createSyncEngine({
      localDir: a.dir,
      stateDir: a.stateDir,
      client: folder.client,
      hostname: 'hostA',
      bandwidthLimit: 256 * 1024 * 1024,
      retries: 0,
    });
    const first = await runUntilServerHalted(fixture(), limited, 'up', 384 * 1024 * 1024);
    expect(first.errors.map((e) => e.path)).toEqual(['big.bin']);
    expect(first.durationMs).toBeGreaterThan(1400);
    // Nothing (and certainly nothing truncated) under the real name.
    await expect(stat(join(folder.remoteDir, 'big.bin'))).rejects.toThrow();
    const info = fixture().server.info;
    const kept = await keptBytes([folder.remoteDir, ...(info.uploadsDir ? [info.uploadsDir] : [])]);
    await fixture().server.restart();
    const second = await a.engine.run();
    expect(second.errors).toEqual([]);
    expect(second.uploaded).toBe(1);
    if (kind === 'rclone') {
      // rclone serve (golang.org/x/net/webdav) ignores Content-Range on PUT: the probe sees it
      // and the file is sent whole again, still to the temp file first.
      expect(second.bytesUp).toBe(size);
    } else {
      expect(kept).toBeGreaterThan(256 * 1024 * 1024);
      expect(second.bytesUp).toBe(size - kept);
    }
    expect(await sha256(join(folder.remoteDir, 'big.bin'))).toBe(digest);
    expect(await keptBytes([folder.remoteDir, ...(info.uploadsDir ? [info.uploadsDir] : [])])).toBe(0);
    const idle = await a.engine.run();
    expect(idle.planned.filter((p) => p.kind !== 'record')).toEqual([]);
  });

  it('a large change is refused (412) when the server copy changed during the upload', async () => {
    const folder = await fixture().folder();
    const ours = await folder.replica('hostA', { chunkSize: 1 << 20 });
    await ours.write('doc.bin', randomBytes(3 << 20));
    await ours.engine.run();
    await new Promise((r) => setTimeout(r, 1100)); // Apache: strong ETags only for files older than 1 s
    await ours.write('doc.bin', randomBytes(4 << 20));
    await expectRefused(folder, fixture().server.info.uploadsDir, ours.dir, 'doc.bin');
    const next = await ours.engine.run();
    expect(next.conflicts).toHaveLength(1);
    expect(next.errors).toEqual([]);
  });

  it('a new large file never replaces one created on the server during the upload', async () => {
    const folder = await fixture().folder();
    const ours = await folder.replica('hostA');
    await ours.write('new.bin', randomBytes(3 << 20));
    await expectRefused(folder, fixture().server.info.uploadsDir, ours.dir, 'new.bin');
  });
});

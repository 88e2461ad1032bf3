import { chmod, lstat, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeFileAtomic } from './atomic';
import { isHostError } from './errors';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'invis-host-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('writeFileAtomic', () => {
  it('creates a file with the given mode and leaves no temp file', async () => {
    const path = join(dir, 'secret');
    await writeFileAtomic(path, 'key', { mode: 0o600 });
    expect(await readFile(path, 'utf8')).toBe('key');
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(await readdir(dir)).toEqual(['secret']);
  });

  it('defaults a new file to 0644 whatever the umask, and writes bytes', async () => {
    const path = join(dir, 'conf');
    await writeFileAtomic(path, new Uint8Array([1, 2, 3]));
    expect((await stat(path)).mode & 0o777).toBe(0o644);
    expect([...(await readFile(path))]).toEqual([1, 2, 3]);
  });

  it('carries mode and owner of the file it replaces', async () => {
    const path = join(dir, 'conf');
    await writeFile(path, 'old');
    await chmod(path, 0o640);
    if (process.getuid?.() === 0) {
      const { chown } = await import('node:fs/promises');
      await chown(path, 65534, 65534);
    }
    const before = await stat(path);
    await writeFileAtomic(path, 'new');
    const after = await stat(path);
    expect(after.mode & 0o7777).toBe(0o640);
    expect([after.uid, after.gid]).toEqual([before.uid, before.gid]);
    expect(after.ino).not.toBe(before.ino);
  });

  it('sets an explicit owner (root only) before the setgid mode', async () => {
    if (process.getuid?.() !== 0) return expect(process.getuid?.()).not.toBe(0);
    const path = join(dir, 'shared');
    await writeFileAtomic(path, 'x', { mode: 0o2750, uid: 65534, gid: 65534 });
    const info = await stat(path);
    expect([info.uid, info.gid, info.mode & 0o7777]).toEqual([65534, 65534, 0o2750]);
  });

  it('refuses to replace a symbolic link and leaves its target alone', async () => {
    const victim = join(dir, 'victim');
    await writeFile(victim, 'untouched');
    const link = join(dir, 'conf');
    await symlink(victim, link);
    const error = await writeFileAtomic(link, 'evil').catch((e: unknown) => e);
    expect(isHostError(error) && error.code).toBe('HOST_UNSAFE_PATH');
    expect(await readFile(victim, 'utf8')).toBe('untouched');
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    expect((await readdir(dir)).sort()).toEqual(['conf', 'victim']);
  });

  it('refuses a directory in the way', async () => {
    const error = await writeFileAtomic(dir, 'x').catch((e: unknown) => e);
    expect(isHostError(error) && error.code).toBe('HOST_UNSAFE_PATH');
  });

  it('removes its temp file when the write fails, keeping the old file', async () => {
    const path = join(dir, 'conf');
    await writeFile(path, 'old');
    const error = await writeFileAtomic(path, 'new', { uid: -5 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(await readFile(path, 'utf8')).toBe('old');
    expect(await readdir(dir)).toEqual(['conf']);
  });

  it('gives each concurrent writer its own temp file; the last rename wins whole', async () => {
    const path = join(dir, 'conf');
    const texts = Array.from({ length: 20 }, (_, i) => `writer ${i}\n`.repeat(1000));
    await Promise.all(texts.map((text) => writeFileAtomic(path, text)));
    expect(texts).toContain(await readFile(path, 'utf8'));
    expect(await readdir(dir)).toEqual(['conf']);
  });
});

import { lstat, lutimes, mkdir, readdir, readFile, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { cleanFolder, openFolderNoFollow } from './housekeeping-clean';

const dir = useTempDir('setup-housekeeping-');
const NOW = Date.now();
const DAY = 86_400_000;
const cutoff = new Date(NOW - 21 * DAY);

/** Sets atime and mtime of `path` `days` days back (as `touch -d`); `link`: the link itself. */
async function age(path: string, days: number, link = false): Promise<void> {
  const when = new Date(NOW - days * DAY);
  await (link ? lutimes : utimes)(path, when, when);
}

async function file(path: string, days: number, content = 'x'): Promise<void> {
  await writeFile(path, content);
  await age(path, days);
}

describe('cleanFolder', () => {
  it('removes files and folders older than the cut-off, keeps new ones and the folder itself', async () => {
    const root = join(dir(), 'transfer');
    await mkdir(join(root, 'alt/tief'), { recursive: true });
    await mkdir(join(root, 'neu-leer'));
    await mkdir(join(root, 'alt-leer'));
    await mkdir(join(root, 'gemischt'));
    await file(join(root, 'alt.txt'), 30, 'abcde');
    await file(join(root, 'neu.txt'), 2);
    await file(join(root, 'alt/tief/a.pdf'), 40, 'abc');
    await file(join(root, 'gemischt/alt.txt'), 22);
    await file(join(root, 'gemischt/neu.txt'), 1);
    // Read yesterday: the newer of atime and mtime counts (the file is still in use).
    await file(join(root, 'gelesen.txt'), 50);
    await utimes(join(root, 'gelesen.txt'), new Date(NOW - DAY), new Date(NOW - 50 * DAY));
    await age(join(root, 'alt-leer'), 30);
    await age(join(root, 'alt/tief'), 30);
    await age(join(root, 'alt'), 30);

    const result = await cleanFolder(root, { cutoff });

    expect((await readdir(root)).sort()).toEqual(['gelesen.txt', 'gemischt', 'neu-leer', 'neu.txt']);
    expect(await readdir(join(root, 'gemischt'))).toEqual(['neu.txt']);
    expect(result).toMatchObject({ removedFiles: 3, removedDirs: 3, freedBytes: 5 + 3 + 1, problems: [] });
    expect((await stat(root)).isDirectory()).toBe(true);
  });

  it('never follows a symbolic link: the target outside keeps its old files, the link is removed only as a link', async () => {
    const root = join(dir(), 'transfer');
    const outside = join(dir(), 'etc');
    await mkdir(root);
    await mkdir(outside);
    await file(join(outside, 'passwd'), 100, 'root:x:0:0');
    await mkdir(join(outside, 'sub'));
    await file(join(outside, 'sub/shadow'), 100);
    // A user's links into the rest of the machine: a new one to a folder, an old one to a file.
    await symlink(outside, join(root, 'raus'));
    await symlink(join(outside, 'passwd'), join(root, 'alt-link'));
    await age(join(root, 'alt-link'), 60, true);

    const result = await cleanFolder(root, { cutoff });

    expect(await readFile(join(outside, 'passwd'), 'utf8')).toBe('root:x:0:0');
    expect(await readdir(join(outside, 'sub'))).toEqual(['shadow']);
    expect(await readdir(root)).toEqual(['raus']);
    expect((await lstat(join(root, 'raus'))).isSymbolicLink()).toBe(true);
    expect(result).toMatchObject({ links: 2, removedFiles: 1, problems: [] });
  });

  it('refuses a folder that is a link, or has a link on its way, and reports a missing one as empty', async () => {
    const real = join(dir(), 'real');
    await mkdir(join(real, '.recycle'), { recursive: true });
    await file(join(real, '.recycle/alt'), 100);
    await symlink(real, join(dir(), 'home-link'));
    await symlink(join(real, '.recycle'), join(dir(), 'recycle-link'));

    await expect(cleanFolder(join(dir(), 'recycle-link'), { cutoff })).rejects.toMatchObject({
      code: 'HOST_UNSAFE_PATH',
    });
    await expect(cleanFolder(join(dir(), 'home-link/.recycle'), { cutoff })).rejects.toMatchObject({
      code: 'HOST_UNSAFE_PATH',
    });
    expect(await readdir(join(real, '.recycle'))).toEqual(['alt']);
    await expect(cleanFolder(join(dir(), 'missing'), { cutoff })).resolves.toMatchObject({ removedFiles: 0 });
    await expect(openFolderNoFollow('relative/path')).rejects.toMatchObject({ code: 'HOST_UNSAFE_PATH' });
    await expect(openFolderNoFollow(`${dir()}/../x`)).rejects.toMatchObject({ code: 'HOST_UNSAFE_PATH' });
  });
});

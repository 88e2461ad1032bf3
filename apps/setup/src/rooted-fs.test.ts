import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { createRootedFs } from './rooted-fs';

describe('createRootedFs', () => {
  const dir = useTempDir('setup-rooted-');
  const unsafe = expect.objectContaining({ code: 'HOST_UNSAFE_PATH' });

  it('maps absolute paths below the root', async () => {
    const fs = await createRootedFs(join(dir(), 'root'));
    await fs.mkdir('/etc/invis', 0o755);
    await fs.writeFileAtomic('/etc/invis/x', 'hi\n');
    expect(await readFile(join(dir(), 'root/etc/invis/x'), 'utf8')).toBe('hi\n');
    expect(await fs.readFile('/etc/invis/x')).toBe('hi\n');
    expect(fs.hostPath('/etc/invis/x')).toBe(join(dir(), 'root/etc/invis/x'));
    const temp = await fs.mkdtemp('/etc/invis/.t-');
    expect(temp).toMatch(/^\/etc\/invis\/\.t-/);
  });

  it('refuses .., relative paths and NUL bytes', async () => {
    const fs = await createRootedFs(join(dir(), 'root'));
    await writeFile(join(dir(), 'outside'), 'secret');
    await expect(fs.readFile('/../outside')).rejects.toEqual(unsafe);
    await expect(fs.readFile('/etc/../../outside')).rejects.toEqual(unsafe);
    await expect(fs.writeFileAtomic('/../outside', 'x')).rejects.toEqual(unsafe);
    await expect(fs.readFile('etc/x')).rejects.toEqual(unsafe);
    await expect(fs.exists('/etc/x\0')).rejects.toEqual(unsafe);
    expect(await readFile(join(dir(), 'outside'), 'utf8')).toBe('secret');
  });

  it('refuses a symbolic link anywhere on the path: reading, writing, creating folders', async () => {
    const root = join(dir(), 'root');
    const fs = await createRootedFs(root);
    await mkdir(join(dir(), 'elsewhere'));
    await writeFile(join(dir(), 'elsewhere/passwd'), 'root:x:0:0\n');
    await mkdir(join(root, 'etc'));
    await symlink(join(dir(), 'elsewhere'), join(root, 'etc/ssh'));
    await symlink(join(dir(), 'elsewhere/passwd'), join(root, 'etc/passwd'));
    await expect(fs.readFile('/etc/ssh/passwd')).rejects.toEqual(unsafe);
    await expect(fs.readFile('/etc/passwd')).rejects.toEqual(unsafe);
    await expect(fs.writeFileAtomic('/etc/ssh/sshd_config.d', 'x')).rejects.toEqual(unsafe);
    await expect(fs.writeFileAtomic('/etc/passwd', 'x')).rejects.toEqual(unsafe);
    await expect(fs.mkdir('/etc/ssh/sshd_config.d')).rejects.toEqual(unsafe);
    await expect(fs.readdir('/etc/ssh')).rejects.toEqual(unsafe);
    expect(await readFile(join(dir(), 'elsewhere/passwd'), 'utf8')).toBe('root:x:0:0\n');
  });
});

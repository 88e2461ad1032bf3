import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isHostError } from './errors';
import { createNodeFs, resolveInside } from './fs';

describe('resolveInside', () => {
  it('resolves paths below the root', () => {
    expect(resolveInside('/srv/x', 'a/b.txt')).toBe('/srv/x/a/b.txt');
    expect(resolveInside('/srv/x/', './a/../b')).toBe('/srv/x/b');
  });

  it.each(['..', '../etc/passwd', 'a/../../etc', '/etc/passwd', 'a\0b', 'a/../..'])('refuses %j', (path) => {
    const error = (() => {
      try {
        return resolveInside('/srv/x', path);
      } catch (e) {
        return e;
      }
    })();
    expect(isHostError(error) && error.code).toBe('HOST_UNSAFE_PATH');
  });

  it('never returns a path outside the root, for any input', () => {
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom('a', '..', '.', '', 'b/..', '../..', '\0', '/'), { maxLength: 8 }),
        (parts) => {
          try {
            const target = resolveInside('/srv/root', parts.join('/'));
            expect(target === '/srv/root' || target.startsWith('/srv/root/')).toBe(true);
          } catch (e) {
            expect(isHostError(e)).toBe(true);
          }
        },
      ),
    );
  });
});

describe('createNodeFs', () => {
  const fs = createNodeFs();
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'invis-host-fs-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads missing files as undefined or empty listings', async () => {
    expect(await fs.readFileIfExists(join(dir, 'none'))).toBeUndefined();
    expect(await fs.readdir(join(dir, 'none'))).toEqual([]);
    expect(await fs.exists(join(dir, 'none'))).toBe(false);
    expect(await fs.mtimeMs(join(dir, 'none'))).toBeUndefined();
    await fs.remove(join(dir, 'none'));
  });

  it('creates a lock file once, never through a link', async () => {
    const lock = join(dir, 'lock');
    expect(await fs.createExclusive(lock, 'pid', 0o600)).toBe(true);
    expect(await fs.createExclusive(lock, 'pid', 0o600)).toBe(false);
    await writeFile(join(dir, 'target'), 'x');
    await symlink(join(dir, 'target'), join(dir, 'link'));
    expect(await fs.createExclusive(join(dir, 'link'), 'pid', 0o600)).toBe(false);
    expect(await fs.exists(join(dir, 'link'))).toBe(true);
  });

  it('copies and removes trees', async () => {
    await fs.mkdir(join(dir, 'a/b'), 0o750);
    await fs.writeFileAtomic(join(dir, 'a/b/c'), 'x');
    await fs.copyDir(join(dir, 'a'), join(dir, 'copy'));
    expect(await fs.readFile(join(dir, 'copy/b/c'))).toBe('x');
    await fs.remove(join(dir, 'a'));
    expect(await fs.exists(join(dir, 'a'))).toBe(false);
  });
});

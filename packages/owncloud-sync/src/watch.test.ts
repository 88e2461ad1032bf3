// The folder watch on the real file system (inotify).
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { createExcludeMatcher, DEFAULT_EXCLUDES } from './exclude';
import { watchLocalTree } from './watch';

/** inotify events arrive through the event loop: wait until `check` holds (or give up after 2 s). */
async function eventually(check: () => boolean): Promise<boolean> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  return check();
}
const settle = () => new Promise((r) => setTimeout(r, 100));

describe('watchLocalTree', () => {
  const work = useTempDir('invis-sync-watch-unit-');

  it('sees writes, creations, renames and deletions in the folders it follows, not excluded names', async () => {
    const root = work();
    await mkdir(join(root, 'a/b'), { recursive: true });
    await writeFile(join(root, 'a/b/f.txt'), '1');
    const local = watchLocalTree(root, createExcludeMatcher([...DEFAULT_EXCLUDES, 'build/']));
    local.follow(['a', 'a/b']);
    // New watches count as a change: what was made in those folders before went unseen.
    expect(local.changed).toBe(true);
    const cases: [string, () => Promise<unknown>][] = [
      ['write', () => writeFile(join(root, 'a/b/f.txt'), '2')],
      ['create', () => writeFile(join(root, 'new.txt'), 'n')],
      ['rename', () => rename(join(root, 'new.txt'), join(root, 'a/renamed.txt'))],
      ['delete', () => rm(join(root, 'a/renamed.txt'))],
      ['mkdir', () => mkdir(join(root, 'a/b/c'))],
    ];
    for (const [what, change] of cases) {
      await settle();
      local.reset();
      expect(local.changed, what).toBe(false);
      await change();
      expect(await eventually(() => local.changed), what).toBe(true);
    }
    await settle();
    local.reset();
    await writeFile(join(root, 'a/~$report.docx'), 'office lock file');
    await writeFile(join(root, 'a/.~sync-x.part'), 'our own part file');
    await settle();
    expect(local.changed).toBe(false);
    expect(local.broken).toBe(false);
    local.close();
  });

  it('follow() closes the watches of folders no longer given; a folder gone before its watch is a change', async () => {
    const root = work();
    await mkdir(join(root, 'keep'));
    await mkdir(join(root, 'drop'));
    const local = watchLocalTree(root, createExcludeMatcher(DEFAULT_EXCLUDES));
    local.follow(['keep', 'drop']);
    await settle();
    local.follow(['keep']);
    local.reset();
    await writeFile(join(root, 'drop/x.txt'), 'x');
    await settle();
    expect(local.changed).toBe(false);
    local.follow(['keep', 'missing']);
    expect(local.changed).toBe(true);
    expect(local.broken).toBe(false);
    local.close();
  });
});

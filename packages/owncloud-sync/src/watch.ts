// Watches a synced folder for changes (inotify through `fs.watch`, one watch per folder), so a
// long-running sync (`invis-sync watch`) can tell that nothing changed locally without walking
// the tree: an unchanged tree then costs a run one request to the server.
import { type FSWatcher, watch } from 'node:fs';
import type { ExcludeMatcher } from './exclude';

/** What {@link watchLocalTree} returns. */
export interface LocalWatch {
  /**
   * Something may have changed since the last {@link LocalWatch.reset}: a change was seen, a
   * folder's watch was added (what was made in it before went unseen), or a watch failed.
   */
  readonly changed: boolean;
  /** Watches can no longer be trusted (the system's watch limit was reached, or a watch failed): always changed. */
  readonly broken: boolean;
  /** Starts a new period; `changed` is false until the next change. */
  reset(): void;
  /** Watches exactly these folders (relative paths, `''` the root): new ones are added, others closed. */
  follow(dirs: Iterable<string>): void;
  close(): void;
}

/**
 * Watches the folders of `root` given to {@link LocalWatch.follow}. Changes to excluded names
 * (office lock files, our own `.part` files) do not count. Changes made directly on the disk
 * count, whoever makes them; a network file system mounted here does not report changes made by
 * other machines, so long-running syncs still walk the tree now and then (`invis-sync watch --full-every`).
 *
 * @example
 * const local = watchLocalTree('/srv/branch', createExcludeMatcher(DEFAULT_EXCLUDES));
 * local.follow(['', 'Projekte']);
 * local.reset();
 * // … later: local.changed tells whether to walk the tree
 */
export function watchLocalTree(root: string, excluded: ExcludeMatcher): LocalWatch {
  const watchers = new Map<string, FSWatcher>();
  let changed = true;
  let broken = false;
  const fail = (): void => {
    broken = true;
    changed = true;
  };
  const add = (dir: string): void => {
    try {
      const w = watch(dir === '' ? root : `${root}/${dir}`, { persistent: false }, (_type, name) => {
        if (typeof name !== 'string') {
          changed = true;
          return;
        }
        const path = dir === '' ? name : `${dir}/${name}`;
        // Excluded both as a file and as a folder: never synced, so no reason to walk.
        if (!(excluded(path, false) && excluded(path, true))) changed = true;
      });
      w.on('error', fail);
      watchers.set(dir, w);
      changed = true;
    } catch (error) {
      // A folder gone since the walk is a change; a full watch table (ENOSPC) or fd table is for good.
      if ((error as { code?: string }).code === 'ENOENT') changed = true;
      else fail();
    }
  };
  return {
    get changed() {
      return changed || broken;
    },
    get broken() {
      return broken;
    },
    reset() {
      changed = false;
    },
    follow(dirs) {
      const wanted = new Set(dirs);
      wanted.add('');
      for (const [dir, w] of watchers) {
        if (!wanted.has(dir)) {
          w.close();
          watchers.delete(dir);
        }
      }
      for (const dir of wanted) if (!watchers.has(dir)) add(dir);
    },
    close() {
      for (const w of watchers.values()) w.close();
      watchers.clear();
    },
  };
}

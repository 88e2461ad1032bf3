import { chmod, chown, cp, lstat, mkdir, readdir, rename, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { type Clock, systemClock } from '@invis/host';
import { PortalError } from './errors';

/** Where group shares, their folder templates and home directories live (original layout). */
export interface ShareOptions {
  /** e.g. `/srv/shares/gruppen` */
  groupSharesDir: string;
  /** e.g. `/srv/shares/media/portal/verzeichnisvorlagen` */
  templatesDir: string;
  /** e.g. `/home` */
  homesDir: string;
  /** e.g. `/srv/shares/profiles`: roaming profile folders `<user>.V6` (omit: none are made). */
  profilesDir?: string;
  /** Dates archive names when `<name>.archiv` exists (default: the system clock). */
  clock?: Clock;
}

/** Group shares from folder templates and home archiving on user delete. */
export interface ShareManager {
  /**
   * Whether this process makes and archives the folders (false on an installed server, whose root
   * sync does: the UI then offers no share templates and no archive choice).
   */
  readonly inProcess: boolean;
  /** Names of the folder templates. */
  templates(): Promise<string[]>;
  /**
   * Creates `<groupSharesDir>/<group>` (setgid, group-writable, owned by `gid`), empty or as a
   * copy of a template.
   * @returns the new directory
   */
  createGroupShare(group: string, template: string | null, gid: number | null): Promise<string>;
  /**
   * Creates the home `<homesDir>/<user>` and, with `profilesDir`, the Windows profile folder
   * `<profilesDir>/<user>.V6` (Windows 10/11 add `.V6` to the profile path), both owned by the
   * account's RFC2307 `uid`/`gid` and 0700: only the user reaches them. An existing folder is
   * left as it is (a re-created account keeps its data), a link in its place is refused.
   * @returns the folders created
   */
  createHome(username: string, uid: number, gid: number): Promise<string[]>;
  /**
   * Renames `<homesDir>/<user>` to `<user>.archiv` (a dated name if that exists), like the
   * original's `deletehome`; its nightly archiver moves these on.
   * @returns the archive path, or null when the user had no home directory
   */
  archiveHome(username: string): Promise<string | null>;
  /** The same for `<groupSharesDir>/<group>` when a group is deleted. */
  archiveGroupShare(group: string): Promise<string | null>;
}

/** `base/name` for one plain name; anything that could leave `base` is refused. */
function child(base: string, name: string): string {
  if (!name || name === '.' || name === '..' || /[/\\\0]/.test(name)) {
    throw new PortalError('PORTAL_VALIDATION', 'not a plain name', { details: { name } });
  }
  const path = resolve(base, name);
  if (!path.startsWith(resolve(base) + sep)) throw new PortalError('PORTAL_VALIDATION', 'outside the share root');
  return path;
}

const exists = (path: string): Promise<boolean> =>
  stat(path).then(
    () => true,
    () => false,
  );

/**
 * Gives a copied tree to the group: every folder `root:<gid>` 2770, every file `root:<gid>`
 * 0660 (0770 if it was executable). The copy runs as root, so without this subfolders stay
 * `root:root` (members cannot write) and setuid/setgid bits of template files survive.
 */
async function adopt(dir: string, gid: number | null): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (gid !== null) await chown(path, 0, gid);
    if (entry.isDirectory()) {
      await chmod(path, 0o2770);
      await adopt(path, gid);
    } else {
      await chmod(path, ((await lstat(path)).mode & 0o111) !== 0 ? 0o770 : 0o660);
    }
  }
}

/** Template entries that are copied: folders and regular files (no links, devices, fifos). */
const plainEntry = async (path: string): Promise<boolean> => {
  const st = await lstat(path);
  return st.isDirectory() || st.isFile();
};

/**
 * File-system side of users and groups. Plain `node:fs` calls on paths built from validated
 * names: no shell, no sudo helper fed with request data.
 */
export function createShareManager(options: ShareOptions): ShareManager {
  const clock = options.clock ?? systemClock;
  const templates = async (): Promise<string[]> => {
    const entries = await readdir(options.templatesDir, { withFileTypes: true }).catch(() => []);
    return entries
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
  };
  const archive = async (base: string, name: string): Promise<string | null> => {
    const dir = child(base, name);
    if (!(await exists(dir))) return null;
    let target = `${dir}.archiv`;
    if (await exists(target)) target = `${dir}-${clock.now().toISOString().slice(0, 10).replaceAll('-', '')}.archiv`;
    if (await exists(target)) throw new PortalError('PORTAL_CONFLICT', 'archive exists', { details: { name } });
    await rename(dir, target);
    return target;
  };
  return {
    inProcess: true,
    templates,
    async createGroupShare(group, template, gid) {
      const dir = child(options.groupSharesDir, group);
      if (template !== null && !(await templates()).includes(template)) {
        throw new PortalError('PORTAL_NOT_FOUND', `no folder template ${template}`, { details: { template } });
      }
      await mkdir(options.groupSharesDir, { recursive: true });
      try {
        await mkdir(dir);
      } catch (cause) {
        throw new PortalError('PORTAL_CONFLICT', `share ${group} exists`, { cause, details: { group } });
      }
      if (template !== null) {
        await cp(child(options.templatesDir, template), dir, { recursive: true, filter: plainEntry });
        await adopt(dir, gid);
      }
      if (gid !== null) await chown(dir, 0, gid);
      await chmod(dir, 0o2770);
      return dir;
    },
    async createHome(username, uid, gid) {
      for (const id of [uid, gid]) {
        // Root's ids would hand the folder to root; the directory never gives them to an account.
        if (!Number.isInteger(id) || id < 1000) {
          throw new PortalError('PORTAL_VALIDATION', 'not an account id', { details: { username, id } });
        }
      }
      const dirs = [child(options.homesDir, username)];
      if (options.profilesDir) dirs.push(child(options.profilesDir, `${username}.V6`));
      const created: string[] = [];
      for (const dir of dirs) {
        await mkdir(dirname(dir), { recursive: true });
        try {
          await mkdir(dir, { mode: 0o700 });
        } catch (cause) {
          if ((cause as NodeJS.ErrnoException).code !== 'EEXIST') throw cause;
          if (!(await lstat(dir)).isDirectory()) {
            throw new PortalError('PORTAL_CONFLICT', `${dir} exists and is not a folder`, {
              cause,
              details: { username },
            });
          }
          continue;
        }
        await chown(dir, uid, gid);
        await chmod(dir, 0o700);
        created.push(dir);
      }
      return created;
    },
    archiveHome: (username) => archive(options.homesDir, username),
    archiveGroupShare: (group) => archive(options.groupSharesDir, group),
  };
}

/**
 * The folders of an installed server, where the portal runs unprivileged and the server's root sync
 * (`invis-setup sync homes`, every minute) makes home and profile folders and archives those of
 * deleted accounts and groups: archiving is left to it (null: nothing renamed here), and group
 * folders from templates are refused with a clear error before anything is written.
 */
export function serverShareManager(): ShareManager {
  return {
    inProcess: false,
    templates: async () => [],
    async createGroupShare(group) {
      throw new PortalError(
        'PORTAL_CONFIG',
        'group folders are not made by the portal on this server: create the group without a share',
        { details: { group } },
      );
    },
    createHome: async () => [],
    archiveHome: async () => null,
    archiveGroupShare: async () => null,
  };
}

/** Joins for tests and callers that build the default layout under a root. */
export function defaultShareOptions(root: string): ShareOptions {
  return {
    groupSharesDir: join(root, 'srv/shares/gruppen'),
    templatesDir: join(root, 'srv/shares/media/portal/verzeichnisvorlagen'),
    homesDir: join(root, 'home'),
    profilesDir: join(root, 'srv/shares/profiles'),
  };
}

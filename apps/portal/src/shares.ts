import { chmod, chown, lstat, mkdir, readdir, readFile, rename, stat } from 'node:fs/promises';
import { dirname, join, resolve, sep } from 'node:path';
import { type Clock, systemClock, writeFileAtomic } from '@invis/host';
import {
  createFolderFromTemplate,
  type FolderRequests,
  isSharesError,
  parseFolderRequests,
  renderFolderRequests,
} from '@invis/samba-shares';
import { backgroundSync } from './background-sync';
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
   * sync does them within a minute: the UI then offers no archive choice).
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
  /**
   * An account was created or deleted: on an installed server the root sync makes or archives its
   * folders now (in the background) instead of at its next timer run; in this process nothing.
   */
  accountsChanged(): void;
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

/** Names of the folder templates (folders directly in `dir`). */
async function listTemplates(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/** Refuses an unknown template before anything is written. */
async function checkTemplate(templatesDir: string, template: string | null): Promise<void> {
  if (template !== null && !(await listTemplates(templatesDir)).includes(template)) {
    throw new PortalError('PORTAL_NOT_FOUND', `no folder template ${template}`, { details: { template } });
  }
}

/**
 * File-system side of users and groups. Plain `node:fs` calls on paths built from validated
 * names: no shell, no sudo helper fed with request data.
 */
export function createShareManager(options: ShareOptions): ShareManager {
  const clock = options.clock ?? systemClock;
  const templates = () => listTemplates(options.templatesDir);
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
      await checkTemplate(options.templatesDir, template);
      await mkdir(options.groupSharesDir, { recursive: true });
      try {
        await createFolderFromTemplate(dir, {
          ...(template === null ? {} : { template: child(options.templatesDir, template) }),
          ...(gid === null ? {} : { gid }),
        });
      } catch (cause) {
        if (isSharesError(cause) && cause.code === 'SHARES_FOLDER_EXISTS')
          throw new PortalError('PORTAL_CONFLICT', `share ${group} exists`, { cause, details: { group } });
        throw cause;
      }
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
    accountsChanged: () => undefined,
  };
}

/** Where an installed server's portal finds the templates and leaves its group folder requests. */
export interface ServerShareOptions {
  /** The folder templates (the portal reads their names). */
  templatesDir: string;
  /** Where the group folders are (the answer names the folder the sync makes). */
  groupSharesDir: string;
  /** The requests file in the portal's data folder, read by the root sync (`renderFolderRequests`). */
  requestsFile: string;
  /**
   * Runs the root sync now (through setup's privileged socket), so a new account's home or a
   * requested group folder is there at once; it runs in the background, coalesced. Omitted: the
   * sync's one-minute timer does it.
   */
  syncNow?: () => Promise<void>;
}

/**
 * The folders of an installed server, where the portal runs unprivileged and the server's root sync
 * (`invis-setup sync homes`, every minute) makes home and profile folders, archives those of deleted
 * accounts and groups, and makes the group folders the portal asks for in its requests file (empty
 * or from a template). Archiving is left to the sync (null: nothing renamed here); deleting a
 * group drops its request, so a later group of that name starts without it.
 */
export function serverShareManager(options: ServerShareOptions): ShareManager {
  const sync = options.syncNow
    ? backgroundSync(options.syncNow, (e) =>
        console.error(`portal: the folder sync failed: ${(e as Error).message ?? e}`),
      )
    : null;
  // One change of the requests file at a time (read, change, write atomically).
  let writing: Promise<unknown> = Promise.resolve();
  const update = (change: (requests: FolderRequests) => void): Promise<void> => {
    const turn = writing.then(async () => {
      const text = await readFile(options.requestsFile, 'utf8').catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return null;
        throw e;
      });
      const requests = text === null ? new Map<string, string | null>() : parseFolderRequests(text);
      change(requests);
      await writeFileAtomic(options.requestsFile, renderFolderRequests(requests), { mode: 0o600 });
    });
    writing = turn.catch(() => undefined);
    return turn;
  };
  return {
    inProcess: false,
    templates: () => listTemplates(options.templatesDir),
    async createGroupShare(group, template) {
      const dir = child(options.groupSharesDir, group);
      await checkTemplate(options.templatesDir, template);
      if (await exists(dir)) throw new PortalError('PORTAL_CONFLICT', `share ${group} exists`, { details: { group } });
      await update((requests) => requests.set(group, template));
      sync?.request();
      return dir;
    },
    createHome: async () => [],
    archiveHome: async () => null,
    async archiveGroupShare(group) {
      await update((requests) => requests.delete(group));
      sync?.request();
      return null;
    },
    accountsChanged: () => sync?.request(),
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

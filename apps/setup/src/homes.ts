// `invis-setup sync homes`: every directory account with RFC2307 ids gets its home folder and its
// roaming-profile folder (`<user>.V6`), owned by the account, 0700. The portal creates accounts as
// an unprivileged user and cannot hand out owners; this runs as root on a one-minute timer (as
// the DHCP sync does). An existing folder is the user's and stays as it is, and a link or a file
// in the way is reported, never followed. A folder whose account (or group, below `gruppen`) is
// gone is archived: renamed to `<name>.archiv`, as the original's portal did on delete, so an
// account made later under the same name never inherits it. The group folders the portal asks for
// (its requests file: the portal cannot make root-owned folders) are made here too, empty or from
// a folder template.
import { constants } from 'node:fs';
import { chmod, lchown, lstat, mkdir, open, readdir, rename } from 'node:fs/promises';
import type { AdGroup, AdUser } from '@invis/ad-client';
import {
  createFolderFromTemplate,
  FOLDER_REQUESTS_FILE,
  isPlainFolderName,
  isSharesError,
  parseFolderRequests,
} from '@invis/samba-shares';
import type { ModuleContext } from './module';
import { serverDirectory } from './modules/dhcp';
import { SERVICE_ACCOUNTS } from './modules/samba-ad';

/** The sync's units (service + timer). */
export const HOMES_SYNC_UNIT = 'invis-homes-sync';

const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** What one sync did. */
export interface HomesSyncReport {
  created: string[];
  /** Folders of accounts or groups that are gone, renamed to their archive name (`from`, `to`). */
  archived: { from: string; to: string }[];
  /** Paths where something other than a folder is in the way (left alone). */
  problems: string[];
}

/** The folders an account should have (home, roaming profile). */
export function accountFolders(ctx: Pick<ModuleContext, 'profile'>, account: string): string[] {
  return [`${ctx.profile.shares.homes}/${account}`, `${ctx.profile.shares.profiles}/${account}.V6`];
}

/** Accounts that get folders: people with RFC2307 ids, not the server's own service accounts. */
export function accountsWithFolders(users: readonly AdUser[]): { name: string; uid: number; gid: number }[] {
  const service = new Set(SERVICE_ACCOUNTS.map((a) => a.name.toLowerCase()));
  return users.flatMap((u) =>
    u.uidNumber !== undefined &&
    u.gidNumber !== undefined &&
    ACCOUNT_NAME.test(u.sAMAccountName) &&
    !service.has(u.sAMAccountName.toLowerCase())
      ? [{ name: u.sAMAccountName, uid: u.uidNumber, gid: u.gidNumber }]
      : [],
  );
}

/** `lstat` or undefined when nothing is there. */
async function entryAt(path: string) {
  try {
    return await lstat(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/**
 * One sync against the server's directory (read-only service account).
 * @param ctx the module context (live, not staging)
 * @param users the accounts (default: read from the directory)
 * @returns what was created and what was in the way
 */
export async function syncHomes(
  ctx: ModuleContext,
  directory?: { users: readonly AdUser[]; groups: readonly AdGroup[] },
): Promise<HomesSyncReport> {
  let read = directory;
  if (!read) {
    const ad = await serverDirectory(ctx);
    try {
      read = { users: await ad.users.list(), groups: await ad.groups.list() };
    } finally {
      await ad.close();
    }
  }
  const accounts = read.users;
  const report: HomesSyncReport = { created: [], archived: [], problems: [] };
  for (const account of accountsWithFolders(accounts)) {
    for (const folder of accountFolders(ctx, account.name)) {
      const path = ctx.fs.hostPath(folder);
      const existing = await entryAt(path);
      if (existing) {
        if (!existing.isDirectory()) report.problems.push(folder);
        continue;
      }
      // mkdir does not follow a link planted at the last component (it fails with EEXIST), the
      // parent is root's; the owner is set on the new folder itself (lchown), then its mode.
      try {
        await mkdir(path, { mode: 0o700 });
      } catch (e) {
        // Made meanwhile by another run (the timer's and the portal's can meet): that run owns it.
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
        throw e;
      }
      await lchown(path, account.uid, account.gid);
      await chmod(path, 0o700);
      ctx.progress(`homes: ${folder} for ${account.name}`);
      report.created.push(folder);
    }
  }
  await requestedGroupFolders(ctx, read.groups, report);
  // A directory that answers with no account at all (it always has Administrator) is not
  // believed: nothing is archived.
  if (accounts.length > 0) {
    const local = await localIds(ctx);
    const uids = new Set([...accounts.flatMap((u) => (u.uidNumber === undefined ? [] : [u.uidNumber])), ...local.uids]);
    const gids = new Set([
      ...read.groups.flatMap((g) => (g.gidNumber === undefined ? [] : [g.gidNumber])),
      ...local.gids,
    ]);
    const { homes, profiles, gruppen } = ctx.profile.shares;
    // Kept when the owner is known (a renamed account keeps its uid) or the name is an account's
    // (an account without RFC2307 ids owns its files under an id the DC's idmap gave it).
    const names = new Set(accounts.map((u) => u.sAMAccountName.toLowerCase()));
    const groupNames = new Set(read.groups.map((g) => g.name.toLowerCase()));
    await archiveOrphans(ctx, homes, (e, name) => uids.has(e.uid) || names.has(name.toLowerCase()), report);
    await archiveOrphans(
      ctx,
      profiles,
      (e, name) => uids.has(e.uid) || names.has(name.replace(/\.V\d+$/i, '').toLowerCase()),
      report,
    );
    // Likewise for groups: a listing without a single gidNumber archives no group folder.
    if (read.groups.some((g) => g.gidNumber !== undefined)) {
      await archiveOrphans(ctx, gruppen, (e, name) => gids.has(e.gid) || groupNames.has(name.toLowerCase()), report);
    }
  }
  return report;
}

/** Largest requests file read (10,000 requests fit several times). */
const MAX_REQUESTS_BYTES = 4 * 1024 * 1024;

/**
 * The portal's requests file, read as hostile input (the portal is a network-facing service and
 * owns the folder): not through a link, a regular file of bounded size, and owned by whoever owns
 * the portal's data folder (so no file of root's can be slipped in under that name).
 * @returns the text, or null when there is none
 * @throws Error naming the file when it is not such a file
 */
async function readPortalRequests(ctx: ModuleContext, file: string): Promise<string | null> {
  const path = ctx.fs.hostPath(file);
  const folder = await entryAt(ctx.fs.hostPath(ctx.profile.portal.dataDir));
  if (!folder?.isDirectory()) return null;
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw new Error(`${file}: cannot be opened safely (${(e as NodeJS.ErrnoException).code})`);
  }
  try {
    const st = await handle.stat();
    if (!st.isFile() || st.uid !== folder.uid || st.size > MAX_REQUESTS_BYTES) {
      throw new Error(`${file}: not a regular file of the portal's user within ${MAX_REQUESTS_BYTES} bytes`);
    }
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

/**
 * Makes the group folders the portal asked for: for each request whose group the directory has
 * (with a gidNumber) and whose folder is not there yet, `gruppen/<group>` owned `root:<gid>`
 * 2770, empty or copied from its template. A request for a group not (yet) in the directory waits;
 * a folder that is there (made before, or something in the way) is left alone; a bad file or
 * template is reported and nothing of it is believed.
 */
async function requestedGroupFolders(
  ctx: ModuleContext,
  groups: readonly AdGroup[],
  report: HomesSyncReport,
): Promise<void> {
  const file = `${ctx.profile.portal.dataDir}/${FOLDER_REQUESTS_FILE}`;
  let requests: Map<string, string | null>;
  try {
    const text = await readPortalRequests(ctx, file);
    if (text === null) return;
    requests = parseFolderRequests(text);
  } catch (e) {
    ctx.progress(`homes: ${file} ignored: ${(e as Error).message}`);
    report.problems.push(file);
    return;
  }
  const byName = new Map(groups.map((g) => [g.name.toLowerCase(), g]));
  const { gruppen, verzeichnisvorlagen } = ctx.profile.shares;
  for (const [name, template] of requests) {
    const group = byName.get(name.toLowerCase());
    if (group?.gidNumber === undefined || !isPlainFolderName(group.name)) continue;
    // The directory's spelling, as the portal names the folder and Samba shows it.
    const folder = `${gruppen}/${group.name}`;
    if (await entryAt(ctx.fs.hostPath(folder))) continue;
    try {
      await createFolderFromTemplate(ctx.fs.hostPath(folder), {
        ...(template === null ? {} : { template: ctx.fs.hostPath(`${verzeichnisvorlagen}/${template}`) }),
        gid: group.gidNumber,
      });
    } catch (e) {
      if (!isSharesError(e)) throw e;
      // Made meanwhile by another run: nothing to report.
      if (e.code === 'SHARES_FOLDER_EXISTS') continue;
      ctx.progress(`homes: ${folder} not made: ${e.message}`);
      report.problems.push(folder);
      continue;
    }
    ctx.progress(`homes: ${folder} for the group ${group.name}${template === null ? '' : ` from ${template}`}`);
    report.created.push(folder);
  }
}

/** uids and gids of the server's own accounts and groups (/etc/passwd, /etc/group): never archived. */
async function localIds(ctx: ModuleContext): Promise<{ uids: number[]; gids: number[] }> {
  const ids = async (file: string, field: number): Promise<number[]> =>
    ((await ctx.fs.readFileIfExists(file)) ?? '')
      .split('\n')
      .map((line) => Number(line.split(':')[field]))
      .filter((id) => Number.isInteger(id));
  return { uids: await ids('/etc/passwd', 2), gids: await ids('/etc/group', 2) };
}

/** An archive name, as the original's (`.archiv`, with the date when that exists already). */
const ARCHIVED = /\.archiv$/;

/**
 * Renames the folders of `base` whose owner `known` does not accept to `<name>.archiv` (or
 * `<name>-<yyyymmdd>.archiv`). Only real folders: a link or a file is left alone, and rename moves
 * the entry itself, never what a link points to.
 */
async function archiveOrphans(
  ctx: ModuleContext,
  base: string,
  known: (owner: { uid: number; gid: number }, name: string) => boolean,
  report: HomesSyncReport,
): Promise<void> {
  const dir = ctx.fs.hostPath(base);
  const entries = await readdir(dir, { withFileTypes: true }).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [];
    throw e;
  });
  for (const entry of entries) {
    if (!entry.isDirectory() || ARCHIVED.test(entry.name)) continue;
    const from = `${base}/${entry.name}`;
    const owner = await lstat(`${dir}/${entry.name}`);
    if (!owner.isDirectory() || known(owner, entry.name)) continue;
    let to = `${from}.archiv`;
    if (await entryAt(ctx.fs.hostPath(to)))
      to = `${from}-${ctx.clock.now().toISOString().slice(0, 10).replaceAll('-', '')}.archiv`;
    if (await entryAt(ctx.fs.hostPath(to))) {
      report.problems.push(from);
      continue;
    }
    await rename(ctx.fs.hostPath(from), ctx.fs.hostPath(to));
    ctx.progress(`homes: ${from} archived as ${to} (its account or group is gone)`);
    report.archived.push({ from, to });
  }
}

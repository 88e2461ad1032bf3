// `invis-setup sync homes`: every directory account with RFC2307 ids gets its home folder and its
// roaming-profile folder (`<user>.V6`), owned by the account, 0700. The portal creates accounts as
// an unprivileged user and cannot hand out owners; this runs as root on a one-minute timer (as
// the DHCP sync does). It only ever creates: an existing folder is the user's and stays as it is,
// and a link or a file in the way is reported, never followed.
import { chmod, lchown, lstat, mkdir } from 'node:fs/promises';
import type { AdUser } from '@invis/ad-client';
import type { ModuleContext } from './module';
import { serverDirectory } from './modules/dhcp';
import { SERVICE_ACCOUNTS } from './modules/samba-ad';

/** The sync's units (service + timer). */
export const HOMES_SYNC_UNIT = 'invis-homes-sync';

const ACCOUNT_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** What one sync did. */
export interface HomesSyncReport {
  created: string[];
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
export async function syncHomes(ctx: ModuleContext, users?: readonly AdUser[]): Promise<HomesSyncReport> {
  let accounts = users;
  if (!accounts) {
    const ad = await serverDirectory(ctx);
    try {
      accounts = await ad.users.list();
    } finally {
      await ad.close();
    }
  }
  const report: HomesSyncReport = { created: [], problems: [] };
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
      await mkdir(path, { mode: 0o700 });
      await lchown(path, account.uid, account.gid);
      await chmod(path, 0o700);
      ctx.progress(`homes: ${folder} for ${account.name}`);
      report.created.push(folder);
    }
  }
  return report;
}

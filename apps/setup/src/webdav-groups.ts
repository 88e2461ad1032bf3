// Which folders below `gruppen` WebDAV serves, and to whom: each folder to the AD group that owns
// it on disk — the group whose members SMB lets in through the folder's permissions (root:<group>
// 2770, made by the portal). Apache reads as one user for everyone, so every folder gets a rule
// of its own and anything without one is refused. The `webdav` module renders the rules; `invis-setup
// sync homes` re-renders them every minute, as the portal creates and deletes groups.
import { lstat, readdir } from 'node:fs/promises';
import type { AdGroup } from '@invis/ad-client';
import type { ModuleContext } from './module';
import { serverDirectory } from './modules/dhcp';

/** A group folder WebDAV serves: `gruppen/<folder>` for the members of `group`. */
export interface DavGroupFolder {
  /** The folder's name below `gruppen` (also its URL segment). */
  folder: string;
  /** The AD group (sAMAccountName) that owns the folder. */
  group: string;
}

/** An entry of the `gruppen` folder as `lstat` saw it. */
export interface GroupFolderEntry {
  name: string;
  gid: number;
  /** A real folder (not a link, not a file). */
  directory: boolean;
}

/**
 * Names that go into the site as they are: a regex in a quoted `<LocationMatch>` (special
 * characters escaped) and the CN of a `Require ldap-group` DN. Letters and digits of any script,
 * blank and `_ . $ ' & ( ) ! -`; nothing a DN or Apache's quoting would have to escape (`, + " \ ;
 * = < > #`), no control character. A name outside this is not served.
 */
const SERVABLE_NAME = /^[\p{L}\p{N}_][\p{L}\p{N} _.$'&()!-]{0,63}$/u;

/**
 * The served group folders: real folders whose owning gid is the `gidNumber` of exactly one
 * security group, both names servable. Everything else (a link, a file, an archived folder of a
 * deleted group, a gid two groups claim, a name the site cannot carry) is left out and so refused.
 * @param entries the entries of `gruppen`
 * @param groups the directory's groups
 * @returns the folders to serve (by name) and the names left out
 */
export function davGroupFolders(
  entries: readonly GroupFolderEntry[],
  groups: readonly Pick<AdGroup, 'name' | 'kind' | 'gidNumber'>[],
): { served: DavGroupFolder[]; skipped: string[] } {
  const byGid = new Map<number, string[]>();
  for (const g of groups) {
    if (g.kind !== 'security' || g.gidNumber === undefined) continue;
    byGid.set(g.gidNumber, [...(byGid.get(g.gidNumber) ?? []), g.name]);
  }
  const served: DavGroupFolder[] = [];
  const skipped: string[] = [];
  for (const entry of [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const owners = byGid.get(entry.gid) ?? [];
    const group = owners[0];
    if (
      entry.directory &&
      owners.length === 1 &&
      group &&
      SERVABLE_NAME.test(entry.name) &&
      SERVABLE_NAME.test(group)
    ) {
      served.push({ folder: entry.name, group });
    } else {
      skipped.push(entry.name);
    }
  }
  return { served, skipped };
}

/**
 * Reads `gruppen` (never following a link) and the directory's groups (read-only account).
 * @param ctx the module context (live)
 * @returns the served folders and the names left out
 */
export async function readDavGroupFolders(
  ctx: ModuleContext,
): Promise<{ served: DavGroupFolder[]; skipped: string[] }> {
  const dir = ctx.fs.hostPath(ctx.profile.shares.gruppen);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (e) {
    // No `gruppen` yet (the file server not applied): no group folder to serve.
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return { served: [], skipped: [] };
    throw e;
  }
  const entries: GroupFolderEntry[] = [];
  for (const name of names) {
    const st = await lstat(`${dir}/${name}`);
    entries.push({ name, gid: st.gid, directory: st.isDirectory() });
  }
  if (entries.length === 0) return { served: [], skipped: [] };
  const ad = await serverDirectory(ctx);
  try {
    return davGroupFolders(entries, await ad.groups.list({ kind: 'security' }));
  } finally {
    await ad.close();
  }
}

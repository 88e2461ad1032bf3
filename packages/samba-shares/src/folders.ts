// Group folders made from a folder template (the original portal's "Verzeichnisvorlagen"): the
// copy runs as root while the templates are writable by the folder admins, so the template tree
// is input from users — links and special files are never copied or followed, and ownership and
// modes are set on the copy (which only root can reach while it is made), never on a link.
import { chmod, cp, lchown, lstat, mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SharesError } from './errors';

/** Options of {@link createFolderFromTemplate}. */
export interface FolderFromTemplateOptions {
  /** The template folder to copy; omitted: the folder starts empty. */
  template?: string;
  /** The group that owns the folder and everything in it (`root:<gid>`); omitted: root's group stays. */
  gid?: number;
}

const isErrno = (e: unknown, code: string): boolean => (e as NodeJS.ErrnoException)?.code === code;

/** Template entries that are copied: folders and regular files (no links, devices, fifos). */
async function plainEntry(path: string): Promise<boolean> {
  const st = await lstat(path);
  return st.isDirectory() || st.isFile();
}

/**
 * Hands a copied tree to the group: folders `root:<gid>` 2770, files `root:<gid>` 0660 (0770 if
 * executable), so members can work in every subfolder and no setuid/setgid bit of a template
 * file survives. Anything else that got into the copy (a template entry swapped for a link while
 * it was copied) is removed, never followed.
 */
async function adopt(dir: string, gid: number | undefined): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (!entry.isDirectory() && !entry.isFile()) {
      await rm(path, { force: true });
      continue;
    }
    if (gid !== undefined) await lchown(path, 0, gid);
    if (entry.isDirectory()) {
      await chmod(path, 0o2770);
      await adopt(path, gid);
    } else {
      await chmod(path, ((await lstat(path)).mode & 0o111) !== 0 ? 0o770 : 0o660);
    }
  }
}

/**
 * Creates a group folder — empty or as a copy of a template — owned `root:<gid>`, setgid and
 * group-writable (2770). The folder must not exist (a link in its place counts as existing).
 * @param target the new folder (its parent must exist)
 * @param options template and owning group
 * @throws SharesError `SHARES_FOLDER_EXISTS` when something is at `target`; `SHARES_NO_TEMPLATE`
 *   when the template is no folder (a link to one included)
 * @example
 * await createFolderFromTemplate('/srv/shares/gruppen/Vertrieb', {
 *   template: '/srv/shares/media/portal/verzeichnisvorlagen/Projekt', gid: 21003 });
 */
export async function createFolderFromTemplate(target: string, options: FolderFromTemplateOptions = {}): Promise<void> {
  const { template, gid } = options;
  if (template !== undefined) {
    const st = await lstat(template).catch(() => undefined);
    if (!st?.isDirectory()) {
      throw new SharesError('SHARES_NO_TEMPLATE', `no folder template at ${template}`, { details: { template } });
    }
  }
  try {
    // Root's mode while it is filled: nobody else reaches the copy until it is handed over.
    await mkdir(target, { mode: 0o700 });
  } catch (e) {
    if (isErrno(e, 'EEXIST')) {
      throw new SharesError('SHARES_FOLDER_EXISTS', `${target} exists already`, { cause: e, details: { target } });
    }
    throw e;
  }
  try {
    if (template !== undefined) {
      await cp(template, target, { recursive: true, filter: plainEntry, dereference: false, verbatimSymlinks: true });
      await adopt(target, gid);
    }
    if (gid !== undefined) await lchown(target, 0, gid);
    await chmod(target, 0o2770);
  } catch (e) {
    // No half-made folder stays behind under the group's name.
    await rm(target, { recursive: true, force: true });
    throw e;
  }
}

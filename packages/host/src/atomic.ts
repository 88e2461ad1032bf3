// Atomic file replacement: readers see the old file or the new one, never a half-written one,
// and a crash right after the call still finds the new one on disk.
import { randomBytes } from 'node:crypto';
import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { lstat, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { HostError, isMissing } from './errors';

/** Options of {@link writeFileAtomic}. */
export interface WriteFileOptions {
  /** Permission bits; default: those of the file being replaced, else 0o644. Secrets pass 0o600. */
  mode?: number;
  /** Owner; default: that of the file being replaced, else the process's. */
  uid?: number;
  /** Group; default: that of the file being replaced, else the process's. */
  gid?: number;
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (e) {
    if (isMissing(e)) return undefined;
    throw e;
  }
}

/**
 * Replaces `path` atomically: writes a temp file with a unique name beside it (created with
 * O_EXCL|O_NOFOLLOW and mode 0600, so no one reads a secret early), sets owner and mode, fsyncs
 * it, renames it over the target and fsyncs the directory. The temp file is removed on failure.
 * Mode and owner of the replaced file are carried over unless given.
 * @param path target file
 * @param data text (UTF-8) or bytes
 * @param options mode and owner
 * @throws HostError `HOST_UNSAFE_PATH` when the target is a symbolic link or not a regular file
 * @example await writeFileAtomic('/etc/invis/secret', token, { mode: 0o600 });
 */
export async function writeFileAtomic(
  path: string,
  data: string | Uint8Array,
  options: WriteFileOptions = {},
): Promise<void> {
  const existing = await lstatOrUndefined(path);
  if (existing && !existing.isFile()) {
    throw new HostError(
      'HOST_UNSAFE_PATH',
      `${path} is ${existing.isSymbolicLink() ? 'a symbolic link' : 'not a regular file'}; refusing to replace it`,
      { details: { path } },
    );
  }
  const mode = options.mode ?? (existing ? existing.mode & 0o7777 : 0o644);
  const uid = options.uid ?? existing?.uid;
  const gid = options.gid ?? existing?.gid;
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(
    temp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    0o600,
  );
  try {
    try {
      await handle.writeFile(data);
      const written = await handle.stat();
      if ((uid !== undefined && uid !== written.uid) || (gid !== undefined && gid !== written.gid)) {
        await handle.chown(uid ?? written.uid, gid ?? written.gid);
      }
      // chmod after chown: chown clears setuid/setgid bits.
      await handle.chmod(mode);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  await syncDirectory(dirname(path));
}

/**
 * fsyncs a directory so a rename or create in it survives a crash.
 * @param path the directory
 */
export async function syncDirectory(path: string): Promise<void> {
  const dir = await open(path, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    await dir.sync();
  } finally {
    await dir.close();
  }
}

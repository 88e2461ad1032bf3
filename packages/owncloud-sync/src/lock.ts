// One sync per folder at a time: an exclusive lock file holding pid and host (not process names).
import { readFile, unlink, writeFile } from 'node:fs/promises';
import { SyncError, toSyncError } from './errors';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Creates `file` exclusively. A lock left by a dead process on this host is taken over.
 *
 * @returns a function that releases the lock
 * @throws {SyncError} `SYNC_LOCKED` when another live sync holds it
 */
export async function acquireLock(file: string, host: string): Promise<() => Promise<void>> {
  const content = JSON.stringify({ pid: process.pid, host, since: new Date().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      await writeFile(file, content, { flag: 'wx', mode: 0o600 });
      return () => unlink(file).catch(() => undefined);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw toSyncError(error, 'SYNC_LOCAL_IO', { path: file });
    }
    const holder = await readFile(file, 'utf8')
      .then((t) => JSON.parse(t) as { pid?: number; host?: string })
      .catch(() => ({}) as { pid?: number; host?: string });
    if (holder.host === host && typeof holder.pid === 'number' && !alive(holder.pid)) {
      await unlink(file).catch(() => undefined);
      continue;
    }
    throw new SyncError(
      'SYNC_LOCKED',
      `another sync of this folder is running (pid ${holder.pid ?? '?'} on ${holder.host ?? '?'})`,
      { path: file },
    );
  }
  throw new SyncError('SYNC_LOCKED', 'could not take the sync lock', { path: file });
}

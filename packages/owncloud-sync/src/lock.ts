// One sync per folder at a time: an exclusive lock file holding pid and host (not process names).
import { readFile, unlink } from 'node:fs/promises';
import { type Clock, createNodeFs, systemClock } from '@invis/host';
import { SyncError, toSyncError } from './errors';

const hostFs = createNodeFs();

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Creates `file` exclusively (0600, never through a symlink). A lock left by a dead process on
 * this host is taken over.
 *
 * @param file the lock file, in a folder only we can write
 * @param host this host's name, stored with the pid
 * @param clock the time stored as `since`
 * @returns a function that releases the lock
 * @throws {SyncError} `SYNC_LOCKED` when another live sync holds it, `SYNC_LOCAL_IO`
 * @example
 * const release = await acquireLock('/var/lib/invis/sync/branch/lock', 'branch1');
 * try { … } finally { await release(); }
 */
export async function acquireLock(
  file: string,
  host: string,
  clock: Clock = systemClock,
): Promise<() => Promise<void>> {
  const content = JSON.stringify({ pid: process.pid, host, since: clock.now().toISOString() });
  for (let attempt = 0; attempt < 2; attempt++) {
    const created = await hostFs.createExclusive(file, content, 0o600).catch((error: unknown) => {
      throw toSyncError(error, 'SYNC_LOCAL_IO', { path: file });
    });
    if (created) return () => unlink(file).catch(() => undefined);
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
      { details: { path: file } },
    );
  }
  throw new SyncError('SYNC_LOCKED', 'could not take the sync lock', { details: { path: file } });
}

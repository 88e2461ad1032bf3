// One mutation of a PKI directory at a time: index.txt and crlnumber are read-modify-write. A
// promise chain orders the calls on one object; the lock file `<dir>/.lock` orders processes
// (the portal's renewal job vs. the setup CLI).
import { join } from 'node:path';
import { type HostFs, isMissing } from '@invis/host';
import { KEY_MODE } from './context';
import { OvpnPkiError } from './errors';

/** A holder that died leaves its lock behind; no mutation takes a minute. */
export const STALE_LOCK_MS = 60_000;
const POLL_MS = 25;

/** Options of {@link createPkiLock}. */
export interface PkiLockOptions {
  fs: HostFs;
  /** The PKI directory; the lock file is `<dir>/.lock`. */
  dir: string;
  /** How long to wait for another process's lock; default 10 s. */
  timeoutMs?: number;
}

/** Runs mutations one at a time, in call order, and never while another process holds the lock. */
export interface PkiLock {
  /**
   * Runs `fn` once every earlier call on this lock has settled and the lock file is ours.
   * @throws PKI_LOCKED when another process held the lock for longer than the timeout
   */
  run<T>(fn: () => Promise<T>): Promise<T>;
}

/**
 * The lock of one PKI directory. Without the directory there is nothing to protect yet (init
 * creates it), so `fn` runs unlocked then. A lock file older than {@link STALE_LOCK_MS} is taken over.
 * @param options fs, directory, timeout
 * @returns the lock
 * @example await createPkiLock({ fs: createNodeFs(), dir }).run(() => writeIndex(entries));
 */
export function createPkiLock(options: PkiLockOptions): PkiLock {
  const { fs } = options;
  const lock = join(options.dir, '.lock');
  let chain: Promise<unknown> = Promise.resolve();

  async function withLockFile<T>(fn: () => Promise<T>): Promise<T> {
    const until = Date.now() + (options.timeoutMs ?? 10_000);
    for (;;) {
      let created: boolean;
      try {
        created = await fs.createExclusive(lock, `${process.pid}\n`, KEY_MODE);
      } catch (cause) {
        if (isMissing(cause)) return fn();
        throw cause;
      }
      if (created) break;
      // Wall time, not the PKI clock: the lock's mtime is real even when certificates are back-dated.
      if (Date.now() - ((await fs.mtimeMs(lock)) ?? Date.now()) > STALE_LOCK_MS) {
        await fs.remove(lock);
        continue;
      }
      if (Date.now() > until) {
        throw new OvpnPkiError('PKI_LOCKED', `${options.dir} is locked by another process (${lock})`, {
          details: { dir: options.dir },
        });
      }
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
    try {
      return await fn();
    } finally {
      await fs.remove(lock);
    }
  }

  return {
    run(fn) {
      const result = chain.then(() => withLockFile(fn));
      chain = result.catch(() => undefined);
      return result;
    },
  };
}

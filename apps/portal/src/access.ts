import { type Clock, systemClock } from '@invis/host';
import type { Directory } from './directory';

/** A person's current rights, as the directory says. */
export interface Access {
  isAdmin: boolean;
  /** Member of the mobile group: may use the portal from outside. */
  mobile: boolean;
}

/** Options of {@link createAccessCheck}. */
export interface AccessCheckOptions {
  directory: Directory;
  adminGroup: string;
  mobileGroup: string;
  /** How long an answer is reused (about a minute: rights end at most this late). */
  ttlMs: number;
  /** Default: the system clock. */
  clock?: Clock;
  /** Bound of cached users (memory bound); the oldest entry goes first. */
  maxEntries?: number;
}

/** Re-reads rights from the directory, cached per user for a short time. */
export interface AccessCheck {
  /** @returns the rights, or `null` when the account is gone or disabled */
  get(username: string): Promise<Access | null>;
  /** Drops the cached answer (after a change made through the portal). */
  forget(username: string): void;
}

/**
 * Rights are not snapshots taken at login: admin and mobile membership, existence and the
 * enabled flag are read again from the directory at most `ttlMs` after the last read, so a
 * change made outside the portal (another admin tool, `samba-tool`) ends them within that time.
 * A directory failure is thrown, never taken as "allowed".
 */
export function createAccessCheck(options: AccessCheckOptions): AccessCheck {
  const clock = options.clock ?? systemClock;
  const max = options.maxEntries ?? 10_000;
  const cache = new Map<string, { at: number; access: Access | null }>();
  const key = (u: string): string => u.toLowerCase();
  const inGroup = (groups: readonly { name: string }[], group: string): boolean =>
    groups.some((g) => g.name.toLowerCase() === group.toLowerCase());

  return {
    async get(username) {
      const k = key(username);
      const hit = cache.get(k);
      const t = clock.now().getTime();
      if (hit && t - hit.at < options.ttlMs) return hit.access;
      const p = await options.directory.principal('user', username);
      const access =
        p?.enabled === true
          ? { isAdmin: inGroup(p.memberOf, options.adminGroup), mobile: inGroup(p.memberOf, options.mobileGroup) }
          : null;
      cache.delete(k);
      if (cache.size >= max) cache.delete(cache.keys().next().value as string);
      cache.set(k, { at: t, access });
      return access;
    },
    forget(username) {
      cache.delete(key(username));
    },
  };
}

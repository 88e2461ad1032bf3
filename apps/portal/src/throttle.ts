import { isIP } from 'node:net';
import { type Clock, systemClock } from '@invis/host';

/** Options of {@link createLoginThrottle}. */
export interface LoginThrottleOptions {
  /** Counted attempts per user name within the window before that name is blocked. */
  maxPerUser: number;
  /** Counted attempts per client address (IPv6: per /64) within the window before it is blocked. */
  maxPerAddress: number;
  /** Sliding window (ms); a block lasts until the oldest counted attempt leaves it. */
  windowMs: number;
  /** Password checks of one user name running at the same time (default 2). */
  maxInFlightPerUser?: number;
  /** Default: the system clock. */
  clock?: Clock;
  /** Bound of tracked keys (memory bound against address floods). */
  maxKeys?: number;
}

/** One running password check. Ending it more than once is harmless; the first call decides. */
export interface LoginAttempt {
  /** Right password: the user's count is cleared and this attempt no longer counts against the address. */
  succeeded(): void;
  /** Right password, yet no login (expired, policy refused the new one): this attempt is not counted. */
  uncounted(): void;
  /** A guess that failed: it stays counted (also the default when nothing else was said). */
  failed(): void;
}

/** The verdict for one login attempt. */
export type ThrottleVerdict = { allowed: true; attempt: LoginAttempt } | { allowed: false; retryAfterMs: number };

/** Counts password checks per user and per client address. */
export interface LoginThrottle {
  /**
   * Starts a password check. It is counted now, before the directory answers, so parallel
   * requests cannot all pass the check and only be counted afterwards.
   */
  begin(username: string, address: string): ThrottleVerdict;
}

const hextets = (groups: string): string[] => (groups === '' ? [] : groups.split(':'));

/**
 * The throttle key of an address: IPv6 clients by their /64 (one customer line hands out a
 * whole /64; counting single addresses would give each attacker 2^64 buckets).
 */
export function addressKey(address: string): string {
  if (isIP(address) !== 6) return address;
  const [head = '', tail] = address.toLowerCase().split('::');
  const left = hextets(head);
  const right = hextets(tail ?? '');
  // an embedded IPv4 part is the last two groups; the /64 never reaches it
  const width = (gs: string[]): number => gs.reduce((n, g) => n + (g.includes('.') ? 2 : 1), 0);
  const groups = tail === undefined ? left : [...left, ...Array(8 - width(left) - width(right)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * Login throttling per user and per address: guessing one password is stopped by the user
 * limit, spraying many user names from one address by the address limit, racing many guesses
 * at once by counting at the start and by the in-flight limit per user.
 */
export function createLoginThrottle(options: LoginThrottleOptions): LoginThrottle {
  const clock = options.clock ?? systemClock;
  const now = (): number => clock.now().getTime();
  const maxKeys = options.maxKeys ?? 50_000;
  const maxInFlight = options.maxInFlightPerUser ?? 2;
  const counted = new Map<string, number[]>();
  const inFlight = new Map<string, number>();
  const userKey = (u: string): string => `u:${u.toLowerCase()}`;
  const addrKey = (a: string): string => `a:${addressKey(a)}`;

  const recent = (key: string, t: number): number[] => {
    const list = (counted.get(key) ?? []).filter((at) => t - at < options.windowMs);
    if (list.length === 0) counted.delete(key);
    else counted.set(key, list);
    return list;
  };
  const blockedFor = (key: string, limit: number, t: number): number => {
    const list = recent(key, t);
    if (list.length < limit) return 0;
    return (list[list.length - limit] as number) + options.windowMs - t;
  };
  const uncount = (key: string, at: number): void => {
    const list = counted.get(key);
    const i = list?.indexOf(at) ?? -1;
    if (list && i >= 0) list.splice(i, 1);
    if (list?.length === 0) counted.delete(key);
  };

  return {
    begin(username, address) {
      const t = now();
      const user = userKey(username);
      const addr = addrKey(address);
      const wait = Math.max(
        blockedFor(user, options.maxPerUser, t),
        blockedFor(addr, options.maxPerAddress, t),
        // Too many checks of this name still running: try again in a moment.
        (inFlight.get(user) ?? 0) >= maxInFlight ? 1000 : 0,
      );
      if (wait > 0) return { allowed: false, retryAfterMs: wait };

      if (counted.size >= maxKeys) for (const key of counted.keys()) recent(key, t);
      for (const key of [user, addr]) counted.set(key, [...recent(key, t), t]);
      inFlight.set(user, (inFlight.get(user) ?? 0) + 1);

      let open = true;
      const end = (then: () => void): void => {
        if (!open) return;
        open = false;
        const left = (inFlight.get(user) ?? 1) - 1;
        if (left > 0) inFlight.set(user, left);
        else inFlight.delete(user);
        then();
      };
      return {
        allowed: true,
        attempt: {
          succeeded: () =>
            end(() => {
              counted.delete(user);
              uncount(addr, t);
            }),
          uncounted: () =>
            end(() => {
              uncount(user, t);
              uncount(addr, t);
            }),
          failed: () => end(() => undefined),
        },
      };
    },
  };
}

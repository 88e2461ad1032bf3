/** Options of {@link createLoginThrottle}. */
export interface LoginThrottleOptions {
  /** Failed logins per user name within the window before that name is blocked. */
  maxPerUser: number;
  /** Failed logins per client address within the window before that address is blocked. */
  maxPerAddress: number;
  /** Sliding window (ms); a block lasts until the oldest counted failure leaves it. */
  windowMs: number;
  now?: () => number;
  /** Bound of tracked keys (memory bound against address floods). */
  maxKeys?: number;
}

/** The verdict for one login attempt. */
export type ThrottleVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

/** Counts failed logins per user and per client address. */
export interface LoginThrottle {
  check(username: string, address: string): ThrottleVerdict;
  failed(username: string, address: string): void;
  /** A successful login clears that user's counter (not the address's: one good password must not reset a spray). */
  succeeded(username: string): void;
}

/**
 * Login throttling per user and per address: guessing one password is stopped by the user
 * limit, spraying many user names from one address by the address limit.
 */
export function createLoginThrottle(options: LoginThrottleOptions): LoginThrottle {
  const now = options.now ?? Date.now;
  const maxKeys = options.maxKeys ?? 50_000;
  const failures = new Map<string, number[]>();
  const userKey = (u: string): string => `u:${u.toLowerCase()}`;
  const addrKey = (a: string): string => `a:${a}`;

  const recent = (key: string, t: number): number[] => {
    const list = (failures.get(key) ?? []).filter((at) => t - at < options.windowMs);
    if (list.length === 0) failures.delete(key);
    else failures.set(key, list);
    return list;
  };
  const blockedFor = (key: string, limit: number, t: number): number => {
    const list = recent(key, t);
    if (list.length < limit) return 0;
    return (list[list.length - limit] as number) + options.windowMs - t;
  };

  return {
    check(username, address) {
      const t = now();
      const wait = Math.max(
        blockedFor(userKey(username), options.maxPerUser, t),
        blockedFor(addrKey(address), options.maxPerAddress, t),
      );
      return wait > 0 ? { allowed: false, retryAfterMs: wait } : { allowed: true };
    },
    failed(username, address) {
      const t = now();
      if (failures.size >= maxKeys) for (const key of failures.keys()) recent(key, t);
      for (const key of [userKey(username), addrKey(address)]) {
        const list = recent(key, t);
        list.push(t);
        failures.set(key, list);
      }
    },
    succeeded(username) {
      failures.delete(userKey(username));
    },
  };
}

/** A value loaded once, then served at once while a newer one loads in the background. */
export interface StaleWhileRevalidate<T> {
  get(): Promise<T>;
  /** Forget the value: the next `get` waits for a fresh load (after our own writes). */
  invalidate(): void;
}

/**
 * Stale-while-revalidate cache: the first `get` waits for `load`; later ones get the last
 * value at once, and one background reload starts when it is older than `ttlMs`. A failed
 * first load is forgotten (the next `get` tries again); a failed reload keeps the old value.
 */
export function staleWhileRevalidate<T>(load: () => Promise<T>, ttlMs: number): StaleWhileRevalidate<T> {
  let cached: { at: number; value: Promise<T>; refreshing: boolean } | null = null;
  return {
    get() {
      const t = Date.now();
      if (!cached) {
        const entry = { at: t, value: load(), refreshing: false };
        cached = entry;
        entry.value.catch(() => {
          if (cached === entry) cached = null;
        });
        return entry.value;
      }
      const current = cached;
      if (t - current.at > ttlMs && !current.refreshing) {
        current.refreshing = true;
        load().then(
          (value) => {
            if (cached === current) cached = { at: Date.now(), value: Promise.resolve(value), refreshing: false };
          },
          () => {
            current.refreshing = false;
          },
        );
      }
      return current.value;
    },
    invalidate() {
      cached = null;
    },
  };
}

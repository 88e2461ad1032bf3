// Concurrency and bandwidth limiting shared by the client and the engine.

/** Bounds how many async tasks run at once. */
export interface Semaphore {
  /** Runs `task` when a slot is free; the slot is held until it settles. */
  run<T>(task: () => Promise<T>): Promise<T>;
}

/**
 * Creates a FIFO semaphore with `size` slots.
 *
 * @example
 * const sem = createSemaphore(4); await Promise.all(items.map((i) => sem.run(() => work(i))));
 */
export function createSemaphore(size: number): Semaphore {
  let active = 0;
  const waiting: (() => void)[] = [];
  const release = (): void => {
    active--;
    waiting.shift()?.();
  };
  return {
    async run<T>(task: () => Promise<T>): Promise<T> {
      if (active >= size) await new Promise<void>((resolve) => waiting.push(resolve));
      active++;
      try {
        return await task();
      } finally {
        release();
      }
    },
  };
}

/** A token bucket shared by all transfers of one sync run. */
export interface RateLimiter {
  /** Resolves once `bytes` may be sent or written. */
  take(bytes: number): Promise<void>;
}

/**
 * Token bucket allowing `bytesPerSecond` on average, starting empty, with at most one second of burst.
 * `now` and `sleep` are injectable for tests.
 */
export function createRateLimiter(
  bytesPerSecond: number,
  now: () => number = () => performance.now(),
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
): RateLimiter {
  // Starts empty: the limit holds from the first byte; up to one second of budget can build up later.
  let tokens = 0;
  let last = now();
  let queue: Promise<void> = Promise.resolve();
  return {
    take(bytes: number): Promise<void> {
      // Serialised so concurrent transfers share the budget fairly in arrival order.
      queue = queue.then(async () => {
        let need = bytes;
        while (need > 0) {
          const t = now();
          tokens = Math.min(bytesPerSecond, tokens + ((t - last) / 1000) * bytesPerSecond);
          last = t;
          const grant = Math.min(need, tokens);
          tokens -= grant;
          need -= grant;
          if (need > 0) await sleep(Math.max(1, Math.ceil((Math.min(need, bytesPerSecond) / bytesPerSecond) * 1000)));
        }
      });
      return queue;
    },
  };
}

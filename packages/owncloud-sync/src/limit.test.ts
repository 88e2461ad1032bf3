import { describe, expect, it } from 'vitest';
import { createRateLimiter, createSemaphore } from './limit';

describe('createSemaphore', () => {
  it('never runs more than its size at once', async () => {
    const sem = createSemaphore(3);
    let active = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        sem.run(async () => {
          peak = Math.max(peak, ++active);
          await new Promise((r) => setTimeout(r, 1));
          active--;
        }),
      ),
    );
    expect(peak).toBe(3);
  });
});

describe('createRateLimiter', () => {
  it('spaces transfers to the configured rate (fake clock)', async () => {
    let t = 0;
    const limiter = createRateLimiter(
      1000,
      () => t,
      async (ms) => {
        t += ms;
      },
    );
    for (let i = 0; i < 5; i++) await limiter.take(1000);
    // Starts empty: one second per 1000 bytes from the first byte.
    expect(t).toBeGreaterThanOrEqual(5000);
    expect(t).toBeLessThan(5100);
  });
});

import { describe, expect, it } from 'vitest';
import { fixedClock, systemClock } from './clock';

describe('clock', () => {
  it('a fixed clock stands still and hands out fresh Date objects', () => {
    const clock = fixedClock('2026-12-06T10:00:00Z');
    const first = clock.now();
    first.setFullYear(2000);
    expect(clock.now().toISOString()).toBe('2026-12-06T10:00:00.000Z');
  });

  it('the system clock moves with real time', () => {
    const before = Date.now();
    const now = systemClock.now().getTime();
    expect(now).toBeGreaterThanOrEqual(before);
  });
});

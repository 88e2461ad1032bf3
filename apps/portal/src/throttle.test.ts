import { describe, expect, it } from 'vitest';
import { createLoginThrottle } from './throttle';

function throttle() {
  let t = 0;
  const th = createLoginThrottle({ maxPerUser: 3, maxPerAddress: 5, windowMs: 60_000, now: () => t });
  return { th, advance: (ms: number) => (t += ms) };
}

describe('login throttle', () => {
  it('blocks a user name after too many failures, from any address', () => {
    const { th } = throttle();
    for (let i = 0; i < 3; i++) {
      expect(th.check('Anna', `10.0.0.${i}`).allowed).toBe(true);
      th.failed('Anna', `10.0.0.${i}`);
    }
    const v = th.check('anna', '10.0.0.99');
    expect(v.allowed).toBe(false);
    expect(v.allowed === false && v.retryAfterMs).toBe(60_000);
    expect(th.check('bernd', '10.0.0.99').allowed).toBe(true);
  });

  it('blocks an address spraying many user names', () => {
    const { th } = throttle();
    for (let i = 0; i < 5; i++) th.failed(`user${i}`, '203.0.113.9');
    expect(th.check('fresh', '203.0.113.9').allowed).toBe(false);
    expect(th.check('fresh', '203.0.113.10').allowed).toBe(true);
  });

  it('lets the block expire with the sliding window', () => {
    const { th, advance } = throttle();
    for (let i = 0; i < 3; i++) {
      th.failed('anna', '10.0.0.1');
      advance(10_000);
    }
    expect(th.check('anna', '10.0.0.1').allowed).toBe(false);
    advance(30_001);
    expect(th.check('anna', '10.0.0.1').allowed).toBe(true);
  });

  it('clears the user counter on success but keeps the address counter', () => {
    const { th } = throttle();
    for (let i = 0; i < 2; i++) th.failed('anna', '10.0.0.1');
    th.succeeded('anna');
    th.failed('anna', '10.0.0.1');
    th.failed('anna', '10.0.0.1');
    expect(th.check('anna', '10.0.0.2').allowed).toBe(true);
    th.failed('other', '10.0.0.1');
    expect(th.check('x', '10.0.0.1').allowed).toBe(false);
  });
});

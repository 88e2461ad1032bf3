import { describe, expect, it } from 'vitest';
import { addressKey, createLoginThrottle, type LoginThrottle } from './throttle';

function throttle() {
  let t = 0;
  const th = createLoginThrottle({
    maxPerUser: 3,
    maxPerAddress: 5,
    windowMs: 60_000,
    clock: { now: () => new Date(t) },
  });
  return { th, advance: (ms: number) => (t += ms) };
}

/** One attempt that fails; asserts it was allowed. */
function fail(th: LoginThrottle, user: string, address: string): void {
  const v = th.begin(user, address);
  expect(v.allowed).toBe(true);
  if (v.allowed) v.attempt.failed();
}

describe('login throttle', () => {
  it('blocks a user name after too many failures, from any address', () => {
    const { th } = throttle();
    for (let i = 0; i < 3; i++) fail(th, 'Anna', `10.0.0.${i}`);
    const v = th.begin('anna', '10.0.0.99');
    expect(v.allowed).toBe(false);
    expect(v.allowed === false && v.retryAfterMs).toBe(60_000);
    expect(th.begin('bernd', '10.0.0.99').allowed).toBe(true);
  });

  it('blocks an address spraying many user names', () => {
    const { th } = throttle();
    for (let i = 0; i < 5; i++) fail(th, `user${i}`, '203.0.113.9');
    expect(th.begin('fresh', '203.0.113.9').allowed).toBe(false);
    expect(th.begin('fresh', '203.0.113.10').allowed).toBe(true);
  });

  it('lets the block expire with the sliding window', () => {
    const { th, advance } = throttle();
    for (let i = 0; i < 3; i++) {
      fail(th, 'anna', '10.0.0.1');
      advance(10_000);
    }
    expect(th.begin('anna', '10.0.0.1').allowed).toBe(false);
    advance(30_001);
    expect(th.begin('anna', '10.0.0.1').allowed).toBe(true);
  });

  it('clears the user counter on success but keeps earlier failures of the address', () => {
    const { th } = throttle();
    for (let i = 0; i < 2; i++) fail(th, 'anna', '10.0.0.1');
    const ok = th.begin('anna', '10.0.0.1');
    if (ok.allowed) ok.attempt.succeeded();
    fail(th, 'anna', '10.0.0.1');
    fail(th, 'anna', '10.0.0.1');
    expect(th.begin('anna', '10.0.0.2').allowed).toBe(true);
    fail(th, 'other', '10.0.0.1');
    expect(th.begin('x', '10.0.0.1').allowed).toBe(false);
  });

  it('counts at the start, so parallel guesses cannot pass together', () => {
    const { th } = throttle();
    const running = [th.begin('anna', '10.0.0.1'), th.begin('anna', '10.0.0.2')];
    expect(running.every((v) => v.allowed)).toBe(true);
    // a third check of the same name while two run
    expect(th.begin('anna', '10.0.0.3').allowed).toBe(false);
    for (const v of running) if (v.allowed) v.attempt.failed();
    fail(th, 'anna', '10.0.0.4');
    expect(th.begin('anna', '10.0.0.5').allowed).toBe(false);
  });

  it('does not count an attempt that is ended as uncounted, nor an ended one twice', () => {
    const { th } = throttle();
    for (let i = 0; i < 5; i++) {
      const v = th.begin(`u${i}`, '10.0.0.1');
      if (v.allowed) {
        v.attempt.uncounted();
        v.attempt.failed();
      }
    }
    expect(th.begin('x', '10.0.0.1').allowed).toBe(true);
  });

  it('keys IPv6 addresses by /64', () => {
    expect(addressKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:0:0:9')).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('::ffff:1.2.3.4')).toBe('0:0:0:0::/64');
    expect(addressKey('192.168.220.5')).toBe('192.168.220.5');
    const { th } = throttle();
    for (let i = 1; i <= 5; i++) fail(th, `user${i}`, `2001:db8:1:2::${i}`);
    expect(th.begin('fresh', '2001:db8:1:2:abcd::1').allowed).toBe(false);
    expect(th.begin('fresh', '2001:db8:1:3::1').allowed).toBe(true);
  });
});

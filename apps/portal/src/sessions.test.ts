import { describe, expect, it } from 'vitest';
import { createAnonymousCsrf, createSessionStore, csrfTokenMatches, type SessionUser } from './sessions';

const anna: SessionUser = {
  username: 'anna',
  displayName: 'Anna',
  isAdmin: true,
  mobile: false,
  passwordExpiresAt: null,
};

function store(maxSessions?: number) {
  let t = 1_000_000;
  const s = createSessionStore({
    idleMs: 1000,
    absoluteMs: 5000,
    clock: { now: () => new Date(t) },
    ...(maxSessions ? { maxSessions } : {}),
  });
  return { s, advance: (ms: number) => (t += ms) };
}

describe('session store', () => {
  it('issues long random ids and distinct CSRF tokens', () => {
    const { s } = store();
    const a = s.create(anna);
    const b = s.create(anna);
    expect(a.id).toMatch(/^[\w-]{43}$/);
    expect(a.id).not.toBe(b.id);
    expect(a.csrfToken).not.toBe(a.id);
  });

  it('ends a session after the idle timeout', () => {
    const { s, advance } = store();
    const a = s.create(anna);
    advance(900);
    expect(s.get(a.id)).not.toBeNull();
    advance(900);
    expect(s.get(a.id)?.user?.username).toBe('anna');
    advance(1001);
    expect(s.get(a.id)).toBeNull();
  });

  it('ends a busy session at the absolute timeout', () => {
    const { s, advance } = store();
    const a = s.create(anna);
    for (let i = 0; i < 5; i++) {
      advance(999);
      expect(s.get(a.id)).not.toBeNull();
    }
    advance(10);
    expect(s.get(a.id)).toBeNull();
  });

  it('rotates the id and token on login and forgets the old id', () => {
    const { s } = store();
    const before = s.create(anna);
    const logged = s.rotate(before.id, anna);
    expect(logged.id).not.toBe(before.id);
    expect(logged.csrfToken).not.toBe(before.csrfToken);
    expect(s.get(before.id)).toBeNull();
    expect(s.get(logged.id)?.user).toEqual(anna);
  });

  it('rejects unknown, empty and tampered ids', () => {
    const { s } = store();
    const a = s.create(anna);
    expect(s.get(undefined)).toBeNull();
    expect(s.get('')).toBeNull();
    expect(s.get(`${a.id}x`)).toBeNull();
    expect(s.get(a.id.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')))).toBeNull();
  });

  it('drops the oldest session when full, and timed-out ones as new ones come', () => {
    const { s, advance } = store(3);
    const first = s.create(anna);
    const second = s.create(anna);
    s.create(anna);
    s.create(anna);
    expect(s.size).toBe(3);
    expect(s.get(first.id)).toBeNull();
    expect(s.get(second.id)).not.toBeNull();
    advance(31 * 60_000);
    s.create(anna);
    expect(s.size).toBe(3);
  });

  it('destroys all sessions of a user and bounds memory', () => {
    const { s } = store(3);
    s.create(anna);
    s.create(anna);
    const other = s.create({ ...anna, username: 'bernd' });
    const kept = s.create(anna);
    s.destroyUser('ANNA', kept.id);
    expect(s.size).toBe(2);
    expect(s.get(kept.id)).not.toBeNull();
    s.destroyUser('anna');
    expect(s.size).toBe(1);
    expect(s.get(other.id)).not.toBeNull();
    for (let i = 0; i < 10; i++) s.create(anna);
    expect(s.size).toBeLessThanOrEqual(3);
  });
});

describe('csrfTokenMatches', () => {
  it('accepts only the exact token', () => {
    const { s } = store();
    const a = s.create(anna);
    expect(csrfTokenMatches(a, a.csrfToken)).toBe(true);
    expect(csrfTokenMatches(a, undefined)).toBe(false);
    expect(csrfTokenMatches(a, '')).toBe(false);
    expect(csrfTokenMatches(a, `${a.csrfToken}=`)).toBe(false);
    expect(csrfTokenMatches(a, s.create(anna).csrfToken)).toBe(false);
  });
});

describe('createAnonymousCsrf', () => {
  it('accepts only our own token, submitted twice (cookie and header)', () => {
    const csrf = createAnonymousCsrf();
    const t = csrf.issue();
    expect(csrf.matches(t, t)).toBe(true);
    expect(csrf.matches(t, undefined)).toBe(false);
    expect(csrf.matches(undefined, t)).toBe(false);
    expect(csrf.matches(t, csrf.issue())).toBe(false);
    const forged = `${t.split('.')[0]}.${'A'.repeat(43)}`;
    expect(csrf.matches(forged, forged)).toBe(false);
    const foreign = createAnonymousCsrf().issue();
    expect(csrf.matches(foreign, foreign)).toBe(false);
  });
});

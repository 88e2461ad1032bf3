import { describe, expect, it } from 'vitest';
import { createSessionStore, csrfTokenMatches, type SessionUser } from './sessions';

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
    now: () => t,
    ...(maxSessions ? { maxSessions } : {}),
  });
  return { s, advance: (ms: number) => (t += ms) };
}

describe('session store', () => {
  it('issues long random ids and distinct CSRF tokens', () => {
    const { s } = store();
    const a = s.create();
    const b = s.create();
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
    const anon = s.create();
    const logged = s.rotate(anon.id, anna);
    expect(logged.id).not.toBe(anon.id);
    expect(logged.csrfToken).not.toBe(anon.csrfToken);
    expect(s.get(anon.id)).toBeNull();
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

  it('drops anonymous sessions first when full', () => {
    const { s } = store(3);
    const logged = s.create(anna);
    for (let i = 0; i < 10; i++) s.create();
    expect(s.size).toBeLessThanOrEqual(3);
    expect(s.get(logged.id)?.user?.username).toBe('anna');
  });

  it('destroys all sessions of a user and bounds memory', () => {
    const { s } = store(3);
    s.create(anna);
    s.create(anna);
    const other = s.create({ ...anna, username: 'bernd' });
    s.destroyUser('ANNA');
    expect(s.size).toBe(1);
    expect(s.get(other.id)).not.toBeNull();
    for (let i = 0; i < 10; i++) s.create();
    expect(s.size).toBeLessThanOrEqual(3);
  });
});

describe('csrfTokenMatches', () => {
  it('accepts only the exact token', () => {
    const { s } = store();
    const a = s.create();
    expect(csrfTokenMatches(a, a.csrfToken)).toBe(true);
    expect(csrfTokenMatches(a, undefined)).toBe(false);
    expect(csrfTokenMatches(a, '')).toBe(false);
    expect(csrfTokenMatches(a, `${a.csrfToken}=`)).toBe(false);
    expect(csrfTokenMatches(a, s.create().csrfToken)).toBe(false);
  });
});

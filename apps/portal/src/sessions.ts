import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { type Clock, systemClock } from '@invis/host';

/** The logged-in person a session belongs to. */
export interface SessionUser {
  username: string;
  displayName: string;
  isAdmin: boolean;
  /** Member of the mobile group: may use the portal from outside the internal networks. */
  mobile: boolean;
  /** ISO date of password expiry, `null` = never, captured at login for the warning. */
  passwordExpiresAt: string | null;
}

/** A server-side session of a logged-in person; the browser only holds its random id. */
export interface Session {
  readonly id: string;
  /** Synchronizer token required on every state-changing request of this session. */
  readonly csrfToken: string;
  readonly createdAt: number;
  lastSeenAt: number;
  user: SessionUser;
}

/** Options of {@link createSessionStore}. */
export interface SessionStoreOptions {
  /** Session ends after this long without a request. */
  idleMs: number;
  /** Session ends this long after it was created, whatever the activity. */
  absoluteMs: number;
  /** Default: the system clock. */
  clock?: Clock;
  /** Upper bound of live sessions; the oldest is dropped first (memory bound). */
  maxSessions?: number;
}

/**
 * In-memory server-side session store (the portal is one process). Only logged-in people
 * have sessions: visitors of the login form get a stateless CSRF token
 * ({@link createAnonymousCsrf}), so a flood of visits cannot fill the store.
 */
export interface SessionStore {
  /** Starts a session for a user who just logged in (new id and CSRF token). */
  create(user: SessionUser): Session;
  /** Returns the live session for an id, touching it; `null` if unknown or timed out. */
  get(id: string | undefined): Session | null;
  /** Replaces a session by a new id and CSRF token (on login, against session fixation). */
  rotate(id: string | undefined, user: SessionUser): Session;
  destroy(id: string | undefined): void;
  /** Ends every session of a user (after a password change or reset, disable, delete), but `keepId`. */
  destroyUser(username: string, keepId?: string): void;
  readonly size: number;
}

const token = (): string => randomBytes(32).toString('base64url');

/**
 * Creates the session store.
 * @example const sessions = createSessionStore({ idleMs: 30 * 60_000, absoluteMs: 8 * 3600_000 });
 */
export function createSessionStore(options: SessionStoreOptions): SessionStore {
  const clock = options.clock ?? systemClock;
  const now = (): number => clock.now().getTime();
  const max = options.maxSessions ?? 10_000;
  const byId = new Map<string, Session>();

  const alive = (s: Session, t: number): boolean =>
    t - s.lastSeenAt <= options.idleMs && t - s.createdAt <= options.absoluteMs;

  const create = (user: SessionUser): Session => {
    const t = now();
    // O(1): the Map keeps creation order, so the first entry is the oldest; a timed-out one
    // goes on every create, a live one only when the store is full.
    const oldest = byId.values().next().value;
    if (oldest && (!alive(oldest, t) || byId.size >= max)) byId.delete(oldest.id);
    const s: Session = { id: token(), csrfToken: token(), createdAt: t, lastSeenAt: t, user };
    byId.set(s.id, s);
    return s;
  };

  return {
    create,
    get(id) {
      if (!id) return null;
      const s = byId.get(id);
      if (!s) return null;
      const t = now();
      if (!alive(s, t)) {
        byId.delete(id);
        return null;
      }
      s.lastSeenAt = t;
      return s;
    },
    rotate(id, user) {
      if (id) byId.delete(id);
      return create(user);
    },
    destroy(id) {
      if (id) byId.delete(id);
    },
    destroyUser(username, keepId) {
      const u = username.toLowerCase();
      for (const [id, s] of byId) if (id !== keepId && s.user.username.toLowerCase() === u) byId.delete(id);
    },
    get size() {
      return byId.size;
    },
  };
}

/** Constant-time comparison of a submitted CSRF token with the session's. */
export function csrfTokenMatches(session: Session, submitted: string | undefined): boolean {
  if (!submitted) return false;
  const a = Buffer.from(session.csrfToken);
  const b = Buffer.from(submitted);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Stateless CSRF tokens for visitors without a session (the login form, the expired-password change). */
export interface AnonymousCsrf {
  /** A new token: a random nonce and its HMAC under this process's key. */
  issue(): string;
  /**
   * Double submit: the header must equal the token from the visitor's own `__Host-` cookie
   * (which another site cannot set) and that token must carry our signature.
   */
  matches(cookieToken: string | undefined, submitted: string | undefined): boolean;
}

/**
 * Creates the anonymous CSRF token issuer. Nothing is stored per visitor, so visits cost no
 * memory and cannot push anyone out of the session store.
 * @param key HMAC key; a fresh random one per process by default (tokens of a restarted portal are simply re-issued)
 */
export function createAnonymousCsrf(key: Buffer = randomBytes(32)): AnonymousCsrf {
  const mac = (nonce: string): string => createHmac('sha256', key).update(`anon-csrf:${nonce}`).digest('base64url');
  const same = (a: string, b: string): boolean => {
    const x = Buffer.from(a);
    const y = Buffer.from(b);
    return x.length === y.length && timingSafeEqual(x, y);
  };
  return {
    issue() {
      const nonce = token();
      return `${nonce}.${mac(nonce)}`;
    },
    matches(cookieToken, submitted) {
      if (!cookieToken || !submitted || !same(cookieToken, submitted)) return false;
      const [nonce = '', signature = ''] = cookieToken.split('.');
      return nonce !== '' && same(signature, mac(nonce));
    },
  };
}

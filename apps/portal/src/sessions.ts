import { randomBytes, timingSafeEqual } from 'node:crypto';

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

/** A server-side session; the browser only holds its random id. */
export interface Session {
  readonly id: string;
  /** Synchronizer token required on every state-changing request of this session. */
  readonly csrfToken: string;
  readonly createdAt: number;
  lastSeenAt: number;
  user: SessionUser | null;
}

/** Options of {@link createSessionStore}. */
export interface SessionStoreOptions {
  /** Session ends after this long without a request. */
  idleMs: number;
  /** Session ends this long after it was created, whatever the activity. */
  absoluteMs: number;
  /** Clock (ms); injected for tests. */
  now?: () => number;
  /** Upper bound of live sessions; the oldest are dropped first (memory bound against floods). */
  maxSessions?: number;
}

/** In-memory server-side session store (the portal is one process). */
export interface SessionStore {
  /** Starts a new session (anonymous until a login stores a user). */
  create(user?: SessionUser | null): Session;
  /** Returns the live session for an id, touching it; `null` if unknown or timed out. */
  get(id: string | undefined): Session | null;
  /** Replaces a session by a new id and CSRF token (on login, against session fixation). */
  rotate(id: string | undefined, user: SessionUser): Session;
  destroy(id: string | undefined): void;
  /** Ends every session of a user (after a password reset or delete). */
  destroyUser(username: string): void;
  readonly size: number;
}

const token = (): string => randomBytes(32).toString('base64url');

/**
 * Creates the session store.
 * @example const sessions = createSessionStore({ idleMs: 30 * 60_000, absoluteMs: 8 * 3600_000 });
 */
export function createSessionStore(options: SessionStoreOptions): SessionStore {
  const now = options.now ?? Date.now;
  const max = options.maxSessions ?? 10_000;
  const byId = new Map<string, Session>();

  const alive = (s: Session, t: number): boolean =>
    t - s.lastSeenAt <= options.idleMs && t - s.createdAt <= options.absoluteMs;

  const sweep = (t: number): void => {
    for (const [id, s] of byId) if (!alive(s, t)) byId.delete(id);
    // Map keeps insertion order: the first entries are the oldest. Anonymous sessions go first,
    // so a flood of login-page visits cannot push logged-in people out.
    for (const anonymousOnly of [true, false]) {
      for (const [id, s] of byId) {
        if (byId.size < max) return;
        if (!anonymousOnly || s.user === null) byId.delete(id);
      }
    }
  };

  const create = (user: SessionUser | null = null): Session => {
    const t = now();
    if (byId.size >= max) sweep(t);
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
    destroyUser(username) {
      const u = username.toLowerCase();
      for (const [id, s] of byId) if (s.user?.username.toLowerCase() === u) byId.delete(id);
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

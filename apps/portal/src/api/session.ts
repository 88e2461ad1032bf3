import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { audited, type PortalContext, type PortalEnv, sessionUser } from '../context';
import type { AuthResult } from '../directory';
import { isPortalError, PortalError, type PortalErrorCode } from '../errors';
import type { Session } from '../sessions';
import type { LoginAttempt } from '../throttle';
import { ERRORS, jsonBody, jsonResponse, NO_CONTENT, optionalBody, SECURITY } from './helpers';
import {
  Empty,
  ErrorSchema,
  ExpiredPasswordChange,
  Login,
  NoQuery,
  OwnPasswordChange,
  OwnProfilePatch,
  SessionSchema,
  UserSchema,
} from './schemas';

/** Name of the session cookie (with the `__Host-` prefix: Secure, Path=/, no Domain). */
export const SESSION_COOKIE = 'invis-session';

/** Sets the session cookie: HttpOnly, Secure, SameSite=Strict, host-only. */
export function setSessionCookie(c: PortalContext, session: Session): void {
  setCookie(c, SESSION_COOKIE, session.id, {
    httpOnly: true,
    secure: true,
    sameSite: 'Strict',
    path: '/',
    prefix: 'host',
  });
}

/** Name of the cookie with the stateless CSRF token of visitors without a session (`__Host-` too). */
export const ANON_CSRF_COOKIE = 'invis-csrf';

/**
 * The CSRF token for the page or API answer: the session's, or for a visitor without one the
 * stateless token from their own cookie (issued here when missing or not ours). The session
 * cookie is never set here: a request that came without it (a cross-site link under
 * SameSite=Strict) must not overwrite it.
 */
export function csrfTokenFor(c: PortalContext): string {
  const session = c.get('session');
  if (session) return session.csrfToken;
  const { anonymousCsrf } = c.get('deps');
  const current = getCookie(c, ANON_CSRF_COOKIE, 'host');
  if (current && anonymousCsrf.matches(current, current)) return current;
  const issued = anonymousCsrf.issue();
  setCookie(c, ANON_CSRF_COOKIE, issued, {
    httpOnly: true,
    secure: true,
    sameSite: 'Strict',
    path: '/',
    prefix: 'host',
  });
  return issued;
}

const DENIED: Record<Exclude<AuthResult, { ok: true }>['reason'], [PortalErrorCode, string]> = {
  invalid: ['PORTAL_INVALID_CREDENTIALS', 'wrong user name or password'],
  disabled: ['PORTAL_ACCOUNT_DISABLED', 'account disabled'],
  locked: ['PORTAL_ACCOUNT_LOCKED', 'account locked'],
  expired: ['PORTAL_PASSWORD_EXPIRED', 'password expired; change it'],
  'must-change': ['PORTAL_PASSWORD_EXPIRED', 'password must be changed'],
};

/**
 * Runs one password check under the login throttle. The attempt is counted before `check`
 * starts and stays counted unless `check` ends it as succeeded or uncounted (fail closed:
 * an exception, a DC failure, an outside refusal all count).
 */
async function throttled<T>(
  c: PortalContext,
  username: string,
  check: (attempt: LoginAttempt) => Promise<T>,
): Promise<T> {
  const verdict = c.get('deps').throttle.begin(username, c.get('client'));
  if (!verdict.allowed) {
    throw new PortalError('PORTAL_THROTTLED', 'too many failed attempts', {
      details: { retryAfterSeconds: Math.ceil(verdict.retryAfterMs / 1000) },
    });
  }
  try {
    return await check(verdict.attempt);
  } finally {
    verdict.attempt.failed();
  }
}

/** Whether `groups` (names) includes `group`, case-insensitively as AD compares. */
const includesGroup = (groups: readonly string[], group: string): boolean =>
  groups.some((g) => g.toLowerCase() === group.toLowerCase());

const WRONG = (): PortalError => new PortalError('PORTAL_INVALID_CREDENTIALS', 'wrong user name or password');

/**
 * A password change that tests the old password, inside a throttled attempt, audited. An
 * unknown user is the same 401 as a wrong password (no user enumeration).
 */
async function changePassword(
  c: PortalContext,
  attempt: LoginAttempt,
  username: string,
  oldPassword: string,
  newPassword: string,
): Promise<void> {
  const { directory } = c.get('deps');
  try {
    await audited(c, username, { action: 'user.password.change', target: username }, () =>
      directory.changePassword(username, oldPassword, newPassword),
    );
    attempt.succeeded();
  } catch (e) {
    if (isPortalError(e) && (e.code === 'PORTAL_INVALID_CREDENTIALS' || e.code === 'PORTAL_NOT_FOUND')) {
      throw WRONG();
    }
    // The old password was right; only the new one was refused.
    if (isPortalError(e) && e.code === 'PORTAL_PASSWORD_REJECTED') attempt.uncounted();
    throw e;
  }
}

const sessionJson = (c: PortalContext) => {
  const user = c.get('session')?.user ?? null;
  return { authenticated: user !== null, csrfToken: csrfTokenFor(c), user };
};

/** Login, logout, the expired-password change and "my account". */
export function registerSessionRoutes(app: OpenAPIHono<PortalEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/session',
      tags: ['session'],
      summary: 'Current session, or for a visitor the CSRF token (in a cookie, no session) for the login',
      request: { query: NoQuery },
      responses: { 200: jsonResponse(SessionSchema) },
    }),
    (c) => c.json(sessionJson(c), 200),
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/session',
      tags: ['session'],
      summary: 'Log in with AD credentials (needs the CSRF token of the anonymous session)',
      request: { query: NoQuery, body: jsonBody(Login) },
      responses: {
        200: jsonResponse(SessionSchema),
        ...ERRORS,
        429: jsonResponse(ErrorSchema, 'Too many failed attempts (PORTAL_THROTTLED)'),
      },
    }),
    async (c) => {
      const deps = c.get('deps');
      const { username, password } = c.req.valid('json');
      const client = c.get('client');
      return throttled(c, username, async (attempt) => {
        const result = await deps.directory.authenticate(username, password);
        const audit = (outcome: 'ok' | 'failed', reason: string) =>
          deps.audit.append({
            actor: username,
            address: client,
            action: 'session.login',
            target: username,
            outcome,
            after: { reason },
          });
        if (!result.ok) {
          if (result.reason === 'expired' || result.reason === 'must-change') attempt.uncounted();
          audit('failed', result.reason);
          const [code, message] = DENIED[result.reason];
          throw new PortalError(code, message);
        }
        const user = await deps.directory.getUser(result.username);
        if (!user) throw WRONG();
        const mobile = includesGroup(result.groups, deps.mobileGroup);
        const isAdmin = includesGroup(result.groups, deps.adminGroup);
        // From outside a right password of a non-mobile account is answered like a wrong one and
        // counted: a 403 here would confirm the password to anyone on the Internet.
        if (c.get('external') && !mobile) {
          audit('failed', 'external');
          throw WRONG();
        }
        attempt.succeeded();
        // Rights were just read at the bind; an older cached answer (e.g. "disabled") must not end the new session.
        deps.access.forget(user.username);
        const session = deps.sessions.rotate(c.get('session')?.id, {
          username: user.username,
          displayName: user.displayName,
          isAdmin,
          mobile,
          passwordExpiresAt: user.passwordExpiresAt,
        });
        setSessionCookie(c, session);
        c.set('session', session);
        audit('ok', 'password');
        return c.json(sessionJson(c), 200);
      });
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/session',
      tags: ['session'],
      summary: 'Log out (ends the server-side session)',
      request: { query: NoQuery, body: optionalBody(Empty) },
      responses: { ...NO_CONTENT, 403: ERRORS[403] },
    }),
    (c) => {
      c.get('deps').sessions.destroy(c.get('session')?.id);
      deleteCookie(c, SESSION_COOKIE, { path: '/', secure: true, prefix: 'host' });
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/session/password',
      tags: ['session'],
      summary: 'Change an expired or must-change password (no login possible before); outside only for mobile users',
      request: { query: NoQuery, body: jsonBody(ExpiredPasswordChange) },
      responses: { ...NO_CONTENT, ...ERRORS },
    }),
    async (c) => {
      const { username, oldPassword, newPassword } = c.req.valid('json');
      const deps = c.get('deps');
      await throttled(c, username, async (attempt) => {
        // The DC reports "expired"/"must change" only for the right password, so this also checks it.
        const result = await deps.directory.authenticate(username, oldPassword);
        if (result.ok) {
          if (c.get('external') && !includesGroup(result.groups, deps.mobileGroup)) throw WRONG();
          attempt.uncounted();
          throw new PortalError('PORTAL_FORBIDDEN', 'the password has not expired; log in and change it there');
        }
        if (result.reason !== 'expired' && result.reason !== 'must-change') {
          const [code, message] = DENIED[result.reason];
          throw new PortalError(code, message);
        }
        if (c.get('external')) {
          const principal = await deps.directory.principal('user', username);
          if (!includesGroup(principal?.memberOf.map((g) => g.name) ?? [], deps.mobileGroup)) throw WRONG();
        }
        await changePassword(c, attempt, username, oldPassword, newPassword);
      });
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/me',
      tags: ['my account'],
      summary: 'My account',
      security: SECURITY,
      request: { query: NoQuery },
      responses: { 200: jsonResponse(UserSchema), ...ERRORS },
    }),
    async (c) => {
      const me = await c.get('deps').directory.getUser(sessionUser(c).username);
      if (!me) throw new PortalError('PORTAL_NOT_FOUND', 'account gone');
      return c.json(me, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/api/me',
      tags: ['my account'],
      summary: 'Change my profile fields and personal links',
      security: SECURITY,
      request: { query: NoQuery, body: jsonBody(OwnProfilePatch) },
      responses: { 200: jsonResponse(UserSchema), ...ERRORS },
    }),
    async (c) => {
      const { directory } = c.get('deps');
      const { username } = sessionUser(c);
      const patch = c.req.valid('json');
      const before = await directory.getUser(username);
      const after = await audited(c, username, { action: 'user.update', target: username, before, after: patch }, () =>
        directory.updateUser(username, patch),
      );
      return c.json(after, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/me/password',
      tags: ['my account'],
      summary: 'Change my password',
      security: SECURITY,
      request: { query: NoQuery, body: jsonBody(OwnPasswordChange) },
      responses: { ...NO_CONTENT, ...ERRORS },
    }),
    async (c) => {
      const { oldPassword, newPassword } = c.req.valid('json');
      const user = sessionUser(c);
      await throttled(c, user.username, (attempt) =>
        changePassword(c, attempt, user.username, oldPassword, newPassword),
      );
      // Whoever knew the old password may hold another session: all but this one end.
      c.get('deps').sessions.destroyUser(user.username, c.get('session')?.id);
      return c.body(null, 204);
    },
  );
}

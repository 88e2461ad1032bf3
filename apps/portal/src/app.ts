import { getConnInfo } from '@hono/node-server/conninfo';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { getCookie } from 'hono/cookie';
import { HTTPException } from 'hono/http-exception';
import { secureHeaders } from 'hono/secure-headers';
import { registerAdminRoutes } from './api/admin';
import { registerDnsRoutes } from './api/dns';
import { registerGroupRoutes } from './api/groups';
import { registerHostRoutes } from './api/hosts';
import { registerMailRoutes } from './api/mail';
import { ANON_CSRF_COOKIE, registerSessionRoutes, SESSION_COOKIE } from './api/session';
import { registerTileRoutes } from './api/tiles';
import { registerTransferRoutes } from './api/transfer';
import { registerUserRoutes } from './api/users';
import { registerVpnRoutes } from './api/vpn';
import type { PortalDeps, PortalEnv } from './context';
import { isPortalError, PortalError } from './errors';
import { registerForwardAuth, registerForwardLogin } from './forward-auth';
import { clientAddress } from './network';
import { csrfTokenMatches } from './sessions';
import { parseLang } from './ui/i18n';
import { makeView } from './ui/layout';
import { MessagePage } from './ui/pages';
import { LANG_COOKIE, registerPages } from './ui/routes';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Request body limit of a path, checked before anything reads the body (Content-Length up
 * front, a chunked body while it streams): anyone can fetch a CSRF token, so the login must
 * not accept gigabytes. Group member lists are the largest legitimate bodies.
 */
function bodyLimitFor(path: string, deps: PortalDeps): number {
  const under = (prefix: string): boolean => path === prefix || path.startsWith(`${prefix}/`);
  // Uploads stream to disk; the transfer area's own limit applies.
  if (under('/api/transfer/uploads') && deps.transfer) return deps.transfer.maxUploadBytes;
  if (under('/api/session')) return 8 * 1024;
  if (under('/api/groups')) return 512 * 1024;
  return 64 * 1024;
}

/** The TCP peer from @hono/node-server's socket. */
export function nodePeerAddress(c: Context): string {
  return getConnInfo(c).remote.address ?? '';
}

/** Server errors are logged without request data (it may hold passwords); clients get JSON/HTML with the code only. */
function toPortalError(e: unknown): PortalError {
  if (isPortalError(e)) return e;
  // Hono's own 4xx (malformed JSON body, …) are the client's fault, not ours.
  if (e instanceof HTTPException && e.status < 500) return new PortalError('PORTAL_VALIDATION', e.message);
  console.error('portal: unexpected error', e instanceof Error ? `${e.name}: ${e.message}` : 'non-Error thrown');
  return new PortalError('PORTAL_INTERNAL', 'internal error');
}

/**
 * Builds the portal's HTTP application (REST API, OpenAPI document and pages) from its
 * collaborators. Serve it with `@hono/node-server`.
 * @example const app = createPortalApp(deps); serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 8080 });
 */
export function createPortalApp(deps: PortalDeps): OpenAPIHono<PortalEnv> {
  const app = new OpenAPIHono<PortalEnv>({
    defaultHook: (result, c) => {
      if (!result.success) {
        const issues = result.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
        return c.json({ code: 'PORTAL_VALIDATION', message: 'invalid request', issues }, 400);
      }
    },
  });

  // Answers carry CSRF tokens, user data, token secrets: no cache may keep them. Static assets
  // set their own (public, immutable) header.
  app.use('*', async (c, next) => {
    await next();
    if (!c.res.headers.has('cache-control')) c.res.headers.set('cache-control', 'no-store');
  });

  const tooLarge = (): never => {
    throw new PortalError('PORTAL_PAYLOAD_TOO_LARGE', 'request body too large');
  };
  app.use('*', (c, next) => bodyLimit({ maxSize: bodyLimitFor(c.req.path, deps), onError: tooLarge })(c, next));

  app.use(
    '*',
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
        objectSrc: ["'none'"],
      },
      referrerPolicy: 'no-referrer',
      strictTransportSecurity: 'max-age=31536000',
    }),
  );

  app.use('*', async (c, next) => {
    c.set('deps', deps);
    const client = clientAddress(deps.peerAddress(c), c.req.header('x-forwarded-for'), deps.trustedProxies);
    const external = !deps.internalNetworks.has(client);
    c.set('client', client);
    c.set('external', external);
    c.set('lang', parseLang(getCookie(c, LANG_COOKIE)));
    c.set('token', null);

    const auth = c.req.header('authorization');
    let session = auth === undefined ? deps.sessions.get(getCookie(c, SESSION_COOKIE, 'host')) : null;
    if (session) {
      // Rights as the directory says now (cached about a minute), not as they were at login.
      const access = await deps.access.get(session.user.username);
      if (!access) {
        deps.sessions.destroyUser(session.user.username);
        session = null;
      } else {
        session.user.isAdmin = access.isAdmin;
        session.user.mobile = access.mobile;
        // A session opened inside the LAN is worthless outside unless its user may roam.
        if (external && !access.mobile) {
          deps.sessions.destroy(session.id);
          session = null;
        }
      }
    }
    c.set('session', session);

    if (auth !== undefined) {
      const m = /^Bearer (\S+)$/.exec(auth);
      const token = m ? deps.tokens.verify(m[1] as string) : null;
      if (!token) throw new PortalError('PORTAL_UNAUTHENTICATED', 'invalid, expired or revoked API token');
      if (external) throw new PortalError('PORTAL_EXTERNAL_NOT_ALLOWED', 'API tokens work only from internal networks');
      // A token acts with its owner's rights: it ends when the owner is gone, disabled or no admin.
      if (!(await deps.access.get(token.owner))?.isAdmin) {
        throw new PortalError('PORTAL_UNAUTHENTICATED', 'the API token owner may no longer use it');
      }
      c.set('token', token);
    }

    // Cookie-authenticated writes need the session's synchronizer token; bearer tokens are not ambient.
    if (!SAFE_METHODS.has(c.req.method) && !c.get('token')) {
      const current = c.get('session');
      const submitted = c.req.header('x-csrf-token');
      const ok = current
        ? csrfTokenMatches(current, submitted)
        : deps.anonymousCsrf.matches(getCookie(c, ANON_CSRF_COOKIE, 'host'), submitted);
      if (!ok) throw new PortalError('PORTAL_CSRF', 'missing or wrong CSRF token');
    }
    await next();
  });

  registerSessionRoutes(app);
  registerUserRoutes(app);
  registerGroupRoutes(app);
  registerAdminRoutes(app);
  registerTileRoutes(app);
  registerMailRoutes(app);
  registerForwardAuth(app);
  registerForwardLogin(app);
  registerHostRoutes(app);
  registerDnsRoutes(app);
  registerVpnRoutes(app);
  registerTransferRoutes(app);

  app.openAPIRegistry.registerComponent('securitySchemes', 'session', {
    type: 'apiKey',
    in: 'cookie',
    name: `__Host-${SESSION_COOKIE}`,
    description: 'Session cookie from POST /api/session; writes also need the X-CSRF-Token header',
  });
  app.openAPIRegistry.registerComponent('securitySchemes', 'token', {
    type: 'http',
    scheme: 'bearer',
    description:
      'Scoped API token (`invis_<id>_<secret>`), internal networks only. Expires (default 90 days) and stops ' +
      'working when its owner is deleted, disabled or no longer an admin. Tokens may not create admin accounts ' +
      'nor change protected accounts or groups (RID below 1000, adminCount, built-in groups, the admin group and ' +
      'members of it or of other privileged groups): that is PORTAL_FORBIDDEN; an admin session may.',
  });
  app.doc31('/api/openapi.json', {
    openapi: '3.1.0',
    info: { title: 'invis portal API', version: '1.0.0', description: 'Every action of the invis portal UI.' },
  });

  registerPages(app);

  // One answer for every error: JSON for the API, a translated page for the UI.
  const respond = (c: Context<PortalEnv>, e: PortalError) => {
    if (e.code === 'PORTAL_THROTTLED') c.header('retry-after', String(e.details.retryAfterSeconds ?? 60));
    if (c.req.path.startsWith('/api/')) return c.json(e.toJSON(), e.status as 400);
    const session = c.get('session') ?? null;
    const v = makeView(
      parseLang(getCookie(c, LANG_COOKIE)),
      session?.user ?? null,
      session?.csrfToken ?? '',
      c.req.path,
    );
    const text = e.code === 'PORTAL_NOT_FOUND' ? c.req.path : e.code;
    return c.html(String(MessagePage({ v, title: v.t(`err_${e.code}`), text })), e.status as 400);
  };
  app.notFound((c) => respond(c, new PortalError('PORTAL_NOT_FOUND', 'not found')));
  app.onError((err, c) => respond(c, toPortalError(err)));
  return app;
}

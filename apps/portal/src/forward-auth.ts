// Forward authentication for web apps behind a reverse proxy (nginx `auth_request`, Apache
// through mod_auth_request-like setups): the proxy asks the portal about each request with the
// browser's cookies; the portal's middleware has already applied every rule (session valid,
// account still enabled, from outside only for the mobile group), so this only answers.
import type { Hono } from 'hono';
import type { PortalEnv } from './context';

/** The path the proxy's auth subrequest goes to. */
export const FORWARD_AUTH_PATH = '/auth/forward';

/**
 * `GET /auth/forward`: 204 with `X-Invis-User` (and `X-Invis-Admin`) for a logged-in user who may
 * be here, else 401 (the proxy then sends the browser to the login with `next`). Never a body,
 * never a redirect: proxies treat anything but 2xx/401/403 as an error.
 */
export function registerForwardAuth(app: Hono<PortalEnv>): void {
  app.get(FORWARD_AUTH_PATH, (c) => {
    const user = c.get('session')?.user;
    // A request with an API token has no session here: tokens are for the API, not for apps.
    if (!user) return c.body(null, 401);
    return c.body(null, 204, { 'x-invis-user': user.username, 'x-invis-admin': user.isAdmin ? 'yes' : 'no' });
  });
}

/** Where a login started by the proxy goes: `/auth/login?<the app URL>` (raw, as nginx has no URL encoder). */
export const FORWARD_LOGIN_PATH = '/auth/login';

/**
 * `GET /auth/login?<url>`: the proxy's redirect for a browser without a session carries the
 * app URL as the whole raw query (nginx cannot URL-encode it into a parameter); this turns it
 * into the login page's `next`, which is checked against the listed app origins there.
 */
export function registerForwardLogin(app: Hono<PortalEnv>): void {
  app.get(FORWARD_LOGIN_PATH, (c) => {
    const raw = new URL(c.req.url).search.slice(1);
    return c.redirect(`/login?next=${encodeURIComponent(raw)}`);
  });
}

/** One web app behind the proxy. */
export interface ForwardAuthApp {
  /** URL path prefix on the proxy, e.g. `/roundcube/`. */
  path: string;
  /** Where the proxy sends it, e.g. `http://127.0.0.1:8080`. */
  upstream: string;
}

/** Options of {@link renderNginxForwardAuth}. */
export interface NginxForwardAuthOptions {
  /** `listen` argument, e.g. `443 ssl` or `192.168.220.10:8081`. */
  listen: string;
  serverName?: string;
  /** The portal as the proxy reaches it and browsers see it, e.g. `https://invis.muster.loc:56443`. */
  portalUrl: string;
  apps: readonly ForwardAuthApp[];
  tls?: { certificate: string; key: string };
  /**
   * Which address the portal is told the browser has: the connection's (`connection`, the normal
   * case) or the `X-Forwarded-For` nginx received (`forwarded`: only when another trusted proxy
   * sits in front of nginx).
   */
  clientAddress: 'connection' | 'forwarded';
}

const SAFE_PATH = /^\/[A-Za-z0-9._~/-]*\/$/;
const SAFE_URL = /^https?:\/\/[A-Za-z0-9.:[\]-]+(\/[A-Za-z0-9._~/-]*)?$/;
const SAFE_WORD = /^[A-Za-z0-9.:_ [\]/-]+$/;

/**
 * An nginx `server { … }` block that lets only portal users reach the web apps: each request is
 * asked of the portal (`auth_request` to {@link FORWARD_AUTH_PATH}); without a session the browser
 * goes to the portal's login and comes back; the app gets the user in `X-Remote-User`.
 * @throws Error for a value that would not stay one nginx word (no injection into the config)
 */
export function renderNginxForwardAuth(options: NginxForwardAuthOptions): string {
  const check = (value: string, pattern: RegExp, what: string): string => {
    if (!pattern.test(value)) throw new Error(`${what} ${JSON.stringify(value)} does not fit an nginx config`);
    return value;
  };
  const portal = check(options.portalUrl.replace(/\/$/, ''), SAFE_URL, 'portal URL');
  const forwardedFor = options.clientAddress === 'connection' ? '$remote_addr' : '$http_x_forwarded_for';
  const lines = [
    '# invis: web apps only for portal users (forward authentication through the portal).',
    'server {',
    `    listen ${check(options.listen, SAFE_WORD, 'listen')};`,
    ...(options.serverName ? [`    server_name ${check(options.serverName, SAFE_WORD, 'server name')};`] : []),
    ...(options.tls
      ? [
          `    ssl_certificate ${check(options.tls.certificate, SAFE_WORD, 'certificate')};`,
          `    ssl_certificate_key ${check(options.tls.key, SAFE_WORD, 'key')};`,
          '    ssl_protocols TLSv1.2 TLSv1.3;',
        ]
      : []),
    '',
    '    location = /_invis_auth {',
    '        internal;',
    `        proxy_pass ${portal}${FORWARD_AUTH_PATH};`,
    '        proxy_pass_request_body off;',
    '        proxy_set_header Content-Length "";',
    `        proxy_set_header X-Forwarded-For ${forwardedFor};`,
    '        proxy_set_header X-Original-URI $request_uri;',
    '    }',
    '',
    '    location @invis_login {',
    `        return 302 ${portal}${FORWARD_LOGIN_PATH}?$scheme://$http_host$request_uri;`,
    '    }',
  ];
  for (const app of options.apps) {
    lines.push(
      '',
      `    location ${check(app.path, SAFE_PATH, 'app path')} {`,
      '        auth_request /_invis_auth;',
      '        auth_request_set $invis_user $upstream_http_x_invis_user;',
      '        error_page 401 = @invis_login;',
      '        proxy_set_header X-Remote-User $invis_user;',
      '        proxy_set_header Host $host;',
      `        proxy_set_header X-Forwarded-For ${forwardedFor};`,
      `        proxy_pass ${check(app.upstream, SAFE_URL, 'upstream')};`,
      '    }',
    );
  }
  lines.push('}', '');
  return lines.join('\n');
}

// Where a browser may be sent after a login: a path on the portal, or a page of a web app
// behind the forward-auth proxy on an origin the admin listed. Anything else is an open
// redirect (phishing help) and becomes the home page.
import { PortalError } from './errors';

// Any origin works here: a relative `next` is read against it and must stay on it.
const PROBE_ORIGIN = 'https://portal.invalid';

/**
 * An app origin as browsers write it (`https://apps.example:8443`).
 * @throws PortalError PORTAL_CONFIG for anything that is not a bare http(s) origin
 */
export function appOrigin(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch (cause) {
    throw new PortalError('PORTAL_CONFIG', `not an origin: ${text}`, { cause });
  }
  const bare = url.pathname === '/' && !url.search && !url.hash && !url.username && !url.password;
  if (!['http:', 'https:'].includes(url.protocol) || !bare) {
    throw new PortalError('PORTAL_CONFIG', `not a bare http(s) origin: ${text}`);
  }
  return url.origin;
}

/**
 * `next` as a path on this portal, read the way a browser reads a Location (the WHATWG URL
 * parser, which drops TAB/LF and treats `\\` like `/`), so `/\t/evil.example` cannot become
 * `//evil.example`; or, when `appOrigins` lists its origin, the absolute URL of a web app.
 * Anything else is `/`.
 */
export function loginReturn(next: string | undefined, appOrigins: readonly string[] = []): string {
  if (next === undefined) return '/';
  let url: URL;
  try {
    url = new URL(next, `${PROBE_ORIGIN}/`);
  } catch {
    return '/';
  }
  if (url.origin === PROBE_ORIGIN) {
    // `/.//evil.example` normalizes to the path `//evil.example`, itself a protocol-relative URL.
    return `${url.pathname.replace(/^\/+/, '/')}${url.search}${url.hash}`;
  }
  return appOrigins.includes(url.origin) && !url.username && !url.password ? url.href : '/';
}

/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { requireGroup } from '../api/groups';
import { csrfTokenFor } from '../api/session';
import { requireUser } from '../api/users';
import type { PortalContext, PortalEnv } from '../context';
import { PortalError } from '../errors';
import type { SessionUser } from '../sessions';
import { ASSETS } from './assets';
import { registerHostPages } from './hosts-pages';
import { isLang } from './i18n';
import { makeView, readerTimeZone, type View } from './layout';
import {
  AccountPage,
  AuditPage,
  GroupPage,
  GroupsPage,
  LoginPage,
  NewGroupPage,
  NewUserPage,
  ServicesPage,
  StatusPage,
  TokensPage,
  UserPage,
  UsersPage,
} from './pages';

const PAGE_SIZE = 50;

/** Cookie holding the UI language. */
export const LANG_COOKIE = 'invis-lang';
/** Cookie the browser script sets to the reader's IANA time zone. */
export const TIME_ZONE_COOKIE = 'invis-tz';

function view(c: PortalContext): View {
  const timeZone = readerTimeZone(getCookie(c, TIME_ZONE_COOKIE));
  return makeView(c.get('lang'), c.get('session')?.user ?? null, csrfTokenFor(c), c.req.path, timeZone);
}

const pageOf = (c: PortalContext): { page: number; search: string } => {
  const page = Number.parseInt(c.req.query('page') ?? '1', 10);
  return {
    page: Number.isFinite(page) && page > 0 ? Math.min(page, 100_000) : 1,
    search: (c.req.query('search') ?? '').slice(0, 100),
  };
};

// Any origin works here: `next` is read relative to it and must stay on it.
const PROBE_ORIGIN = 'https://portal.invalid';

/**
 * `next` as a path on this portal, read the way a browser reads a Location (the WHATWG URL
 * parser, which drops TAB/LF and treats `\\` like `/`), so `/\t/evil.example` cannot become
 * `//evil.example`. Anything that leaves the origin becomes `/`: an open redirect helps phishing.
 */
function sameOriginPath(next: string | undefined): string {
  if (next === undefined) return '/';
  let url: URL;
  try {
    url = new URL(next, `${PROBE_ORIGIN}/`);
  } catch {
    return '/';
  }
  if (url.origin !== PROBE_ORIGIN) return '/';
  // `/.//evil.example` normalizes to the path `//evil.example`, itself a protocol-relative URL.
  return `${url.pathname.replace(/^\/+/, '/')}${url.search}${url.hash}`;
}

/**
 * Registers the server-rendered pages. Pages only read; every change is a REST call made by
 * the page script with the session's CSRF token.
 */
export function registerPages(app: Hono<PortalEnv>): void {
  for (const [path, asset] of Object.entries(ASSETS)) {
    app.get(path, (c) =>
      c.body(asset.body, 200, { 'content-type': asset.type, 'cache-control': 'public, max-age=31536000, immutable' }),
    );
  }

  // Browsers ask for it; answering keeps their consoles and our logs clean.
  app.get('/favicon.ico', (c) => c.body(null, 204));

  app.get('/lang/:lang', (c) => {
    const lang = c.req.param('lang');
    if (isLang(lang)) {
      setCookie(c, LANG_COOKIE, lang, {
        httpOnly: true,
        secure: true,
        sameSite: 'Strict',
        path: '/',
        maxAge: 31_536_000,
      });
    }
    return c.redirect(sameOriginPath(c.req.query('next')));
  });

  app.get('/login', (c) => {
    const v = view(c);
    if (v.user) return c.redirect('/');
    return c.html(<LoginPage v={v} />);
  });

  // Every other page needs a login; admin pages need an admin.
  const page = (
    path: string,
    admin: boolean,
    render: (c: PortalContext, v: View & { user: SessionUser }) => Promise<unknown>,
  ) =>
    app.get(path, async (c) => {
      const v = view(c);
      if (!v.user) return c.redirect('/login');
      if (admin && !v.user.isAdmin) throw new PortalError('PORTAL_FORBIDDEN', 'admins only');
      return c.html((await render(c, { ...v, user: v.user })) as string);
    });

  page('/', false, async (c, v) => <StatusPage v={v} s={await c.get('deps').status()} />);
  page('/account', false, async (c, v) => <AccountPage v={v} u={await requireUser(c, v.user.username)} />);
  page('/users', true, async (c, v) => {
    const { page: p, search } = pageOf(c);
    const result = await c.get('deps').directory.listUsers({ search, offset: (p - 1) * PAGE_SIZE, limit: PAGE_SIZE });
    return <UsersPage v={v} result={result} search={search} page={p} pageSize={PAGE_SIZE} />;
  });
  page('/users/new', true, async (_c, v) => <NewUserPage v={v} />);
  page('/users/:username', true, async (c, v) => (
    <UserPage
      v={v}
      u={await requireUser(c, c.req.param('username') ?? '')}
      canArchive={c.get('deps').shares !== null}
    />
  ));
  page('/groups', true, async (c, v) => <GroupsPage v={v} groups={await c.get('deps').directory.listGroups()} />);
  page('/groups/new', true, async (c, v) => {
    const shares = c.get('deps').shares;
    return <NewGroupPage v={v} templates={shares ? await shares.templates() : null} />;
  });
  page('/groups/:name', true, async (c, v) => (
    <GroupPage v={v} g={await requireGroup(c, c.req.param('name') ?? '')} canArchive={c.get('deps').shares !== null} />
  ));
  page('/services', true, async (c, v) => <ServicesPage v={v} states={await c.get('deps').services.states()} />);
  page('/audit', true, async (c, v) => {
    const { page: p, search } = pageOf(c);
    const result = c.get('deps').audit.list({ search, offset: (p - 1) * PAGE_SIZE, limit: PAGE_SIZE });
    return <AuditPage v={v} result={result} search={search} page={p} pageSize={PAGE_SIZE} />;
  });
  page('/tokens', true, async (c, v) => <TokensPage v={v} tokens={c.get('deps').tokens.list()} />);
  registerHostPages(page);
}

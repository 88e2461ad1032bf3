/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Hono } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import { requireGroup } from '../api/groups';
import { requireMail } from '../api/mail';
import { csrfTokenFor } from '../api/session';
import { requireTiles, tileReader } from '../api/tiles';
import { requireUser } from '../api/users';
import { requireVpnBundles } from '../api/vpn';
import type { PortalContext, PortalEnv } from '../context';
import { PortalError } from '../errors';
import { loginReturn } from '../origin';
import type { SessionUser } from '../sessions';
import { visibleTiles } from '../tiles';
import { ASSETS } from './assets';
import { registerHostPages } from './hosts-pages';
import { isLang } from './i18n';
import { makeView, type PortalFeature, readerTimeZone, type View } from './layout';
import { MailPage } from './mail';
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
import { HomePage, TilesAdminPage } from './tiles';
import { TransferPage } from './transfer';
import { MyVpnPage, VpnAdminPage } from './vpn';

const PAGE_SIZE = 50;

/** Cookie holding the UI language. */
export const LANG_COOKIE = 'invis-lang';
/** Cookie the browser script sets to the reader's IANA time zone. */
export const TIME_ZONE_COOKIE = 'invis-tz';

function view(c: PortalContext): View {
  const timeZone = readerTimeZone(getCookie(c, TIME_ZONE_COOKIE));
  const deps = c.get('deps');
  const features = new Set<PortalFeature>([
    ...(deps.mail ? (['mail'] as const) : []),
    ...(deps.tiles ? (['tiles'] as const) : []),
    ...(deps.vpnBundles ? (['vpn'] as const) : []),
    ...(deps.transfer ? (['transfer'] as const) : []),
  ]);
  return makeView(c.get('lang'), c.get('session')?.user ?? null, csrfTokenFor(c), c.req.path, timeZone, features);
}

const pageOf = (c: PortalContext): { page: number; search: string } => {
  const page = Number.parseInt(c.req.query('page') ?? '1', 10);
  return {
    page: Number.isFinite(page) && page > 0 ? Math.min(page, 100_000) : 1,
    search: (c.req.query('search') ?? '').slice(0, 100),
  };
};

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
    return c.redirect(loginReturn(c.req.query('next')));
  });

  app.get('/login', (c) => {
    const v = view(c);
    const next = loginReturn(c.req.query('next'), c.get('deps').appOrigins);
    if (v.user) return c.redirect(next);
    return c.html(<LoginPage v={v} next={next} />);
  });

  // The home page: web-app tiles. Inside the LAN visitors without a login see the public ones
  // (as in the original); outside, a login comes first.
  app.get('/', async (c) => {
    const v = view(c);
    if (!v.user && c.get('external')) return c.redirect('/login');
    const tiles = c.get('deps').tiles;
    const shown = tiles ? visibleTiles(await tiles.store.list(), tileReader(c), tiles.names) : null;
    return c.html(<HomePage v={v} tiles={shown} />);
  });

  // Every other page needs a login; admin pages need an admin.
  const page = (
    path: string,
    admin: boolean,
    render: (c: PortalContext, v: View & { user: SessionUser }) => Promise<unknown>,
  ) =>
    app.get(path, async (c) => {
      const v = view(c);
      if (!v.user) return c.redirect(`/login?next=${encodeURIComponent(c.req.path)}`);
      if (admin && !v.user.isAdmin) throw new PortalError('PORTAL_FORBIDDEN', 'admins only');
      return c.html((await render(c, { ...v, user: v.user })) as string);
    });

  page('/mail', false, async (c, v) => {
    const mail = requireMail(c);
    return <MailPage v={v} m={await mail.get(v.user.username)} providers={await mail.providers()} />;
  });
  page('/vpn', false, async (c, v) => {
    const vpn = requireVpnBundles(c);
    if (v.user.isAdmin) return <VpnAdminPage v={v} certificates={await vpn.list()} />;
    const mine = await vpn.list(v.user.username);
    return <MyVpnPage v={v} certificates={mine} selfService={vpn.selfService && v.user.mobile} />;
  });
  page('/transfer', false, async (c, v) => {
    const transfer = c.get('deps').transfer;
    if (!transfer) throw new PortalError('PORTAL_NOT_FOUND', 'this portal has no transfer area');
    if (!v.user.mobile) throw new PortalError('PORTAL_FORBIDDEN', 'the transfer area is for mobilusers members');
    const files = await transfer.list(v.user.username);
    return <TransferPage v={v} {...files} maxUploadBytes={transfer.maxUploadBytes} />;
  });
  page('/status', false, async (c, v) => <StatusPage v={v} s={await c.get('deps').status()} />);
  page('/tiles', true, async (c, v) => <TilesAdminPage v={v} entries={await requireTiles(c).store.list()} />);
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
      canArchive={c.get('deps').shares?.inProcess === true}
    />
  ));
  page('/groups', true, async (c, v) => <GroupsPage v={v} groups={await c.get('deps').directory.listGroups()} />);
  page('/groups/new', true, async (c, v) => {
    const shares = c.get('deps').shares;
    return <NewGroupPage v={v} templates={shares ? await shares.templates() : null} />;
  });
  page('/groups/:name', true, async (c, v) => (
    <GroupPage
      v={v}
      g={await requireGroup(c, c.req.param('name') ?? '')}
      canArchive={c.get('deps').shares?.inProcess === true}
    />
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

/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import type { SessionUser } from '../sessions';
import { ASSET_URLS } from './assets';
import { errorTexts, type Lang, type Translate, translator } from './i18n';

/** Optional parts of a portal that have menu entries. */
export type PortalFeature = 'mail' | 'tiles' | 'vpn' | 'transfer';

/** What every page needs to render. */
export interface View {
  lang: Lang;
  t: Translate;
  user: SessionUser | null;
  csrfToken: string;
  /** Current path (for the active menu entry and the language switch). */
  path: string;
  /** Optional parts this portal has (menu entries): `mail`, `tiles`. */
  features: ReadonlySet<PortalFeature>;
  /** The reader's IANA time zone (their browser's, else the server's). */
  timeZone: string;
  /** An ISO 8601 instant as date and time in the reader's language and time zone. */
  when(iso: string): string;
}

/** The server's own time zone: the default for readers whose browser has not said theirs. */
export const SERVER_TIME_ZONE = new Intl.DateTimeFormat().resolvedOptions().timeZone;
const TIME_ZONES = new Set(Intl.supportedValuesOf('timeZone'));

/**
 * A time zone a browser sent (cookie), if it is a known IANA name; anything else is ignored.
 * @returns the zone, or the server's
 */
export function readerTimeZone(sent: string | undefined): string {
  return sent !== undefined && (TIME_ZONES.has(sent) || sent === 'UTC') ? sent : SERVER_TIME_ZONE;
}

/** @returns the view data for one request. */
export function makeView(
  lang: Lang,
  user: SessionUser | null,
  csrfToken: string,
  path: string,
  timeZone: string = SERVER_TIME_ZONE,
  features: ReadonlySet<PortalFeature> = new Set(),
): View {
  const format = new Intl.DateTimeFormat(lang === 'de' ? 'de-DE' : 'en-GB', {
    dateStyle: 'medium',
    timeStyle: 'short',
    timeZone,
  });
  const when = (iso: string): string => {
    const at = Date.parse(iso);
    return Number.isNaN(at) ? iso : format.format(at);
  };
  return { lang, t: translator(lang), user, csrfToken, path, timeZone, when, features };
}

const WARN_DAYS = 14;

/** Days until `iso` (rounded down), or null. */
export function daysUntil(iso: string | null, now = Date.now()): number | null {
  return iso === null ? null : Math.floor((Date.parse(iso) - now) / 86_400_000);
}

function Nav({ v }: { v: View }) {
  const items: [string, string, boolean][] = [
    ['/', v.t('navHome'), false],
    ['/status', v.t('navStatus'), false],
    ['/account', v.t('navAccount'), false],
    ...(v.features.has('mail') ? [['/mail', v.t('navMail'), false] as [string, string, boolean]] : []),
    ...(v.features.has('vpn') ? [['/vpn', v.t('navVpn'), false] as [string, string, boolean]] : []),
    ...(v.features.has('transfer') && v.user?.mobile
      ? [['/transfer', v.t('navTransfer'), false] as [string, string, boolean]]
      : []),
    ['/users', v.t('navUsers'), true],
    ['/groups', v.t('navGroups'), true],
    ['/hosts', v.t('navHosts'), true],
    ['/dns', v.t('navDns'), true],
    ['/services', v.t('navServices'), true],
    ['/audit', v.t('navAudit'), true],
    ['/tokens', v.t('navTokens'), true],
    ...(v.features.has('tiles') ? [['/tiles', v.t('navTiles'), true] as [string, string, boolean]] : []),
  ];
  const current = (href: string): boolean => (href === '/' ? v.path === '/' : v.path.startsWith(href));
  return (
    <nav aria-label={v.t('navLabel')}>
      <ul>
        {items
          .filter(([, , admin]) => !admin || v.user?.isAdmin)
          .map(([href, label]) => (
            <li>
              <a href={href} aria-current={current(href) ? 'page' : undefined}>
                {label}
              </a>
            </li>
          ))}
      </ul>
    </nav>
  );
}

/** The page frame: header with menu, language switch and logout; the expiry banner; main. */
export function Layout({ v, title, children }: { v: View; title: string; children: Child }) {
  const days = daysUntil(v.user?.passwordExpiresAt ?? null);
  const other: Lang = v.lang === 'de' ? 'en' : 'de';
  return (
    <html lang={v.lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="csrf-token" content={v.csrfToken} />
        <title>{`${title} – ${v.t('appName')}`}</title>
        <link rel="stylesheet" href={ASSET_URLS.css} />
        <script src={ASSET_URLS.js} defer />
      </head>
      <body data-texts={JSON.stringify(errorTexts(v.lang))}>
        <a class="skip" href="#main">
          {v.t('skip')}
        </a>
        <header>
          <a class="brand" href="/">
            {v.t('appName')}
          </a>
          {v.user && <Nav v={v} />}
          <a href={`/lang/${other}?next=${encodeURIComponent(v.path)}`} lang={other} hreflang={other}>
            {v.t('language')}
          </a>
          {v.user && (
            <form method="post" class="inline" data-api="DELETE /api/session" data-next="/login">
              <button class="link" type="submit">
                {`${v.t('logout')} (${v.user.username})`}
              </button>
            </form>
          )}
        </header>
        {days !== null && days <= WARN_DAYS && (
          <p class="banner" role="alert">
            {v.t('expiryWarning', { days: Math.max(days, 0) })}
          </p>
        )}
        <main id="main">
          <h1>{title}</h1>
          <p id="msg" class="msg" role="status" aria-live="polite" />
          {children}
        </main>
      </body>
    </html>
  );
}

/** A labelled input (every field has a visible label for screen readers and phones). */
export function Field(props: {
  name: string;
  label: string;
  value?: string;
  type?: string;
  required?: boolean;
  autocomplete?: string;
  readonly?: boolean;
  /** Makes ids unique when two forms on one page have the same field. */
  idPrefix?: string;
}) {
  const id = `${props.idPrefix ?? 'f'}-${props.name}`;
  return (
    <>
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? 'text'}
        value={props.value}
        required={props.required}
        autocomplete={props.autocomplete}
        readonly={props.readonly}
      />
    </>
  );
}

/** A status region inside a form for its outcome. */
export function Msg() {
  return <p class="msg" role="status" aria-live="polite" />;
}

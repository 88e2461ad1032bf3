/** @jsxRuntime automatic @jsxImportSource hono/jsx */
import type { Child } from 'hono/jsx';
import type { SessionUser } from '../sessions';
import { ASSET_URLS } from './assets';
import { errorTexts, type Lang, type Translate, translator } from './i18n';

/** What every page needs to render. */
export interface View {
  lang: Lang;
  t: Translate;
  user: SessionUser | null;
  csrfToken: string;
  /** Current path (for the active menu entry and the language switch). */
  path: string;
}

/** @returns the view data for one request. */
export function makeView(lang: Lang, user: SessionUser | null, csrfToken: string, path: string): View {
  return { lang, t: translator(lang), user, csrfToken, path };
}

const WARN_DAYS = 14;

/** Days until `iso` (rounded down), or null. */
export function daysUntil(iso: string | null, now = Date.now()): number | null {
  return iso === null ? null : Math.floor((Date.parse(iso) - now) / 86_400_000);
}

function Nav({ v }: { v: View }) {
  const items: [string, string, boolean][] = [
    ['/', v.t('navStatus'), false],
    ['/account', v.t('navAccount'), false],
    ['/users', v.t('navUsers'), true],
    ['/groups', v.t('navGroups'), true],
    ['/services', v.t('navServices'), true],
    ['/audit', v.t('navAudit'), true],
    ['/tokens', v.t('navTokens'), true],
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

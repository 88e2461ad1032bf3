// Web-app tiles: the original's home page grid of `iPortEntry` objects (CN=invis-Portal,…),
// grouped as it grouped them. Entries written by the original stay readable: its 47 seed
// entries, its HTML descriptions (shown as text), its `[servername]` placeholder.
import type { InvisApi, PortalEntry } from '@invis/ad-client';
import { z } from 'zod';

/** Sections of the home page, in the original's order; `mail` entries belong to CorNAz, not here. */
export const TILE_SECTIONS = ['Lokal', 'Administration', 'Dokumentation', 'Internet'] as const;
export type TileSection = (typeof TILE_SECTIONS)[number];

/** Who sees an entry: everyone, logged-in users, admins (`iPortEntryPriv`). */
export const TILE_PRIVS = ['guest', 'user', 'admin'] as const;

/** Placeholder the original puts into `iPortEntryURL` for the server's own name. */
export const SERVER_NAME_PLACEHOLDER = '[servername]';

/** A tile as the home page shows it. */
export interface Tile {
  cn: string;
  name: string;
  /** Absolute http(s) URL for where the reader is. */
  url: string;
  /** Plain text (the original stored HTML). */
  description: string;
  section: TileSection;
  button: string;
  /** Sub-group of `Internet` links (`iPortEntryLinkRubrik`). */
  rubrik: string | null;
}

/** Who is looking: decides visibility and which server name links use. */
export interface TileReader {
  loggedIn: boolean;
  isAdmin: boolean;
  /** Outside the internal networks (links then use the public name). */
  external: boolean;
}

/** The server's names for `[servername]`: inside the LAN and from the Internet (DDNS). */
export interface ServerNames {
  internal: string;
  /** Without one, outside readers get no links to the server's own apps. */
  external: string | null;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/;
// Scheme-less host[:port][/path] as the original stores it; no spaces, quotes or angle brackets.
const URL_BODY = /^(\[servername\]|[A-Za-z0-9.-]+)(:[0-9]{1,5})?(\/[^\s"'<>\\]*)?$/;

/** What the admin editor sends for one entry (validated; `cn` is the path). */
export const TileInputSchema = z.strictObject({
  name: z.string().trim().regex(NAME, 'letters, digits, space, . _ - (max. 64)'),
  url: z.string().trim().max(512).regex(URL_BODY, 'host[:port][/path] without scheme, [servername] for this server'),
  ssl: z.boolean(),
  description: z.string().max(1000),
  active: z.boolean(),
  position: z.enum([...TILE_SECTIONS, 'mail']),
  priv: z.enum(TILE_PRIVS),
  button: z.string().trim().max(64),
  rubrik: z.string().trim().max(64).optional(),
});
export type TileInput = z.infer<typeof TileInputSchema>;

/** A directory entry name (`cn`) the editor may use. */
export const TileCn = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$/);

/** The original's HTML description as text: tags dropped, the common entities decoded. */
export function descriptionText(html: string): string {
  return html
    .replace(/<br\s*\/?>/gi, ' ')
    .replace(/<[^>]*>/g, '')
    .replace(/&nbsp;/g, ' ')
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&')
    .replace(/\s+/g, ' ')
    .trim();
}

/**
 * The link of an entry for this reader, or null when it cannot be offered: a malformed stored
 * URL (never passed through as "anything goes") or `[servername]` for an outside reader when the
 * server has no public name.
 */
export function tileUrl(
  entry: Pick<PortalEntry, 'url' | 'ssl'>,
  reader: TileReader,
  names: ServerNames,
): string | null {
  const body = entry.url.trim().replace(/^https?:\/\//i, '');
  if (!URL_BODY.test(body)) return null;
  let resolved = body;
  if (body.startsWith(SERVER_NAME_PLACEHOLDER)) {
    const name = reader.external ? names.external : names.internal;
    if (!name) return null;
    resolved = name + body.slice(SERVER_NAME_PLACEHOLDER.length);
  }
  try {
    return new URL(`${entry.ssl ? 'https' : 'http'}://${resolved}`).href;
  } catch {
    return null;
  }
}

function mayShow(priv: string, reader: TileReader): boolean {
  if (priv === 'guest') return true;
  if (priv === 'user') return reader.loggedIn;
  // An unknown privilege is admins-only (fail closed).
  return reader.loggedIn && reader.isAdmin;
}

/**
 * The tiles a reader sees, per section in the original's order: active entries of the four
 * home-page sections whose privilege the reader has, with a link for where they are. Within a
 * section: by rubrik, then name.
 */
export function visibleTiles(
  entries: readonly (PortalEntry & { cn: string })[],
  reader: TileReader,
  names: ServerNames,
): Record<TileSection, Tile[]> {
  const sections = Object.fromEntries(TILE_SECTIONS.map((s) => [s, [] as Tile[]])) as Record<TileSection, Tile[]>;
  for (const entry of entries) {
    if (!entry.active || !mayShow(entry.priv, reader)) continue;
    const section = TILE_SECTIONS.find((s) => s.toLowerCase() === entry.position.toLowerCase());
    if (!section) continue;
    const url = tileUrl(entry, reader, names);
    if (!url) continue;
    sections[section].push({
      cn: entry.cn,
      name: entry.name,
      url,
      description: descriptionText(entry.description),
      section,
      button: entry.button,
      rubrik: entry.rubrik?.trim() || null,
    });
  }
  for (const list of Object.values(sections)) {
    list.sort((a, b) => (a.rubrik ?? '').localeCompare(b.rubrik ?? '', 'de') || a.name.localeCompare(b.name, 'de'));
  }
  return sections;
}

/** Where the portal reads and writes its entries (the directory; a fake in unit tests). */
export type TileStore = Pick<InvisApi['portal'], 'list' | 'get' | 'put' | 'delete'>;

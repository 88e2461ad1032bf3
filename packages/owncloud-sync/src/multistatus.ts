// Pure WebDAV multistatus handling: the PROPFIND request body and the 207 reply parser.
import { SyncError } from './errors';

/** One resource from a PROPFIND reply, with its path relative to the client's base URL. */
export interface DavResource {
  /** Decoded path relative to the base collection, no leading or trailing slash; `''` is the base. */
  path: string;
  isDir: boolean;
  /** Bytes (files; `oc:size` for ownCloud directories, else 0). */
  size: number;
  /** ETag without weak prefix, quotes kept off; undefined when the server sends none. */
  etag?: string;
  /** `getlastmodified` in ms since the epoch. */
  lastModified?: number;
  /** `oc:fileid` / `oc:id`: stable across renames on ownCloud-like servers. */
  fileId?: string;
  /** `oc:checksums`, e.g. `['SHA1:…', 'MD5:…']`. */
  checksums?: string[];
  /** `oc:permissions`, e.g. `RDNVW`. */
  permissions?: string;
}

const OC_NS = 'http://owncloud.org/ns';

/** PROPFIND body asking for everything the sync engine uses; `oc:` props are ignored by plain servers. */
export const PROPFIND_BODY: string = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:" xmlns:oc="${OC_NS}"><d:prop>
<d:resourcetype/><d:getcontentlength/><d:getetag/><d:getlastmodified/>
<oc:fileid/><oc:id/><oc:checksums/><oc:permissions/><oc:size/>
</d:prop></d:propfind>`;

/**
 * PROPFIND body with the `DAV:` properties only, for plain WebDAV servers: they answer every
 * unknown `oc:` property with a 404 propstat per resource, a third of a listing's bytes.
 */
export const PROPFIND_DAV_BODY: string = `<?xml version="1.0" encoding="utf-8"?>
<d:propfind xmlns:d="DAV:"><d:prop><d:resourcetype/><d:getcontentlength/><d:getetag/><d:getlastmodified/></d:prop></d:propfind>`;

/** A parsed element: local name (namespace prefix dropped), child elements, text content. */
interface XmlNode {
  name: string;
  children: XmlNode[];
  text: string;
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const decode = (s: string): string =>
  s.indexOf('&') < 0
    ? s
    : s.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, e: string) =>
        e[0] === '#'
          ? String.fromCodePoint(e[1] === 'x' || e[1] === 'X' ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)))
          : (ENTITIES[e.toLowerCase()] as string),
      );
const bad = (message: string): SyncError => new SyncError('DAV_BAD_XML', `PROPFIND reply: ${message}`);

const isSpace = (c: number): boolean => c === 32 || c === 9 || c === 10 || c === 13;

/** A token that was cut off at the end of the input so far; waits for more (or fails at the end). */
const INCOMPLETE = -1;

/**
 * An incremental non-validating XML reader for multistatus replies: elements and text only
 * (attributes, comments, processing instructions skipped; DOCTYPE refused). It consumes complete
 * tokens as chunks arrive and hands each closed `<response>` to `onResponse`, then forgets it, so
 * a reply is parsed while the server still sends it and no tree of the whole reply is built.
 */
function createXmlReader(onResponse: (response: XmlNode) => void): { push(chunk: string): void; end(): void } {
  const root: XmlNode = { name: '#root', children: [], text: '' };
  const stack: XmlNode[] = [root];
  let buf = '';

  const text = (t: string): void => {
    if (t.trim() === '') return;
    if (stack.length === 1) throw bad('text outside the root element');
    (stack[stack.length - 1] as XmlNode).text += decode(t);
  };

  /** Handles the tag at `lt`; returns the index after it, or INCOMPLETE. */
  function tag(xml: string, lt: number, final: boolean): number {
    const n = xml.length;
    const top = stack[stack.length - 1] as XmlNode;
    const c1 = xml.charCodeAt(lt + 1);
    if (c1 === 63 /* ? */) {
      const end = xml.indexOf('?>', lt + 2);
      if (end < 0) return final ? fail('unterminated processing instruction') : INCOMPLETE;
      return end + 2;
    }
    if (c1 === 33 /* ! */) {
      if (!final && n - lt < 9) return INCOMPLETE;
      if (xml.startsWith('<!--', lt)) {
        const end = xml.indexOf('-->', lt + 4);
        if (end < 0) return final ? fail('unterminated comment') : INCOMPLETE;
        return end + 3;
      }
      if (xml.startsWith('<![CDATA[', lt)) {
        const end = xml.indexOf(']]>', lt + 9);
        if (end < 0 && !final) return INCOMPLETE;
        if (end < 0 || stack.length === 1) throw bad('bad CDATA section');
        top.text += xml.slice(lt + 9, end);
        return end + 3;
      }
      throw bad('DOCTYPE is not allowed');
    }
    if (c1 === 47 /* / */) {
      const end = xml.indexOf('>', lt);
      if (end < 0) return final ? fail('unterminated end tag') : INCOMPLETE;
      if (stack.length === 1 || !endTagNames(xml, lt + 2, end, top.name)) throw bad('mismatched end tag');
      stack.pop();
      if (stack.length === 2 && top.name === 'response') {
        (stack[1] as XmlNode).children.pop();
        onResponse(top);
      }
      return end + 1;
    }
    if (Number.isNaN(c1)) return final ? fail('unterminated start tag') : INCOMPLETE;
    // The name, then (only when attributes follow) the tag's end, skipping '>' inside quotes.
    let k = lt + 1;
    let colon = -1;
    for (; k < n; k++) {
      const c = xml.charCodeAt(k);
      if (isSpace(c) || c === 47 || c === 62) break;
      if (c === 60 || c === 38 || c === 34 || c === 39 || c === 61) throw bad('bad element name');
      if (c === 58) colon = k;
    }
    let j = k;
    let quote = 0;
    for (; j < n; j++) {
      const c = xml.charCodeAt(j);
      if (quote) {
        if (c === quote) quote = 0;
      } else if (c === 34 || c === 39) quote = c;
      else if (c === 62 /* > */) break;
    }
    if (j >= n) return final ? fail('unterminated start tag') : INCOMPLETE;
    if (k === lt + 1) throw bad('bad element name');
    const selfClosing = xml.charCodeAt(j - 1) === 47;
    if (stack.length === 1) {
      if (root.children.length > 0) throw bad('more than one root element');
      if (xml.slice(colon < 0 ? lt + 1 : colon + 1, k) !== 'multistatus') throw bad('no multistatus element');
    }
    const node: XmlNode = { name: xml.slice(colon < 0 ? lt + 1 : colon + 1, k), children: [], text: '' };
    top.children.push(node);
    if (!selfClosing) stack.push(node);
    return j + 1;
  }

  function consume(final: boolean): void {
    const xml = buf;
    const n = xml.length;
    let i = 0;
    while (i < n) {
      const lt = xml.indexOf('<', i);
      if (lt < 0) {
        if (final) {
          text(xml.slice(i));
          i = n;
        }
        break;
      }
      if (lt > i) text(xml.slice(i, lt));
      i = lt;
      const next = tag(xml, lt, final);
      if (next === INCOMPLETE) break;
      i = next;
    }
    buf = i === 0 ? xml : xml.slice(i);
  }

  return {
    push(chunk) {
      buf = buf === '' ? chunk : buf + chunk;
      consume(false);
    },
    end() {
      consume(true);
      if (stack.length !== 1) throw bad('unclosed element');
      if (root.children.length === 0) throw bad('no root element');
    },
  };
}

/** Whether the end tag `xml[from, to)` (prefix and surrounding blanks allowed) closes `name`. */
function endTagNames(xml: string, from: number, to: number, name: string): boolean {
  let a = from;
  let b = to;
  while (a < b && isSpace(xml.charCodeAt(a))) a++;
  while (b > a && isSpace(xml.charCodeAt(b - 1))) b--;
  const colon = xml.indexOf(':', a);
  if (colon >= 0 && colon < b) a = colon + 1;
  return b - a === name.length && xml.startsWith(name, a);
}

function fail(message: string): never {
  throw bad(message);
}

const child = (node: XmlNode, name: string): XmlNode | undefined => node.children.find((c) => c.name === name);

/** Strips `W/` and the quotes of an ETag header or property value. */
export function normalizeEtag(raw: string | null | undefined): string | undefined {
  if (raw === null || raw === undefined) return undefined;
  const n = raw.length;
  if (n > 2 && raw.charCodeAt(0) === 34 && raw.charCodeAt(n - 1) === 34 && raw.indexOf('"', 1) === n - 1) {
    return raw.slice(1, -1);
  }
  const value = raw
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
  return value === '' ? undefined : value;
}

const unsafe = (href: string, why: string): SyncError =>
  new SyncError('DAV_UNSAFE_HREF', `PROPFIND reply: unsafe href ${JSON.stringify(href.slice(0, 200))} (${why})`);

/**
 * Whether a decoded path segment can be a file name in the local folder: not empty, not `.` or
 * `..`, no `/`, `\` or NUL (an encoded `%2F` would otherwise become a path separator here).
 */
export function isSafeSegment(segment: string): boolean {
  return segment !== '' && segment !== '.' && segment !== '..' && !/[/\\\0]/.test(segment);
}

const decodeStrict = (segment: string, href: string): string => {
  if (segment.indexOf('%') < 0) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw unsafe(href, 'bad percent-encoding');
  }
};

function hrefMapper(basePath: string): (href: string) => string | undefined {
  const base = basePath
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeStrict(s, basePath));
  return (href) => {
    // Absolute URLs are normalised by URL (dot segments resolved); path hrefs are taken as sent.
    const pathname = /^[a-z][a-z0-9+.-]*:\/\//i.test(href) ? new URL(href).pathname : href;
    if (pathname.charCodeAt(0) !== 47) return undefined;
    const raw = pathname.slice(1).split('/');
    // A collection's href ends with one slash; more than one is an empty segment.
    if (raw.length > 0 && raw[raw.length - 1] === '') raw.pop();
    for (let i = 0; i < base.length; i++) {
      if (raw[i] === undefined || decodeStrict(raw[i] as string, href) !== base[i]) return undefined;
    }
    const segments = raw.slice(base.length).map((s) => decodeStrict(s, href));
    for (const s of segments) if (!isSafeSegment(s)) throw unsafe(href, 'not a plain name below the folder');
    return segments.join('/');
  };
}

/**
 * Turns an `href` (absolute URL or absolute path) into a path relative to `basePath`
 * (the base collection's URL path, with trailing slash). Returns undefined when the href lies
 * outside the base.
 *
 * @throws {SyncError} `DAV_UNSAFE_HREF` when a segment below the base decodes to something that
 *   is not a plain name (empty, `.`, `..`, containing `/`, `\` or NUL) or is badly encoded
 */
export function hrefToPath(href: string, basePath: string): string | undefined {
  return hrefMapper(basePath)(href);
}

/** Encodes a relative path segment by segment for use in a URL. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map(encodeURIComponent)
    .join('/');
}

/** An incremental PROPFIND reply parser: feed the body as it arrives, take the resources at the end. */
export interface MultistatusParser {
  /**
   * Parses what is complete so far; an unfinished token waits for the next chunk.
   * @throws {SyncError} `DAV_BAD_XML`, `DAV_UNSAFE_HREF`
   */
  push(chunk: string): void;
  /**
   * Finishes the document and returns its resources in document order (none when they went to
   * `onResource`). @throws {SyncError} `DAV_BAD_XML`
   */
  end(): DavResource[];
}

/**
 * Creates an incremental multistatus parser. Only properties from `2xx` propstats count; hrefs
 * outside `basePath` are skipped, unsafe ones below it fail the reply (`DAV_UNSAFE_HREF`).
 *
 * @param basePath URL path of the base collection (e.g. `/remote.php/webdav/`)
 * @param onResource when given, each resource is handed over as soon as its `response` element
 *   is complete and none is kept (a listing of any size costs the memory of one entry)
 * @example
 * const parser = createMultistatusParser('/dav/');
 * for await (const chunk of body) parser.push(chunk);
 * const resources = parser.end();
 */
export function createMultistatusParser(
  basePath: string,
  onResource?: (resource: DavResource) => void,
): MultistatusParser {
  const toPath = hrefMapper(basePath);
  const out: DavResource[] = [];
  const emit = onResource ?? ((r: DavResource) => out.push(r));
  const reader = createXmlReader((response) => {
    const href = child(response, 'href')?.text.trim();
    if (!href) throw bad('response without href');
    const path = toPath(href);
    if (path === undefined) return;
    const props = new Map<string, XmlNode>();
    for (const ps of response.children) {
      if (ps.name !== 'propstat' || !/\s2\d\d\s/.test(` ${child(ps, 'status')?.text ?? ''} `)) continue;
      for (const p of child(ps, 'prop')?.children ?? []) props.set(p.name, p);
    }
    emit(toResource(path, props));
  });
  return {
    push: reader.push,
    end() {
      reader.end();
      return out;
    },
  };
}

/**
 * Parses a 207 multistatus body into resources. Only properties from `2xx` propstats count.
 *
 * @param xml the reply body
 * @param basePath URL path of the base collection (e.g. `/remote.php/webdav/`)
 * @throws {SyncError} `DAV_BAD_XML` when the body is not a multistatus document, `DAV_UNSAFE_HREF`
 *   when an href below the base is not a plain relative path
 */
export function parseMultistatus(xml: string, basePath: string): DavResource[] {
  const parser = createMultistatusParser(basePath);
  parser.push(xml);
  return parser.end();
}

function toResource(path: string, props: Map<string, XmlNode>): DavResource {
  const text = (name: string): string | undefined => {
    const t = props.get(name)?.text.trim();
    return t === undefined || t === '' ? undefined : t;
  };
  const num = (name: string): number | undefined => {
    const t = text(name);
    const v = t === undefined ? Number.NaN : Number(t);
    return Number.isFinite(v) ? v : undefined;
  };
  const isDir = props.get('resourcetype')?.children.some((c) => c.name === 'collection') ?? false;
  const resource: DavResource = { path, isDir, size: (isDir ? num('size') : num('getcontentlength')) ?? 0 };
  const etag = normalizeEtag(text('getetag'));
  if (etag !== undefined) resource.etag = etag;
  const modified = text('getlastmodified');
  if (modified) {
    const ms = Date.parse(modified);
    if (Number.isFinite(ms)) resource.lastModified = ms;
  }
  const fileId = text('fileid') ?? text('id');
  if (fileId) resource.fileId = fileId;
  const perms = text('permissions');
  if (perms) resource.permissions = perms;
  const checksums = (props.get('checksums')?.children ?? [])
    .filter((c) => c.name === 'checksum')
    .flatMap((c) => c.text.split(/\s+/))
    .filter((x) => x !== '');
  if (checksums.length > 0) resource.checksums = checksums;
  return resource;
}

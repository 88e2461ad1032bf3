// Pure WebDAV multistatus handling: the PROPFIND request body and the 207 reply parser.
import { XMLParser } from 'fast-xml-parser';
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

const parser = new XMLParser({
  removeNSPrefix: true,
  ignoreAttributes: true,
  parseTagValue: false,
  trimValues: true,
  processEntities: true,
  isArray: (name) => name === 'response' || name === 'propstat' || name === 'checksum' || name === 'href',
});

type XmlNode = Record<string, unknown>;

const isNode = (v: unknown): v is XmlNode => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (isNode(v) && typeof v['#text'] === 'string') return v['#text'];
  return undefined;
};

/** Strips `W/` and the quotes of an ETag header or property value. */
export function normalizeEtag(raw: string | null | undefined): string | undefined {
  if (raw === null || raw === undefined) return undefined;
  const value = raw
    .trim()
    .replace(/^W\//, '')
    .replace(/^"(.*)"$/, '$1');
  return value === '' ? undefined : value;
}

/**
 * Turns an `href` (absolute URL or absolute path) into a path relative to `basePath`
 * (the base collection's URL path, with trailing slash). Returns undefined when the href lies
 * outside the base.
 */
export function hrefToPath(href: string, basePath: string): string | undefined {
  let pathname = href;
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(href)) pathname = new URL(href).pathname;
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  const p = pathname.split('/').map(decode).join('/');
  const base = basePath.split('/').map(decode).join('/');
  const baseNoSlash = base.replace(/\/+$/, '');
  if (p !== baseNoSlash && !p.startsWith(`${baseNoSlash}/`)) return undefined;
  return p.slice(baseNoSlash.length).replace(/^\/+/, '').replace(/\/+$/, '');
}

/** Encodes a relative path segment by segment for use in a URL. */
export function encodePath(path: string): string {
  return path
    .split('/')
    .filter((s) => s !== '')
    .map(encodeURIComponent)
    .join('/');
}

/**
 * Parses a 207 multistatus body into resources. Only properties from `200` propstats count.
 *
 * @param xml the reply body
 * @param basePath URL path of the base collection (e.g. `/remote.php/webdav/`)
 * @throws {SyncError} `DAV_BAD_XML` when the body is not a multistatus document
 */
export function parseMultistatus(xml: string, basePath: string): DavResource[] {
  let doc: unknown;
  try {
    doc = parser.parse(xml, true);
  } catch (error) {
    throw new SyncError('DAV_BAD_XML', 'PROPFIND reply is not well-formed XML', {}, { cause: error });
  }
  const ms = isNode(doc) ? doc.multistatus : undefined;
  if (!isNode(ms) && ms !== '') {
    throw new SyncError('DAV_BAD_XML', 'PROPFIND reply has no multistatus element');
  }
  const responses = isNode(ms) && Array.isArray(ms.response) ? ms.response : [];
  const out: DavResource[] = [];
  for (const response of responses) {
    if (!isNode(response)) continue;
    const hrefs = Array.isArray(response.href) ? response.href : [];
    const href = text(hrefs[0]);
    if (href === undefined) throw new SyncError('DAV_BAD_XML', 'multistatus response without href');
    const path = hrefToPath(href, basePath);
    if (path === undefined) continue;
    const props: XmlNode = {};
    for (const ps of Array.isArray(response.propstat) ? response.propstat : []) {
      if (!isNode(ps) || !/\s2\d\d\s/.test(` ${text(ps.status) ?? ''} `)) continue;
      if (isNode(ps.prop)) Object.assign(props, ps.prop);
    }
    out.push(toResource(path, props));
  }
  return out;
}

function toResource(path: string, props: XmlNode): DavResource {
  const rt = props.resourcetype;
  const isDir = isNode(rt) && 'collection' in rt;
  const num = (v: unknown): number | undefined => {
    const t = text(v);
    if (t === undefined || t === '') return undefined;
    const n = Number(t);
    return Number.isFinite(n) ? n : undefined;
  };
  const resource: DavResource = {
    path,
    isDir,
    size: (isDir ? num(props.size) : num(props.getcontentlength)) ?? 0,
  };
  const etag = normalizeEtag(text(props.getetag));
  if (etag !== undefined) resource.etag = etag;
  const modified = text(props.getlastmodified);
  if (modified) {
    const ms = Date.parse(modified);
    if (Number.isFinite(ms)) resource.lastModified = ms;
  }
  const fileId = text(props.fileid) ?? text(props.id);
  if (fileId) resource.fileId = fileId;
  const perms = text(props.permissions);
  if (perms) resource.permissions = perms;
  const cs = props.checksums;
  if (isNode(cs) && Array.isArray(cs.checksum)) {
    const list = cs.checksum
      .map(text)
      .flatMap((s) => (s ?? '').split(/\s+/))
      .filter((s) => s !== '');
    if (list.length > 0) resource.checksums = list;
  }
  return resource;
}

// WebDAV client on node:http: one keep-alive pool per client, bounded concurrency, typed errors.
import type { Readable } from 'node:stream';
import { chunkingUrls, chunksOf, type UploadedChunk } from './chunking';
import { SyncError, toSyncError } from './errors';
import { bodyText, createPool, dropBody, type HttpPool, type HttpResponse, sendRequest } from './http';
import { createSemaphore } from './limit';
import {
  createMultistatusParser,
  type DavResource,
  encodePath,
  normalizeEtag,
  PROPFIND_BODY,
  PROPFIND_DAV_BODY,
  parseMultistatus,
} from './multistatus';

/** Credentials; sent as an `Authorization` header, never logged. */
export type DavAuth = { type: 'basic'; username: string; password: string } | { type: 'bearer'; token: string };

/** Options of {@link createWebDavClient}. */
export interface WebDavClientOptions {
  /** URL of the base collection, e.g. `https://hq.example/remote.php/webdav/Branch`. */
  url: string;
  auth?: DavAuth;
  /** Requests in flight at once (also the pool size). Default 8. */
  concurrency?: number;
  /**
   * A keep-alive pool to share (`node:http`'s `Agent`, an `https.Agent` for `https:`); default: a
   * private pool of `concurrency` sockets, closed by {@link WebDavClient.close}.
   */
  agent?: HttpPool;
  /** How long a request may wait for the server (for its answer, or between body chunks), in ms. Default 30 000. */
  timeoutMs?: number;
}

/** What the server is: plain WebDAV or ownCloud/Nextcloud with its extensions. */
export interface ServerInfo {
  dialect: 'owncloud' | 'webdav';
  /** `status.php` productname + versionstring, when ownCloud-like. */
  product?: string;
  /** Directory ETags change when anything below changes (ownCloud), so unchanged subtrees can be skipped. */
  recursiveDirEtags: boolean;
  /** Checksum types the server accepts (`OC-Checksum`), from capabilities. */
  checksumTypes: string[];
  /**
   * Server offers ownCloud chunked upload ("chunking NG": capabilities `dav.chunking` 1.0 and
   * `files.bigfilechunking` not false) and the base URL lies below `remote.php/webdav/` or
   * `remote.php/dav/files/<user>/`, so {@link WebDavClient.chunkedUpload} can be used.
   */
  chunkedUpload: boolean;
}

/** Result of a PUT. */
export interface PutResult {
  etag?: string;
  fileId?: string;
  /** The server confirmed `X-OC-Mtime`. */
  mtimeAccepted: boolean;
}

/** Options of a PUT. */
export interface PutOptions {
  /** Only overwrite when the current ETag matches (412 otherwise). */
  ifMatch?: string;
  /** `'*'`: only create, never overwrite (412 when it exists). */
  ifNoneMatch?: '*';
  /** Modification time for `X-OC-Mtime` (ownCloud keeps it). */
  mtimeMs?: number;
  /** Body length; required for streams. */
  size: number;
  /**
   * Writes the body at this byte offset of a resource of `totalSize` bytes
   * (`Content-Range: bytes offset-(offset+size-1)/totalSize`, Apache mod_dav). Servers without
   * range PUTs replace the whole resource with the body: check the size afterwards.
   */
  range?: { offset: number; totalSize: number };
}

/** Options of the final MOVE of a chunked upload. */
export interface ChunkCommitOptions {
  /** Total length; the server refuses the MOVE (400) when the chunks add up to something else. */
  totalSize: number;
  /** Modification time for `X-OC-Mtime`. */
  mtimeMs?: number;
  /** Replace only the target with this ETag (`If: <target> (["etag"])`, 412 otherwise). */
  ifMatch?: string;
  /** `'*'`: only create (`Overwrite: F`, 412 when the target exists). */
  ifNoneMatch?: '*';
}

/**
 * An ownCloud chunked upload ("chunking NG", as the ownCloud desktop clients speak it): chunks go
 * to `remote.php/dav/uploads/<user>/<transferId>/<16-digit offset>`, a MOVE of `.file` assembles
 * them at the target. The server keeps completed chunks, so an interrupted upload is resumed by
 * listing them.
 */
export interface ChunkedUpload {
  /** Chunks already uploaded, sorted by offset; undefined when the upload does not exist. */
  list(): Promise<UploadedChunk[] | undefined>;
  /** Creates the upload collection, dropping an older one of the same id. */
  start(totalSize: number): Promise<void>;
  /** Uploads one chunk. */
  putChunk(offset: number, body: Buffer | Readable, size: number): Promise<void>;
  /** MOVEs `.file` to the target. @throws {SyncError} `DAV_PRECONDITION_FAILED` when a condition failed */
  commit(options: ChunkCommitOptions): Promise<PutResult>;
  /** Deletes the upload collection (a missing one is fine). */
  abort(): Promise<void>;
}

/** Options of {@link WebDavClient.move}. */
export interface MoveOptions {
  /** Replace an existing target (`Overwrite: T`). Default false: 412 when the target exists. */
  overwrite?: boolean;
  /** Only when the target's ETag is this (`If: <target> (["etag"])`; servers may ignore it). */
  ifMatch?: string;
}

/** A GET reply handed to the consumer; the body must be read or destroyed inside it. */
export interface GetReply {
  /** 200 full body, 206 partial from `offset`. */
  status: 200 | 206;
  etag?: string;
  /** Total size of the resource when known. */
  totalSize?: number;
  body: Readable;
}

/** The WebDAV operations the sync engine needs. Paths are relative to the base URL. */
export interface WebDavClient {
  readonly baseUrl: URL;
  /** PROPFIND with depth 0, 1 or infinity. @throws {SyncError} `DAV_NOT_FOUND`, `DAV_HTTP` (403 when infinity is refused) */
  propfind(path: string, depth: 0 | 1 | 'infinity'): Promise<DavResource[]>;
  /** PROPFIND that hands each resource to `onResource` as it is parsed and keeps none (large listings). */
  propfindEach(path: string, depth: 0 | 1 | 'infinity', onResource: (resource: DavResource) => void): Promise<void>;
  /** GET, optionally from `offset` with `If-Range: etag` (resume). The slot is held while `consume` runs. */
  get<T>(
    path: string,
    options: { offset?: number; ifRange?: string },
    consume: (reply: GetReply) => Promise<T>,
  ): Promise<T>;
  /** PUT a buffer or stream. @throws {SyncError} `DAV_PRECONDITION_FAILED` on If-Match/If-None-Match failure */
  put(path: string, body: Buffer | Readable, options: PutOptions): Promise<PutResult>;
  /** MKCOL; an existing collection is fine (405 is ignored). */
  mkcol(path: string): Promise<void>;
  /** MOVE; by default without overwrite. @throws {SyncError} `DAV_PRECONDITION_FAILED` */
  move(from: string, to: string, options?: MoveOptions): Promise<void>;
  /** DELETE (collections recursively); `ifMatch` guards files against concurrent changes. */
  delete(path: string, options?: { ifMatch?: string }): Promise<void>;
  /** Detects the ownCloud dialect (status.php + capabilities); plain WebDAV otherwise. */
  detect(): Promise<ServerInfo>;
  /**
   * A chunked upload of `path` under the id `transferId` (letters, digits, `-`).
   * @throws {SyncError} `DAV_HTTP` when `detect()` did not report `chunkedUpload`
   */
  chunkedUpload(path: string, transferId: string): ChunkedUpload;
  /** Closes the private connection pool. */
  close(): Promise<void>;
}

const codeFor = (status: number): SyncError['code'] =>
  status === 401
    ? 'DAV_UNAUTHORIZED'
    : status === 404
      ? 'DAV_NOT_FOUND'
      : status === 412
        ? 'DAV_PRECONDITION_FAILED'
        : 'DAV_HTTP';

const header = (h: Record<string, string | string[] | undefined>, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

function putResult(res: HttpResponse): PutResult {
  const result: PutResult = { mtimeAccepted: header(res.headers, 'x-oc-mtime') === 'accepted' };
  const etag = normalizeEtag(header(res.headers, 'oc-etag') ?? header(res.headers, 'etag'));
  if (etag !== undefined) result.etag = etag;
  const fileId = header(res.headers, 'oc-fileid');
  if (fileId) result.fileId = fileId;
  return result;
}

/**
 * Whether `url` reaches this machine without crossing a network: an IPv4 literal in
 * 127.0.0.0/8, `::1`, or the name `localhost` exactly (`127.example.com` is a name, not loopback).
 */
export function isLoopbackUrl(url: URL): boolean {
  const host = url.hostname;
  if (host === 'localhost' || host === '[::1]') return true;
  // URL has normalised IPv4 literals (`127.1`, `0x7f.1`) to four decimal octets.
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/**
 * Parses the base URL and refuses what would send credentials and files in clear text:
 * `https:` always, `http:` only to a loopback address ({@link isLoopbackUrl}).
 *
 * @throws {SyncError} `SYNC_INVALID_OPTIONS`
 */
export function secureBaseUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url.endsWith('/') ? url : `${url}/`);
  } catch (error) {
    throw new SyncError('SYNC_INVALID_OPTIONS', `not a URL: ${url}`, { cause: error });
  }
  if (parsed.protocol === 'https:' || (parsed.protocol === 'http:' && isLoopbackUrl(parsed))) return parsed;
  throw new SyncError(
    'SYNC_INVALID_OPTIONS',
    `refusing ${parsed.protocol}//${parsed.host}: use https:// (plain http only to 127.0.0.0/8, ::1 or localhost)`,
  );
}

/**
 * The resources a listing of `path` may name: itself; with depth 1 its direct children; with
 * infinity anything below it. A server naming others (a grandchild in a depth-1 listing, a
 * sibling folder) is not believed.
 */
function listingScope(path: string, depth: 0 | 1 | 'infinity'): (resource: DavResource) => void {
  const prefix = path === '' ? '' : `${path}/`;
  return (r) => {
    if (r.path === path) return;
    const rest = r.path.startsWith(prefix) ? r.path.slice(prefix.length) : undefined;
    if (rest !== undefined && rest !== '' && (depth === 'infinity' || (depth === 1 && !rest.includes('/')))) return;
    throw new SyncError(
      'DAV_UNSAFE_HREF',
      `PROPFIND ${path || '/'} (depth ${depth}): the server listed ${JSON.stringify(r.path.slice(0, 200))}, which is not ${depth === 0 ? 'the resource itself' : depth === 1 ? 'a direct child' : 'below it'}`,
      { details: { method: 'PROPFIND', path } },
    );
  };
}

/**
 * Creates a WebDAV client with a keep-alive connection pool and at most `concurrency` requests
 * in flight.
 *
 * @throws {SyncError} `SYNC_INVALID_OPTIONS` for a URL that is not `https:` (or `http:` to loopback)
 * @example
 * const dav = createWebDavClient({ url: 'http://127.0.0.1:8080/', auth: { type: 'basic', username: 'alice', password: 'pw' } });
 * const entries = await dav.propfind('', 1);
 */
export function createWebDavClient(options: WebDavClientOptions): WebDavClient {
  const baseUrl = secureBaseUrl(options.url);
  const concurrency = options.concurrency ?? 8;
  const ownPool = options.agent ? undefined : createPool(baseUrl.protocol, concurrency);
  const pool = options.agent ?? (ownPool as HttpPool);
  const sem = createSemaphore(concurrency);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const auth =
    options.auth === undefined
      ? undefined
      : options.auth.type === 'basic'
        ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`
        : `Bearer ${options.auth.token}`;

  const urlOf = (path: string): URL => {
    const enc = encodePath(path);
    return new URL(enc, baseUrl);
  };

  async function send(
    method: string,
    url: URL,
    headers: Record<string, string>,
    body?: string | Buffer | Readable,
  ): Promise<HttpResponse> {
    try {
      return await sendRequest(
        url,
        method,
        auth ? { ...headers, authorization: auth } : headers,
        body,
        pool,
        timeoutMs,
      );
    } catch (error) {
      throw toSyncError(error, 'DAV_NETWORK', { method, path: decodeURIComponent(url.pathname) });
    }
  }

  async function fail(res: HttpResponse, method: string, path: string): Promise<never> {
    await dropBody(res.body);
    throw new SyncError(codeFor(res.statusCode), `${method} ${path || '/'}: HTTP ${res.statusCode}`, {
      details: {
        method,
        path,
        status: res.statusCode,
      },
    });
  }

  async function simple(
    method: string,
    path: string,
    headers: Record<string, string>,
    ok: (status: number) => boolean,
  ): Promise<void> {
    await sem.run(async () => {
      const res = await send(method, urlOf(path), headers);
      if (!ok(res.statusCode)) await fail(res, method, path);
      await dropBody(res.body);
    });
  }

  const is2xx = (s: number): boolean => s >= 200 && s < 300;
  /** Where chunked uploads go, once `detect()` found them offered. */
  let chunking: { uploads: URL; files: URL } | undefined;
  /** `detect()` found a plain WebDAV server: listings ask for the `DAV:` properties only. */
  let plainDav = false;

  /** PROPFIND parsed while it arrives: a 3 MB listing costs little more than the server's own time. */
  function listing(
    path: string,
    depth: 0 | 1 | 'infinity',
    onResource?: (resource: DavResource) => void,
  ): Promise<DavResource[]> {
    return sem.run(async () => {
      // Listings are of collections, which want the trailing slash; depth 0 may be a file.
      const url = urlOf(path);
      if (depth !== 0 && !url.pathname.endsWith('/')) url.pathname += '/';
      const res = await send(
        'PROPFIND',
        url,
        { depth: String(depth), 'content-type': 'application/xml; charset=utf-8' },
        plainDav ? PROPFIND_DAV_BODY : PROPFIND_BODY,
      );
      if (res.statusCode !== 207) await fail(res, 'PROPFIND', path);
      const inScope = listingScope(path, depth);
      const out: DavResource[] = [];
      const parser = createMultistatusParser(baseUrl.pathname, (r) => {
        inScope(r);
        if (onResource) onResource(r);
        else out.push(r);
      });
      try {
        res.body.setEncoding('utf8');
        for await (const chunk of res.body) parser.push(chunk as string);
      } catch (error) {
        res.body.on('error', () => undefined).destroy();
        throw toSyncError(error, 'DAV_NETWORK', { method: 'PROPFIND', path });
      }
      parser.end();
      return out;
    });
  }

  return {
    baseUrl,
    propfind(path, depth) {
      return listing(path, depth);
    },
    async propfindEach(path, depth, onResource) {
      await listing(path, depth, onResource);
    },
    get(path, opts, consume) {
      return sem.run(async () => {
        const headers: Record<string, string> = {};
        if (opts.offset && opts.offset > 0) {
          headers.range = `bytes=${opts.offset}-`;
          if (opts.ifRange) headers['if-range'] = `"${opts.ifRange}"`;
        }
        const res = await send('GET', urlOf(path), headers);
        if (res.statusCode !== 200 && res.statusCode !== 206) await fail(res, 'GET', path);
        const etag = normalizeEtag(header(res.headers, 'etag') ?? header(res.headers, 'oc-etag'));
        const range = header(res.headers, 'content-range');
        const length = header(res.headers, 'content-length');
        const totalSize = range ? Number(range.split('/')[1]) : length ? Number(length) : undefined;
        const reply: GetReply = { status: res.statusCode as 200 | 206, body: res.body };
        if (etag !== undefined) reply.etag = etag;
        if (totalSize !== undefined && Number.isFinite(totalSize)) reply.totalSize = totalSize;
        try {
          return await consume(reply);
        } catch (error) {
          // Without a listener the abort would surface as an uncaught 'error' event.
          res.body.on('error', () => undefined).destroy();
          throw toSyncError(error, 'DAV_NETWORK', { method: 'GET', path });
        }
      });
    },
    put(path, body, opts) {
      return sem.run(async () => {
        const headers: Record<string, string> = {
          'content-type': 'application/octet-stream',
          'content-length': String(opts.size),
        };
        if (opts.ifMatch) headers['if-match'] = `"${opts.ifMatch}"`;
        if (opts.ifNoneMatch) headers['if-none-match'] = '*';
        if (opts.mtimeMs !== undefined) headers['x-oc-mtime'] = String(Math.floor(opts.mtimeMs / 1000));
        if (opts.range) {
          const { offset, totalSize } = opts.range;
          headers['content-range'] = `bytes ${offset}-${offset + opts.size - 1}/${totalSize}`;
        }
        const res = await send('PUT', urlOf(path), headers, body);
        if (!is2xx(res.statusCode)) await fail(res, 'PUT', path);
        await dropBody(res.body);
        return putResult(res);
      });
    },
    mkcol(path) {
      return simple('MKCOL', `${path}/`, {}, (s) => is2xx(s) || s === 405);
    },
    move(from, to, opts = {}) {
      const destination = urlOf(to).href;
      const headers: Record<string, string> = { destination, overwrite: opts.overwrite ? 'T' : 'F' };
      if (opts.ifMatch) headers.if = `<${destination}> (["${opts.ifMatch}"])`;
      return simple('MOVE', from, headers, is2xx);
    },
    delete(path, opts = {}) {
      const headers: Record<string, string> = opts.ifMatch ? { 'if-match': `"${opts.ifMatch}"` } : {};
      return simple('DELETE', path, headers, (s) => is2xx(s) || s === 404);
    },
    async detect() {
      const plain: ServerInfo = {
        dialect: 'webdav',
        recursiveDirEtags: false,
        checksumTypes: [],
        chunkedUpload: false,
      };
      // Plain until status.php says otherwise.
      plainDav = true;
      const idx = baseUrl.pathname.indexOf('/remote.php/');
      if (idx < 0) return plain;
      const root = new URL(baseUrl.pathname.slice(0, idx + 1), baseUrl);
      const json = async (rel: string): Promise<Record<string, unknown> | undefined> =>
        sem.run(async () => {
          const res = await send('GET', new URL(rel, root), { 'ocs-apirequest': 'true', accept: 'application/json' });
          if (res.statusCode !== 200) {
            await dropBody(res.body);
            return undefined;
          }
          return (await bodyText(res.body)
            .then((text) => JSON.parse(text) as unknown)
            .catch(() => undefined)) as Record<string, unknown> | undefined;
        });
      // The three answers are asked for at once (one round trip, not three); capabilities and
      // user count only when status.php says ownCloud.
      const [status, caps, user] = await Promise.all([
        json('status.php'),
        json('ocs/v1.php/cloud/capabilities?format=json'),
        json('ocs/v1.php/cloud/user?format=json'),
      ]);
      if (status?.installed !== true) return plain;
      plainDav = false;
      chunking = undefined;
      const capabilities = ((caps?.ocs as { data?: { capabilities?: Record<string, unknown> } } | undefined)?.data
        ?.capabilities ?? {}) as {
        checksums?: { supportedTypes?: string[] };
        files?: { bigfilechunking?: boolean };
        dav?: { chunking?: string };
      };
      if (capabilities.dav?.chunking === '1.0' && capabilities.files?.bigfilechunking !== false) {
        const id = (user?.ocs as { data?: { id?: unknown } } | undefined)?.data?.id;
        const name = typeof id === 'string' ? id : options.auth?.type === 'basic' ? options.auth.username : undefined;
        if (name !== undefined) chunking = chunkingUrls(baseUrl, name);
      }
      return {
        dialect: 'owncloud',
        product: `${String(status.productname ?? 'ownCloud')} ${String(status.versionstring ?? '')}`.trim(),
        recursiveDirEtags: true,
        checksumTypes: capabilities.checksums?.supportedTypes ?? [],
        chunkedUpload: chunking !== undefined,
      };
    },
    chunkedUpload(path, transferId) {
      if (!chunking) throw new SyncError('DAV_HTTP', 'the server offers no chunked upload', { details: { path } });
      const collection = new URL(`${encodeURIComponent(transferId)}/`, chunking.uploads);
      const target = new URL(encodePath(path), chunking.files).href;
      const at = (name: string): URL => new URL(encodeURIComponent(name), collection);
      const label = `uploads/${transferId}`;
      const request = (
        method: string,
        url: URL,
        headers: Record<string, string>,
        ok: (status: number) => boolean,
        body?: string | Buffer | Readable,
      ): Promise<HttpResponse> =>
        sem.run(async () => {
          const res = await send(method, url, headers, body);
          if (!ok(res.statusCode)) await fail(res, method, label);
          return res;
        });
      const drop = async (): Promise<void> => {
        const res = await request('DELETE', collection, {}, (s) => is2xx(s) || s === 404);
        await dropBody(res.body);
      };
      return {
        async list() {
          const res = await request(
            'PROPFIND',
            collection,
            { depth: '1', 'content-type': 'application/xml; charset=utf-8' },
            (s) => s === 207 || s === 404,
            PROPFIND_BODY,
          );
          if (res.statusCode === 404) {
            await dropBody(res.body);
            return undefined;
          }
          const xml = await bodyText(res.body);
          return chunksOf(parseMultistatus(xml, collection.pathname));
        },
        async start(totalSize) {
          await drop();
          const res = await request('MKCOL', collection, { 'oc-total-length': String(totalSize) }, is2xx);
          await dropBody(res.body);
        },
        async putChunk(offset, body, size) {
          const headers = { 'content-type': 'application/octet-stream', 'content-length': String(size) };
          const res = await request('PUT', at(String(offset).padStart(16, '0')), headers, is2xx, body);
          await dropBody(res.body);
        },
        async commit(opts) {
          const headers: Record<string, string> = {
            destination: target,
            'oc-total-length': String(opts.totalSize),
            overwrite: opts.ifNoneMatch ? 'F' : 'T',
          };
          // As the ownCloud client does: If-Match would apply to `.file`, the tagged If names the target.
          if (opts.ifMatch) headers.if = `<${target}> (["${opts.ifMatch}"])`;
          if (opts.mtimeMs !== undefined) headers['x-oc-mtime'] = String(Math.floor(opts.mtimeMs / 1000));
          const res = await request('MOVE', at('.file'), headers, is2xx);
          await dropBody(res.body);
          return putResult(res);
        },
        abort: drop,
      };
    },
    close() {
      ownPool?.destroy();
      return Promise.resolve();
    },
  };
}

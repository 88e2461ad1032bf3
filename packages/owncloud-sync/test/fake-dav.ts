// An in-memory WebDAV server behind the WebDavClient interface, for unit tests of the executor
// and transfer stages (the integration tests use real servers). It keeps what a server keeps —
// bytes, ETags, folders — and honours the conditions the engine relies on: If-Match,
// If-None-Match: *, MOVE without overwrite, Range + If-Range, Content-Range PUTs (optional),
// chunked uploads. Every request is logged as `METHOD path`.
import { Readable } from 'node:stream';
import type { ChunkedUpload, PutResult, ServerInfo, WebDavClient } from '../src/client';
import { SyncError, type SyncErrorCode } from '../src/errors';
import type { DavResource } from '../src/multistatus';

interface Node {
  isDir: boolean;
  data: Buffer;
  etag: string;
  mtimeMs: number;
}

/** Options of {@link createFakeDav}. */
export interface FakeDavOptions {
  /** Content-Range PUTs write at the offset (Apache) instead of replacing the file (rclone). */
  rangePut?: boolean;
  /** ownCloud chunked upload is offered. */
  chunkedUpload?: boolean;
}

/** The fake client plus the server's state for assertions. */
export interface FakeDav extends WebDavClient {
  /** `METHOD path` of every request, in order. */
  readonly log: string[];
  /** The bytes of a file, undefined when missing. */
  file(path: string): Buffer | undefined;
  /** The ETag of a resource. */
  etagOf(path: string): string | undefined;
  /** Writes a file as another client would (new ETag). */
  write(path: string, data: string | Buffer, mtimeMs?: number): void;
  mkdir(path: string): void;
  /** Makes the next `count` requests of `method` fail with `code` before they touch anything. */
  failNext(method: string, code: SyncErrorCode, count?: number): void;
  /** Chunks stored for a chunked upload id (offset → size). */
  chunks(id: string): Map<number, Buffer> | undefined;
}

const parentOf = (p: string): string => p.slice(0, Math.max(0, p.lastIndexOf('/')));

/**
 * Creates an empty fake server with its client.
 * @param options server features
 * @returns the client
 */
export function createFakeDav(options: FakeDavOptions = {}): FakeDav {
  const nodes = new Map<string, Node>([['', { isDir: true, data: Buffer.alloc(0), etag: 'root', mtimeMs: 0 }]]);
  const uploads = new Map<string, Map<number, Buffer>>();
  const log: string[] = [];
  const failures: { method: string; code: SyncErrorCode }[] = [];
  let tag = 0;
  const nextEtag = (): string => `etag-${++tag}`;
  const err = (code: SyncErrorCode, method: string, path: string, status: number): SyncError =>
    new SyncError(code, `${method} ${path || '/'}: HTTP ${status}`, { details: { method, path, status } });
  const request = (method: string, path: string): void => {
    log.push(`${method} ${path}`);
    const i = failures.findIndex((f) => f.method === method);
    if (i >= 0) {
      const [f] = failures.splice(i, 1);
      throw err(f?.code ?? 'DAV_HTTP', method, path, f?.code === 'DAV_NETWORK' ? 0 : 500);
    }
  };
  const touch = (path: string): void => {
    for (let d = parentOf(path); ; d = parentOf(d)) {
      const n = nodes.get(d);
      if (n) n.etag = nextEtag();
      if (d === '') break;
    }
  };
  const resource = (path: string, n: Node): DavResource => ({
    path,
    isDir: n.isDir,
    size: n.isDir ? 0 : n.data.length,
    etag: n.etag,
    lastModified: n.mtimeMs,
  });
  const read = async (body: Buffer | Readable): Promise<Buffer> => {
    if (Buffer.isBuffer(body)) return body;
    const parts: Buffer[] = [];
    for await (const chunk of body) parts.push(chunk as Buffer);
    return Buffer.concat(parts);
  };
  const store = (path: string, data: Buffer, mtimeMs?: number): PutResult => {
    if (!nodes.get(parentOf(path))?.isDir) throw err('DAV_HTTP', 'PUT', path, 409);
    const etag = nextEtag();
    nodes.set(path, { isDir: false, data, etag, mtimeMs: mtimeMs ?? Date.now() });
    touch(path);
    return { etag, mtimeAccepted: mtimeMs !== undefined };
  };
  const condition = (method: string, path: string, ifMatch?: string, ifNoneMatch?: '*'): void => {
    const n = nodes.get(path);
    if ((ifMatch !== undefined && n?.etag !== ifMatch) || (ifNoneMatch === '*' && n)) {
      throw err('DAV_PRECONDITION_FAILED', method, path, 412);
    }
  };
  const server: ServerInfo = {
    dialect: options.chunkedUpload ? 'owncloud' : 'webdav',
    recursiveDirEtags: false,
    checksumTypes: [],
    chunkedUpload: options.chunkedUpload === true,
  };

  const client: FakeDav = {
    baseUrl: new URL('https://dav.example/remote.php/webdav/'),
    log,
    async propfind(path, depth) {
      request('PROPFIND', path);
      const n = nodes.get(path);
      if (!n) throw err('DAV_NOT_FOUND', 'PROPFIND', path, 404);
      const out = [resource(path, n)];
      if (n.isDir && depth !== 0) {
        for (const [p, c] of nodes) {
          const under = path === '' ? p !== '' : p.startsWith(`${path}/`);
          if (under && (depth === 'infinity' || parentOf(p) === path)) out.push(resource(p, c));
        }
      }
      return out;
    },
    async propfindEach(path, depth, onResource) {
      for (const r of await client.propfind(path, depth)) onResource(r);
    },
    async get(path, opts, consume) {
      request('GET', path);
      const n = nodes.get(path);
      if (!n || n.isDir) throw err('DAV_NOT_FOUND', 'GET', path, 404);
      const partial = opts.offset !== undefined && opts.offset > 0 && opts.ifRange === n.etag;
      return consume({
        status: partial ? 206 : 200,
        etag: n.etag,
        totalSize: n.data.length,
        body: Readable.from([partial ? n.data.subarray(opts.offset) : n.data]),
      });
    },
    async put(path, body, opts) {
      request('PUT', path);
      condition('PUT', path, opts.ifMatch, opts.ifNoneMatch);
      const data = await read(body);
      if (opts.range && options.rangePut) {
        const old = nodes.get(path)?.data ?? Buffer.alloc(0);
        return store(path, Buffer.concat([old.subarray(0, opts.range.offset), data]), opts.mtimeMs);
      }
      return store(path, data, opts.mtimeMs);
    },
    async mkcol(path) {
      request('MKCOL', path);
      if (!nodes.get(parentOf(path))?.isDir) throw err('DAV_HTTP', 'MKCOL', path, 409);
      if (!nodes.has(path)) nodes.set(path, { isDir: true, data: Buffer.alloc(0), etag: nextEtag(), mtimeMs: 0 });
      touch(path);
    },
    async move(from, to, opts = {}) {
      request('MOVE', from);
      const n = nodes.get(from);
      if (!n) throw err('DAV_NOT_FOUND', 'MOVE', from, 404);
      if (!opts.overwrite && nodes.has(to)) throw err('DAV_PRECONDITION_FAILED', 'MOVE', from, 412);
      condition('MOVE', to, opts.ifMatch);
      for (const [p, c] of [...nodes]) {
        if (p === from || p.startsWith(`${from}/`)) {
          nodes.delete(p);
          nodes.set(to + p.slice(from.length), c);
        }
      }
      touch(from);
      touch(to);
    },
    async delete(path, opts = {}) {
      request('DELETE', path);
      condition('DELETE', path, opts.ifMatch);
      for (const p of [...nodes.keys()]) if (p === path || p.startsWith(`${path}/`)) nodes.delete(p);
      touch(path);
    },
    async detect() {
      return server;
    },
    chunkedUpload(path, id): ChunkedUpload {
      return {
        async list() {
          request('PROPFIND', `uploads/${id}`);
          const have = uploads.get(id);
          return have && [...have].sort(([a], [b]) => a - b).map(([offset, b]) => ({ offset, size: b.length }));
        },
        async start() {
          request('MKCOL', `uploads/${id}`);
          uploads.set(id, new Map());
        },
        async putChunk(offset, body) {
          request('PUT', `uploads/${id}/${offset}`);
          const have = uploads.get(id);
          if (!have) throw err('DAV_NOT_FOUND', 'PUT', `uploads/${id}`, 404);
          have.set(offset, await read(body));
        },
        async commit(opts) {
          request('MOVE', `uploads/${id}/.file`);
          condition('MOVE', path, opts.ifMatch, opts.ifNoneMatch);
          const have = uploads.get(id);
          const data = Buffer.concat([...(have ?? [])].sort(([a], [b]) => a - b).map(([, b]) => b));
          if (data.length !== opts.totalSize) throw err('DAV_HTTP', 'MOVE', path, 400);
          uploads.delete(id);
          return store(path, data, opts.mtimeMs);
        },
        async abort() {
          request('DELETE', `uploads/${id}`);
          uploads.delete(id);
        },
      };
    },
    async close() {},
    file: (path) => {
      const n = nodes.get(path);
      return n && !n.isDir ? n.data : undefined;
    },
    etagOf: (path) => nodes.get(path)?.etag,
    write(path, data, mtimeMs) {
      store(path, Buffer.from(data), mtimeMs);
    },
    mkdir(path) {
      nodes.set(path, { isDir: true, data: Buffer.alloc(0), etag: nextEtag(), mtimeMs: 0 });
      touch(path);
    },
    failNext(method, code, count = 1) {
      for (let i = 0; i < count; i++) failures.push({ method, code });
    },
    chunks: (id) => uploads.get(id),
  };
  return client;
}

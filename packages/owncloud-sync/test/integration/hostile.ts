// A hostile WebDAV server for security tests: plain node:http on 127.0.0.1, it answers PROPFIND
// with whatever listing the test hands it and records every request (method, path, credentials,
// body), so a test can see what a sync would write locally or leak to it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One `<response>` of a listing: the raw href as the server sends it. */
export interface HostileEntry {
  href: string;
  dir?: boolean;
  /** Content length announced for a file. Default: the length of the server's GET body. */
  size?: number;
}

/** A request the server saw. */
export interface SeenRequest {
  method: string;
  url: string;
  authorization?: string;
  depth?: string;
  body: Buffer;
}

/** The running server. `base` is the collection the sync points at. */
export interface HostileDav {
  origin: string;
  /** `${origin}/remote.php/webdav/Branch/` */
  url: string;
  /** `/remote.php/webdav/Branch/` */
  basePath: string;
  requests: SeenRequest[];
  /** What PROPFIND answers: a listing, or an HTTP status (403 refuses `Depth: infinity`). */
  listing: (path: string, depth: string) => HostileEntry[] | number;
  /** Body of every GET. */
  content: string;
  stop(): Promise<void>;
}

const xmlEscape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function multistatus(entries: HostileEntry[], content: string): string {
  const responses = entries.map(
    (e, i) =>
      `<d:response><d:href>${xmlEscape(e.href)}</d:href><d:propstat><d:prop>` +
      `<d:resourcetype>${e.dir ? '<d:collection/>' : ''}</d:resourcetype>` +
      (e.dir ? '' : `<d:getcontentlength>${e.size ?? Buffer.byteLength(content)}</d:getcontentlength>`) +
      `<d:getetag>"e${i}"</d:getetag><d:getlastmodified>Mon, 01 Jan 2024 00:00:00 GMT</d:getlastmodified>` +
      '</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>',
  );
  return `<?xml version="1.0"?><d:multistatus xmlns:d="DAV:">${responses.join('')}</d:multistatus>`;
}

/** Starts the hostile server on 127.0.0.1 (an ephemeral port). */
export async function startHostileDav(): Promise<HostileDav> {
  const basePath = '/remote.php/webdav/Branch/';
  const state: HostileDav = {
    origin: '',
    url: '',
    basePath,
    requests: [],
    listing: () => [{ href: basePath, dir: true }],
    content: 'hostile content\n',
    stop: async () => undefined,
  };
  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const seen: SeenRequest = { method: req.method ?? '', url: req.url ?? '', body: Buffer.concat(chunks) };
    if (req.headers.authorization) seen.authorization = req.headers.authorization;
    if (typeof req.headers.depth === 'string') seen.depth = req.headers.depth;
    state.requests.push(seen);
    const method = req.method ?? '';
    if (method === 'PROPFIND') {
      const answer = state.listing(decodeURIComponent(new URL(seen.url, 'http://h').pathname), seen.depth ?? '');
      if (typeof answer === 'number') {
        res.writeHead(answer).end();
        return;
      }
      res.writeHead(207, { 'content-type': 'application/xml; charset=utf-8' }).end(multistatus(answer, state.content));
    } else if (method === 'GET' && seen.url.startsWith('/status.php')) res.writeHead(404).end();
    // Any other GET is answered, wherever the client's normalised URL ended up.
    else if (method === 'GET') res.writeHead(200, { etag: '"e0"' }).end(state.content);
    else if (method === 'PUT' || method === 'MKCOL' || method === 'MOVE') res.writeHead(201).end();
    else if (method === 'DELETE') res.writeHead(204).end();
    else res.writeHead(405).end();
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  state.origin = `http://127.0.0.1:${port}`;
  state.url = `${state.origin}${basePath}`;
  state.stop = () =>
    new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    });
  return state;
}

// HTTP/1.1 transport of the WebDAV client on Node's own `node:http`/`node:https`: a keep-alive
// pool per client and an idle timeout per request. An HTTP library loaded at start would cost a
// cron-started `invis-sync` more than its whole no-change run (see the README's benchmark).
import type { Agent as HttpAgent, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';

// `require`, not `import`: the ES module view of `node:http` reads every export, and its lazy
// `WebSocket`/`EventSource` getters load Node's whole fetch stack (≈ 45 ms at every start).
// `node:https` (TLS, ≈ 20 ms) is loaded for `https:` URLs only.
const require = createRequire(import.meta.url);
const http = require('node:http') as typeof import('node:http');
const https = (): typeof import('node:https') => require('node:https') as typeof import('node:https');

/** A keep-alive connection pool: `node:http`'s `Agent` (an `https.Agent` for `https:` URLs). */
export type HttpPool = HttpAgent;

/** A response whose body is still to be read (or dropped with {@link dropBody}). */
export interface HttpResponse {
  statusCode: number;
  headers: IncomingHttpHeaders;
  body: IncomingMessage;
}

/** A private keep-alive pool of `connections` sockets for `protocol` (`http:` or `https:`). */
export function createPool(protocol: string, connections: number): HttpPool {
  const options = { keepAlive: true, maxSockets: connections, maxFreeSockets: connections };
  return protocol === 'https:' ? new (https().Agent)(options) : new http.Agent(options);
}

/**
 * Sends one request and resolves with the response head. The socket may stay idle for at most
 * `timeoutMs` (waiting for the head or between body chunks), else the request fails. A string or
 * Buffer body is sent with its `Content-Length` (some servers, PHP's among them, take no chunked
 * bodies); a stream needs the header from the caller.
 */
export function sendRequest(
  url: URL,
  method: string,
  headers: Record<string, string>,
  body: string | Buffer | Readable | undefined,
  pool: HttpPool,
  timeoutMs: number,
): Promise<HttpResponse> {
  return new Promise((resolve, reject) => {
    const send = url.protocol === 'https:' ? https().request : http.request;
    const req = send(url, { method, headers, agent: pool, timeout: timeoutMs });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      // Idle between body chunks counts too: the socket's timeout stays on while the body is read.
      resolve({ statusCode: res.statusCode ?? 0, headers: res.headers, body: res });
    });
    if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
      req.end(body);
      return;
    }
    body.on('error', (error) => req.destroy(error));
    // A request that failed leaves the file it was reading from open unless told.
    req.on('close', () => {
      if (!body.readableEnded) body.destroy();
    });
    body.pipe(req);
  });
}

/** Reads the rest of a body and throws it away (the socket goes back to the pool); errors are ignored. */
export function dropBody(body: IncomingMessage): Promise<void> {
  return new Promise((resolve) => {
    // `complete` is not enough: the socket goes back to the pool only once 'end' was emitted.
    if (body.readableEnded || body.destroyed) {
      resolve();
      return;
    }
    body
      .on('end', resolve)
      .on('error', () => resolve())
      .on('close', resolve);
    body.resume();
  });
}

/** The whole body as UTF-8 text. */
export async function bodyText(body: IncomingMessage): Promise<string> {
  body.setEncoding('utf8');
  let text = '';
  for await (const chunk of body) text += chunk as string;
  return text;
}

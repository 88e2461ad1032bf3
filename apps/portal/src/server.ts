import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import { PortalError } from './errors';
import { isLoopbackHost } from './network';
import type { Portal } from './portal';

/** A listening portal. */
export interface PortalServer {
  /** e.g. `http://127.0.0.1:41234` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Server limits: whole headers within 10 s, a whole request within 30 s, 16 KiB of headers. */
const TIMEOUTS = {
  headersTimeout: 10_000,
  requestTimeout: 30_000,
  keepAliveTimeout: 5_000,
  connectionsCheckingInterval: 1_000,
  maxHeaderSize: 16 * 1024,
} as const;

/** Options of {@link startPortalServer}. */
export interface PortalServerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  tls?: { certFile: string; keyFile: string };
  /**
   * Plain HTTP on loopback with browsers on this machine connecting directly (demo, tests).
   * Without it a plain-HTTP listener needs trusted proxies: a TLS proxy in front would make
   * every visitor look like 127.0.0.1.
   */
  directLoopbackClients?: boolean;
}

/**
 * Serves a portal on one address (never on all interfaces by default).
 * @param options host, port, optional TLS certificate/key files
 * @returns the URL and a close function
 * @throws PortalError PORTAL_CONFIG for plain HTTP off loopback, or on loopback without trusted proxies
 */
export async function startPortalServer(portal: Portal, options: PortalServerOptions): Promise<PortalServer> {
  if (!options.tls) {
    if (!isLoopbackHost(options.host)) throw new PortalError('PORTAL_CONFIG', 'plain HTTP only on loopback');
    if (portal.deps.trustedProxies.empty && !options.directLoopbackClients) {
      throw new PortalError('PORTAL_CONFIG', 'plain HTTP on loopback needs the TLS proxy as a trusted proxy');
    }
  }
  const tls = options.tls
    ? { cert: await readFile(options.tls.certFile), key: await readFile(options.tls.keyFile) }
    : undefined;
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve(
      {
        fetch: portal.app.fetch,
        hostname: options.host,
        port: options.port,
        // Slow or stalled clients are cut off instead of holding sockets (Node's defaults: 60 s / 300 s).
        serverOptions: { ...TIMEOUTS, ...tls },
        ...(tls ? { createServer: createHttpsServer } : {}),
      },
      () => resolve(s),
    );
    s.once('error', reject);
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `${tls ? 'https' : 'http'}://${host}:${port}`,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        if ('closeAllConnections' in server) server.closeAllConnections();
      }),
  };
}

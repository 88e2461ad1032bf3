import { readFile } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { type ServerType, serve } from '@hono/node-server';
import type { Portal } from './portal';

/** A listening portal. */
export interface PortalServer {
  /** e.g. `http://127.0.0.1:41234` */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves a portal on one address (never on all interfaces by default).
 * @param options host, port (0 = any free), optional TLS certificate/key files
 * @returns the URL and a close function
 */
export async function startPortalServer(
  portal: Portal,
  options: { host: string; port: number; tls?: { certFile: string; keyFile: string } },
): Promise<PortalServer> {
  const tls = options.tls
    ? { cert: await readFile(options.tls.certFile), key: await readFile(options.tls.keyFile) }
    : undefined;
  const server: ServerType = await new Promise((resolve, reject) => {
    const s = serve(
      {
        fetch: portal.app.fetch,
        hostname: options.host,
        port: options.port,
        ...(tls ? { createServer: createHttpsServer, serverOptions: tls } : {}),
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

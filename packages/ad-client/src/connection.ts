// One lazily opened, bound LDAP connection (LDAPS or StartTLS, CA-verified) that is replaced
// when the server drops it (DC restart) and whose every step has a time bound.
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { Client, type ClientOptions } from 'ldapts';
import { AdError, isConnectionLoss, toAdError } from './errors';
import { installWireDecoder } from './wire-entry';

/** TLS options we pass through; certificate verification cannot be switched off. */
export type AdTlsOptions = Omit<ConnectionOptions, 'rejectUnauthorized' | 'socket' | 'host' | 'port'>;

/** Creates the ldapts client (injectable for tests/instrumentation). */
export type LdapClientFactory = (options: ClientOptions) => Client;

export interface ConnectionSettings {
  url: string;
  bindName: string;
  password: string;
  ca?: string | Buffer | (string | Buffer)[] | undefined;
  tlsOptions?: AdTlsOptions | undefined;
  connectTimeoutMs: number;
  timeoutMs: number;
  clientFactory: LdapClientFactory;
}

interface ParsedUrl {
  scheme: 'ldap' | 'ldaps';
  host: string;
}

export function parseLdapUrl(url: string): ParsedUrl {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new AdError('AD_CONFIG', `Not an LDAP URL: ${JSON.stringify(url)} (use ldaps://host:636 or ldap://host:389)`);
  }
  const scheme = u.protocol.replace(/:$/, '');
  if (scheme !== 'ldap' && scheme !== 'ldaps')
    throw new AdError('AD_CONFIG', `Not an LDAP URL: ${JSON.stringify(url)} (use ldaps:// or ldap:// with StartTLS)`);
  if (u.pathname && u.pathname !== '/')
    throw new AdError('AD_CONFIG', `The LDAP URL must not have a path (set baseDN instead): ${url}`);
  return { scheme, host: u.hostname.replace(/^\[|\]$/g, '') };
}

/** Races `p` against a timer; on timeout calls `onTimeout` and rejects with AD_TIMEOUT. */
async function withTimeout<T>(p: Promise<T>, ms: number, what: string, onTimeout: () => void): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      onTimeout();
      reject(
        new AdError('AD_TIMEOUT', `The directory server did not answer ${what} within ${ms} ms; is it running?`, {
          details: { operation: what },
        }),
      );
    }, ms);
  });
  try {
    return await Promise.race([p, t]);
  } finally {
    clearTimeout(timer);
  }
}

/** Opens a TLS-protected connection and binds; used for the service connection and for user binds. */
export async function openBoundClient(s: ConnectionSettings, bindName: string, password: string): Promise<Client> {
  const { scheme, host } = parseLdapUrl(s.url);
  const tls: ConnectionOptions = {
    ...(s.tlsOptions ?? {}),
    ...(s.ca === undefined ? {} : { ca: s.ca }),
    rejectUnauthorized: true,
  };
  const client = s.clientFactory({
    url: s.url,
    timeout: s.timeoutMs,
    connectTimeout: s.connectTimeoutMs,
    ...(scheme === 'ldaps' ? { tlsOptions: tls } : {}),
  });
  const destroy = (): void => {
    void client.unbind().catch(() => undefined);
  };
  try {
    await withTimeout(
      (async () => {
        if (scheme === 'ldap') {
          // StartTLS; name verification needs the host (an IP must not go into SNI)
          await client.startTLS({ ...tls, host, ...(isIP(host) ? {} : { servername: host }) });
        }
        await client.bind(bindName, password);
      })(),
      s.connectTimeoutMs + s.timeoutMs,
      'connect and bind',
      destroy,
    );
    return client;
  } catch (e) {
    destroy();
    throw toAdError(e, { operation: 'bind', target: bindName });
  }
}

/** The service connection of one AdClient. */
export class Connection {
  #client: Client | undefined;
  #connecting: Promise<Client> | undefined;
  #closed = false;
  readonly settings: ConnectionSettings;

  /** @param initial an already bound client to start with (reconnects use the settings). */
  constructor(settings: ConnectionSettings, initial?: Client) {
    this.settings = settings;
    parseLdapUrl(settings.url);
    this.#client = initial;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The bound client, connecting (once, shared by concurrent callers) when needed. */
  async acquire(): Promise<Client> {
    if (this.#closed) throw new AdError('AD_CLOSED', 'This AdClient was closed; create a new one.');
    if (this.#client?.isConnected) return this.#client;
    this.#connecting ??= (async () => {
      const old = this.#client;
      this.#client = undefined;
      if (old) void old.unbind().catch(() => undefined);
      const c = await openBoundClient(this.settings, this.settings.bindName, this.settings.password);
      if (this.#closed) {
        void c.unbind().catch(() => undefined);
        throw new AdError('AD_CLOSED', 'This AdClient was closed; create a new one.');
      }
      this.#client = c;
      return c;
    })().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  /**
   * Runs `fn` on the bound client. With `retryOnLoss` (reads), a failure because the connection
   * was lost is repeated once on a new connection; writes are not repeated (they may have been
   * applied), but the next call gets a fresh connection.
   */
  async run<T>(
    operation: string,
    target: string | undefined,
    retryOnLoss: boolean,
    fn: (c: Client) => Promise<T>,
  ): Promise<T> {
    const ctx = { operation, ...(target === undefined ? {} : { target }) };
    for (let attempt = 0; ; attempt++) {
      const client = await this.acquire();
      try {
        return await fn(client);
      } catch (e) {
        const lost = isConnectionLoss(e) || /timed out/i.test(String((e as Error)?.message));
        if (lost && this.#client === client) {
          this.#client = undefined;
          void client.unbind().catch(() => undefined);
        }
        if (retryOnLoss && attempt === 0 && isConnectionLoss(e)) continue;
        throw toAdError(e, ctx);
      }
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    const c = this.#client;
    this.#client = undefined;
    await this.#connecting?.catch(() => undefined);
    if (c) await c.unbind().catch(() => undefined);
  }
}

export function defaultClientFactory(options: ClientOptions): Client {
  const client = new Client(options);
  installWireDecoder(client);
  return client;
}

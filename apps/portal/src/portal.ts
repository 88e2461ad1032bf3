import { closeSync, constants, fchmodSync, openSync } from 'node:fs';
import { join } from 'node:path';
import type { OpenAPIHono } from '@hono/zod-openapi';
import type { DnsBackend } from '@invis/dns-zone';
import { type Clock, type CommandRunner, type ServiceManager, systemClock } from '@invis/host';
import type { Context } from 'hono';
import { createAccessCheck } from './access';
import { createPortalApp, nodePeerAddress } from './app';
import { openAuditLog } from './audit';
import type { PortalDeps, PortalEnv } from './context';
import type { Directory } from './directory';
import { PortalError } from './errors';
import type { HostManager } from './hosts';
import type { MailAccounts } from './mail-accounts';
import { createNetworkSet } from './network';
import { appOrigin } from './origin';
import { createServiceControl } from './services';
import { createAnonymousCsrf, createSessionStore } from './sessions';
import { createShareManager, type ShareManager, type ShareOptions } from './shares';
import { cachedStatus, type StatusSources } from './status';
import { createLoginThrottle, type LoginThrottleOptions } from './throttle';
import type { ServerNames, TileStore } from './tiles';
import { openTokenStore } from './tokens';
import type { Transfer } from './transfer';
import type { VpnRevoker } from './vpn';
import type { VpnBundles } from './vpn-bundles';

/** Options of {@link createPortal}. */
export interface PortalOptions {
  directory: Directory;
  /** Directory of `portal.db` (audit log and API tokens), or `:memory:` for tests. */
  dataDir: string;
  /** Networks that count as inside (CIDR); everything else, VPN included, is outside. */
  internalNetworks: string[];
  /** Reverse proxies whose `X-Forwarded-For` is believed. */
  trustedProxies?: string[];
  adminGroup?: string;
  mobileGroup?: string;
  sessionIdleMinutes?: number;
  sessionMaxHours?: number;
  /** Upper bound of live sessions (memory bound; default 10,000). */
  maxSessions?: number;
  /** Seconds rights (admin, mobile, enabled) are reused before the directory is asked again (default 60). */
  accessTtlSeconds?: number;
  throttle?: Partial<Omit<LoginThrottleOptions, 'clock'>>;
  /** Runs `systemctl is-active` for the service states (the host's execa runner in production). */
  runner: CommandRunner;
  /** Carries out the admin's service actions; default: systemd through `runner`. */
  services?: ServiceManager;
  /** Time of sessions, throttle, rights cache, audit log, tokens, archives and status (default: the system clock). */
  clock?: Clock;
  /** Group shares and home archiving (omit on a portal without the file server). */
  shares?: ShareOptions;
  /** Instead of `shares`: folders handled elsewhere (`serverShareManager()` on an installed server). */
  shareManager?: ShareManager;
  status: Omit<StatusSources, 'services' | 'clock'>;
  /** Revokes a user's VPN certificates before the account is disabled or deleted (omit without a VPN PKI). */
  vpn?: VpnRevoker;
  /** VPN bundles: issue, download once, revoke (omit without VPN server settings). */
  vpnBundles?: VpnBundles;
  /** The transfer area (omit: none). */
  transfer?: Transfer;
  /** Web-app tiles on the home page and their editor (omit: no tiles). */
  tiles?: { store: TileStore; names: ServerNames };
  /** Users' own mail accounts (omit on a portal without the mail server). */
  mail?: MailAccounts;
  /** Origins of web apps behind the forward-auth proxy that a login may return to (`next`). */
  appOrigins?: string[];
  /** Hosts with DHCP and DNS in one step (omit on a portal that manages no LAN). */
  hosts?: HostManager;
  /** DNS zones for the DNS records page (omit: no DNS page). */
  dns?: DnsBackend;
  /** Seconds a status snapshot is reused (default 5). */
  statusTtlSeconds?: number;
  /** The TCP peer of a request; default: the node server's socket. */
  peerAddress?: (c: Context) => string;
}

/** A composed portal: the HTTP app, its collaborators, and a close for its database. */
export interface Portal {
  app: OpenAPIHono<PortalEnv>;
  deps: PortalDeps;
  close(): void;
}

/**
 * Composes the portal from a directory, a command runner and its settings.
 * @throws PortalError PORTAL_CONFIG for malformed networks, or a symbolic link in place of `portal.db`
 * @example
 * const portal = createPortal({ directory, dataDir: '/var/lib/invis/portal', internalNetworks: ['192.168.220.0/24'], runner, status });
 * serve({ fetch: portal.app.fetch, hostname: '192.168.220.10', port: 443 });
 */
export function createPortal(options: PortalOptions): Portal {
  const db = options.dataDir === ':memory:' ? ':memory:' : join(options.dataDir, 'portal.db');
  if (db !== ':memory:') {
    // Audit log and token hashes: made 0600 before SQLite writes anything, and fixed to 0600
    // if an older file is wider (SQLite gives its journal files the same mode). Never through
    // a symbolic link: the mode would land on whatever it points at.
    let fd: number;
    try {
      fd = openSync(db, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW, 0o600);
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ELOOP') throw cause;
      throw new PortalError('PORTAL_CONFIG', `${db} is a symbolic link; the portal keeps its database in a file`, {
        cause,
      });
    }
    try {
      fchmodSync(fd, 0o600);
    } finally {
      closeSync(fd);
    }
  }
  const clock = options.clock ?? systemClock;
  const audit = openAuditLog(db, clock);
  const tokens = openTokenStore(db, clock);
  const services = createServiceControl({
    runner: options.runner,
    ...(options.services ? { services: options.services } : {}),
  });
  const adminGroup = options.adminGroup ?? 'Domain Admins';
  const mobileGroup = options.mobileGroup ?? 'mobilusers';
  const deps: PortalDeps = {
    directory: options.directory,
    sessions: createSessionStore({
      idleMs: (options.sessionIdleMinutes ?? 30) * 60_000,
      absoluteMs: (options.sessionMaxHours ?? 8) * 3_600_000,
      clock,
      ...(options.maxSessions === undefined ? {} : { maxSessions: options.maxSessions }),
    }),
    anonymousCsrf: createAnonymousCsrf(),
    throttle: createLoginThrottle({
      maxPerUser: 5,
      maxPerAddress: 20,
      windowMs: 15 * 60_000,
      ...options.throttle,
      clock,
    }),
    audit,
    tokens,
    services,
    shares: options.shareManager ?? (options.shares ? createShareManager({ clock, ...options.shares }) : null),
    vpn: options.vpn ?? null,
    vpnBundles: options.vpnBundles ?? null,
    transfer: options.transfer ?? null,
    tiles: options.tiles ?? null,
    mail: options.mail ?? null,
    appOrigins: (options.appOrigins ?? []).map(appOrigin),
    hosts: options.hosts ?? null,
    dns: options.dns ?? null,
    status: cachedStatus({ ...options.status, services, clock }, (options.statusTtlSeconds ?? 5) * 1000),
    internalNetworks: createNetworkSet(options.internalNetworks),
    trustedProxies: createNetworkSet(options.trustedProxies ?? []),
    access: createAccessCheck({
      directory: options.directory,
      adminGroup,
      mobileGroup,
      ttlMs: (options.accessTtlSeconds ?? 60) * 1000,
      clock,
    }),
    adminGroup,
    mobileGroup,
    peerAddress: options.peerAddress ?? nodePeerAddress,
  };
  return {
    app: createPortalApp(deps),
    deps,
    close() {
      audit.close();
      tokens.close();
    },
  };
}

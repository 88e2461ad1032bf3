// The portal's wiring, once: production (main.ts), the demo, the benchmark and the integration
// tests all start the portal through composePortal, so they run what ships.
import { join } from 'node:path';
import type { AdClient } from '@invis/ad-client';
import type { DnsBackend } from '@invis/dns-zone';
import { type Clock, type CommandRunner, createExecaRunner, type ServiceManager } from '@invis/host';
import { FOLDER_REQUESTS_FILE } from '@invis/samba-shares';
import { type AdDirectoryOptions, createAdDirectory } from './ad-directory';
import { certificateList, type PortalSettings } from './env';
import type { HostManager } from './hosts';
import type { MailAccounts } from './mail-accounts';
import { createPortal, type Portal, type PortalOptions } from './portal';
import { type PortalServer, startPortalServer } from './server';
import { defaultShareOptions, type ShareOptions, serverShareManager } from './shares';
import type { Transfer } from './transfer';
import type { VpnRevoker } from './vpn';
import type { VpnBundles } from './vpn-bundles';

/** What {@link composePortal} talks to the world through; the caller owns (and closes) `ad`. */
export interface PortalCollaborators {
  /** The directory connection, bound as the portal's service account. */
  ad: AdClient;
  /** Runs `systemctl`; default: the host's `createExecaRunner()`. */
  runner?: CommandRunner;
  /** Carries out service actions; default: systemd through `runner`. */
  services?: ServiceManager;
  /** Default: the system clock. */
  clock?: Clock;
  /** Group shares and home archiving; `null`: no file server. Default: the original layout under `/`. */
  shares?: ShareOptions | null;
  /**
   * With `PORTAL_FOLDERS=server`: runs the root folder sync at once after the portal asks for a
   * home or group folder (`main.ts`: `sync.run homes` through the privileged socket). Omit: its timer does.
   */
  foldersSync?: () => Promise<void>;
  /**
   * Revokes a user's VPN certificates when the account is disabled or deleted (`createVpnRevoker`
   * on the VPN server's PKI; `main.ts` makes it from `PORTAL_PKI_DIR`). Omit: no VPN PKI.
   */
  vpn?: VpnRevoker;
  /** VPN bundles (`createVpnBundles`; `main.ts` makes it from `PORTAL_PKI_DIR` and the `PORTAL_VPN_*` server settings). */
  vpnBundles?: VpnBundles;
  /** The transfer area (`createTransfer`; `main.ts` makes it when `PORTAL_TRANSFER_DIR` is set). */
  transfer?: Transfer;
  /** Users' own mail accounts (`createMailAccounts`; `main.ts` makes it when `PORTAL_MAIL_KEY_FILE` is set). */
  mail?: MailAccounts;
  /** Hosts with DHCP and DNS in one step (`createHostManager`; `main.ts` makes it when `PORTAL_LAN_SUBNET` is set). */
  hosts?: HostManager;
  /** The DNS zones of the DNS records page (`main.ts`: the AD zones, which BIND serves through DLZ). */
  dns?: DnsBackend;
  /** Status sources that have no setting. */
  status?: { /** Default `/proc/mdstat`. */ mdstatFile?: string };
  /** Knobs without an environment variable (tests shorten caches, the benchmark lifts the throttle). */
  tuning?: Pick<PortalOptions, 'accessTtlSeconds' | 'maxSessions' | 'throttle' | 'statusTtlSeconds'> &
    Pick<AdDirectoryOptions, 'listTtlMs'>;
  /**
   * Plain HTTP on loopback with browsers on this machine connecting directly (demo, benchmark);
   * see `PortalServerOptions.directLoopbackClients`.
   */
  directLoopbackClients?: boolean;
}

/** A composed and listening portal. */
export interface ComposedPortal {
  portal: Portal;
  server: PortalServer;
  /** e.g. `https://192.168.220.10:8443` */
  url: string;
  /** Stops listening and closes `portal.db` (not the caller's ad client). */
  close(): Promise<void>;
}

/**
 * Builds the portal from its validated settings and collaborators and starts listening.
 * @param settings what `loadEnv` produced (or {@link defaultPortalSettings} with changes)
 * @param collaborators the ad client, runner, clock, shares and status sources
 * @returns the portal, its server and a close
 * @throws PortalError PORTAL_CONFIG for malformed networks, or plain HTTP off loopback or without trusted proxies
 * @example
 * const settings = loadEnv();
 * const running = await composePortal(settings, { ad });
 */
export async function composePortal(
  settings: PortalSettings,
  collaborators: PortalCollaborators,
): Promise<ComposedPortal> {
  const { tuning = {} } = collaborators;
  const { listTtlMs, ...portalTuning } = tuning;
  const shares = collaborators.shares === undefined ? defaultShareOptions('/') : collaborators.shares;
  // An installed server's folders are the root sync's (PORTAL_FOLDERS=server).
  const serverFolders = settings.PORTAL_FOLDERS === 'server';
  const portal = createPortal({
    directory: createAdDirectory({
      ad: collaborators.ad,
      ...(listTtlMs === undefined ? {} : { listTtlMs }),
      ...(settings.PORTAL_WINDOWS_FILE_SERVER ? { windowsFileServer: settings.PORTAL_WINDOWS_FILE_SERVER } : {}),
    }),
    dataDir: settings.PORTAL_DATA_DIR,
    internalNetworks: settings.PORTAL_INTERNAL_NETWORKS,
    trustedProxies: settings.PORTAL_TRUSTED_PROXIES,
    adminGroup: settings.PORTAL_ADMIN_GROUP,
    mobileGroup: settings.PORTAL_MOBILE_GROUP,
    sessionIdleMinutes: settings.PORTAL_SESSION_IDLE_MINUTES,
    sessionMaxHours: settings.PORTAL_SESSION_MAX_HOURS,
    runner: collaborators.runner ?? createExecaRunner(),
    ...(collaborators.services ? { services: collaborators.services } : {}),
    ...(collaborators.clock ? { clock: collaborators.clock } : {}),
    ...(serverFolders
      ? {
          shareManager: serverShareManager({
            templatesDir: (shares ?? defaultShareOptions('/')).templatesDir,
            groupSharesDir: (shares ?? defaultShareOptions('/')).groupSharesDir,
            requestsFile: join(settings.PORTAL_DATA_DIR, FOLDER_REQUESTS_FILE),
            ...(collaborators.foldersSync ? { syncNow: collaborators.foldersSync } : {}),
          }),
        }
      : shares
        ? { shares }
        : {}),
    ...(collaborators.vpn ? { vpn: collaborators.vpn } : {}),
    ...(collaborators.mail ? { mail: collaborators.mail } : {}),
    ...(collaborators.vpnBundles ? { vpnBundles: collaborators.vpnBundles } : {}),
    ...(collaborators.transfer ? { transfer: collaborators.transfer } : {}),
    ...(collaborators.hosts ? { hosts: collaborators.hosts } : {}),
    ...(collaborators.dns ? { dns: collaborators.dns } : {}),
    ...(settings.PORTAL_INTERNAL_NAME
      ? {
          tiles: {
            store: collaborators.ad.invis.portal,
            names: { internal: settings.PORTAL_INTERNAL_NAME, external: settings.PORTAL_EXTERNAL_NAME ?? null },
          },
        }
      : {}),
    appOrigins: settings.PORTAL_APP_ORIGINS,
    status: {
      watchDirs: settings.PORTAL_WATCH_DIRS,
      mdstatFile: collaborators.status?.mdstatFile ?? '/proc/mdstat',
      certificates: certificateList(settings.PORTAL_CERT_FILES),
      backupStampFile: settings.PORTAL_BACKUP_STAMP_FILE,
      internetStateFile: settings.PORTAL_INETCHECK_FILE,
      jobsDir: settings.PORTAL_JOBS_DIR,
    },
    ...portalTuning,
  });
  let server: PortalServer;
  try {
    server = await startPortalServer(portal, {
      host: settings.PORTAL_HOST,
      port: settings.PORTAL_PORT,
      ...(settings.PORTAL_TLS_CERT_FILE && settings.PORTAL_TLS_KEY_FILE
        ? { tls: { certFile: settings.PORTAL_TLS_CERT_FILE, keyFile: settings.PORTAL_TLS_KEY_FILE } }
        : {}),
      ...(collaborators.directLoopbackClients ? { directLoopbackClients: true } : {}),
    });
  } catch (e) {
    portal.close();
    throw e;
  }
  return {
    portal,
    server,
    url: server.url,
    async close() {
      await server.close();
      portal.close();
    },
  };
}

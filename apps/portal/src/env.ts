// The only place that reads process.env (house rule: apps validate their environment once).
import { z } from 'zod';
import { PortalError } from './errors';
import { createNetworkSet, isLoopbackHost } from './network';
import { appOrigin } from './origin';

const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((s) =>
      s
        .split(',')
        .map((x) => x.trim())
        .filter(Boolean),
    );
const int = (fallback: number, max: number) => z.coerce.number().int().min(1).max(max).default(fallback);

/** The directory connection: read by `main.ts`, which builds the ad client from it. */
const LDAP_SHAPE = {
  PORTAL_LDAP_URL: z.string().regex(/^ldaps?:\/\//, 'ldap:// (StartTLS) or ldaps:// URL'),
  PORTAL_LDAP_CA_FILE: z.string().optional(),
  /** UPN or DN of the portal's service account. */
  PORTAL_LDAP_BIND: z.string().min(1),
  /** File with the service account's password (never the password itself in the environment). */
  PORTAL_LDAP_PASSWORD_FILE: z.string().min(1),
};

/** Everything else: what {@link PortalSettings} holds and `composePortal` reads. */
const SETTINGS_SHAPE = {
  PORTAL_HOST: z.string().min(1).default('127.0.0.1'),
  PORTAL_PORT: z.coerce.number().int().min(1).max(65535).default(8443),
  /** Certificate and key for HTTPS; without them the portal serves HTTP on loopback only (behind a TLS proxy). */
  PORTAL_TLS_CERT_FILE: z.string().optional(),
  PORTAL_TLS_KEY_FILE: z.string().optional(),
  PORTAL_DATA_DIR: z.string().min(1).default('/var/lib/invis/portal'),
  /** Loopback is not inside by default: behind the loopback TLS proxy every visitor comes from 127.0.0.1. */
  PORTAL_INTERNAL_NETWORKS: list('192.168.220.0/24'),
  PORTAL_TRUSTED_PROXIES: list(''),
  /**
   * Who makes and archives home and group folders: `portal` (this process, as root in a demo or
   * test) or `server` (an installed server's `invis-setup sync homes`, root, every minute: the
   * portal runs unprivileged and only writes the directory).
   */
  PORTAL_FOLDERS: z.enum(['portal', 'server']).default('portal'),
  /** NetBIOS name of the file server for Windows home/profile paths of new accounts (none: not set). */
  PORTAL_WINDOWS_FILE_SERVER: z
    .string()
    .regex(/^[A-Za-z0-9-]{1,15}$/)
    .optional(),
  /** The server's name in the LAN and from the Internet (DDNS): `[servername]` in web-app tiles. */
  PORTAL_INTERNAL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,253}$/)
    .optional(),
  PORTAL_EXTERNAL_NAME: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,253}$/)
    .optional(),
  /** Origins of web apps behind the forward-auth proxy; a login started there may return there. */
  PORTAL_APP_ORIGINS: list(''),
  /**
   * The mail key setup made (base64, 0600): seals the users' provider passwords in the directory.
   * Set: users manage their own mail accounts; unset: no mail page.
   */
  PORTAL_MAIL_KEY_FILE: z.string().min(1).optional(),
  /** The mail domain of local addresses (`<user>@<domain>`); default: the AD domain. */
  PORTAL_MAIL_DOMAIN: z
    .string()
    .regex(/^[A-Za-z0-9.-]{1,253}$/)
    .optional(),
  /** Presence and vacation per user, read by setup's mail modules. */
  PORTAL_MAIL_PRESENCE_FILE: z.string().min(1).default('/var/lib/invis/mail/presence.json'),
  /** Started after every mail change: regenerates maps, fetchmail rc and vacation scripts. Empty: none. */
  PORTAL_MAIL_SYNC_UNIT: z.string().default('invis-mail-sync.service'),
  PORTAL_ADMIN_GROUP: z.string().min(1).default('Domain Admins'),
  PORTAL_MOBILE_GROUP: z.string().min(1).default('mobilusers'),
  PORTAL_SESSION_IDLE_MINUTES: int(30, 24 * 60),
  PORTAL_SESSION_MAX_HOURS: int(8, 24 * 7),
  PORTAL_WATCH_DIRS: list('/home,/srv,/var'),
  /** `name=/path/cert.pem,…` */
  PORTAL_CERT_FILES: list('ldap=/etc/invis/certs/ldap-cert.pem'),
  /**
   * The VPN server's PKI (`@invis/ovpn-pki` directory): when set, disabling or deleting a user first
   * revokes their VPN certificates. Unset: the portal has no VPN PKI.
   */
  PORTAL_PKI_DIR: z.string().min(1).optional(),
  /** Where the OpenVPN server reads the CRL (`crl-verify`); the portal deploys a renewed CRL there. Needs PORTAL_PKI_DIR. */
  PORTAL_VPN_CRL_FILE: z.string().min(1).optional(),
  /** Public name (or address) the VPN bundles dial; with PORTAL_PKI_DIR, PORTAL_VPN_PORT and a tls-crypt key: the VPN page. */
  PORTAL_VPN_REMOTE: z
    .string()
    .regex(/^[A-Za-z0-9.:-]{1,253}$/)
    .optional(),
  /** The OpenVPN server's UDP port (setup's firewall `openvpn` port). */
  PORTAL_VPN_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /** CN of the OpenVPN server certificate (`verify-x509-name`); default: PORTAL_VPN_REMOTE. */
  PORTAL_VPN_SERVER_NAME: z
    .string()
    .regex(/^[A-Za-z0-9.@_-]{1,64}$/)
    .optional(),
  /** The server's tls-crypt-v2 key (each bundle gets its own client key wrapped with it). */
  PORTAL_VPN_TLS_CRYPT_V2_KEY: z.string().min(1).optional(),
  /** Or the server's shared tls-crypt (v1) key. */
  PORTAL_VPN_TLS_CRYPT_KEY: z.string().min(1).optional(),
  /** Members of the mobile group may issue and download their own VPN bundle. */
  PORTAL_VPN_SELF_SERVICE: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /**
   * Setup's privileged socket (`invis-privileged.socket`, root:invis-portal 0660) on an installed
   * server, where the portal is unprivileged: set, the DHCP and mail changes run their sync at once
   * through it (instead of PORTAL_DHCP_SYNC_UNIT / PORTAL_MAIL_SYNC_UNIT). Unset: no socket.
   */
  PORTAL_PRIVILEGED_SOCKET: z
    .string()
    .regex(/^\/[A-Za-z0-9._/-]+$/, 'an absolute path')
    .optional(),
  /** The VPN page and the revocation on disable/delete go through the privileged socket (root's PKI). */
  PORTAL_VPN_PRIVILEGED: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
  /**
   * Parent of the transfer area (the original's `/srv/shares/portal`): `downloads/<user>` holds what
   * colleagues put there, uploads land in `uploads/<user>`. Unset: no transfer page.
   */
  PORTAL_TRANSFER_DIR: z.string().min(1).optional(),
  /** Largest upload in MiB. */
  PORTAL_TRANSFER_MAX_MB: int(100, 4096),
  /** Virus scanner of uploads: `clamdscan` (the mail filter's clamd, `--fdpass`), `clamscan`, or `none`. */
  PORTAL_TRANSFER_SCANNER: z.enum(['none', 'clamdscan', 'clamscan']).default('none'),
  /** Signature database folder for `clamscan` (`--database`); default: ClamAV's own. */
  PORTAL_TRANSFER_CLAMAV_DB: z.string().min(1).optional(),
  /** Infected uploads are moved here (0700; not served). */
  PORTAL_TRANSFER_QUARANTINE_DIR: z.string().min(1).default('/var/lib/invis/quarantine'),
  PORTAL_BACKUP_STAMP_FILE: z.string().default('/var/spool/results/backup/last'),
  PORTAL_INETCHECK_FILE: z.string().default('/var/spool/results/inetcheck/inetcheck'),
  /**
   * The LAN (IPv4 CIDR, /16 to /24) whose hosts the portal manages: device ranges and pool of the
   * invis policy. Unset: no hosts page.
   */
  PORTAL_LAN_SUBNET: z
    .string()
    .regex(/^\d{1,3}(\.\d{1,3}){3}\/(1[6-9]|2[0-4])$/, 'an IPv4 network from /16 to /24, e.g. 192.168.220.0/24')
    .optional(),
  /** Forward zone of the hosts' A records; default: the AD domain. */
  PORTAL_DNS_ZONE: z.string().min(1).optional(),
  /** The DHCP server's leases: Kea's CSV (`.csv`) or dhcpd's `dhcpd.leases`. */
  PORTAL_DHCP_LEASE_FILE: z.string().min(1).default('/var/lib/kea/kea-leases4.csv'),
  /** The setup's directory → DHCP sync the portal starts after a host change; empty: its timer runs it. */
  PORTAL_DHCP_SYNC_UNIT: z.string().default('invis-dhcp-sync.service'),
  /** Background jobs' state files (backup, DDNS, certificates, signatures, …) for the status page. */
  PORTAL_JOBS_DIR: z.string().min(1).default('/var/lib/invis/jobs'),
};

const EnvSchema = z.object({ ...SETTINGS_SHAPE, ...LDAP_SHAPE }).superRefine((env, ctx) => {
  if (Boolean(env.PORTAL_TLS_CERT_FILE) !== Boolean(env.PORTAL_TLS_KEY_FILE)) {
    ctx.addIssue({
      code: 'custom',
      message: 'set both PORTAL_TLS_CERT_FILE and PORTAL_TLS_KEY_FILE',
      path: ['PORTAL_TLS_KEY_FILE'],
    });
  }
  if (!env.PORTAL_TLS_CERT_FILE && !isLoopbackHost(env.PORTAL_HOST)) {
    ctx.addIssue({ code: 'custom', message: 'plain HTTP only on loopback; give TLS files', path: ['PORTAL_HOST'] });
  }
  // Plain HTTP on loopback means a TLS proxy in front; unless it is named, every visitor would be the proxy.
  if (!env.PORTAL_TLS_CERT_FILE && env.PORTAL_TRUSTED_PROXIES.length === 0) {
    ctx.addIssue({
      code: 'custom',
      message: 'plain HTTP needs the TLS proxy in PORTAL_TRUSTED_PROXIES',
      path: ['PORTAL_TRUSTED_PROXIES'],
    });
  }
  for (const key of ['PORTAL_INTERNAL_NETWORKS', 'PORTAL_TRUSTED_PROXIES'] as const) {
    for (const entry of env[key]) {
      try {
        createNetworkSet([entry]);
      } catch {
        ctx.addIssue({ code: 'custom', message: `not a network: ${entry}`, path: [key] });
      }
    }
  }
  for (const entry of env.PORTAL_APP_ORIGINS) {
    try {
      appOrigin(entry);
    } catch {
      ctx.addIssue({ code: 'custom', message: `not a bare http(s) origin: ${entry}`, path: ['PORTAL_APP_ORIGINS'] });
    }
  }
  if (env.PORTAL_VPN_CRL_FILE && !env.PORTAL_PKI_DIR) {
    ctx.addIssue({ code: 'custom', message: 'a CRL to deploy needs PORTAL_PKI_DIR', path: ['PORTAL_VPN_CRL_FILE'] });
  }
  if (env.PORTAL_VPN_TLS_CRYPT_V2_KEY && env.PORTAL_VPN_TLS_CRYPT_KEY) {
    ctx.addIssue({ code: 'custom', message: 'set one tls-crypt variant', path: ['PORTAL_VPN_TLS_CRYPT_KEY'] });
  }
  if (env.PORTAL_VPN_REMOTE && !env.PORTAL_PKI_DIR) {
    ctx.addIssue({ code: 'custom', message: 'VPN bundles need PORTAL_PKI_DIR', path: ['PORTAL_VPN_REMOTE'] });
  }
  if (env.PORTAL_VPN_PRIVILEGED && !env.PORTAL_PRIVILEGED_SOCKET) {
    ctx.addIssue({ code: 'custom', message: 'needs PORTAL_PRIVILEGED_SOCKET', path: ['PORTAL_VPN_PRIVILEGED'] });
  }
  if (env.PORTAL_VPN_PRIVILEGED && env.PORTAL_PKI_DIR) {
    ctx.addIssue({ code: 'custom', message: 'one VPN PKI: the socket or PORTAL_PKI_DIR', path: ['PORTAL_PKI_DIR'] });
  }
  for (const entry of env.PORTAL_CERT_FILES) {
    if (!/^[^=]+=.+$/.test(entry))
      ctx.addIssue({ code: 'custom', message: `not name=path: ${entry}`, path: ['PORTAL_CERT_FILES'] });
  }
});

/** The validated environment: the portal's settings and its directory connection. */
export type PortalEnvSettings = z.output<typeof EnvSchema>;

/** The settings `composePortal` reads: the validated environment without the directory connection. */
export type PortalSettings = Omit<PortalEnvSettings, keyof typeof LDAP_SHAPE>;

const SettingsDefaults = z.object(SETTINGS_SHAPE);

/**
 * The settings a portal gets from an empty environment (the production defaults), for callers
 * that do not start from environment variables (demo, tests, benchmark) and change a few.
 * @returns fresh settings; change them freely
 * @example const settings = { ...defaultPortalSettings(), PORTAL_PORT: 8080 };
 */
export function defaultPortalSettings(): PortalSettings {
  return SettingsDefaults.parse({});
}

/**
 * Validates the environment once at start-up.
 * @param env the variables (default: `process.env`; tests pass their own)
 * @throws PortalError PORTAL_CONFIG naming every wrong variable (values are not echoed)
 */
export function loadEnv(env: Record<string, string | undefined> = process.env): PortalEnvSettings {
  const result = EnvSchema.safeParse(env);
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new PortalError('PORTAL_CONFIG', `invalid environment: ${problems.join('; ')}`, { details: { problems } });
  }
  return result.data;
}

/** Splits `PORTAL_CERT_FILES` entries into name and file. */
export function certificateList(entries: readonly string[]): { name: string; file: string }[] {
  return entries.map((e) => {
    const i = e.indexOf('=');
    return { name: e.slice(0, i), file: e.slice(i + 1) };
  });
}

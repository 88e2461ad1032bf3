import type { DnsBackend } from '@invis/dns-zone';
import type { Context } from 'hono';
import type { AccessCheck } from './access';
import type { AuditLog } from './audit';
import type { Directory } from './directory';
import { isPortalError, PortalError } from './errors';
import type { HostManager } from './hosts';
import type { MailAccounts } from './mail-accounts';
import type { NetworkSet } from './network';
import type { ServiceControl } from './services';
import type { AnonymousCsrf, Session, SessionStore, SessionUser } from './sessions';
import type { ShareManager } from './shares';
import type { ServerStatus } from './status';
import type { LoginThrottle } from './throttle';
import type { ServerNames, TileStore } from './tiles';
import type { ApiToken, TokenScope, TokenStore } from './tokens';
import type { Transfer } from './transfer';
import type { Lang } from './ui/i18n';
import type { VpnRevoker } from './vpn';
import type { VpnBundles } from './vpn-bundles';

/** Everything the portal composes; built by `createPortal` from options. */
export interface PortalDeps {
  directory: Directory;
  sessions: SessionStore;
  /** CSRF tokens of visitors without a session (stateless). */
  anonymousCsrf: AnonymousCsrf;
  throttle: LoginThrottle;
  audit: AuditLog;
  tokens: TokenStore;
  services: ServiceControl;
  /** Group shares and home archiving; null when the portal runs without the file server. */
  shares: ShareManager | null;
  status: () => Promise<ServerStatus>;
  /** Revokes the VPN certificates of disabled and deleted accounts; null when the portal has no VPN PKI. */
  vpn: VpnRevoker | null;
  /** VPN bundles (issue, download once, revoke); null when the portal has no VPN server settings. */
  vpnBundles: VpnBundles | null;
  /** The transfer area of `mobilusers` members; null when the portal has none. */
  transfer: Transfer | null;
  /** The home page's web-app tiles (directory `iPortEntry` objects); null when the portal shows none. */
  tiles: { store: TileStore; names: ServerNames } | null;
  /** Users' own mail accounts, presence and vacation (CorNAz); null on a portal without the mail server. */
  mail: MailAccounts | null;
  /** Origins (`https://host[:port]`) of web apps behind the forward-auth proxy: a login may return there. */
  appOrigins: readonly string[];
  /** Hosts (AD computer, DHCP reservation, DNS A/PTR in one step); null when the portal manages no LAN. */
  hosts: HostManager | null;
  /** The DNS zones the DNS records page edits; null when the portal manages no DNS. */
  dns: DnsBackend | null;
  /** Current rights of a user (admin, mobile, enabled), re-read from the directory about once a minute. */
  access: AccessCheck;
  internalNetworks: NetworkSet;
  trustedProxies: NetworkSet;
  adminGroup: string;
  mobileGroup: string;
  /** The TCP peer of a request (the node server's socket; injectable for tests). */
  peerAddress: (c: Context) => string;
}

/** Per-request values set by the portal's middleware. */
export interface PortalEnv {
  Variables: {
    deps: PortalDeps;
    client: string;
    external: boolean;
    lang: Lang;
    session: Session | null;
    token: ApiToken | null;
  };
}

export type PortalContext = Context<PortalEnv>;

/** The session's user, or PORTAL_UNAUTHENTICATED. API tokens never act as a person. */
export function sessionUser(c: PortalContext): SessionUser {
  const user = c.get('session')?.user;
  if (!user) throw new PortalError('PORTAL_UNAUTHENTICATED', 'log in first');
  return user;
}

/**
 * Checks that the caller may use `scope`: an admin session may do everything, any session
 * may read the status, an API token only what its scopes list.
 * @returns the acting name for the audit log
 */
export function authorize(c: PortalContext, scope: TokenScope): string {
  const token = c.get('token');
  if (token) {
    if (!token.scopes.includes(scope)) throw new PortalError('PORTAL_FORBIDDEN', `token lacks scope ${scope}`);
    return `${token.owner} (token ${token.name})`;
  }
  const user = sessionUser(c);
  if (scope !== 'status:read' && !user.isAdmin) throw new PortalError('PORTAL_FORBIDDEN', 'admins only');
  return user.username;
}

/**
 * Runs a change and appends it to the audit log, as done or failed (secrets redacted there).
 * @returns what `change` returned
 */
export async function audited<T>(
  c: PortalContext,
  actor: string,
  entry: { action: string; target: string; before?: unknown; after?: unknown },
  change: () => Promise<T>,
): Promise<T> {
  const { audit } = c.get('deps');
  const base = { actor, address: c.get('client'), action: entry.action, target: entry.target, before: entry.before };
  try {
    const result = await change();
    audit.append({ ...base, outcome: 'ok', after: entry.after });
    return result;
  } catch (e) {
    audit.append({
      ...base,
      outcome: 'failed',
      after: { error: isPortalError(e) ? e.code : 'PORTAL_INTERNAL' },
    });
    throw e;
  }
}

// Well-known groups whose members control the domain or its servers (RIDs; 544–552 are BUILTIN).
const PRIVILEGED_RIDS = new Set([512, 516, 518, 519, 520, 521, 526, 527, 544, 548, 549, 550, 551, 552]);

/**
 * API tokens may not touch protected accounts or groups: a `users:write` token that could
 * reset Administrator's password or fill Domain Admins would be a Domain Admin itself.
 * Protected: RID below 1000 (made by the domain), `adminCount` set, built-in groups, the
 * portal's admin group, and anything that is (also through nesting) a member of the admin
 * group or a privileged well-known group. Admin sessions are not limited.
 * @throws PortalError PORTAL_FORBIDDEN for a token and a protected target
 */
export async function refuseProtectedToToken(c: PortalContext, kind: 'user' | 'group', name: string): Promise<void> {
  if (!c.get('token')) return;
  const { directory, adminGroup } = c.get('deps');
  const p = await directory.principal(kind, name);
  if (!p) return; // the route answers PORTAL_NOT_FOUND
  const admin = adminGroup.toLowerCase();
  const privileged = (g: { name: string; rid: number | null }): boolean =>
    g.name.toLowerCase() === admin || (g.rid !== null && PRIVILEGED_RIDS.has(g.rid));
  if ((p.rid !== null && p.rid < 1000) || p.adminCount || p.builtin || privileged(p) || p.memberOf.some(privileged)) {
    throw new PortalError('PORTAL_FORBIDDEN', `API tokens may not change the protected ${kind} ${name}`, {
      details: { [kind]: name },
    });
  }
}

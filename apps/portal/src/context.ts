import type { Context } from 'hono';
import type { AuditLog } from './audit';
import type { Directory } from './directory';
import { PortalError } from './errors';
import type { NetworkSet } from './network';
import type { ServiceControl } from './services';
import type { Session, SessionStore, SessionUser } from './sessions';
import type { ShareManager } from './shares';
import type { ServerStatus } from './status';
import type { LoginThrottle } from './throttle';
import type { ApiToken, TokenScope, TokenStore } from './tokens';
import type { Lang } from './ui/i18n';

/** Everything the portal composes; built by `createPortal` from options. */
export interface PortalDeps {
  directory: Directory;
  sessions: SessionStore;
  throttle: LoginThrottle;
  audit: AuditLog;
  tokens: TokenStore;
  services: ServiceControl;
  /** Group shares and home archiving; null when the portal runs without the file server. */
  shares: ShareManager | null;
  status: () => Promise<ServerStatus>;
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
      after: { error: e instanceof PortalError ? e.code : 'PORTAL_INTERNAL' },
    });
    throw e;
  }
}

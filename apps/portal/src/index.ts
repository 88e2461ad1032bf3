// @invis/portal-1: The invis portal: web UI and REST API for users and admins.
// Public API: every exported symbol is listed here by name.
export { type AdDirectoryOptions, createAdDirectory } from './ad-directory';
export { type AuditEntry, type AuditLog, openAuditLog, redactSecrets } from './audit';
export { type ComposedPortal, composePortal, type PortalCollaborators } from './compose';
export {
  ACCOUNT_TYPES,
  type AccountType,
  type AuthResult,
  type Directory,
  type DirectoryGroup,
  type DirectoryUser,
  GROUP_TYPES,
  type GroupType,
  type NewGroup,
  type NewUser,
  type Principal,
  type UserProfilePatch,
} from './directory';
export { defaultPortalSettings, loadEnv, type PortalEnvSettings, type PortalSettings } from './env';
export { isPortalError, PortalError, type PortalErrorCode } from './errors';
export {
  adComputerAccounts,
  adDhcpReservations,
  type ComputerAccounts,
  createHostManager,
  type Host,
  type HostInput,
  type HostManager,
  type HostManagerOptions,
  type HostPatch,
  type LeaseView,
  leaseFileSource,
} from './hosts';
export { clientAddress, createNetworkSet, type NetworkSet } from './network';
export { createPortal, type Portal, type PortalOptions } from './portal';
export { type PortalServer, type PortalServerOptions, startPortalServer } from './server';
export {
  createServiceControl,
  SERVICE_ACTIONS,
  SERVICE_UNITS,
  type ServiceAction,
  type ServiceControl,
  type ServiceControlOptions,
  type ServiceName,
} from './services';
export { createSessionStore, type Session, type SessionStore, type SessionUser } from './sessions';
export {
  createShareManager,
  defaultShareOptions,
  type ShareManager,
  type ShareOptions,
  serverShareManager,
} from './shares';
export { collectStatus, type ServerStatus, type StatusSources } from './status';
export { createLoginThrottle, type LoginAttempt, type LoginThrottle } from './throttle';
export { openTokenStore, TOKEN_SCOPES, type TokenScope, type TokenStore } from './tokens';
export {
  createTransfer,
  type Transfer,
  type TransferFile,
  type TransferOptions,
  transferName,
} from './transfer';
export {
  belongsToUser,
  createVpnRevoker,
  deployCrl,
  type VpnRevoker,
  type VpnRevokerOptions,
  vpnCommonName,
} from './vpn';
export {
  createVpnBundles,
  type IssuedBundle,
  type VpnBundles,
  type VpnBundlesOptions,
  type VpnCertificate,
  type VpnServerParams,
} from './vpn-bundles';

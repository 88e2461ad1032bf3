// @invis/ovpn-pki: in-process PKI and OpenVPN configuration: CA, certificates, CRL, tls-crypt,
// server configs and client bundles.
// Public API: every exported symbol is listed here by name.
export {
  applyServerDeployment,
  checkOpenVpnConfig,
  type DeployFile,
  type DeploymentReport,
  type PkiApplyOptions,
  type ServerDeployment,
} from './apply';
export { type BuildClientBundleOptions, buildClientBundle } from './bundle';
export {
  type CertKind,
  type CrlEntry,
  REVOCATION_REASONS,
  type RevocationReason,
  revocationReasonName,
} from './ca';
export type { CertificateInfo, ExpiryState } from './context';
export type { CrlInfo } from './crl';
export type { CryptoKey } from './crypto';
export { type BuildServerFilesOptions, buildServerFiles } from './deployment';
export { type ImportEasyRsaOptions, type ImportEasyRsaReport, importEasyRsa } from './easyrsa';
export { isOvpnPkiError, OVPN_PKI_ERROR_CODES, OvpnPkiError, type OvpnPkiErrorCode } from './errors';
export { type IndexEntry, parseIndexTxt, renderIndexTxt } from './index-txt';
export {
  caNameSchema,
  certNameSchema,
  KEY_ALGORITHMS,
  type KeyAlgorithm,
  type PkiSettings,
  type PkiSettingsInput,
  pkiSettingsSchema,
  type SubjectAltNames,
  subjectAltNamesSchema,
} from './model';
export { cidrToNetmask, ipv4CidrSchema } from './net';
export {
  type ClientBundle,
  DATA_CIPHERS,
  normalizeServerConfig,
  renderCcdEntry,
  renderClientBundle,
  renderServerConfig,
  type ServerConfig,
  type ServerConfigInput,
  type SiteSpec,
} from './openvpn-config';
export { type CrlRenewal, type CrlRenewalOptions, startCrlRenewal } from './renewal';
export {
  type CertificateMaterial,
  createPki,
  type IssueOptions,
  type IssueServerOptions,
  type Pki,
  type PkiInitOptions,
  type PkiOptions,
  type PkiReport,
  type RenewOptions,
} from './store';
export {
  generateTlsCryptKey,
  generateTlsCryptV2ClientKey,
  generateTlsCryptV2ServerKey,
  parseStaticKey,
  renderStaticKey,
  wrapTlsCryptV2ClientKey,
} from './tls-crypt';

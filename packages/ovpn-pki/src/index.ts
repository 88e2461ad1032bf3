// @invis/ovpn-pki: in-process PKI and OpenVPN configuration: CA, certificates, CRL, tls-crypt,
// server configs and client bundles.
// Public API: every exported symbol is listed here by name.
export {
  type CertKind,
  type CrlEntry,
  REVOCATION_REASONS,
  type RevocationReason,
  revocationReasonName,
} from './ca';
export type { CryptoKey } from './crypto';
export {
  isOvpnPkiError,
  OVPN_PKI_ERROR_CODES,
  OvpnPkiError,
  type OvpnPkiErrorCode,
  type OvpnPkiErrorData,
} from './errors';
export { createNodeFs, type PkiFs } from './fs';
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
export {
  type CertificateInfo,
  type CertificateMaterial,
  type CrlInfo,
  createPki,
  type ExpiryState,
  type IssueOptions,
  type IssueServerOptions,
  type Pki,
  type PkiInitOptions,
  type PkiOptions,
  type RenewOptions,
} from './store';

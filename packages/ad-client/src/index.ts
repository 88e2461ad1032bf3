// @invis/ad-client: Active Directory over LDAP for invis: users, groups, computers, policy, authentication and the invis directory objects.
// Public API: every exported symbol is listed here by name.
export { type AdClient, type AdClientOptions, createAdClient } from './client';
export type { AdTlsOptions, LdapClientFactory } from './connection';
export {
  childDn,
  type DnAttribute,
  dnEquals,
  escapeDnValue,
  formatDn,
  isDnWithin,
  isValidAttributeType,
  normalizeDn,
  parentDn,
  parseDn,
  type Rdn,
  rdnValue,
} from './dn';
export { AdEntry, BINARY_ATTRIBUTES, normalizeEntry } from './entry';
export {
  AD_BIND_SUBCODES,
  AD_ERROR_CODES,
  AdError,
  type AdErrorCode,
  type AdErrorData,
  adSubCode,
  isAdError,
  LDAP_RESULT_CODES,
  ldapResultName,
  toAdError,
} from './errors';
export {
  escapeFilterValue,
  type FilterValue,
  f,
  LdapFilter,
  ldapFilter,
  MATCHING_RULES,
  parseFilter,
} from './filter';
export {
  type AdAttributes,
  type AdChange,
  type AdValue,
  type DeleteOptions,
  Directory,
  type RenameOptions,
  replaceChanges,
  type SearchOptions,
  type SearchScope,
} from './ldap';
export {
  dateToFileTime,
  decodeGuid,
  decodeSid,
  encodeGuid,
  encodeSid,
  encodeUnicodePwd,
  FILETIME_NEVER,
  fileTimeToDate,
  formatGeneralizedTime,
  GROUP_TYPE,
  intervalToMs,
  msToInterval,
  parseGeneralizedTime,
  ridOf,
  UAC,
  uacFlags,
  uacValue,
} from './values';

// @invis/ad-client: Active Directory over LDAP for invis: users, groups, computers, policy, authentication and the invis directory objects.
// Public API: every exported symbol is listed here by name.

export { type AuthResult, authenticate } from './auth';
export { type AdClient, type AdClientOptions, createAdClient } from './client';
export {
  type AdComputer,
  type AdOu,
  type ComputersApi,
  checkHostName,
  createComputersApi,
  createOusApi,
  type OusApi,
} from './computers';
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
export {
  allocatePosixId,
  DEFAULT_POSIX_IDS,
  type DomainInfo,
  type PosixIdScheme,
  posixIdFor,
  readDomainInfo,
  readRid,
} from './domain';
export { AdEntry, BINARY_ATTRIBUTES, normalizeEntry } from './entry';
export {
  AD_BIND_SUBCODES,
  AD_ERROR_CODES,
  AdError,
  type AdErrorCode,
  type AdErrorOptions,
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
  type AdGroup,
  type CreateGroupInput,
  createGroupsApi,
  type GroupKind,
  type GroupScope,
  type GroupsApi,
  groupTypeValue,
  INVIS_SYSTEM_GROUPS,
} from './groups';
export {
  createInvisApi,
  DHCP_GROUP,
  DHCP_HOST,
  DHCP_POOL,
  DHCP_SERVER,
  DHCP_SERVICE,
  DHCP_SHARED_NETWORK,
  DHCP_SUBNET,
  type DhcpCommon,
  type DhcpHost,
  type DhcpPool,
  type DhcpServer,
  type DhcpService,
  type DhcpSubnet,
  FETCHMAIL_ACCOUNT,
  type FetchMailAccount,
  type InvisApi,
  type InvisDirectoryLayout,
  type InvisInstallResult,
  invisDirectoryLayout,
  LOCAL_MAIL_RECIPIENT,
  type LocalMailRecipient,
  MAIL_PROVIDER,
  type MailProviderEntry,
  PORTAL_ENTRY,
  type PortalEntry,
} from './invis';
export {
  type AdAttributes,
  type AdChange,
  type AdValue,
  type DeleteOptions,
  type LdapOperations,
  type RenameOptions,
  replaceChanges,
  type SearchOptions,
  type SearchScope,
} from './ldap';
export {
  attributesOf,
  createObjectStore,
  defineObjectType,
  type FieldDef,
  type FieldKind,
  fromEntry,
  type ObjectStore,
  type ObjectType,
  type Stored,
  toAttributes,
} from './objects';
export { type PasswordPolicy, readPasswordPolicy, updatePasswordPolicy } from './policy';
export {
  INVIS_SCHEMA,
  installInvisSchema,
  type SchemaInstallOptions,
  type SchemaInstallResult,
} from './schema';
export type { SchemaAttributeDef, SchemaClassDef, SchemaSet } from './schema-data';
export {
  ACCOUNT_TYPES,
  type AccountType,
  type AdUser,
  accountTypeOf,
  type CnNaming,
  type CreateUserInput,
  createUsersApi,
  invisUserTypeOf,
  type ListUsersOptions,
  type PasswordExpiry,
  passwordExpiryOf,
  USER_ATTRIBUTES,
  type UserProfile,
  type UsersApi,
} from './users';
export { checkSamAccountName, checkText } from './validate';
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
  type UacFlag,
  uacFlags,
  uacValue,
} from './values';
export { installWireDecoder } from './wire-entry';

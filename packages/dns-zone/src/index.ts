// @invis/dns-zone: DNS zones and records: master files, AD dnsRecord codec, RFC 2136 updates with TSIG, DDNS.
// Public API: every exported symbol is listed here by name.
export { type AdBackendOptions, type AdDnsClient, createAdBackend } from './ad-backend';
export {
  AD_RANK_ZONE,
  type AdDnsRecordValue,
  type AdRecordMeta,
  decodeAdDnsRecord,
  encodeAdDnsRecord,
} from './ad-record';
export { type BackendCore, createBackend, type DnsBackend, type PtrOptions } from './backend';
export { type CodeTable, DNS_CLASSES, OPCODES, RCODES, RECORD_TYPES, type RecordType, RR_TYPES } from './constants';
export {
  createDdnsUpdater,
  type DdnsResult,
  type DdnsState,
  type DdnsStateStore,
  type DdnsStatus,
  type DdnsUpdater,
  type DdnsUpdaterOptions,
  type FetchLike,
  fileStateStore,
  formatDdnsResult,
  type HttpEchoSourceOptions,
  httpEchoSource,
  type IpFamily,
  interfaceSource,
  type PublicIpSource,
  runDdnsCheck,
  upnpRouterSource,
} from './ddns';
export { DnsZoneError, type DnsZoneErrorCode, isDnsZoneError } from './errors';
export { parseTsigKeyFile, renderTsigKeyFile } from './key-file';
export { type ParseZoneOptions, parseZone, quoteString, renderZone } from './master';
export {
  type AaaaRecord,
  type ARecord,
  assertCnameRules,
  type CaaRecord,
  DEFAULT_TTL,
  type DnsRecord,
  type DnsRecordInput,
  type DnsZone,
  type MxRecord,
  type NameRecord,
  normalizeRecord,
  type RecordBase,
  recordKey,
  type SoaRecord,
  type SrvRecord,
  type TxtRecord,
  validateZone,
} from './model';
export { canonicalAddress, isInZone, normalizeName, relativeName, toAsciiName } from './names';
export { ptrName, reverseZonesForCidr } from './reverse';
export { createRfc2136Backend, type Rfc2136BackendOptions } from './rfc2136-backend';
export {
  type DnsServerAddress,
  type DnsTcpSession,
  type DnsTransport,
  openTcpSession,
  sendTcp,
  udpWithTcpFallback,
} from './transport';
export {
  type SignedMessage,
  signMessage,
  TSIG_FUDGE,
  type TsigKey,
  type TsigVerification,
  verifyMessage,
} from './tsig';
export {
  createDnsUpdateClient,
  type DnsUpdateClient,
  type DnsUpdateClientOptions,
  type QueryResult,
  type UpdateBatchOptions,
  type UpdateBatchResult,
  type UpdateRequest,
} from './update-client';
export {
  type DecodedMessage,
  decodeMessage,
  encodeQuery,
  encodeUpdate,
  type Prerequisite,
  type UpdateMessage,
  type UpdateOperation,
} from './wire';
export {
  createZoneFileBackend,
  nextSerial,
  type ZoneFileBackendOptions,
} from './zonefile-backend';

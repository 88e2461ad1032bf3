// @invis/dhcp-config: DHCPv4 subnets, pools and reservations rendered for Kea and ISC dhcpd; lease files read back.
// Public API: every exported symbol is listed here by name.
export {
  type Ipv4Subnet,
  ipv4ToNumber,
  netmaskToPrefix,
  normalizeMac,
  numberToIpv4,
  parseIpv4Subnet,
  prefixToNetmask,
} from './address';
export {
  type ApplierCommon,
  createDhcpdApplier,
  createKeaApplier,
  type DhcpApplier,
  type DhcpdApplierOptions,
  type KeaApplierOptions,
} from './apply';
export { findConflicts, validateDhcpConfig } from './conflicts';
export { type DhcpdParseResult, type DhcpdSettings, parseDhcpdConf, renderDhcpdConf } from './dhcpd';
export {
  createDhcpDirectory,
  type DhcpDirectory,
  type DhcpDirectoryAd,
  type DhcpDirectoryOptions,
  type DhcpDirectoryReadResult,
  type DhcpReadOptions,
  type ReservationMatch,
} from './directory';
export {
  DhcpConfigError,
  type DhcpConfigErrorJson,
  type DhcpErrorCode,
  type DhcpIssue,
  isDhcpConfigError,
} from './errors';
export {
  type KeaConfigObject,
  type KeaParseResult,
  type KeaSettings,
  keaConfigObject,
  keaDdnsPlan,
  parseKeaConfig,
  renderKeaConfig,
} from './kea';
export { createKeaControl, type KeaControl, type KeaControlOptions, type KeaResponse } from './kea-control';
export {
  type Lease,
  type LeaseParseOptions,
  type LeaseState,
  parseDhcpdLeases,
  parseKeaLeases,
  type ReservationFromLeaseOptions,
  reservationFromLease,
} from './leases';
export {
  type DdnsSettings,
  type DdnsZone,
  type DhcpConfig,
  type DhcpConfigInput,
  type DhcpOptions,
  type DhcpTsigKey,
  ddnsUsable,
  normalizeDhcpConfig,
  type Pool,
  type Reservation,
  type ReservationInput,
  type Subnet,
  type SubnetInput,
} from './model';
export { dhcpOptionCode, dhcpOptionName } from './options';
export {
  DEVICE_TYPES,
  type DevicePolicy,
  type DeviceType,
  deviceTypeOf,
  invisDevicePolicy,
  type NextFreeOptions,
  nextFreeAddress,
  type OffsetRange,
  policyPool,
} from './policy';

import { defineErrorGuard, InvisError } from '@invis/host';

/** Stable error codes of `@invis/dns-zone`; every code is listed in the README. */
export type DnsZoneErrorCode =
  | 'DNS_INVALID_NAME'
  | 'DNS_NON_ASCII_NAME'
  | 'DNS_INVALID_RECORD'
  | 'DNS_INVALID_ZONE'
  | 'DNS_CNAME_CONFLICT'
  | 'DNS_TARGET_IS_CNAME'
  | 'DNS_OUT_OF_ZONE'
  | 'DNS_PARSE_ERROR'
  | 'DNS_AD_RECORD_INVALID'
  | 'DNS_WIRE_INVALID'
  | 'DNS_TSIG_INVALID'
  | 'DNS_TSIG_BADKEY'
  | 'DNS_TSIG_BADSIG'
  | 'DNS_TSIG_BADTIME'
  | 'DNS_TSIG_UNSIGNED'
  | 'DNS_UPDATE_REFUSED'
  | 'DNS_UPDATE_FAILED'
  | 'DNS_PREREQUISITE_FAILED'
  | 'DNS_TIMEOUT'
  | 'DNS_NETWORK'
  | 'DNS_ZONE_NOT_FOUND'
  | 'DNS_UNSUPPORTED'
  | 'DNS_CHECK_FAILED'
  | 'DNS_IO'
  | 'DNS_AD_FAILED'
  | 'DNS_IP_LOOKUP_FAILED'
  | 'DNS_INVALID_SOURCE';

/**
 * The one error class of `@invis/dns-zone`, on the host's error base. `code` is stable;
 * `details` hold safe data (line numbers, names, rcodes; never secrets); `cause` keeps the
 * original (socket, LDAP, host error); `toJSON()` is `{ code, message, details?, cause? }`.
 *
 * @example
 * try { parseZone(text, { origin: 'invis.test' }) } catch (e) {
 *   if (isDnsZoneError(e) && e.code === 'DNS_PARSE_ERROR') console.log(e.details.line);
 * }
 */
export class DnsZoneError extends InvisError<DnsZoneErrorCode> {
  static override readonly scope: string = '@invis/dns-zone';
}

/** Whether `value` is a {@link DnsZoneError} (brand check: works across two installed copies). */
export const isDnsZoneError: (value: unknown) => value is DnsZoneError =
  defineErrorGuard<DnsZoneError>('@invis/dns-zone');

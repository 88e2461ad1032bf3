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

/** Safe, JSON-serialisable details attached to an error (never secrets). */
export type DnsZoneErrorData = Record<string, string | number | boolean | undefined>;

/**
 * The one error class of `@invis/dns-zone`. `code` is stable; `cause` keeps the original
 * (socket, execa, LDAP error); `toJSON()` returns only code, message and safe data.
 *
 * @example
 * try { parseZone(text, { origin: 'invis.test' }) } catch (e) {
 *   if (e instanceof DnsZoneError && e.code === 'DNS_PARSE_ERROR') console.log(e.data.line);
 * }
 */
export class DnsZoneError extends Error {
  override readonly name = 'DnsZoneError';
  /** Stable SCREAMING_SNAKE code. */
  readonly code: DnsZoneErrorCode;
  /** Safe details (line numbers, names, rcodes). */
  readonly data: DnsZoneErrorData;

  /**
   * @param code stable error code
   * @param message human-readable message (no secrets)
   * @param options `cause` (original error) and safe `data`
   */
  constructor(code: DnsZoneErrorCode, message: string, options: { cause?: unknown; data?: DnsZoneErrorData } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.data = options.data ?? {};
  }

  /** `{ code, message, ...data }` — what the portal may send to clients. */
  toJSON(): { code: DnsZoneErrorCode; message: string } & DnsZoneErrorData {
    return { ...this.data, code: this.code, message: this.message };
  }
}

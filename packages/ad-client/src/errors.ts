// AdError: the one error type of @invis/ad-client, on the invis error base of @invis/host.
// Every failure (LDAP result codes, Samba's extended `data xxx` sub-codes, socket/TLS problems,
// our own input validation) becomes an AdError with a stable SCREAMING_SNAKE `code`; the original
// error stays in `cause`.
import { defineErrorGuard, type ErrorDetails, InvisError } from '@invis/host';
import { ResultCodeError } from 'ldapts';

/** Every stable error code of @invis/ad-client (listed with meanings in the README). */
export const AD_ERROR_CODES = [
  'AD_INVALID_CREDENTIALS',
  'AD_ACCOUNT_DISABLED',
  'AD_ACCOUNT_LOCKED',
  'AD_ACCOUNT_EXPIRED',
  'AD_PASSWORD_EXPIRED',
  'AD_PASSWORD_MUST_CHANGE',
  'AD_LOGON_RESTRICTED',
  'AD_PASSWORD_POLICY',
  'AD_ENTRY_EXISTS',
  'AD_VALUE_EXISTS',
  'AD_NO_SUCH_OBJECT',
  'AD_NO_SUCH_ATTRIBUTE',
  'AD_INSUFFICIENT_RIGHTS',
  'AD_CONSTRAINT_VIOLATION',
  'AD_SCHEMA_VIOLATION',
  'AD_INVALID_DN',
  'AD_INVALID_FILTER',
  'AD_INVALID_INPUT',
  'AD_NOT_LEAF',
  'AD_UNWILLING',
  'AD_SCHEMA_UPDATE_DISABLED',
  'AD_PROTECTED',
  'AD_AMBIGUOUS',
  'AD_ID_ALLOCATION',
  'AD_SIZE_LIMIT',
  'AD_TLS_REQUIRED',
  'AD_TLS',
  'AD_CONNECTION',
  'AD_TIMEOUT',
  'AD_CLOSED',
  'AD_CONFIG',
  'AD_UNKNOWN',
] as const;

export type AdErrorCode = (typeof AD_ERROR_CODES)[number];

/** Options of an {@link AdError}. */
export interface AdErrorOptions {
  /** The original ldapts / socket error; kept for logs, never serialised. */
  cause?: unknown;
  /** Safe facts (never passwords): `operation`, `target`, `ldapCode`, `field`, … */
  details?: ErrorDetails;
  /** Samba/Windows extended code from `data xxx` / `0000052D`, lower case. */
  adSubCode?: string;
}

/**
 * The error type of @invis/ad-client.
 *
 * - `code`: stable string (see {@link AD_ERROR_CODES}); switch on it, not on the message.
 * - `message`: says what happened and what to do about it.
 * - `details`: safe facts; `details.ldapCode` is the LDAP result code when the server answered
 *   (e.g. 49, 19, 68), `details.operation` / `details.target` what was being done to what.
 * - `adSubCode`: Samba/Windows extended code from `data xxx` / `0000052D` (e.g. `52e`), lower case.
 *   Not part of `toJSON()`: Windows DCs tell an unknown user (`525`) from a wrong password (`52e`) by it.
 * - `cause`: the original ldapts / socket error (never serialised).
 *
 * @example
 * try { await ad.users.create({...}) } catch (e) {
 *   if (isAdError(e, 'AD_PASSWORD_POLICY')) showHint(e.message);
 * }
 */
export class AdError extends InvisError<AdErrorCode> {
  static override readonly scope: string = '@invis/ad-client';
  /** Samba/Windows extended code (`52e`, `775`, `52d`), when the DC sent one. */
  readonly adSubCode: string | undefined;

  constructor(code: AdErrorCode, message: string, options: AdErrorOptions = {}) {
    super(code, message, {
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      ...(options.details === undefined ? {} : { details: options.details }),
    });
    this.adSubCode = options.adSubCode;
  }
}

const isAnyAdError = defineErrorGuard<AdError>('@invis/ad-client');

/**
 * Whether `e` is an {@link AdError} (brand check, so it holds across two installed copies),
 * optionally with one of the given codes.
 * @param e anything caught
 * @param codes when given, `e.code` must be one of them
 * @returns true for an AdError with a matching code
 * @example if (isAdError(e, 'AD_NO_SUCH_OBJECT')) return undefined;
 */
export function isAdError(e: unknown, ...codes: AdErrorCode[]): e is AdError {
  return isAnyAdError(e) && (codes.length === 0 || codes.includes(e.code));
}

/** LDAP result codes we name (RFC 4511 §4.1.9), name ↔ number. */
export const LDAP_RESULT_CODES: Readonly<Record<string, number>> = Object.freeze({
  success: 0,
  operationsError: 1,
  protocolError: 2,
  timeLimitExceeded: 3,
  sizeLimitExceeded: 4,
  compareFalse: 5,
  compareTrue: 6,
  authMethodNotSupported: 7,
  strongerAuthRequired: 8,
  referral: 10,
  adminLimitExceeded: 11,
  unavailableCriticalExtension: 12,
  confidentialityRequired: 13,
  saslBindInProgress: 14,
  noSuchAttribute: 16,
  undefinedAttributeType: 17,
  inappropriateMatching: 18,
  constraintViolation: 19,
  attributeOrValueExists: 20,
  invalidAttributeSyntax: 21,
  noSuchObject: 32,
  aliasProblem: 33,
  invalidDNSyntax: 34,
  aliasDereferencingProblem: 36,
  inappropriateAuthentication: 48,
  invalidCredentials: 49,
  insufficientAccessRights: 50,
  busy: 51,
  unavailable: 52,
  unwillingToPerform: 53,
  loopDetect: 54,
  namingViolation: 64,
  objectClassViolation: 65,
  notAllowedOnNonLeaf: 66,
  notAllowedOnRDN: 67,
  entryAlreadyExists: 68,
  objectClassModsProhibited: 69,
  affectsMultipleDSAs: 71,
  other: 80,
});

/** Name of an LDAP result code (`49` → `invalidCredentials`), or undefined. */
export function ldapResultName(code: number): string | undefined {
  return Object.entries(LDAP_RESULT_CODES).find(([, n]) => n === code)?.[0];
}

/**
 * Samba/Windows bind sub-codes (the hex after `data` in the diagnostic message of result 49).
 * name ↔ code table; `AD_BIND_SUBCODES['52e']` → `AD_INVALID_CREDENTIALS`.
 */
export const AD_BIND_SUBCODES: Readonly<Record<string, AdErrorCode>> = Object.freeze({
  '525': 'AD_INVALID_CREDENTIALS', // user not found (reported like a wrong password on purpose)
  '52e': 'AD_INVALID_CREDENTIALS', // wrong password
  '530': 'AD_LOGON_RESTRICTED', // not permitted to log on at this time
  '531': 'AD_LOGON_RESTRICTED', // not permitted to log on at this workstation
  '532': 'AD_PASSWORD_EXPIRED',
  '533': 'AD_ACCOUNT_DISABLED',
  '701': 'AD_ACCOUNT_EXPIRED',
  '773': 'AD_PASSWORD_MUST_CHANGE', // pwdLastSet = 0
  '775': 'AD_ACCOUNT_LOCKED',
});

const BIND_MESSAGES: Record<string, string> = {
  AD_INVALID_CREDENTIALS: 'Wrong user name or password.',
  AD_ACCOUNT_DISABLED: 'The account is disabled; an administrator must enable it.',
  AD_ACCOUNT_LOCKED:
    'The account is locked after too many failed logons; wait for the lockout to expire or ask an administrator to unlock it.',
  AD_ACCOUNT_EXPIRED: 'The account has expired; an administrator must extend it (accountExpires).',
  AD_PASSWORD_EXPIRED: 'The password has expired; it must be changed (an administrator can reset it).',
  AD_PASSWORD_MUST_CHANGE: 'The password must be changed before the first logon; an administrator can reset it.',
  AD_LOGON_RESTRICTED: 'Logon is not permitted at this time or from this workstation.',
};

const CONNECTION_ERRNOS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
  'ECONNABORTED',
]);

const TLS_ERRNOS = new Set([
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

/** Extracts Samba's `data 52e` (bind) or leading `0000052D` (WERROR) from a diagnostic message. */
export function adSubCode(message: string): string | undefined {
  const data = /\bdata ([0-9a-f]{1,4})\b/i.exec(message);
  if (data?.[1]) return data[1].toLowerCase();
  const werr = /^\s*([0-9A-F]{8}):/i.exec(message);
  if (werr?.[1]) return werr[1].replace(/^0+/, '').toLowerCase() || '0';
  return undefined;
}

/** True for errors that mean "the connection is gone" (a retry on a new connection may work). */
export function isConnectionLoss(e: unknown): boolean {
  if (isAdError(e)) return e.code === 'AD_CONNECTION';
  const err = e as { code?: unknown; message?: unknown } | null;
  if (!err || typeof err !== 'object') return false;
  if (typeof err.code === 'string' && CONNECTION_ERRNOS.has(err.code)) return true;
  const msg = typeof err.message === 'string' ? err.message : '';
  return /Connection closed|Socket connection not established|Socket error|socket hang up|ECONNRESET|EPIPE/i.test(msg);
}

export interface ErrorContext {
  /** e.g. "add", "bind", "search"; used in messages. */
  operation: string;
  /** DN or name the operation was about (safe to show). */
  target?: string;
}

/**
 * Maps any error from ldapts / the socket layer to an AdError. AdErrors pass through unchanged.
 * The LDAP result code goes to `details.ldapCode`, Samba's sub-code to `adSubCode`.
 * @param e the original error
 * @param ctx operation and target for the message
 * @returns an AdError with `cause` = `e`
 */
export function toAdError(e: unknown, ctx: ErrorContext): AdError {
  if (isAdError(e)) return e;
  const on = ctx.target ? ` (${ctx.operation} ${ctx.target})` : ` (${ctx.operation})`;
  const details: ErrorDetails = { operation: ctx.operation, ...(ctx.target ? { target: ctx.target } : {}) };
  if (e instanceof ResultCodeError) {
    const ldapCode = e.code;
    const diag = e.message ?? '';
    const sub = adSubCode(diag);
    const opts = { cause: e, details: { ...details, ldapCode }, ...(sub ? { adSubCode: sub } : {}) };
    switch (ldapCode) {
      case 49: {
        const code = (sub && AD_BIND_SUBCODES[sub]) || 'AD_INVALID_CREDENTIALS';
        return new AdError(code, (BIND_MESSAGES[code] ?? 'Logon failed.') + on, opts);
      }
      case 19:
        if (sub === '56' || /old password specified doesn't match/i.test(diag))
          return new AdError('AD_INVALID_CREDENTIALS', `The current password is wrong${on}.`, opts);
        if (sub === '52d' || /password/i.test(diag))
          return new AdError(
            'AD_PASSWORD_POLICY',
            `The password does not meet the domain password policy (length, complexity, history or minimum age)${on}. Choose a longer, more complex password that was not used before. Server said: ${diag}`,
            opts,
          );
        return new AdError('AD_CONSTRAINT_VIOLATION', `A value violates a directory constraint${on}: ${diag}`, opts);
      case 68:
        return new AdError(
          'AD_ENTRY_EXISTS',
          `An object with this name already exists${on}; pick another name or update the existing one.`,
          opts,
        );
      case 20:
        return new AdError('AD_VALUE_EXISTS', `The value is already present${on}.`, opts);
      case 32:
        return new AdError(
          'AD_NO_SUCH_OBJECT',
          `The object does not exist${on}; it may have been deleted or renamed.`,
          opts,
        );
      case 16:
        if (/not found in the schema/i.test(diag))
          return new AdError(
            'AD_SCHEMA_VIOLATION',
            `Unknown attribute${on} (is the invis schema installed?): ${diag}`,
            opts,
          );
        return new AdError('AD_NO_SUCH_ATTRIBUTE', `The attribute or value to remove is not present${on}.`, opts);
      case 50:
        return new AdError(
          'AD_INSUFFICIENT_RIGHTS',
          `The bound account may not do this${on}; bind as a domain administrator or grant the right.`,
          opts,
        );
      case 34:
        return new AdError('AD_INVALID_DN', `The distinguished name is not valid${on}: ${diag}`, opts);
      case 17:
      case 65:
      case 64:
      case 67:
      case 69:
        return new AdError(
          'AD_SCHEMA_VIOLATION',
          `The object does not fit the directory schema${on} (missing/unknown attribute or class; is the invis schema installed?): ${diag}`,
          opts,
        );
      case 21:
        return new AdError('AD_INVALID_INPUT', `A value has the wrong syntax for its attribute${on}: ${diag}`, opts);
      case 66:
        return new AdError(
          'AD_NOT_LEAF',
          `The object still has children${on}; delete or move them first (or delete recursively).`,
          opts,
        );
      case 8:
      case 13:
        return new AdError(
          'AD_TLS_REQUIRED',
          `The server requires an encrypted connection${on}; use ldaps:// or StartTLS.`,
          opts,
        );
      case 3:
        return new AdError('AD_TIMEOUT', `The server's time limit was exceeded${on}.`, opts);
      case 4:
      case 11:
        return new AdError(
          'AD_SIZE_LIMIT',
          `Too many results${on}; narrow the filter or use paging (the default).`,
          opts,
        );
      case 51:
      case 52:
        return new AdError('AD_CONNECTION', `The directory server is busy or unavailable${on}; retry shortly.`, opts);
      case 53:
        if (sub === '2035' || /schema_data_add|schema.*update/i.test(diag))
          return new AdError(
            'AD_SCHEMA_UPDATE_DISABLED',
            `The DC refuses schema changes${on}; start Samba with "dsdb:schema update allowed = true" for the schema install.`,
            opts,
          );
        if (sub === '52d' || /password/i.test(diag))
          return new AdError(
            'AD_PASSWORD_POLICY',
            `The password change was refused by the domain password policy${on}. Server said: ${diag}`,
            opts,
          );
        return new AdError('AD_UNWILLING', `The server refused the operation${on}: ${diag}`, opts);
      default:
        return new AdError('AD_UNKNOWN', `LDAP error ${ldapCode}${on}: ${diag}`, opts);
    }
  }
  const err = e as { code?: unknown; message?: unknown } | null;
  const errno = err && typeof err.code === 'string' ? err.code : undefined;
  const msg = err && typeof err.message === 'string' ? err.message : String(e);
  if (errno && TLS_ERRNOS.has(errno))
    return new AdError(
      'AD_TLS',
      `TLS verification with the directory server failed${on}: ${msg}. Pass the CA that signed the DC's certificate (option "ca") and connect by a name/address in its SAN.`,
      { cause: e, details },
    );
  if (/timed? ?out/i.test(msg) || errno === 'ETIMEDOUT')
    return new AdError(
      'AD_TIMEOUT',
      `The directory server did not answer in time${on}; check that it is running and reachable.`,
      { cause: e, details },
    );
  if (isConnectionLoss(e))
    return new AdError(
      'AD_CONNECTION',
      `Cannot reach the directory server${on}: ${msg}. Check that the DC is running and the URL is right.`,
      { cause: e, details },
    );
  return new AdError('AD_UNKNOWN', `Unexpected error${on}: ${msg}`, { cause: e, details });
}

// OvpnPkiError: the one error type of @invis/ovpn-pki. Validation, crypto, file and OpenVPN
// failures all become an OvpnPkiError with a stable `code`; the original error stays in `cause`.

/** Every stable error code of @invis/ovpn-pki (listed with meanings in the README). */
export const OVPN_PKI_ERROR_CODES = [
  'PKI_INVALID_INPUT',
  'PKI_NOT_INITIALIZED',
  'PKI_ALREADY_INITIALIZED',
  'PKI_NAME_EXISTS',
  'PKI_NOT_FOUND',
  'PKI_ALREADY_REVOKED',
  'PKI_PASSPHRASE_REQUIRED',
  'PKI_BAD_PASSPHRASE',
  'PKI_PARSE_FAILED',
  'PKI_KEY_MISMATCH',
  'PKI_CRYPTO_FAILED',
  'PKI_IMPORT_FAILED',
  'PKI_LOCKED',
  'PKI_ROLLOVER_IN_PROGRESS',
  'PKI_ROLLOVER_PENDING',
  'OVPN_COMMAND_FAILED',
  'OVPN_CONFIG_INVALID',
  'OVPN_RELOAD_FAILED',
] as const;

/** One of {@link OVPN_PKI_ERROR_CODES}. */
export type OvpnPkiErrorCode = (typeof OVPN_PKI_ERROR_CODES)[number];

/** Safe, serialisable facts about an error (never keys, passphrases or stacks). */
export type OvpnPkiErrorData = Record<string, string | number | boolean | null | undefined>;

/**
 * The error type of @invis/ovpn-pki.
 *
 * - `code`: stable string (see {@link OVPN_PKI_ERROR_CODES}); switch on it, not on the message.
 * - `data`: safe facts (certificate name, serial, file path, exit code).
 * - `cause`: the original error (zod, WebCrypto, execa, fs).
 *
 * @example
 * try { await pki.issueClient({ name: 'a/b' }) } catch (e) {
 *   if (isOvpnPkiError(e, 'PKI_INVALID_INPUT')) console.log(e.toJSON());
 * }
 */
export class OvpnPkiError extends Error {
  override readonly name = 'OvpnPkiError';
  readonly code: OvpnPkiErrorCode;
  readonly data: OvpnPkiErrorData;

  constructor(code: OvpnPkiErrorCode, message: string, options: { cause?: unknown; data?: OvpnPkiErrorData } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.data = options.data ?? {};
  }

  /** What may be shown to a client: code, message and safe data; never the stack or the cause. */
  toJSON(): { name: 'OvpnPkiError'; code: OvpnPkiErrorCode; message: string; data: OvpnPkiErrorData } {
    return { name: 'OvpnPkiError', code: this.code, message: this.message, data: this.data };
  }
}

/**
 * True when `e` is an OvpnPkiError (optionally with one of the given codes).
 * @param e anything caught
 * @param codes accepted codes; none = any code
 * @returns whether `e` is such an error
 */
export function isOvpnPkiError(e: unknown, ...codes: OvpnPkiErrorCode[]): e is OvpnPkiError {
  return e instanceof OvpnPkiError && (codes.length === 0 || codes.includes(e.code));
}

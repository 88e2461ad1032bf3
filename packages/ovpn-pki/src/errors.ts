// OvpnPkiError: the one error type of @invis/ovpn-pki, on the invis error base. Validation,
// crypto, file and OpenVPN failures all become an OvpnPkiError with a stable `code`; the
// original error stays in `cause`.
import { defineErrorGuard, InvisError } from '@invis/host';

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

/**
 * The error type of @invis/ovpn-pki.
 *
 * - `code`: stable string (see {@link OVPN_PKI_ERROR_CODES}); switch on it, not on the message.
 * - `details`: safe facts (certificate name, serial, file path, exit code); never keys or passphrases.
 * - `cause`: the original error (zod, WebCrypto, a host error for a program that could not run, fs).
 * - `toJSON()`: `{ code, message, details?, cause? }` (`cause` only when it is an invis error).
 *
 * @example
 * try { await pki.issueClient({ name: 'a/b' }) } catch (e) {
 *   if (isOvpnPkiError(e) && e.code === 'PKI_INVALID_INPUT') console.log(e.toJSON());
 * }
 */
export class OvpnPkiError extends InvisError<OvpnPkiErrorCode> {
  static override readonly scope: string = '@invis/ovpn-pki';
}

/** Whether `value` is an {@link OvpnPkiError} (brand check, works across two installed copies). */
export const isOvpnPkiError: (value: unknown) => value is OvpnPkiError =
  defineErrorGuard<OvpnPkiError>('@invis/ovpn-pki');

// FirewalldError: the one error type of @invis/firewalld. firewalld's own error names (from
// firewall/errors.py, also its exit codes) become `FW_<NAME>`; our model checks add a few more.
import { defineErrorGuard, type ErrorDetails, InvisError } from '@invis/host';

/**
 * firewalld's error names and the exit codes `firewall-cmd` / `firewall-offline-cmd` return for
 * them (firewall/errors.py, firewalld 1.3). Both directions via {@link firewalldErrorName} and
 * {@link firewalldExitCode}.
 */
export const FIREWALLD_EXIT_CODES = {
  ALREADY_ENABLED: 11,
  NOT_ENABLED: 12,
  COMMAND_FAILED: 13,
  PANIC_MODE: 15,
  ZONE_ALREADY_SET: 16,
  UNKNOWN_INTERFACE: 17,
  ZONE_CONFLICT: 18,
  BUILTIN_CHAIN: 19,
  EBTABLES_NO_REJECT: 20,
  NOT_OVERLOADABLE: 21,
  NO_DEFAULTS: 22,
  BUILTIN_ZONE: 23,
  BUILTIN_SERVICE: 24,
  BUILTIN_ICMPTYPE: 25,
  NAME_CONFLICT: 26,
  NAME_MISMATCH: 27,
  PARSE_ERROR: 28,
  ACCESS_DENIED: 29,
  UNKNOWN_SOURCE: 30,
  RT_TO_PERM_FAILED: 31,
  IPSET_WITH_TIMEOUT: 32,
  BUILTIN_IPSET: 33,
  ALREADY_SET: 34,
  MISSING_IMPORT: 35,
  DBUS_ERROR: 36,
  BUILTIN_HELPER: 37,
  NOT_APPLIED: 38,
  INVALID_ACTION: 100,
  INVALID_SERVICE: 101,
  INVALID_PORT: 102,
  INVALID_PROTOCOL: 103,
  INVALID_INTERFACE: 104,
  INVALID_ADDR: 105,
  INVALID_FORWARD: 106,
  INVALID_ICMPTYPE: 107,
  INVALID_TABLE: 108,
  INVALID_CHAIN: 109,
  INVALID_TARGET: 110,
  INVALID_IPV: 111,
  INVALID_ZONE: 112,
  INVALID_PROPERTY: 113,
  INVALID_VALUE: 114,
  INVALID_OBJECT: 115,
  INVALID_NAME: 116,
  INVALID_FILENAME: 117,
  INVALID_DIRECTORY: 118,
  INVALID_TYPE: 119,
  INVALID_SETTING: 120,
  INVALID_DESTINATION: 121,
  INVALID_RULE: 122,
  INVALID_LIMIT: 123,
  INVALID_FAMILY: 124,
  INVALID_LOG_LEVEL: 125,
  INVALID_AUDIT_TYPE: 126,
  INVALID_MARK: 127,
  INVALID_CONTEXT: 128,
  INVALID_COMMAND: 129,
  INVALID_USER: 130,
  INVALID_UID: 131,
  INVALID_MODULE: 132,
  INVALID_PASSTHROUGH: 133,
  INVALID_MAC: 134,
  INVALID_IPSET: 135,
  INVALID_ENTRY: 136,
  INVALID_OPTION: 137,
  INVALID_HELPER: 138,
  INVALID_PRIORITY: 139,
  INVALID_POLICY: 140,
  INVALID_LOG_PREFIX: 141,
  INVALID_NFLOG_GROUP: 142,
  INVALID_NFLOG_QUEUE: 143,
  MISSING_TABLE: 200,
  MISSING_CHAIN: 201,
  MISSING_PORT: 202,
  MISSING_PROTOCOL: 203,
  MISSING_ADDR: 204,
  MISSING_NAME: 205,
  MISSING_SETTING: 206,
  MISSING_FAMILY: 207,
  RUNNING_BUT_FAILED: 251,
  NOT_RUNNING: 252,
  NOT_AUTHORIZED: 253,
  UNKNOWN_ERROR: 254,
} as const;

/** A firewalld error name such as `INVALID_PORT`. */
export type FirewalldErrorName = keyof typeof FIREWALLD_EXIT_CODES;

const NAME_BY_CODE = new Map<number, FirewalldErrorName>(
  Object.entries(FIREWALLD_EXIT_CODES).map(([name, code]) => [code, name as FirewalldErrorName]),
);

/**
 * firewalld error name for an exit code.
 * @param exitCode exit code of `firewall-cmd` / `firewall-offline-cmd`
 * @returns the name, or `undefined` for codes firewalld does not define (e.g. 0, 1, 2)
 * @example firewalldErrorName(102) // 'INVALID_PORT'
 */
export function firewalldErrorName(exitCode: number): FirewalldErrorName | undefined {
  return NAME_BY_CODE.get(exitCode);
}

/**
 * Exit code firewalld uses for an error name.
 * @param name firewalld error name
 * @returns its exit code
 * @example firewalldExitCode('PARSE_ERROR') // 28
 */
export function firewalldExitCode(name: FirewalldErrorName): number {
  return FIREWALLD_EXIT_CODES[name];
}

/** Codes raised by this library itself (not reported by a firewalld program). */
export const OWN_ERROR_CODES = [
  /** The model failed zod validation (details in `issues`). */
  'FW_INVALID_MODEL',
  /** Two random ports collide with each other, a fixed invis port or a reserved range. */
  'FW_PORT_COLLISION',
  /** A port served with the internal certificate would be reachable from the WAN zone. */
  'FW_INTERNAL_VHOST_EXPOSED',
  /** A zone, service or policy refers to something that does not exist in the model. */
  'FW_UNKNOWN_REFERENCE',
  /** A firewalld program could not run (missing, killed, timed out); `cause` is the host error. */
  'FW_COMMAND_FAILED',
  /** `firewall-cmd --reload` failed; the previous configuration was restored. */
  'FW_RELOAD_FAILED',
  /** The safety probe failed after the reload; the previous configuration was restored. */
  'FW_SAFETY_PROBE_FAILED',
  /** The firewalld daemon is not running (daemon driver). */
  'FW_DAEMON_STATE',
  /** Reading or writing the configuration directory failed. */
  'FW_IO',
] as const;

/** Every stable error code: `FW_<firewalld name>` for checker results, plus {@link OWN_ERROR_CODES}. */
export type FirewalldErrorCode = `FW_${FirewalldErrorName}` | (typeof OWN_ERROR_CODES)[number];

/**
 * The error type of @invis/firewalld, on the invis error base.
 *
 * - `code`: stable string; switch on it, not on the message.
 * - `details`: safe facts (exit code, object name, issues) that `toJSON()` returns.
 * - `cause`: the original error (a host error for a program that could not run, a parser error).
 * @example
 * try { await fw.apply(config) } catch (e) {
 *   if (isFirewalldError(e) && e.code === 'FW_INVALID_SERVICE') console.error(e.message);
 * }
 */
export class FirewalldError extends InvisError<FirewalldErrorCode> {
  static override readonly scope: string = '@invis/firewalld';
}

/** Whether `value` is a {@link FirewalldError} (brand check, works across two installed copies). */
export const isFirewalldError: (value: unknown) => value is FirewalldError =
  defineErrorGuard<FirewalldError>('@invis/firewalld');

/**
 * The error for a firewalld error name reported by a checker or parser.
 * @param name firewalld error name (e.g. from the `INVALID_PORT:` prefix of its message)
 * @param message the message
 * @param details safe extra details
 * @returns a {@link FirewalldError} with code `FW_<name>`
 */
export function firewalldError(name: FirewalldErrorName, message: string, details: ErrorDetails = {}): FirewalldError {
  return new FirewalldError(`FW_${name}`, message, { details: { firewalldError: name, ...details } });
}

/**
 * `FW_INVALID_MODEL` for a failed zod parse (or our own checks), listing every issue.
 * @param what what was being validated, e.g. `firewall model`
 * @param issues zod issues or plain messages
 * @param cause the ZodError, if any
 * @param details extra safe details (e.g. which file)
 * @returns the error (callers throw it)
 */
export function invalidModel(
  what: string,
  issues: readonly (string | { path: readonly PropertyKey[]; message: string })[],
  cause?: unknown,
  details: ErrorDetails = {},
): FirewalldError {
  const lines = issues.map((i) => (typeof i === 'string' ? i : `${i.path.map(String).join('.')}: ${i.message}`));
  return new FirewalldError('FW_INVALID_MODEL', `invalid ${what}: ${lines.join('; ')}`, {
    details: { ...details, issues: lines },
    cause,
  });
}

// The one error class of the setup app. Every code is listed in the README.
import { defineErrorGuard, InvisError, isInvisError } from '@invis/host';

/** Stable error codes of `@invis/setup-1`. */
export type SetupErrorCode =
  | 'SETUP_USAGE'
  | 'SETUP_INVALID_ANSWERS'
  | 'SETUP_NO_ANSWERS'
  | 'SETUP_UNKNOWN_OS'
  | 'SETUP_UNKNOWN_MODULE'
  | 'SETUP_MODULE_CYCLE'
  | 'SETUP_CHECK_FAILED'
  | 'SETUP_PREREQUISITES'
  | 'SETUP_INVALID_SECRET_NAME'
  | 'SETUP_SECRET_MISSING'
  | 'SETUP_STATE_CORRUPT'
  | 'SETUP_NO_FREE_PORT'
  | 'SETUP_BACKUP_FAILED'
  | 'SETUP_RESTORE_FAILED'
  | 'SETUP_PRIVILEGED_REFUSED'
  | 'SETUP_PRIVILEGED_CONFLICT'
  | 'SETUP_PRIVILEGED_NOT_FOUND';

/**
 * Errors of invis-setup: a stable `code`, a message for people, safe `details` (field paths,
 * module ids, exit codes — never a secret).
 * @example throw new SetupError('SETUP_UNKNOWN_MODULE', 'no module "dnss"', { details: { module: 'dnss' } });
 */
export class SetupError extends InvisError<SetupErrorCode> {
  static override readonly scope: string = '@invis/setup-1';
}

/** Whether `value` is a {@link SetupError} (brand check). */
export const isSetupError: (value: unknown) => value is SetupError = defineErrorGuard<SetupError>('@invis/setup-1');

/**
 * The JSON of any error for `--json` output and messages: invis errors as they serialise, anything
 * else reduced to its message (no stacks).
 * @param error anything caught
 * @returns code, message and safe details
 */
export function errorJson(error: unknown): { code: string; message: string; details?: unknown } {
  if (isInvisError(error)) return error.toJSON();
  return { code: 'SETUP_INTERNAL', message: error instanceof Error ? error.message : String(error) };
}

import { defineErrorGuard, InvisError } from '@invis/host';

/** Stable error codes of @invis/mail-rewrite (listed in the README). */
export type MailRewriteErrorCode =
  | 'MAIL_INVALID_CONFIG'
  | 'MAIL_PARSE_ERROR'
  | 'MAIL_SECRET_KEY'
  | 'MAIL_SECRET_DECRYPT'
  | 'MAIL_CHECK_FAILED'
  | 'MAIL_RELOAD_FAILED'
  | 'MAIL_COMMAND_FAILED'
  | 'MAIL_UNSAFE_PATH';

/**
 * The one error class of this package, on the host's error base. `code` is stable, `details`
 * hold safe data only (paths of invalid fields, file names, exit codes — never a password or a
 * file's content), `cause` the original error (zod, node:crypto, the host runner's error) for
 * logs; `toJSON()` is code, message, details and invis causes.
 *
 * @example
 * try { parseMailConfig(input) } catch (e) { if (isMailRewriteError(e)) res.json(e) }
 */
export class MailRewriteError extends InvisError<MailRewriteErrorCode> {
  static override readonly scope: string = '@invis/mail-rewrite';
}

/** Whether `value` is a {@link MailRewriteError} (brand check: works across two installed copies). */
export const isMailRewriteError: (value: unknown) => value is MailRewriteError =
  defineErrorGuard<MailRewriteError>('@invis/mail-rewrite');

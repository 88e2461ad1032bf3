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

/** Data safe to hand to clients: never a password, never a file's content. */
export type MailRewriteErrorData = Record<string, string | number | boolean | readonly string[]>;

/**
 * The one error class of this package. `code` is stable, `cause` holds the original error
 * (zod, execa, node:crypto) for logs, and `toJSON()` returns only code, message and safe data.
 *
 * @example
 * try { parseMailConfig(input) } catch (e) { if (e instanceof MailRewriteError) res.json(e) }
 */
export class MailRewriteError extends Error {
  /** SCREAMING_SNAKE code, e.g. `MAIL_INVALID_CONFIG`. */
  readonly code: MailRewriteErrorCode;
  /** Safe details (paths of invalid fields, file names, exit codes). */
  readonly data: MailRewriteErrorData;

  /**
   * @param code stable error code
   * @param message human-readable, must not contain secrets
   * @param options `cause` (the original error) and safe `data`
   */
  constructor(
    code: MailRewriteErrorCode,
    message: string,
    options: { cause?: unknown; data?: MailRewriteErrorData } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'MailRewriteError';
    this.code = code;
    this.data = options.data ?? {};
  }

  /** `{ code, message, ...data }`: what the portal may send to a browser. */
  toJSON(): { code: MailRewriteErrorCode; message: string } & MailRewriteErrorData {
    return { ...this.data, code: this.code, message: this.message };
  }
}

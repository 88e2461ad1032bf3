import { defineErrorGuard, InvisError, type InvisErrorJson, type InvisErrorOptions } from '@invis/host';

/** Every stable error code of @invis/samba-shares (listed with causes in the README). */
export type SharesErrorCode =
  | 'SHARES_INVALID_SHARE'
  | 'SHARES_PARSE_ERROR'
  | 'SHARES_CHECK_FAILED'
  | 'SHARES_RELOAD_FAILED'
  | 'SHARES_FOLDER_EXISTS'
  | 'SHARES_NO_TEMPLATE';

/** One problem of a share model, listed in full so a portal can show every one at once. */
export interface SharesIssue {
  /** Where in the model, e.g. `shares[2].validUsers[0].name`. */
  path: string;
  message: string;
}

/** The JSON form of a {@link SharesError}: the host's error JSON plus the issues, when there are any. */
export interface SharesErrorJson extends InvisErrorJson {
  issues?: SharesIssue[];
}

/**
 * The one error class of @invis/samba-shares, on the host's error base. `code` is stable;
 * `details` hold safe data (line numbers, exit codes); `issues` lists every problem of a model
 * (`SHARES_INVALID_SHARE`). `toJSON()` never holds stacks.
 * @example
 * try { resolveShares(input) } catch (e) { if (isSharesError(e)) console.log(e.toJSON()) }
 */
export class SharesError extends InvisError<SharesErrorCode> {
  static override readonly scope: string = '@invis/samba-shares';
  /** Every problem found (for `SHARES_INVALID_SHARE`); empty otherwise. */
  readonly issues: readonly SharesIssue[];

  constructor(
    code: SharesErrorCode,
    message: string,
    options: InvisErrorOptions & { issues?: readonly SharesIssue[] } = {},
  ) {
    super(code, message, options);
    this.issues = options.issues ?? [];
  }

  /** Code, message, details, invis causes and the issues: what a portal may send to a browser. */
  override toJSON(): SharesErrorJson {
    const json: SharesErrorJson = super.toJSON();
    if (this.issues.length > 0) json.issues = [...this.issues];
    return json;
  }
}

/** Whether `value` is a {@link SharesError} (brand check: works across two installed copies). */
export const isSharesError: (value: unknown) => value is SharesError =
  defineErrorGuard<SharesError>('@invis/samba-shares');

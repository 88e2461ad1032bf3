import { defineErrorGuard, InvisError, type InvisErrorJson, type InvisErrorOptions } from '@invis/host';

/** Every stable error code of @invis/dhcp-config (listed with causes in the README). */
export type DhcpErrorCode =
  | 'DHCP_INVALID_CONFIG'
  | 'DHCP_CONFLICT'
  | 'DHCP_RANGE_EXHAUSTED'
  | 'DHCP_UNKNOWN_SUBNET'
  | 'DHCP_PARSE_ERROR'
  | 'DHCP_LEASE_PARSE_ERROR'
  | 'DHCP_CHECK_FAILED'
  | 'DHCP_RELOAD_FAILED'
  | 'DHCP_KEA_COMMAND_FAILED'
  | 'DHCP_KEA_SOCKET_ERROR'
  | 'DHCP_DIRECTORY_ERROR';

/** A problem found in a model, listed in full so a portal can show every one at once. */
export interface DhcpIssue {
  /** Stable kind, e.g. `RESERVATION_IN_POOL`. */
  kind: string;
  /** Where in the model, e.g. `reservations[3].ip`. */
  path: string;
  message: string;
}

/** The JSON form of a {@link DhcpConfigError}: the host's error JSON plus the issues, when there are any. */
export interface DhcpConfigErrorJson extends InvisErrorJson {
  issues?: DhcpIssue[];
}

/**
 * The one error class of @invis/dhcp-config, on the host's error base. `code` is stable;
 * `details` hold safe data (line numbers, exit codes, commands); `issues` lists every problem
 * of a model (`DHCP_INVALID_CONFIG`, `DHCP_CONFLICT`). `toJSON()` never holds stacks or file contents.
 * @example
 * try { validateDhcpConfig(input) } catch (e) { if (isDhcpConfigError(e)) console.log(e.toJSON()) }
 */
export class DhcpConfigError extends InvisError<DhcpErrorCode> {
  static override readonly scope: string = '@invis/dhcp-config';
  /** Every problem found (for `DHCP_INVALID_CONFIG` and `DHCP_CONFLICT`); empty otherwise. */
  readonly issues: readonly DhcpIssue[];

  constructor(
    code: DhcpErrorCode,
    message: string,
    options: InvisErrorOptions & { issues?: readonly DhcpIssue[] } = {},
  ) {
    super(code, message, options);
    this.issues = options.issues ?? [];
  }

  /** Code, message, details, invis causes and the issues: what a portal may send to a browser. */
  override toJSON(): DhcpConfigErrorJson {
    const json: DhcpConfigErrorJson = super.toJSON();
    if (this.issues.length > 0) json.issues = [...this.issues];
    return json;
  }
}

/** Whether `value` is a {@link DhcpConfigError} (brand check: works across two installed copies). */
export const isDhcpConfigError: (value: unknown) => value is DhcpConfigError =
  defineErrorGuard<DhcpConfigError>('@invis/dhcp-config');

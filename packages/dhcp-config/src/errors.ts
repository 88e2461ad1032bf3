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

/**
 * The one error class of @invis/dhcp-config. `code` is stable; `toJSON()` holds only code,
 * message and safe data (issues, line numbers, exit codes), never stacks or file contents.
 * @example
 * try { validateDhcpConfig(input) } catch (e) { if (e instanceof DhcpConfigError) console.log(e.toJSON()) }
 */
export class DhcpConfigError extends Error {
  /** Stable machine-readable code. */
  readonly code: DhcpErrorCode;
  /** Every problem found (for `DHCP_INVALID_CONFIG` and `DHCP_CONFLICT`). */
  readonly issues: readonly DhcpIssue[];
  /** Safe structured detail (line, exitCode, command, …). */
  readonly data: Readonly<Record<string, string | number | boolean>>;

  constructor(
    code: DhcpErrorCode,
    message: string,
    options: {
      cause?: unknown;
      issues?: readonly DhcpIssue[];
      data?: Record<string, string | number | boolean>;
    } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DhcpConfigError';
    this.code = code;
    this.issues = options.issues ?? [];
    this.data = options.data ?? {};
  }

  /** Code, message and safe data only: what a portal may send to a browser. */
  toJSON(): { code: DhcpErrorCode; message: string; issues?: DhcpIssue[] } & Record<string, unknown> {
    return {
      ...this.data,
      code: this.code,
      message: this.message,
      ...(this.issues.length ? { issues: [...this.issues] } : {}),
    };
  }
}

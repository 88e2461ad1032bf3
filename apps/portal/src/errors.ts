/** Stable error codes of the portal; every one is listed in the README. */
export type PortalErrorCode =
  | 'PORTAL_VALIDATION'
  | 'PORTAL_UNAUTHENTICATED'
  | 'PORTAL_FORBIDDEN'
  | 'PORTAL_CSRF'
  | 'PORTAL_NOT_FOUND'
  | 'PORTAL_CONFLICT'
  | 'PORTAL_PAYLOAD_TOO_LARGE'
  | 'PORTAL_INVALID_CREDENTIALS'
  | 'PORTAL_ACCOUNT_DISABLED'
  | 'PORTAL_ACCOUNT_LOCKED'
  | 'PORTAL_PASSWORD_EXPIRED'
  | 'PORTAL_PASSWORD_REJECTED'
  | 'PORTAL_EXTERNAL_NOT_ALLOWED'
  | 'PORTAL_THROTTLED'
  | 'PORTAL_DIRECTORY_UNAVAILABLE'
  | 'PORTAL_SERVICE_ACTION_FAILED'
  | 'PORTAL_CONFIG'
  | 'PORTAL_INTERNAL';

const STATUS: Record<PortalErrorCode, number> = {
  PORTAL_VALIDATION: 400,
  PORTAL_UNAUTHENTICATED: 401,
  PORTAL_FORBIDDEN: 403,
  PORTAL_CSRF: 403,
  PORTAL_NOT_FOUND: 404,
  PORTAL_CONFLICT: 409,
  PORTAL_PAYLOAD_TOO_LARGE: 413,
  PORTAL_INVALID_CREDENTIALS: 401,
  PORTAL_ACCOUNT_DISABLED: 403,
  PORTAL_ACCOUNT_LOCKED: 403,
  PORTAL_PASSWORD_EXPIRED: 403,
  PORTAL_PASSWORD_REJECTED: 422,
  PORTAL_EXTERNAL_NOT_ALLOWED: 403,
  PORTAL_THROTTLED: 429,
  PORTAL_DIRECTORY_UNAVAILABLE: 503,
  PORTAL_SERVICE_ACTION_FAILED: 502,
  PORTAL_CONFIG: 500,
  PORTAL_INTERNAL: 500,
};

/** Data that is safe to show a client next to the code (never secrets, never stacks). */
export type SafeData = Record<string, string | number | boolean | null | readonly unknown[]>;

/**
 * The one error class of the portal. `toJSON()` is what clients see: code, message and
 * safe data only; `cause` (an ad-client/execa error) stays on the server.
 * @example throw new PortalError('PORTAL_FORBIDDEN', 'Admins only');
 */
export class PortalError extends Error {
  override readonly name = 'PortalError';
  readonly code: PortalErrorCode;
  readonly data: SafeData;

  /**
   * @param code stable SCREAMING_SNAKE code
   * @param message human-readable English message (the UI translates by code)
   * @param options `data` shown to clients, `cause` kept server-side
   */
  constructor(code: PortalErrorCode, message: string, options: { data?: SafeData; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.code = code;
    this.data = options.data ?? {};
  }

  /** HTTP status that matches the code. */
  get status(): number {
    return STATUS[this.code];
  }

  /** @returns the client-safe JSON form. */
  toJSON(): { code: PortalErrorCode; message: string } & SafeData {
    return { ...this.data, code: this.code, message: this.message };
  }
}

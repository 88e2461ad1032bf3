import { defineErrorGuard, InvisError, type InvisErrorJson } from '@invis/host';

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
  | 'PORTAL_VPN_REVOCATION_FAILED'
  | 'PORTAL_VPN_FAILED'
  | 'PORTAL_TRANSFER_INFECTED'
  | 'PORTAL_TRANSFER_SCAN_FAILED'
  | 'PORTAL_HOST_FAILED'
  | 'PORTAL_HOST_ROLLBACK_INCOMPLETE'
  | 'PORTAL_DNS_INVALID'
  | 'PORTAL_DNS_FAILED'
  | 'PORTAL_MAIL_LOGIN_FAILED'
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
  PORTAL_VPN_REVOCATION_FAILED: 502,
  PORTAL_VPN_FAILED: 502,
  PORTAL_TRANSFER_INFECTED: 422,
  PORTAL_TRANSFER_SCAN_FAILED: 502,
  PORTAL_HOST_FAILED: 502,
  PORTAL_HOST_ROLLBACK_INCOMPLETE: 500,
  PORTAL_DNS_INVALID: 422,
  PORTAL_DNS_FAILED: 502,
  PORTAL_MAIL_LOGIN_FAILED: 422,
  PORTAL_CONFIG: 500,
  PORTAL_INTERNAL: 500,
};

/**
 * The one error class of the portal. `toJSON()` is what clients see: code, message and
 * safe `details` only. The `cause` (an AdError, a HostError) stays on the server, also when
 * it is an invis error: its JSON would carry directory details (a DN, the LDAP result code)
 * to clients that are not even logged in (security finding 14).
 * @example throw new PortalError('PORTAL_FORBIDDEN', 'Admins only');
 */
export class PortalError extends InvisError<PortalErrorCode> {
  static override readonly scope = '@invis/portal-1';

  /** HTTP status that matches the code. */
  get status(): number {
    return STATUS[this.code];
  }

  /** @returns code, message and details: never the cause. */
  override toJSON(): InvisErrorJson {
    const { cause: _serverSide, ...json } = super.toJSON();
    return json;
  }
}

/** Whether `value` is a {@link PortalError} (brand check, works across two installed copies). */
export const isPortalError: (value: unknown) => value is PortalError = defineErrorGuard<PortalError>('@invis/portal-1');

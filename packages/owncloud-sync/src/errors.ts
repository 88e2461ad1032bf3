import { defineErrorGuard, InvisError } from '@invis/host';

/** Stable error codes of `@invis/owncloud-sync`; listed in the README. */
export type SyncErrorCode =
  | 'DAV_HTTP'
  | 'DAV_UNAUTHORIZED'
  | 'DAV_NOT_FOUND'
  | 'DAV_PRECONDITION_FAILED'
  | 'DAV_BAD_XML'
  | 'DAV_UNSAFE_HREF'
  | 'DAV_UPLOAD_INCOMPLETE'
  | 'DAV_NETWORK'
  | 'SYNC_LOCKED'
  | 'SYNC_MASS_DELETE'
  | 'SYNC_LOCAL_IO'
  | 'SYNC_CHANGED_DURING_SYNC'
  | 'SYNC_TYPE_CONFLICT'
  | 'SYNC_INVALID_OPTIONS'
  | 'SYNC_UNSAFE_PATH'
  | 'SYNC_UNTRUSTED_FILE'
  | 'SYNC_LEGACY_STATE';

/** The `details` of a {@link SyncError}: safe to show to a client (no credentials, no stacks). */
export type SyncErrorDetails = {
  /** Remote or local path (relative to the sync root) the error is about. */
  readonly path?: string;
  /** HTTP status when the server answered. */
  readonly status?: number;
  /** HTTP method of the failing request. */
  readonly method?: string;
};

/**
 * The one error class of this package. `code` is stable; `details` holds the path, HTTP status
 * and method where known; `cause` the original error (undici, the XML parser, node:fs, @invis/host).
 *
 * @example
 * try { await client.propfind('', 1); } catch (e) { if (isOwncloudSyncError(e)) console.log(e.toJSON()); }
 */
export class SyncError extends InvisError<SyncErrorCode> {
  static override readonly scope: string = '@invis/owncloud-sync';
  declare readonly details: SyncErrorDetails;
}

/**
 * Whether `value` is a {@link SyncError} (a brand check: it also holds for an error of another
 * installed copy of this package).
 */
export const isOwncloudSyncError: (value: unknown) => value is SyncError =
  defineErrorGuard<SyncError>('@invis/owncloud-sync');

/** The code of an error of this package, else undefined (for retry and fallback decisions). */
export const syncCodeOf = (error: unknown): SyncErrorCode | undefined =>
  isOwncloudSyncError(error) ? error.code : undefined;

/** Wraps anything thrown into a {@link SyncError} (kept as is when it already is one). */
export function toSyncError(error: unknown, code: SyncErrorCode, details: SyncErrorDetails = {}): SyncError {
  if (isOwncloudSyncError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SyncError(code, message, { details, cause: error });
}

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

/** Data that is safe to show to a client (no credentials, no stacks). */
export interface SyncErrorData {
  /** Remote or local path (relative to the sync root) the error is about. */
  path?: string;
  /** HTTP status when the server answered. */
  status?: number;
  /** HTTP method of the failing request. */
  method?: string;
}

/**
 * The one error class of this package. `code` is stable; `cause` holds the original error
 * (undici, fast-xml-parser, node:fs).
 *
 * @example
 * try { await client.propfind('', 1); } catch (e) { if (e instanceof SyncError) console.log(e.toJSON()); }
 */
export class SyncError extends Error {
  /** Stable machine-readable code, e.g. `DAV_UNAUTHORIZED`. */
  readonly code: SyncErrorCode;
  /** Safe context (path, HTTP status, method). */
  readonly data: SyncErrorData;

  constructor(code: SyncErrorCode, message: string, data: SyncErrorData = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SyncError';
    this.code = code;
    this.data = data;
  }

  /** Only code, message and safe data; never the cause or a stack. */
  toJSON(): { code: SyncErrorCode; message: string } & SyncErrorData {
    return { code: this.code, message: this.message, ...this.data };
  }
}

/** Wraps anything thrown into a {@link SyncError} (kept as is when it already is one). */
export function toSyncError(error: unknown, code: SyncErrorCode, data: SyncErrorData = {}): SyncError {
  if (error instanceof SyncError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new SyncError(code, message, data, { cause: error });
}

// @invis/owncloud-sync: WebDAV/ownCloud client and two-way sync engine with a journal and conflict copies.
// Public API: every exported symbol is listed here by name.
export {
  createWebDavClient,
  type DavAuth,
  type GetReply,
  type PutOptions,
  type PutResult,
  type ServerInfo,
  type WebDavClient,
  type WebDavClientOptions,
} from './client';
export { SyncError, type SyncErrorCode, type SyncErrorData } from './errors';
export { createRateLimiter, createSemaphore, type RateLimiter, type Semaphore } from './limit';
export {
  type DavResource,
  encodePath,
  hrefToPath,
  normalizeEtag,
  PROPFIND_BODY,
  parseMultistatus,
} from './multistatus';

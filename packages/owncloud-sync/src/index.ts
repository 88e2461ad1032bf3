// @invis/owncloud-sync: WebDAV/ownCloud client and two-way sync engine with a journal and conflict copies.
// Public API: every exported symbol is listed here by name.

export type { UploadedChunk } from './chunking';
export { type CliConfig, type CliIo, cliConfigSchema, DEFAULT_STATE_ROOT, runCli } from './cli';
export {
  type ChunkCommitOptions,
  type ChunkedUpload,
  createWebDavClient,
  type DavAuth,
  type GetReply,
  type MoveOptions,
  type PutOptions,
  type PutResult,
  type ServerInfo,
  type WebDavClient,
  type WebDavClientOptions,
} from './client';
export {
  conflictCopyName,
  type LocalEntry,
  localChanged,
  type RemoteEntry,
  remoteChanged,
  type SyncAction,
  type SyncPlan,
} from './decision';
export {
  type RemoteScan,
  type RemoteScanOptions,
  type RemoteScanStats,
  scanLocal,
  scanRemote,
} from './discovery';
export { createSyncEngine, type SyncEngine, type SyncEngineOptions, type SyncRunOptions } from './engine';
export { isOwncloudSyncError, SyncError, type SyncErrorCode, type SyncErrorDetails } from './errors';
export { createExcludeMatcher, DEFAULT_EXCLUDES, type ExcludeMatcher, parseExcludeFile } from './exclude';
export { type Journal, type JournalEntry, journalEntry, openJournal } from './journal';
export { createRateLimiter, createSemaphore, type RateLimiter, type Semaphore } from './limit';
export { acquireLock } from './lock';
export {
  createMultistatusParser,
  type DavResource,
  encodePath,
  hrefToPath,
  type MultistatusParser,
  normalizeEtag,
  PROPFIND_BODY,
  parseMultistatus,
} from './multistatus';
export { type ReconcileInput, reconcile } from './reconcile';
export type { SyncConflict, SyncEvent, SyncReport } from './report';
export { type LocalWatch, watchLocalTree } from './watch';

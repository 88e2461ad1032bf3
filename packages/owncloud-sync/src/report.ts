// What a run reports while it works (events) and when it is done (the report); shared by the
// orchestration, the executor and the transfers.
import type { ServerInfo } from './client';
import type { SyncAction } from './decision';
import type { SyncErrorCode } from './errors';

/** Progress events of a run. */
export type SyncEvent =
  | { type: 'discovered'; local: number; remote: number; remoteRequests: number; prunedDirs: number }
  | { type: 'planned'; actions: number }
  | { type: 'done'; action: SyncAction['kind']; path: string }
  | { type: 'bytes'; path: string; direction: 'up' | 'down'; transferred: number; total: number }
  | { type: 'error'; path: string; code: SyncErrorCode; message: string };

/** A conflict: both versions kept, the local one under `copy`. */
export interface SyncConflict {
  path: string;
  copy: string;
}

/** What a run did (or, with `dryRun`, would do). */
export interface SyncReport {
  dryRun: boolean;
  server: ServerInfo;
  /** Planned steps in plan order. */
  planned: { kind: SyncAction['kind']; path: string }[];
  /**
   * Dry run only: the mass-delete guard would stop a real run (it deletes `files` of `known`
   * files); the deletions are in `planned`.
   */
  massDelete?: { files: number; known: number };
  uploaded: number;
  downloaded: number;
  deletedLocal: number;
  deletedRemote: number;
  moved: number;
  conflicts: SyncConflict[];
  errors: { path: string; code: SyncErrorCode; message: string }[];
  bytesUp: number;
  bytesDown: number;
  remoteRequests: number;
  prunedDirs: number;
  durationMs: number;
  /**
   * Set when the run ended after one request without walking the local tree: the caller said the
   * local tree was unchanged (`localUnchanged`) and the server's tree was unchanged too.
   */
  localSkipped?: true;
}

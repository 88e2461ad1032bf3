// @invis/host: the one host vocabulary every invis library and app uses.
// Public API: every exported symbol is listed here by name.
export { syncDirectory, type WriteFileOptions, writeFileAtomic } from './atomic';
export { type Clock, fixedClock, systemClock } from './clock';
export { type UnifiedDiffOptions, unifiedDiff } from './diff';
export {
  defineErrorGuard,
  type ErrorDetails,
  HostError,
  type HostErrorCode,
  InvisError,
  type InvisErrorJson,
  type InvisErrorOptions,
  isHostError,
  isInvisError,
  isMissing,
} from './errors';
export { createNodeFs, type HostFs, resolveInside } from './fs';
export { type JobResult, type JobState, parseJobState, readJobState, readJobStates, recordJobRun } from './jobs';
export { type CommentSyntax, generatedBy, generatedMarker } from './marker';
export {
  type ApplyPlan,
  type ApplyReport,
  applyReport,
  emptyPlan,
  type FileAction,
  type FileChange,
  fileChange,
  formatPlan,
  type PlannedCommand,
  planChanges,
  type ServiceAction,
} from './plan';
export {
  type CommandResult,
  type CommandRunner,
  createExecaRunner,
  lastOutputLine,
  type RunOptions,
  runChecked,
} from './runner';
export { createSystemdServiceManager, type ServiceManager } from './service';

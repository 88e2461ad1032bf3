// @invis/test-utils: what the invis tests would otherwise hand-roll, once.
export {
  createScriptedRunner,
  type RecordedCall,
  type RunnerScript,
  type ScriptedAnswer,
  type ScriptedRunner,
} from './runner';
export { createRecordingServiceManager, type RecordingServiceManager } from './services';
export { useTempDir, withTempDir } from './temp-dir';

// @invis/setup-1: the invis server setup CLI (successor of sine2) and its module contract,
// reused by the branch agent. Public API: every exported symbol is listed here by name.
export {
  ANSWERS_PATH,
  type Answers,
  type AnswersInput,
  answersSchema,
  loadAnswers,
  machineDefaults,
  parseAnswers,
  renderAnswers,
  validateAnswers,
} from './answers';
export { type CliIo, EXIT, runCli } from './cli';
export { type ApplyEvent, createEngine, type ModuleApply, type SetupEngine } from './engine';
export { errorJson, isSetupError, SetupError, type SetupErrorCode } from './errors';
export { topoOrder } from './graph';
export { type Bilingual, type Lang, pickLang } from './i18n';
export {
  type CheckResult,
  type DesiredFile,
  type FileModuleSpec,
  fileModule,
  type ModuleContext,
  type ModulePlan,
  noChangePlan,
  type Rendered,
  runChecker,
  type SetupModule,
  type UnitAction,
  type VerifyCheck,
} from './module';
export { checkModule, MODULES, networkModule, sshModule, timeModule } from './modules/index';
export { choosePort, inSambaRpcRange, parseListeningPorts } from './ports';
export { detectProfile, type PlatformProfile, PROFILES, parseOsRelease } from './profiles';
export { createLiveFs, createRootedFs, type SetupFs } from './rooted-fs';
export { assertSecretName, createSecretStore, generateSecret, SECRETS_DIR, type SecretStore } from './secrets';
export { createStateStore, type ModuleStatus, type SetupState, STATE_PATH, type StateStore } from './state';

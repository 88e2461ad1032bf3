// @invis/testbed: real servers for tests, benchmarks and the demo.
// Each server lives in its own module; add new ones (Kea, Postfix, …) the same way.

export {
  type BindInfo,
  type BindOptions,
  type BindServer,
  renderBindKey,
  soaAnswers,
  startBind,
  type TsigKeyInfo,
} from './bind';
export * from './demo-directory';
export * from './dhcp';
export { TestbedError } from './errors';
export * from './firewalld';
export { type LoopbackAddress, reserveLoopbackAddress } from './loopback';
export * from './mail';
export { connectVeth, createNetns, type Netns, type VethEnd } from './netns';
export { type NginxServer, startNginx } from './nginx';
export * from './openvpn';
export * from './original-invis';
export {
  type Daemon,
  groupHasLiveMembers,
  onExitCleanup,
  processesWithArgument,
  run,
  type SpawnOptions,
  spawnDaemon,
  stopAll,
  stopProcessGroup,
  terminateProcesses,
  waitUntilReady,
} from './process';
export {
  restartSambaDc,
  type SambaDc,
  type SambaDcInfo,
  type SambaDcOptions,
  startSambaDc,
  stopSambaByPidFile,
  TEST_ADMIN_PASSWORD,
  TEST_DOMAIN,
  TEST_REALM,
} from './samba';
export {
  type SandboxClient,
  type ServerSandbox,
  type ServerSandboxInfo,
  type ServerSandboxOptions,
  startServerSandbox,
} from './sandbox';
export {
  DEBIAN_12_UNITS,
  type SandboxProbe,
  type SandboxReloadStep,
  type SandboxRuntimeDirectory,
  type SandboxUnit,
  type SandboxUnitTable,
} from './sandbox-units';
export { type RunningServer, startOnLoopback } from './server';
export type { SandboxServiceManager } from './supervisor';
export { createTestPki, type TestPki } from './tls';
export * from './webdav';

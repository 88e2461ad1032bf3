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
export * from './openvpn';
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
export { type RunningServer, startOnLoopback } from './server';
export { createTestPki, type TestPki } from './tls';
export * from './webdav';

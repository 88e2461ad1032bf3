// Starts the real servers once per test run: BIND 9 (RFC 2136 + TSIG) and a Samba AD DC
// (AD-integrated DNS answering on its address, port 53).
import { type BindInfo, type SambaDcInfo, startBind, startSambaDc } from '@invis/testbed';
import type { TestProject } from 'vitest/node';

export const BIND_ZONES: string[] = ['dyn.invis.test', 'conf.invis.test', '0.0.10.in-addr.arpa'];

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // one after the other: each reserves its own loopback address
  const bind = await startBind({ zones: BIND_ZONES });
  const bind512 = await startBind({ zones: ['sha512.invis.test'], algorithm: 'hmac-sha512' });
  const samba = await startSambaDc();
  project.provide('bind', bind.info);
  project.provide('bind512', bind512.info);
  project.provide('samba', samba.info);
  return async () => {
    await Promise.all([bind.stop(), bind512.stop(), samba.stop()]);
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    bind: BindInfo;
    bind512: BindInfo;
    samba: SambaDcInfo;
  }
}

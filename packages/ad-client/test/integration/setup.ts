import { type SambaDcInfo, startSambaDc } from '@invis/testbed';
import type { TestProject } from 'vitest/node';

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dc = await startSambaDc({ schemaUpdates: true });
  project.provide('samba', dc.info);
  return () => dc.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    samba: SambaDcInfo;
  }
}

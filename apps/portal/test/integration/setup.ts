// One real Samba AD DC for all portal integration tests (seeded with the demo company).
import { type SambaDcInfo, seedDemoDirectory, startSambaDc } from '@invis/testbed';
import type { TestProject } from 'vitest/node';

export default async function setup(project: TestProject) {
  // Schema updates on: the tiles test installs the invis schema (iPortEntry) as setup does.
  const dc = await startSambaDc({ schemaUpdates: true });
  try {
    await seedDemoDirectory(dc.info);
  } catch (e) {
    await dc.stop();
    throw e;
  }
  project.provide('samba', dc.info);
  return () => dc.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    samba: SambaDcInfo;
  }
}

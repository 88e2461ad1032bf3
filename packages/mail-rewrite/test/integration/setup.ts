import { type MailProviderInfo, type MailServerInfo, startMailProvider, startMailServer } from '@invis/testbed';
import type { TestProject } from 'vitest/node';
import { MAILBOXES, PROVIDER_DOMAINS, PROVIDER_MAILBOXES } from './fixtures';

// One invis mail server and one provider for the whole run, each on its own 127.77.x.y.
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // One after the other: reserving loopback addresses is not safe to race.
  const server = await startMailServer({ domain: 'invis.test', mailboxes: MAILBOXES });
  const provider = await startMailProvider({ domains: PROVIDER_DOMAINS, mailboxes: PROVIDER_MAILBOXES }).catch(
    async (error: unknown) => {
      await server.stop();
      throw error;
    },
  );
  project.provide('mailServer', server.info);
  project.provide('mailProvider', provider.info);
  return async () => {
    await Promise.all([server.stop(), provider.stop()]);
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    mailServer: MailServerInfo;
    mailProvider: MailProviderInfo;
  }
}

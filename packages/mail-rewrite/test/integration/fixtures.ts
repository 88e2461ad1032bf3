import type { TestMailbox } from '@invis/testbed';

// Mailboxes of the integration tests. Alice's provider password holds both quote kinds, a
// backslash, `#` and spaces: fetchmail and the Postfix SASL client must both log in with it.
export const HOSTILE_PASSWORD: string = `it's a "quoted" \\ pass #1`;

export const MAILBOXES: TestMailbox[] = ['alice', 'bob', 'carol'].map((u) => ({
  address: `${u}@invis.test`,
  password: `${u}-local`,
}));

export const PROVIDER_DOMAINS: string[] = ['provider.test', 'elsewhere.test'];

export const PROVIDER_MAILBOXES: TestMailbox[] = [
  { address: 'alice@provider.test', password: HOSTILE_PASSWORD },
  { address: 'bob@provider.test', password: 'bob-at-provider' },
  { address: 'carol@provider.test', password: 'carol-at-provider' },
  // "The Internet": correspondents whose mailboxes the tests read.
  { address: 'friend@elsewhere.test', password: 'x' },
  { address: 'pal@elsewhere.test', password: 'x' },
  { address: 'list@elsewhere.test', password: 'x' },
];

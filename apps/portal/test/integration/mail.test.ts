// Users' own mail accounts on the real DC (passwords sealed by @invis/mail-rewrite's store), the
// login test against a real provider (Dovecot with STARTTLS), and the fetchmail rc setup renders
// from what the portal stored: real fetchmail logs in with it.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AdClient, createAdClient } from '@invis/ad-client';
import { createNodeFs } from '@invis/host';
import {
  buildFetchmailRc,
  createMailDirectoryStore,
  generateSecretKey,
  type MailDirectoryStore,
  parseMailConfig,
  renderFetchmailRc,
} from '@invis/mail-rewrite';
import { useTempDir } from '@invis/test-utils';
import { type MailProvider, runFetchmailOnce, startMailProvider } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { isPortalError } from '../../src/errors';
import { createMailAccounts, type MailAccounts } from '../../src/mail-accounts';
import { probeMailLogin } from '../../src/mail-probe';

const USER = 'bernd.mueller';
const dir = useTempDir('portal-mail-it-', { shared: true });
let ad: AdClient;
let provider: MailProvider;
let store: MailDirectoryStore;
let mail: MailAccounts;
let syncs = 0;
const presenceFile = () => join(dir(), 'presence.json');

beforeAll(async () => {
  const info = inject('samba');
  ad = createAdClient({ url: info.ldapsUrl, bindDN: info.adminDN, password: info.adminPassword, ca: info.caPem });
  await ad.invis.install();
  provider = await startMailProvider({
    domains: ['provider.test'],
    mailboxes: [{ address: 'bernd@provider.test', password: 'bernd "at" provider' }],
  });
  store = createMailDirectoryStore({ directory: ad.invis.mail, users: ad.users, key: generateSecretKey() });
  mail = createMailAccounts({
    store,
    fs: createNodeFs(),
    presenceFile: presenceFile(),
    localDomain: 'invis.test',
    sync: async () => {
      syncs++;
    },
    probe: probeMailLogin,
    probeCaFile: provider.info.caFile,
  });
});

afterAll(async () => {
  await ad?.invis.mail.deleteUser(USER).catch(() => undefined);
  await provider?.stop();
  await ad?.close();
});

const account = (password: string) => ({
  address: 'bernd@provider.test',
  server: provider.info.address,
  protocol: 'imap' as const,
  port: provider.info.imapPort,
  tls: 'starttls' as const,
  tlsServerName: 'mail.provider.test',
  login: 'bernd@provider.test',
  password,
  smtpHost: provider.info.address,
  smtpPort: provider.info.submissionPort,
});

/** What setup's fetchmail module renders from the directory and the presence file. */
async function renderedRc(): Promise<string> {
  const presence = JSON.parse(await readFile(presenceFile(), 'utf8').catch(() => '{}')) as Record<
    string,
    { presence: 'present' | 'absent' | 'vacation' }
  >;
  const read = await store.readUser(USER, presence[USER] ?? {}, []);
  const config = parseMailConfig({ localDomain: 'invis.test', users: read ? [read.user] : [] });
  return renderFetchmailRc(buildFetchmailRc(config, { smtpHost: '127.0.0.1', sslCertFile: provider.info.caFile }));
}

describe('mail accounts on the real directory and a real provider', () => {
  it('refuses an account whose login the provider refuses, and stores nothing', async () => {
    const error = await mail.addAccount(USER, account('wrong')).catch((e: unknown) => e);
    expect(isPortalError(error) && error.code).toBe('PORTAL_MAIL_LOGIN_FAILED');
    expect(await ad.invis.mail.fetchAccounts(USER).catch(() => [])).toEqual([]);
    expect(syncs).toBe(0);
  });

  it('stores an account whose login works, sealed, and the rendered rc logs in with it', async () => {
    await mail.addAccount(USER, account('bernd "at" provider'));
    await mail.setSender(USER, 'bernd@provider.test');
    const [stored] = await ad.invis.mail.fetchAccounts(USER);
    expect(JSON.stringify(stored)).not.toContain('bernd "at" provider');
    const user = await ad.users.get(USER);
    expect(user?.mail).toBe('bernd@provider.test');

    const rc = join(dir(), 'fetchmailrc');
    await writeFile(rc, await renderedRc(), { mode: 0o600 });
    // The mailbox is empty: fetchmail logs in and says so (exit 1); a refused login would be 3.
    const run = await runFetchmailOnce(rc);
    expect(run.exitCode, run.output).toBe(1);
    expect(run.output).toMatch(/No mail for bernd@provider\.test/);
    expect(syncs).toBe(2);
  });

  it('leaves an absent user out of the rc, so the mail stays at the provider', async () => {
    await mail.setPresence(USER, 'absent');
    expect(await renderedRc()).not.toContain('bernd@provider.test');
    await mail.setPresence(USER, 'present');
    expect(await renderedRc()).toContain('bernd@provider.test');
  });
});

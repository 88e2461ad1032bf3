// The invis mail objects in a real Samba AD DC (schema installed by @invis/ad-client), and
// Postfix's own LDAP client (postmap -q with the rendered ldap_table files, StartTLS, bound
// as a read-only user) resolving the address maps from them.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AdClient, createAdClient } from '@invis/ad-client';
import { createExecaRunner } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { run, type SambaDc, startSambaDc } from '@invis/testbed';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import {
  createMailDirectoryStore,
  generateSecretKey,
  isSealedSecret,
  type MailConfig,
  MailRewriteError,
  parseMailConfig,
  renderLdapTables,
  toMailProviderRecord,
} from '../../src';
import { HOSTILE_PASSWORD } from './fixtures';

const server = inject('mailServer');
const READER_PASSWORD = 'Read0nly!Postfix-2026';
let dc: SambaDc;
let ad: AdClient;
const tmp = useTempDir('mail-rewrite-ad-', { shared: true });
let readerDn: string;

const config: MailConfig = parseMailConfig({
  localDomain: 'invis.test',
  providers: [
    {
      id: 'testprovider',
      vendor: 'Test Provider',
      imap: { host: 'imap.provider.test', tls: true },
      smtp: { host: 'smtp.provider.test' },
    },
  ],
  users: ['alice', 'bob'].map((u) => ({
    user: u,
    localAddress: `${u}@invis.test`,
    mainAddress: `${u}@provider.test`,
    accounts: [
      {
        address: `${u}@provider.test`,
        server: 'imap.provider.test',
        protocol: 'imap' as const,
        login: `${u}@provider.test`,
        password: HOSTILE_PASSWORD,
        provider: 'testprovider',
      },
    ],
  })),
});

beforeAll(async () => {
  dc = await startSambaDc({ schemaUpdates: true });
  const { info } = dc;
  ad = createAdClient({ url: info.ldapsUrl, bindDN: info.adminDN, password: info.adminPassword, ca: info.caPem });
  await ad.invis.install();
  for (const u of config.users) await ad.users.create({ sAMAccountName: u.user, password: `${u.user}-Pass!2026x` });
  const reader = await ad.users.create({ sAMAccountName: 'postfix-reader', password: READER_PASSWORD });
  readerDn = reader.dn;
  // The invis classes give Authenticated Users no read access to their attributes: the
  // read-only account gets an inheritable read ACE on the CorNAz container (a setup step).
  await run('samba-tool', [
    'dsacl',
    'set',
    '-s',
    info.smbConf,
    `--objectdn=CN=AdditionalUserInformation,CN=invis-Server,${info.baseDN}`,
    `--sddl=(A;CI;RPLCLORC;;;${reader.sid})`,
  ]);
}, 120_000);

afterAll(async () => {
  await ad?.close();
  await dc?.stop();
});

it('stores users, accounts and providers as the invis objects, passwords sealed, and reads them back', async () => {
  const key = generateSecretKey();
  const store = createMailDirectoryStore({ directory: ad.invis.mail, users: ad.users, key });
  for (const p of config.providers) await ad.invis.mail.putProvider(p.id, toMailProviderRecord(p));
  for (const u of config.users) await store.writeUser(u);

  const [stored] = await ad.invis.mail.fetchAccounts('alice');
  expect(stored?.dn).toMatch(/^CN=alice@provider\.test,CN=alice,CN=AdditionalUserInformation,CN=invis-Server,/i);
  expect(isSealedSecret(stored?.password ?? '')).toBe(true);

  const providers = parseMailConfig({
    localDomain: 'invis.test',
    providers: (await store.readProviders()).providers,
  }).providers;
  const users = await Promise.all(config.users.map(async (u) => (await store.readUser(u.user, {}, providers))?.user));
  expect(parseMailConfig({ localDomain: 'invis.test', providers, users })).toEqual(config);
});

it('a sealed password moved onto another user’s account does not decrypt', async () => {
  const key = generateSecretKey();
  const store = createMailDirectoryStore({ directory: ad.invis.mail, users: ad.users, key });
  for (const p of config.providers) await ad.invis.mail.putProvider(p.id, toMailProviderRecord(p));
  for (const u of config.users) await store.writeUser(u);
  const providers = parseMailConfig({
    localDomain: 'invis.test',
    providers: (await store.readProviders()).providers,
  }).providers;

  // Someone who can write bob's container moves alice's mailbox object (sealed password and
  // all) there: fetchmail would then collect alice's mail for bob, bob would send as her.
  const [moved] = await ad.invis.mail.fetchAccounts('alice');
  if (!moved) throw new Error('alice has an account');
  const { extAddress, server: host, proto, userName, password, fetchOpts } = moved;
  await ad.invis.mail.putFetchAccount('bob', {
    ...{ extAddress, server: host, proto, userName, password, fetchOpts },
    localAddress: 'bob@invis.test',
  });
  await ad.invis.mail.deleteFetchAccount('alice', extAddress);
  try {
    const error = await store.readUser('bob', {}, providers).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailRewriteError);
    expect((error as MailRewriteError).code).toBe('MAIL_SECRET_DECRYPT');
    expect((error as MailRewriteError).details).toEqual({ address: 'alice@provider.test' });
  } finally {
    await ad.invis.mail.deleteFetchAccount('bob', extAddress);
  }
});

it('serves the address maps to Postfix over LDAP (StartTLS, read-only account)', async () => {
  const tables = renderLdapTables({
    serverUrl: `ldap://${dc.info.address}`,
    baseDn: dc.info.baseDN,
    bindDn: readerDn,
    bindPassword: READER_PASSWORD,
    caFile: dc.info.caFile,
  });
  await writeFile(join(tmp(), 'generic.cf'), tables.generic, { mode: 0o640 });
  await writeFile(join(tmp(), 'recipient.cf'), tables.recipientCanonical, { mode: 0o640 });
  const query = (key: string, table: string) =>
    createExecaRunner().run('postmap', ['-c', server.postfixConfigDir, '-q', key, `ldap:${join(tmp(), table)}`]);

  const alice = await query('alice@invis.test', 'generic.cf');
  expect(alice.stdout).toBe('alice@provider.test');
  expect((await query('bob@provider.test', 'recipient.cf')).stdout).toBe('bob@invis.test');
  expect((await query('nobody@invis.test', 'generic.cf')).exitCode).toBe(1);
  // A filter-injection attempt is escaped by Postfix and finds nothing.
  expect((await query('*)(fspLocalMailAddress=*', 'generic.cf')).exitCode).toBe(1);
});

import { describe, expect, it } from 'vitest';
import {
  createMailDirectoryStore,
  type FetchMailAccountRecord,
  fromMailProviderRecord,
  type LocalMailRecipientRecord,
  type MailDirectory,
  type MailProviderRecord,
  type MailUserAccounts,
  toMailProviderRecord,
} from './directory';
import { parseMailConfig } from './model';
import { generateSecretKey, isSealedSecret } from './secrets';
import { sampleInput } from './testing';

// In-memory stand-in for ad-client's InvisApi['mail'] (same method shapes).
function memoryDirectory(providers: Array<MailProviderRecord & { cn: string }> = []) {
  const accounts = new Map<string, Map<string, FetchMailAccountRecord>>();
  const recipients = new Map<string, LocalMailRecipientRecord>();
  const of = (sam: string) => accounts.get(sam) ?? accounts.set(sam, new Map()).get(sam) ?? new Map();
  const stored = <T>(cn: string, value: T) => ({ ...value, cn, dn: `CN=${cn}` });
  const directory: MailDirectory = {
    fetchAccounts: async (sam) => [...of(sam).values()].map((a) => stored(a.extAddress, a)),
    putFetchAccount: async (sam, a) => {
      of(sam).set(a.extAddress, a);
      return stored(a.extAddress, a);
    },
    deleteFetchAccount: async (sam, ext) => {
      of(sam).delete(ext);
    },
    localRecipient: async (sam) => {
      const r = recipients.get(sam);
      return r && stored(r.localAddress, r);
    },
    putLocalRecipient: async (sam, r) => {
      recipients.set(sam, r);
      return stored(r.localAddress, r);
    },
    providers: async () => providers.map((p) => stored(p.cn, p)),
  };
  // ad.users for `mail`/`otherMailbox`: every user exists with the local address as `mail`.
  const people = new Map<string, { mail?: string; otherMailbox: string[] }>();
  const person = (sam: string) => people.get(sam) ?? { mail: `${sam}@invis-net.loc`, otherMailbox: [] };
  const users: MailUserAccounts = {
    get: async (sam) => ({ sAMAccountName: sam, ...person(sam) }) as Awaited<ReturnType<MailUserAccounts['get']>>,
    update: async (sam, changes) => {
      people.set(sam, { ...person(sam), ...changes, otherMailbox: changes.otherMailbox ?? person(sam).otherMailbox });
      return (await users.get(sam)) as Awaited<ReturnType<MailUserAccounts['update']>>;
    },
  };
  return { directory, users, accounts: of, recipients, person };
}

describe('createMailDirectoryStore', () => {
  const key = generateSecretKey();

  it('writes the invis objects with sealed passwords and reads the same users back', async () => {
    const config = parseMailConfig(sampleInput());
    const ad = memoryDirectory(config.providers.map((p) => ({ cn: p.id, ...toMailProviderRecord(p) })));
    const store = createMailDirectoryStore({ directory: ad.directory, users: ad.users, key });
    for (const u of config.users) await store.writeUser(u);

    const alice = ad.accounts('alice');
    const pop = alice.get('alice@gmx.de');
    expect(pop).toMatchObject({ server: 'pop.gmx.net', proto: 'pop3', userName: 'alice@gmx.de' });
    expect(pop?.fetchOpts).toEqual(['here ssl # invis:provider=gmx']);
    expect(isSealedSecret(pop?.password ?? '')).toBe(true);
    expect(pop?.password).not.toContain('secret');
    expect(alice.get('alice.shop@web.de')?.fetchOpts).toEqual([
      "here sslproto 'TLS1.2+' keep # invis:folder=INBOX invis:folder=Bestellungen%202026 invis:smtp=smtp.web.de:587",
    ]);
    expect(ad.recipients.get('alice')).toEqual({
      localAddress: 'alice@invis-net.loc',
      mainAddress: 'alice@gmx.de',
      localHost: 'localhost',
    });

    const providers = parseMailConfig({
      localDomain: 'x.loc',
      providers: (await store.readProviders()).providers,
    }).providers;
    const users = [];
    for (const u of config.users) {
      const read = await store.readUser(u.user, { presence: u.presence }, providers);
      expect(read?.legacySecrets).toEqual([]);
      users.push(read?.user);
    }
    const back = parseMailConfig({
      localDomain: config.localDomain,
      providers: (await store.readProviders()).providers,
      users,
    });
    expect(back.users).toEqual(config.users);
  });

  it('reads clear-text accounts of the original and finds their relay in the catalogue', async () => {
    const ad = memoryDirectory([{ cn: 'gmx', vendor: 'GMX', pop: 'pop.gmx.net', smtp: 'mail.gmx.net', smtpPort: 465 }]);
    await ad.directory.putLocalRecipient('bob', { localAddress: 'bob@invis-net.loc', mainAddress: 'bob@gmx.de' });
    await ad.directory.putFetchAccount('bob', {
      extAddress: 'bob@gmx.de',
      server: 'pop.gmx.net',
      proto: 'pop3',
      userName: 'bob@gmx.de',
      password: `alt'es "Passwort"`,
      localAddress: 'bob@invis-net.loc',
      fetchOpts: ['here', 'fetchall'],
    });
    const store = createMailDirectoryStore({ directory: ad.directory, users: ad.users, key });
    const providers = parseMailConfig({
      localDomain: 'x.loc',
      providers: (await store.readProviders()).providers,
    }).providers;
    expect(providers[0]?.smtp).toEqual({ host: 'mail.gmx.net', port: 587 });
    const read = await store.readUser('bob', {}, providers);
    expect(read?.legacySecrets).toEqual(['bob@gmx.de']);
    const config = parseMailConfig({ localDomain: 'invis-net.loc', providers, users: [read?.user] });
    expect(config.users[0]?.accounts[0]).toMatchObject({
      tls: 'starttls',
      port: 110,
      fetchAll: true,
      provider: 'gmx',
      password: `alt'es "Passwort"`,
    });

    // Writing re-seals the password; removed accounts are deleted.
    const user = config.users[0];
    if (!user) throw new Error('user expected');
    await store.writeUser(user);
    expect(isSealedSecret(ad.accounts('bob').get('bob@gmx.de')?.password ?? '')).toBe(true);
    await store.writeUser({ ...user, mainAddress: undefined, accounts: [] });
    expect(ad.accounts('bob').size).toBe(0);
    expect(ad.recipients.get('bob')?.mainAddress).toBe('bob@invis-net.loc');
  });

  it("keeps the original's keywords and TLS spelling on a round trip; mail/otherMailbox follow the addresses", async () => {
    const ad = memoryDirectory([{ cn: 'gmx', vendor: 'GMX', pop: 'pop.gmx.net', smtp: 'mail.gmx.net', smtpPort: 587 }]);
    await ad.directory.putLocalRecipient('bob', { localAddress: 'bob@invis-net.loc', mainAddress: 'bob@gmx.de' });
    const original = { server: 'pop.gmx.net', proto: 'pop3', password: 'Alt-Pass1', localAddress: 'bob@invis-net.loc' };
    await ad.directory.putFetchAccount('bob', {
      ...original,
      extAddress: 'bob@gmx.de',
      userName: 'bob@gmx.de',
      fetchOpts: ['here fetchall mimedecode'],
    });
    await ad.directory.putFetchAccount('bob', {
      ...original,
      extAddress: 'bob2@gmx.de',
      userName: 'bob2@gmx.de',
      fetchOpts: ['here ssl fetchall'],
    });
    await ad.users.update('bob', {
      mail: 'bob@gmx.de',
      otherMailbox: ['bob@invis-net.loc', 'bob2@gmx.de', 'alias@firma.test'],
    });
    const store = createMailDirectoryStore({ directory: ad.directory, users: ad.users, key });
    const { providers } = await store.readProviders();
    const read = await store.readUser('bob', {}, providers);
    const config = parseMailConfig({ localDomain: 'invis-net.loc', providers, users: [read?.user] });
    const bob = config.users[0];
    if (!bob) throw new Error('user expected');
    await store.writeUser(bob);
    expect(ad.accounts('bob').get('bob@gmx.de')?.fetchOpts).toEqual(['here fetchall mimedecode # invis:provider=gmx']);
    expect(ad.accounts('bob').get('bob2@gmx.de')?.fetchOpts).toEqual(['here ssl fetchall # invis:provider=gmx']);
    expect(ad.person('bob')).toEqual({
      mail: 'bob@gmx.de',
      otherMailbox: ['bob@invis-net.loc', 'bob2@gmx.de', 'alias@firma.test'],
    });

    // An unchanged, already sealed account is not written again.
    const sealed = ad.accounts('bob').get('bob@gmx.de')?.password;
    await store.writeUser(bob);
    expect(ad.accounts('bob').get('bob@gmx.de')?.password).toBe(sealed);

    // Main address moves to bob2, bob@gmx.de goes away: as the original's main-address page.
    await store.writeUser({ ...bob, mainAddress: 'bob2@gmx.de', accounts: bob.accounts.slice(1) });
    expect(ad.person('bob')).toEqual({ mail: 'bob2@gmx.de', otherMailbox: ['bob@invis-net.loc', 'alias@firma.test'] });
    await store.writeUser({ ...bob, mainAddress: undefined, accounts: [] });
    expect(ad.person('bob')).toEqual({ mail: 'bob@invis-net.loc', otherMailbox: ['alias@firma.test'] });
  });

  it('trims the catalogue; one bad entry is reported and the rest kept', async () => {
    const ad = memoryDirectory([
      { cn: 'freenet', vendor: 'Freenet AG ', imap: 'mx.freenet.de ', imapSsl: true, smtp: ' mx.freenet.de' },
      { cn: 'kaputt', vendor: 'Kaputt', pop: 'pop kaputt.test' },
    ]);
    const store = createMailDirectoryStore({ directory: ad.directory, users: ad.users, key });
    const catalogue = await store.readProviders();
    expect(catalogue.providers).toEqual([
      {
        id: 'freenet',
        vendor: 'Freenet AG',
        imap: { host: 'mx.freenet.de', tls: true },
        smtp: { host: 'mx.freenet.de', port: 587 },
        oauth2: false,
      },
    ]);
    expect(catalogue.rejected).toEqual([{ id: 'kaputt', issues: ['pop3.host: not a host name or IPv4 address'] }]);
  });

  it('maps the provider catalogue both ways', () => {
    const record = { vendor: 'web.de', imap: 'imap.web.de', imapSsl: true, smtp: 'smtp.web.de', smtpPort: 587 };
    const input = fromMailProviderRecord('webde', record);
    const [provider] = parseMailConfig({ localDomain: 'x.loc', providers: [input] }).providers;
    if (!provider) throw new Error('provider expected');
    expect(toMailProviderRecord(provider)).toEqual({ ...record, smtpTls: true });
  });
});

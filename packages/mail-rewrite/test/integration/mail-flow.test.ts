// End to end with real Postfix, Dovecot (LMTP, Pigeonhole), fetchmail and swaks: the invis
// server and a provider each run on their own loopback address (see setup.ts).
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createExecaRunner, runChecked } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { readMaildir, run, runFetchmailOnce, waitForEmptyQueue, waitForMessages } from '@invis/testbed';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createMailApplier, type MailApplier, type MailConfigInput, type Presence, parseMailConfig } from '../../src';
import { filesWith, reloads } from '../../src/testing';
import { HOSTILE_PASSWORD } from './fixtures';

const server = inject('mailServer');
const provider = inject('mailProvider');
const tmp = useTempDir('mail-rewrite-it-', { shared: true });
let applier: MailApplier;

const localMaildir = (user: string) => join(server.homesDir, 'invis.test', user, 'Maildir');
const providerMaildir = (address: string) => {
  const [local, domain] = address.split('@') as [string, string];
  return join(provider.vmailDir, domain, local);
};

const today = new Date();
const isoDay = (offset: number) => new Date(today.getTime() + offset * 86_400_000).toISOString().slice(0, 10);

function config(presence: Partial<Record<'alice' | 'bob' | 'carol', Presence>>): MailConfigInput {
  const account = (user: string, protocol: 'pop3' | 'imap', password: string) => ({
    address: `${user}@provider.test`,
    server: provider.address,
    protocol,
    // IMAP with STARTTLS and certificate check (fetchmail matches the CN/DNS SAN, not the IP,
    // hence tlsServerName); POP3 in plain text on loopback (fetchmail's `sslproto ''`).
    ...(protocol === 'imap'
      ? { tls: 'starttls' as const, tlsServerName: 'mail.provider.test' }
      : { tls: 'none' as const }),
    login: `${user}@provider.test`,
    password,
    provider: 'testprovider',
  });
  return {
    localDomain: 'invis.test',
    // The relay is an IP here: its certificate is checked for the name it carries.
    providers: [
      {
        id: 'testprovider',
        vendor: 'Test Provider',
        smtp: { host: provider.address, port: 587, tlsName: 'mail.provider.test' },
      },
    ],
    users: [
      {
        user: 'alice',
        localAddress: 'alice@invis.test',
        mainAddress: 'alice@provider.test',
        presence: presence.alice ?? 'present',
        accounts: [account('alice', 'pop3', HOSTILE_PASSWORD)],
      },
      {
        user: 'bob',
        localAddress: 'bob@invis.test',
        mainAddress: 'bob@provider.test',
        presence: presence.bob ?? 'present',
        accounts: [account('bob', 'imap', 'bob-at-provider')],
      },
      {
        user: 'carol',
        localAddress: 'carol@invis.test',
        mainAddress: 'carol@provider.test',
        presence: presence.carol ?? 'present',
        vacation: {
          subject: 'Out of office "until soon"',
          body: 'I am away.\nBack soon.',
          start: isoDay(-1),
          end: isoDay(1),
          days: 1,
        },
        accounts: [account('carol', 'pop3', 'carol-at-provider')],
      },
    ],
  };
}

const swaks = (from: string, to: string, extra: string[] = []) =>
  run('swaks', ['--server', `${server.address}:25`, '--from', from, '--to', to, '--h-From', `<${from}>`, ...extra]);

// A client on the LAN (a loopback address that is not the server's).
const LAN_HOST = '127.0.0.2';
const runner = createExecaRunner();
const fromLan = (from: string, to: string, subject: string, login?: { user: string; password: string }) =>
  runner.run('swaks', [
    ...['--server', `${server.address}:25`, '--local-interface', LAN_HOST, '--from', from, '--to', to],
    ...['--h-From', `<${from}>`, '--header', `Subject: ${subject}`],
    ...(login ? ['--auth', 'PLAIN', '--auth-user', login.user, '--auth-password', login.password] : []),
  ]);

const saveAtProvider = (address: string, subject: string) =>
  runChecked(runner, 'doveadm', ['-c', provider.dovecotConfig, 'save', '-u', address], {
    input: `From: someone@elsewhere.test\nTo: ${address}\nSubject: ${subject}\n\nwaiting at the provider\n`,
  });

beforeAll(async () => {
  applier = createMailApplier({
    paths: {
      postfixConfigDir: server.postfixConfigDir,
      fetchmailRc: join(tmp(), 'fetchmailrc'),
      sieveHome: (u) => join(server.homesDir, 'invis.test', u.user),
      backupDir: join(tmp(), 'backup'),
    },
    mapType: 'lmdb',
    trust: { caFile: provider.caFile },
    fetchmail: { smtpHost: server.address, idFile: join(tmp(), 'fetchids'), sslCertFile: provider.caFile },
    owners: { sieve: server.owner },
    // Logins are the mailbox addresses of the server's Dovecot. Only the server itself (its own
    // address: fetchmail, Dovecot's vacation replies, the tests' plain swaks) is trusted; another
    // loopback address plays a LAN or VPN client.
    submission: {
      sasl: { type: 'dovecot', path: server.saslPath },
      login: 'localAddress',
      trustedClients: [`${server.address}/32`],
    },
  });
});

describe('mail flow with real Postfix, Dovecot, fetchmail', () => {
  it('1. fetches provider mail into the local Maildir; an absent user’s mail stays at the provider', async () => {
    const first = await applier.apply(parseMailConfig(config({ alice: 'absent' })));
    expect(reloads(first)).toBe(true);
    expect(filesWith(first, 'update')).toContain(join(server.postfixConfigDir, 'main.cf'));
    await saveAtProvider('alice@provider.test', 'for alice');
    await saveAtProvider('bob@provider.test', 'for bob');

    const absent = await runFetchmailOnce(join(tmp(), 'fetchmailrc'));
    expect(absent.exitCode, absent.output).toBe(0);
    // bob's IMAP went over STARTTLS with the certificate checked against the test CA.
    expect(absent.output).toMatch(/IMAP> A\d+ STARTTLS/);
    expect(absent.output).toContain('mail.provider.test: upgrade to TLS succeeded.');
    expect((await waitForMessages(localMaildir('bob'), 1))[0]).toContain('Subject: for bob');
    expect(await readMaildir(localMaildir('alice'))).toHaveLength(0);
    expect(await readMaildir(providerMaildir('alice@provider.test'))).toHaveLength(1);

    const back = await applier.apply(parseMailConfig(config({})));
    expect(filesWith(back, 'create', 'update', 'delete')).toEqual([join(tmp(), 'fetchmailrc')]);
    expect(reloads(back)).toBe(false);
    const present = await runFetchmailOnce(join(tmp(), 'fetchmailrc'));
    expect(present.exitCode, present.output).toBe(0);
    expect((await waitForMessages(localMaildir('alice'), 1))[0]).toContain('Subject: for alice');
    expect(await readMaildir(providerMaildir('alice@provider.test'))).toHaveLength(0);
  });

  it('2. sends to the Internet via the provider, authenticated as the mailbox, sender rewritten', async () => {
    await swaks('alice@invis.test', 'friend@elsewhere.test', ['--header', 'Subject: to the internet']);
    const [message] = await waitForMessages(providerMaildir('friend@elsewhere.test'), 1);
    expect(message).toMatch(/^Return-Path: <alice@provider\.test>$/m);
    expect(message).toMatch(/^From: <alice@provider\.test>$/m);
    expect(message).toContain('(Authenticated sender: alice@provider.test)');
    expect(message).not.toContain('alice@invis.test');
    // Our Postfix verified the provider's certificate (CA file + tlsName) before sending the password.
    expect(await readFile(server.maillog, 'utf8')).toContain(
      `Verified TLS connection established to ${provider.address}[${provider.address}]:587`,
    );
    const log = await readFile(provider.maillog, 'utf8');
    expect(log).toMatch(
      new RegExp(
        `smtpd\\[\\d+\\]: [0-9A-F]+: client=unknown\\[${server.address.replace(/\./g, '\\.')}\\], sasl_method=(PLAIN|LOGIN), sasl_username=alice@provider\\.test`,
      ),
    );
  });

  it('3. delivers mail to a colleague’s external address locally; it never reaches the provider', async () => {
    const before = (await readMaildir(localMaildir('bob'))).length;
    await swaks('alice@invis.test', 'bob@provider.test', ['--header', 'Subject: to bob external']);
    const messages = await waitForMessages(localMaildir('bob'), before + 1);
    const message = messages.find((m) => m.includes('Subject: to bob external'));
    expect(message).toMatch(/^Delivered-To: bob@invis\.test$/m);
    await waitForEmptyQueue(server.postfixConfigDir);
    expect(await readMaildir(providerMaildir('bob@provider.test'))).toHaveLength(0);
    expect(await readFile(provider.maillog, 'utf8')).not.toContain('to=<bob@provider.test>');
  });

  it('4. leaves mail between local users unrewritten', async () => {
    const before = (await readMaildir(localMaildir('bob'))).length;
    await swaks('alice@invis.test', 'bob@invis.test', ['--header', 'Subject: internal']);
    const messages = await waitForMessages(localMaildir('bob'), before + 1);
    const message = messages.find((m) => m.includes('Subject: internal'));
    expect(message).toMatch(/^Return-Path: <alice@invis\.test>$/m);
    expect(message).toMatch(/^From: <alice@invis\.test>$/m);
    expect(message).not.toContain('provider.test');
  });

  it('7. a LAN client sends to the Internet only logged in and only as its own addresses', async () => {
    const alice = { user: 'alice@invis.test', password: 'alice-local' };
    const before = (await readMaildir(providerMaildir('friend@elsewhere.test'))).length;
    const own = await fromLan('alice@invis.test', 'friend@elsewhere.test', 'own address', alice);
    expect(own.exitCode, own.output).toBe(0);
    const sent = (await waitForMessages(providerMaildir('friend@elsewhere.test'), before + 1)).find((m) =>
      m.includes('Subject: own address'),
    );
    expect(sent).toContain('(Authenticated sender: alice@provider.test)');

    // A colleague's local or external address: refused for alice's login, and nobody's
    // address may be used without a login (that is what picked the colleague's relay and
    // provider password before).
    for (const from of ['bob@invis.test', 'bob@provider.test']) {
      const colleague = await fromLan(from, 'friend@elsewhere.test', `as ${from}`, alice);
      expect(colleague.exitCode, colleague.output).not.toBe(0);
      expect(colleague.output).toMatch(
        /553 5\.7\.1 <[^>]+>: Sender address rejected: not owned by user alice@invis\.test/,
      );
      const anonymous = await fromLan(from, 'friend@elsewhere.test', `anonymous as ${from}`);
      expect(anonymous.exitCode, anonymous.output).not.toBe(0);
      expect(anonymous.output).toMatch(/55\d 5\.7\.1 .*(Relay access denied|not logged in)/);
    }
    const stranger = await fromLan('printer@invis.test', 'friend@elsewhere.test', 'anonymous printer');
    expect(stranger.output).toMatch(/554 5\.7\.1 .*Relay access denied/);
    await waitForEmptyQueue(server.postfixConfigDir);
    await waitForEmptyQueue(provider.postfixConfigDir);
    const atProvider = await readMaildir(providerMaildir('friend@elsewhere.test'));
    expect(atProvider.filter((m) => /^Subject: (as|anonymous)/m.test(m))).toEqual([]);
    expect(await readFile(provider.maillog, 'utf8')).not.toMatch(/sasl_username=bob@provider\.test/);
  });

  it('5. vacation answers once per sender per period, through the provider, never to a list', async () => {
    const report = await applier.apply(parseMailConfig(config({ carol: 'vacation' })));
    expect(filesWith(report, 'create')).toContain(
      join(server.homesDir, 'invis.test', 'carol', 'sieve', 'invis-vacation.sieve'),
    );
    await swaks('list@elsewhere.test', 'carol@invis.test', [
      '--header',
      'Subject: newsletter',
      '--add-header',
      'List-Id: <news.elsewhere.test>',
    ]);
    await swaks('pal@elsewhere.test', 'carol@invis.test', ['--header', 'Subject: first']);
    await swaks('pal@elsewhere.test', 'carol@invis.test', ['--header', 'Subject: second']);
    await waitForMessages(localMaildir('carol'), 3);
    const [reply] = await waitForMessages(providerMaildir('pal@elsewhere.test'), 1);
    await waitForEmptyQueue(server.postfixConfigDir);
    await waitForEmptyQueue(provider.postfixConfigDir);
    expect(await readMaildir(providerMaildir('pal@elsewhere.test'))).toHaveLength(1);
    expect(await readMaildir(providerMaildir('list@elsewhere.test'))).toHaveLength(0);
    expect(reply).toMatch(/^Auto-Submitted: auto-replied/m);
    expect(reply).toMatch(/^Return-Path: <carol@provider\.test>$/m);
    expect(reply).toContain('Subject: Out of office "until soon"');
    expect(reply).toContain('(Authenticated sender: carol@provider.test)');

    const off = await applier.apply(parseMailConfig(config({})));
    expect(filesWith(off, 'delete')).toContain(
      join(server.homesDir, 'invis.test', 'carol', 'sieve', 'invis-vacation.sieve'),
    );
  });
});

// Test 6: hostile input cannot inject configuration. Random configurations (passwords and
// vacation texts with quotes, backslashes, `#`, spaces, Sieve and fetchmail keywords) are
// rendered and read back by the real programs: fetchmail --configdump, postmap -s, sieve-test.
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { run } from '@invis/testbed';
import fc from 'fast-check';
import { beforeAll, expect, inject, it } from 'vitest';
import {
  buildFetchmailRc,
  buildPostfixMaps,
  isFetched,
  MailRewriteError,
  parseMailConfig,
  renderFetchmailRc,
  renderPostfixMap,
  renderVacationSieve,
} from '../../src';
import { configInputArb, passwordArb } from '../../src/testing';

const server = inject('mailServer');
const tmp = useTempDir('mail-rewrite-hostile-', { shared: true });

beforeAll(async () => {
  // sieve-test drops to the mail user, which must read the script.
  await chmod(tmp(), 0o755);
  await writeFile(
    join(tmp(), 'dovecot.conf'),
    `mail_uid = ${server.owner.uid}\nmail_gid = ${server.owner.gid}\nfirst_valid_uid = ${server.owner.uid}\nmail_location = maildir:${tmp()}/md\n`,
  );
  await writeFile(join(tmp(), 'message'), 'From: pal@elsewhere.test\nTo: alice@invis.test\nSubject: hi\n\nhello\n');
});

const sorted = (xs: readonly string[]) => [...xs].sort();

const sieveKeywords = fc.constantFrom('"; discard; "', '";\nredirect "x@evil.test";\n"', '\\', '"', 'text:\n.\n');
const hostileText = fc
  .tuple(passwordArb, sieveKeywords, passwordArb)
  .map(([a, k, b]) => `${a}${k}${b}`.trim())
  .filter((s) => s.length > 0);

it('6. hostile passwords and texts come back unchanged from fetchmail, postmap and sieve-test (fuzzed)', async () => {
  await fc.assert(
    fc.asyncProperty(configInputArb, hostileText, hostileText, async (input, subject, body) => {
      const [first] = input.users ?? [];
      if (!first) return;
      first.presence = 'vacation';
      first.vacation = { subject: subject.replace(/\n/g, ' '), body };
      const config = parseMailConfig(input);

      const rcFile = join(tmp(), 'fetchmailrc');
      await writeFile(rcFile, renderFetchmailRc(buildFetchmailRc(config, { smtpHost: server.address })), {
        mode: 0o600,
      });
      const dump = await run('fetchmail', ['-f', rcFile, '--configdump']);
      const passwords = [...dump.matchAll(/"password":("(?:[^"\\]|\\.)*")/g)].map((m) => JSON.parse(m[1] as string));
      const expected = config.users.filter(isFetched).flatMap((u) => u.accounts.map((a) => a.password));
      expect(sorted(passwords)).toEqual(sorted(expected));

      const maps = buildPostfixMaps(config);
      const saslFile = join(tmp(), 'sasl');
      await writeFile(saslFile, renderPostfixMap(maps.saslPassword), { mode: 0o600 });
      await run('postmap', ['-c', server.postfixConfigDir, `lmdb:${saslFile}`]);
      const entries = (await run('postmap', ['-c', server.postfixConfigDir, '-s', `lmdb:${saslFile}`]))
        .split('\n')
        .filter(Boolean)
        .map((line) => line.split(/\s(.*)/s).slice(0, 2));
      expect(sorted(entries.map((e) => e.join(' ')))).toEqual(sorted(maps.saslPassword.map((e) => e.join(' '))));

      const user = config.users[0];
      const script = user && renderVacationSieve(user);
      if (!user || !script) throw new Error('vacation script expected');
      await writeFile(join(tmp(), 'vacation.sieve'), script, { mode: 0o644 });
      const result = await run('sieve-test', [
        '-c',
        join(tmp(), 'dovecot.conf'),
        '-r',
        user.localAddress,
        '-f',
        'pal@elsewhere.test',
        join(tmp(), 'vacation.sieve'),
        join(tmp(), 'message'),
      ]);
      // Pigeonhole sends the reply with CRLF line ends.
      const actions = result.slice(result.indexOf('Performed actions:')).replace(/\r\n/g, '\n');
      expect(actions.match(/^ \* .*/gm)).toEqual([' * send vacation message:', ' * store message in folder: INBOX']);
      expect(actions).toContain(`=> subject : ${user.vacation?.subject}\n`);
      expect(actions).toContain(`START MESSAGE\n${body.replace(/\r\n/g, '\n')}\nEND MESSAGE`);
    }),
    { numRuns: 15 },
  );
});

// Plain text (tls 'none') hands the mailbox password to anyone on the path: only a server on
// this machine may get it; fetchmail itself reads what is rendered for that one.
it('6. plain-text fetching is refused for every server but loopback', async () => {
  const plainFrom = (host: string) => ({
    localDomain: 'invis.test',
    users: [
      {
        user: 'alice',
        localAddress: 'alice@invis.test',
        accounts: [
          {
            address: 'alice@provider.test',
            server: host,
            protocol: 'pop3',
            tls: 'none',
            login: 'alice',
            password: 'pw',
          },
        ],
      },
    ],
  });
  for (const remote of ['pop.gmx.net', '192.168.1.10', '10.0.0.1', 'localhost.evil.test', '128.0.0.1']) {
    const error = (() => {
      try {
        return parseMailConfig(plainFrom(remote));
      } catch (e) {
        return e;
      }
    })();
    expect(error, remote).toBeInstanceOf(MailRewriteError);
    expect((error as MailRewriteError).code).toBe('MAIL_INVALID_CONFIG');
    expect((error as MailRewriteError).message).toContain('users.0.accounts.0.tls');
  }
  for (const local of ['127.0.0.1', server.address, 'localhost']) {
    const rcFile = join(tmp(), 'plain-rc');
    const rc = buildFetchmailRc(parseMailConfig(plainFrom(local)), { smtpHost: server.address });
    await writeFile(rcFile, renderFetchmailRc(rc), { mode: 0o600 });
    expect(await run('fetchmail', ['-f', rcFile, '--configdump'])).toContain('"sslproto":""');
  }
});

it('6. hostile addresses are refused before anything is rendered', () => {
  for (const address of ['a@b.test\nrelayhost = [evil]', 'a b@c.test', '"a"@b.test', "a'b@c.test", 'a@b.test\r']) {
    expect(() => parseMailConfig({ localDomain: 'invis.test', users: [{ user: 'a', localAddress: address }] })).toThrow(
      MailRewriteError,
    );
  }
});

/** Pigeonhole's verdict (`sieve-test`, nothing executed) on alice's vacation script for one message. */
async function vacationActions(vacation: { start?: string; end?: string }, headers = ''): Promise<string[]> {
  const config = parseMailConfig({
    localDomain: 'invis.test',
    users: [
      {
        user: 'alice',
        localAddress: 'alice@invis.test',
        presence: 'vacation',
        vacation: { subject: 'away', body: 'away', ...vacation },
      },
    ],
  });
  const script = config.users[0] && renderVacationSieve(config.users[0]);
  await writeFile(join(tmp(), 'guard.sieve'), script ?? '', { mode: 0o644 });
  await writeFile(
    join(tmp(), 'guarded-message'),
    `From: pal@elsewhere.test\nTo: alice@invis.test\n${headers}Subject: hi\n\nhello\n`,
    { mode: 0o644 },
  );
  const out = await run('sieve-test', [
    '-c',
    join(tmp(), 'dovecot.conf'),
    '-r',
    'alice@invis.test',
    '-f',
    'pal@elsewhere.test',
    join(tmp(), 'guard.sieve'),
    join(tmp(), 'guarded-message'),
  ]);
  return out.match(/^ \* .*/gm) ?? [];
}

it('5. the vacation window is honoured by Pigeonhole (sieve-test)', async () => {
  const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10);
  expect(await vacationActions({ start: day(-1), end: day(1) })).toContain(' * send vacation message:');
  expect(await vacationActions({ start: day(-10), end: day(-2) })).toEqual([' * store message in folder: INBOX']);
  expect(await vacationActions({ start: day(2), end: day(10) })).toEqual([' * store message in folder: INBOX']);
});

// Sieve's `exists` with a list is true only when ALL the headers exist: each list header alone
// must stop the reply by itself, not only by Pigeonhole's own (execution-time) list check.
it('5. one mailing-list or automatic-mail header alone stops the vacation reply (sieve-test)', async () => {
  expect(await vacationActions({})).toContain(' * send vacation message:');
  for (const header of [
    'List-Id: <news.elsewhere.test>',
    'List-Post: <mailto:news@elsewhere.test>',
    'List-Unsubscribe: <mailto:leave@elsewhere.test>',
    'Precedence: bulk',
    'Auto-Submitted: auto-generated',
  ]) {
    expect(await vacationActions({}, `${header}\n`), header).toEqual([' * store message in folder: INBOX']);
  }
});

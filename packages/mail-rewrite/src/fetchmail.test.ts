import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { buildFetchmailRc, parseFetchmailRc, quoteFetchmail, renderFetchmailRc } from './fetchmail';
import { parseMailConfig } from './model';
import { configInputArb, failsOnlyWith, passwordArb, sampleInput } from './testing';

const options = { smtpHost: '127.0.0.1', idFile: '/var/lib/fetchmail/.fetchids', sslCertFile: '/etc/ssl/ca.pem' };

describe('buildFetchmailRc', () => {
  it('polls only present users, grouped by server', () => {
    const rc = buildFetchmailRc(parseMailConfig(sampleInput()), options);
    expect(rc.polls.map((p) => [p.server, p.protocol, p.port, p.users.map((u) => u.localAddress)])).toEqual([
      ['imap.web.de', 'imap', 143, ['alice@invis-net.loc']],
      ['pop.gmx.net', 'pop3', 995, ['alice@invis-net.loc']],
    ]);
    expect(rc.postmaster).toBe('postmaster@invis-net.loc');
  });
});

describe('renderFetchmailRc', () => {
  const text = renderFetchmailRc(buildFetchmailRc(parseMailConfig(sampleInput()), options));

  it('writes one quoted user line per mailbox with TLS options', () => {
    expect(text).toContain(
      `  user "alice@gmx.de" there with password "it's a \\x22secret\\x22 \\\\ #1" is "alice@invis-net.loc" here\n` +
        `    options ssl sslcertck sslcertfile "/etc/ssl/ca.pem" nokeep\n`,
    );
    expect(text).toContain('options sslproto "TLS1.2+" sslcertck sslcertfile "/etc/ssl/ca.pem" keep\n');
    expect(text).toContain('    folder "INBOX" "Bestellungen 2026"\n');
    expect(text).toContain('poll "pop.gmx.net" with protocol POP3 service 995 uidl\n');
    expect(text).not.toContain('bob');
  });

  it('round-trips', () => {
    expect(renderFetchmailRc(parseFetchmailRc(text))).toBe(text);
  });

  it('round-trips random configurations and any password (fuzzed)', () => {
    fc.assert(
      fc.property(configInputArb, (input) => {
        const rc = buildFetchmailRc(parseMailConfig(input), options);
        const rendered = renderFetchmailRc(rc);
        expect(parseFetchmailRc(rendered)).toEqual(JSON.parse(JSON.stringify(rc)));
        expect(renderFetchmailRc(parseFetchmailRc(rendered))).toBe(rendered);
      }),
      { numRuns: 300 },
    );
  });

  it('quotes so that the lexer sees exactly one string (fuzzed)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const q = quoteFetchmail(s);
        expect(/^"[^"\n]*"$/.test(q)).toBe(true);
      }),
    );
    fc.assert(
      fc.property(passwordArb, (pw) => {
        const rc = parseFetchmailRc(
          `poll "h" proto pop3 user "u" there with password ${quoteFetchmail(pw)} is "l" here`,
        );
        expect(rc.polls[0]?.users[0]?.password).toBe(pw);
      }),
    );
  });
});

describe('parseFetchmailRc', () => {
  it("reads single quotes, noise words and fetchmail's escapes", () => {
    const rc = parseFetchmailRc(
      "# old invis line\npoll pop.example.com proto pop3 user 'junk' pass 'a\\x22b\\\\' is junk here options ssl fetchall\n",
    );
    expect(rc.polls[0]).toMatchObject({ server: 'pop.example.com', protocol: 'pop3', port: 110 });
    expect(rc.polls[0]?.users[0]).toMatchObject({ login: 'junk', password: 'a"b\\', tls: 'implicit', fetchAll: true });
  });

  it('reports unknown keywords with the line number', () => {
    expect(() => parseFetchmailRc('poll "h" proto pop3\n  mda "/bin/sh -c evil"\n')).toThrow(/line 2/);
  });

  it('gives a typed error for junk, never a crash (fuzzed)', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary' }), failsOnlyWith('MAIL_PARSE_ERROR', parseFetchmailRc)));
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MailRewriteError } from './errors';
import { parseMailConfig } from './model';
import { failsOnlyWith, sampleInput } from './testing';

const withAddress = (address: string) => {
  const input = sampleInput();
  const alice = input.users?.[0];
  if (alice?.accounts?.[0]) alice.accounts[0].address = address;
  if (alice) alice.mainAddress = address;
  return input;
};

const issues = (fn: () => unknown): string[] => {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(MailRewriteError);
    return (e as MailRewriteError).details.issues as string[];
  }
  throw new Error('expected MAIL_INVALID_CONFIG');
};

describe('parseMailConfig', () => {
  it('normalises defaults and ports', () => {
    const config = parseMailConfig(sampleInput());
    const [pop, imap] = config.users[0]?.accounts ?? [];
    expect(pop).toMatchObject({ port: 995, tls: 'implicit', keep: false, fetchAll: false, folders: [] });
    expect(imap).toMatchObject({ port: 143, tls: 'starttls', keep: true });
    expect(config.users[1]?.presence).toBe('absent');
  });

  it('lower-cases addresses', () => {
    expect(parseMailConfig(withAddress('Alice@GMX.de')).users[0]?.mainAddress).toBe('alice@gmx.de');
  });

  it.each([
    'alice@gmx.de\nrelayhost = evil',
    'alice\r@gmx.de',
    'ali ce@gmx.de',
    '"alice"@gmx.de',
    "o'brien@gmx.de",
    'alice@gmx.de,bob@x.de',
    'alice@gmx.de\u2028x',
    '#alice@gmx.de',
    'alice@',
  ])('refuses the hostile address %j', (address) => {
    expect(issues(() => parseMailConfig(withAddress(address))).join()).toMatch(/address/);
  });

  it('refuses passwords with line breaks or surrounding blanks, keeps quotes', () => {
    const input = sampleInput();
    const account = input.users?.[0]?.accounts?.[0];
    if (!account) throw new Error('fixture');
    account.password = 'a\nb';
    expect(issues(() => parseMailConfig(input)).join()).toMatch(/password/);
    account.password = ' a';
    expect(issues(() => parseMailConfig(input)).join()).toMatch(/whitespace/);
    account.password = `'"\\`;
    expect(parseMailConfig(input).users[0]?.accounts[0]?.password).toBe(`'"\\`);
  });

  it('checks the cross-field rules', () => {
    const input = sampleInput();
    const [alice, bob] = input.users ?? [];
    if (!alice || !bob?.accounts?.[0]) throw new Error('fixture');
    bob.accounts[0].address = 'alice@gmx.de';
    bob.mainAddress = 'nobody@gmx.de';
    alice.presence = 'vacation';
    alice.localAddress = 'alice@other.loc';
    const found = issues(() => parseMailConfig(input)).join('\n');
    expect(found).toMatch(/users\.1\.accounts\.0\.address: address already used at users\.0\.accounts\.0\.address/);
    expect(found).toMatch(/users\.1\.mainAddress: must be the address of one of the user's accounts/);
    expect(found).toMatch(/users\.0\.vacation: required/);
    expect(found).toMatch(/users\.0\.localAddress: must be in invis-net.loc/);
  });

  it('allows plain-text fetching only from a loopback server', () => {
    const plain = (server: string) => {
      const input = sampleInput();
      const account = input.users?.[0]?.accounts?.[0];
      if (!account) throw new Error('fixture');
      Object.assign(account, { server, tls: 'none' });
      return input;
    };
    for (const server of ['pop.gmx.net', '192.168.0.1', '127.evil.test', 'localhost.evil.test']) {
      expect(issues(() => parseMailConfig(plain(server)))).toEqual([
        'users.0.accounts.0.tls: plain text only to a server on this machine (127.0.0.0/8, localhost); use implicit or starttls',
      ]);
    }
    for (const server of ['127.0.0.1', '127.77.3.4', 'localhost']) {
      expect(parseMailConfig(plain(server)).users[0]?.accounts[0]?.tls).toBe('none');
    }
  });

  it('never puts a value into the error (only paths)', () => {
    const input = withAddress('x\nsecret-value@gmx.de');
    try {
      parseMailConfig(input);
    } catch (e) {
      expect(JSON.stringify(e)).not.toContain('secret-value');
    }
  });

  it('turns any junk into MAIL_INVALID_CONFIG, never a crash (fuzzed)', () => {
    fc.assert(fc.property(fc.anything(), failsOnlyWith('MAIL_INVALID_CONFIG', parseMailConfig)));
  });

  it('accepts an address only if it has no character that could break a config line (fuzzed)', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 30 }), fc.string({ maxLength: 10 }), (local, domain) => {
        const address = `${local}@${domain || 'x'}.de`;
        try {
          const parsed = parseMailConfig(withAddress(address)).users[0]?.mainAddress ?? '';
          return /^[a-z0-9._%+-]+@[a-z0-9.-]+$/.test(parsed);
        } catch (e) {
          return e instanceof MailRewriteError;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MailRewriteError } from './errors';
import { generateSecretKey, isSealedSecret, openSecret, parseSecretKey, sealSecret } from './secrets';

describe('sealSecret / openSecret', () => {
  const key = generateSecretKey();

  it('round-trips any password and never stores it in clear (fuzzed)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (pw) => {
        const sealed = sealSecret(pw, key, 'alice@gmx.de');
        expect(isSealedSecret(sealed)).toBe(true);
        if (pw.length > 3) expect(sealed).not.toContain(pw);
        expect(openSecret(sealed, key, 'Alice@GMX.de')).toEqual({ password: pw, legacy: false });
      }),
      { numRuns: 200 },
    );
  });

  it('reads clear-text values of the original invis as legacy', () => {
    expect(openSecret('geheim', key, 'alice@gmx.de')).toEqual({ password: 'geheim', legacy: true });
  });

  it('refuses another key, another account or a tampered value', () => {
    const sealed = sealSecret('pw', key, 'alice@gmx.de');
    const code = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return (e as MailRewriteError).code;
      }
      return 'none';
    };
    expect(code(() => openSecret(sealed, generateSecretKey(), 'alice@gmx.de'))).toBe('MAIL_SECRET_DECRYPT');
    expect(code(() => openSecret(sealed, key, 'bob@gmx.de'))).toBe('MAIL_SECRET_DECRYPT');
    expect(code(() => openSecret(`${sealed.slice(0, -4)}AAAA`, key, 'alice@gmx.de'))).toBe('MAIL_SECRET_DECRYPT');
    expect(code(() => openSecret('{INVIS-AES256GCM}AAAA', key, 'alice@gmx.de'))).toBe('MAIL_SECRET_DECRYPT');
  });

  it('parses key files', () => {
    const text = `${Buffer.from(key).toString('base64')}\n`;
    expect(parseSecretKey(text)).toEqual(key);
    expect(() => parseSecretKey('short')).toThrow(MailRewriteError);
  });
});

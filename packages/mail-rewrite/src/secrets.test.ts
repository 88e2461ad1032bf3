import { createCipheriv, randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MailRewriteError } from './errors';
import { generateSecretKey, isSealedSecret, openSecret, parseSecretKey, type SecretKey, sealSecret } from './secrets';

const alice = { owner: 'alice', address: 'alice@gmx.de' };

const code = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as MailRewriteError).code;
  }
  return 'decrypted';
};

/** A value as version 1 wrote it: only the address as associated data. */
function sealV1(password: string, key: SecretKey, address: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(address, 'utf8'));
  const ciphertext = Buffer.concat([cipher.update(password, 'utf8'), cipher.final()]);
  return `{INVIS-AES256GCM}${Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64')}`;
}

describe('sealSecret / openSecret', () => {
  const key = generateSecretKey();

  it('round-trips any password and never stores it in clear (fuzzed)', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), (pw) => {
        const sealed = sealSecret(pw, key, alice);
        expect(sealed.startsWith('{INVIS-AES256GCM-2}')).toBe(true);
        expect(isSealedSecret(sealed)).toBe(true);
        if (pw.length > 3) expect(sealed).not.toContain(pw);
        expect(openSecret(sealed, key, { owner: 'Alice', address: 'Alice@GMX.de' })).toEqual({
          password: pw,
          legacy: false,
        });
      }),
      { numRuns: 200 },
    );
  });

  it('reads clear-text values of the original invis as legacy', () => {
    expect(openSecret('geheim', key, alice)).toEqual({ password: 'geheim', legacy: true });
  });

  it('reads version 1 values (address only) as legacy, to be re-sealed', () => {
    const v1 = sealV1('pw', key, 'alice@gmx.de');
    expect(isSealedSecret(v1)).toBe(true);
    expect(openSecret(v1, key, alice)).toEqual({ password: 'pw', legacy: true });
    expect(code(() => openSecret(v1, key, { owner: 'alice', address: 'bob@gmx.de' }))).toBe('MAIL_SECRET_DECRYPT');
  });

  it('refuses another key, another owner, another address or a tampered value', () => {
    const sealed = sealSecret('pw', key, alice);
    expect(code(() => openSecret(sealed, generateSecretKey(), alice))).toBe('MAIL_SECRET_DECRYPT');
    expect(code(() => openSecret(sealed, key, { ...alice, owner: 'bob' }))).toBe('MAIL_SECRET_DECRYPT');
    expect(code(() => openSecret(sealed, key, { ...alice, address: 'bob@gmx.de' }))).toBe('MAIL_SECRET_DECRYPT');
    // Owner and address cannot be shifted into each other.
    expect(code(() => openSecret(sealed, key, { owner: 'alice\0alice', address: 'gmx.de' }))).toBe(
      'MAIL_SECRET_DECRYPT',
    );
    expect(code(() => openSecret(`${sealed.slice(0, -4)}AAAA`, key, alice))).toBe('MAIL_SECRET_DECRYPT');
    expect(code(() => openSecret('{INVIS-AES256GCM-2}AAAA', key, alice))).toBe('MAIL_SECRET_DECRYPT');
    expect(code(() => openSecret('{INVIS-AES256GCM}AAAA', key, alice))).toBe('MAIL_SECRET_DECRYPT');
  });

  it('parses key files', () => {
    const text = `${Buffer.from(key).toString('base64')}\n`;
    expect(parseSecretKey(text)).toEqual(key);
    expect(() => parseSecretKey('short')).toThrow(MailRewriteError);
  });
});

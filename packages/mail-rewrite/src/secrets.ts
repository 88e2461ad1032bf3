import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { MailRewriteError } from './errors';

// External mailbox passwords are stored in AD (`fspExtMailUserPW`) encrypted with a key that
// only the server (root) holds, so reading AD is not enough to read them. The owner (AD account
// name) and the address are bound in as associated data: a ciphertext copied onto another
// account, or moved with its account object to another user, does not decrypt.
// Version 1 (`{INVIS-AES256GCM}`) bound only the address; it is still read, as legacy.
const PREFIX = '{INVIS-AES256GCM-2}';
const PREFIX_V1 = '{INVIS-AES256GCM}';
const IV_BYTES = 12;
const TAG_BYTES = 16;

/** A 32-byte AES-256 key, e.g. from `generateSecretKey()` kept in a root-only 0600 file. */
export type SecretKey = Uint8Array;

/**
 * Creates a fresh random server key.
 * @returns 32 random bytes
 * @example await writeFile('/etc/invis/mail-secret.key', Buffer.from(generateSecretKey()).toString('base64'), { mode: 0o600 })
 */
export function generateSecretKey(): SecretKey {
  return new Uint8Array(randomBytes(32));
}

/**
 * Reads a key file's content (base64 of 32 bytes, surrounding whitespace ignored).
 * @throws MailRewriteError `MAIL_SECRET_KEY` when it is not 32 bytes of base64
 */
export function parseSecretKey(text: string): SecretKey {
  const trimmed = text.trim();
  const bytes = Buffer.from(trimmed, 'base64');
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(trimmed) || bytes.length !== 32) {
    throw new MailRewriteError('MAIL_SECRET_KEY', 'the mail secret key must be 32 bytes, base64-encoded');
  }
  return new Uint8Array(bytes);
}

function checkKey(key: SecretKey): void {
  if (key.length !== 32) throw new MailRewriteError('MAIL_SECRET_KEY', 'the mail secret key must be 32 bytes');
}

/** Whose password it is: both are bound to the ciphertext. */
export interface SecretBinding {
  /** AD account name (`sAMAccountName`) of the user the mailbox belongs to. */
  owner: string;
  /** The mailbox's external address. */
  address: string;
}

// NUL cannot occur in an account name or an address, so the two fields cannot run together.
const associatedData = (b: SecretBinding): Buffer =>
  Buffer.from(`invis-mail-secret/2\0${b.owner.toLowerCase()}\0${b.address.toLowerCase()}`, 'utf8');

/**
 * Encrypts a mailbox password for storage in `fspExtMailUserPW`.
 * @param password clear text
 * @param key server key
 * @param binding owner (AD account name) and external address, bound as associated data
 * @returns `{INVIS-AES256GCM-2}` + base64(iv ‖ tag ‖ ciphertext)
 * @throws MailRewriteError `MAIL_SECRET_KEY`
 * @example const stored = sealSecret('pw', key, { owner: 'alice', address: 'alice@gmx.de' });
 */
export function sealSecret(password: string, key: SecretKey, binding: SecretBinding): string {
  checkKey(key);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(associatedData(binding));
  const ciphertext = Buffer.concat([cipher.update(password, 'utf8'), cipher.final()]);
  return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ciphertext]).toString('base64');
}

/** Whether a stored value is encrypted, in the current or the version 1 format (else it is an old invis clear-text value). */
export function isSealedSecret(stored: string): boolean {
  return stored.startsWith(PREFIX) || stored.startsWith(PREFIX_V1);
}

/**
 * Decrypts a stored password. A value without a prefix is a clear-text password written by
 * the original invis, a `{INVIS-AES256GCM}` value is version 1 (bound to the address only);
 * both are returned with `legacy: true` so the caller re-seals them on write.
 * @param binding the owner and address of the account the value was read from
 * @throws MailRewriteError `MAIL_SECRET_DECRYPT` when the value was tampered with, or the key,
 *   owner or address differ
 */
export function openSecret(
  stored: string,
  key: SecretKey,
  binding: SecretBinding,
): { password: string; legacy: boolean } {
  if (!isSealedSecret(stored)) return { password: stored, legacy: true };
  checkKey(key);
  const v1 = !stored.startsWith(PREFIX);
  const { address } = binding;
  const raw = Buffer.from(stored.slice(v1 ? PREFIX_V1.length : PREFIX.length), 'base64');
  if (raw.length <= IV_BYTES + TAG_BYTES) {
    throw new MailRewriteError('MAIL_SECRET_DECRYPT', 'stored mailbox password is truncated', { details: { address } });
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, IV_BYTES));
    decipher.setAAD(v1 ? Buffer.from(address.toLowerCase(), 'utf8') : associatedData(binding));
    decipher.setAuthTag(raw.subarray(IV_BYTES, IV_BYTES + TAG_BYTES));
    const plain = Buffer.concat([decipher.update(raw.subarray(IV_BYTES + TAG_BYTES)), decipher.final()]);
    return { password: plain.toString('utf8'), legacy: v1 };
  } catch (cause) {
    throw new MailRewriteError(
      'MAIL_SECRET_DECRYPT',
      'stored mailbox password cannot be decrypted (wrong key, or the value belongs to another account)',
      { cause, details: { address } },
    );
  }
}

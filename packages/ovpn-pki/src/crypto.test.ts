import { createPrivateKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { exportPrivateKeyPem, generateKeyPair, importPrivateKeyPem, publicKeyDerOfPrivatePem } from './crypto';
import { isOvpnPkiError } from './errors';

async function code(p: Promise<unknown>): Promise<string | undefined> {
  return p.then(
    () => undefined,
    (e: unknown) => (isOvpnPkiError(e) ? e.code : String(e)),
  );
}

describe('private key PEM import', () => {
  it('reads every form OpenSSL writes and recognises the algorithm', async () => {
    const ec = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const forms: [string, string, string | undefined][] = [
      ['ec-p256', ec.export({ type: 'pkcs8', format: 'pem' }).toString(), undefined],
      ['ec-p256', ec.export({ type: 'sec1', format: 'pem' }).toString(), undefined],
      [
        'ec-p256',
        ec.export({ type: 'sec1', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw-legacy' }).toString(),
        'pw-legacy',
      ],
      ['rsa-2048', rsa.export({ type: 'pkcs1', format: 'pem' }).toString(), undefined],
      [
        'rsa-2048',
        rsa.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw-pkcs8' }).toString(),
        'pw-pkcs8',
      ],
    ];
    for (const [algorithm, pem, passphrase] of forms) {
      expect((await importPrivateKeyPem(pem, passphrase)).algorithm).toBe(algorithm);
      if (passphrase) {
        expect(await code(importPrivateKeyPem(pem))).toBe('PKI_PASSPHRASE_REQUIRED');
        expect(await code(importPrivateKeyPem(pem, 'wrong'))).toBe('PKI_BAD_PASSPHRASE');
      }
    }
  });

  it('round-trips our own export, encrypted or not, and rejects junk and unsupported keys', async () => {
    const keys = await generateKeyPair('ed25519');
    const plain = await exportPrivateKeyPem(keys.privateKey);
    const locked = await exportPrivateKeyPem(keys.privateKey, 'long passphrase');
    expect(locked).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect(publicKeyDerOfPrivatePem(locked, 'long passphrase')).toEqual(publicKeyDerOfPrivatePem(plain));
    expect((await importPrivateKeyPem(locked, 'long passphrase')).algorithm).toBe('ed25519');
    expect(await code(importPrivateKeyPem('not a key'))).toBe('PKI_PARSE_FAILED');
    const x25519 = generateKeyPairSync('x25519').privateKey;
    expect(await code(importPrivateKeyPem(x25519.export({ type: 'pkcs8', format: 'pem' }).toString()))).toBe(
      'PKI_PARSE_FAILED',
    );
    expect(createPrivateKey(plain).asymmetricKeyType).toBe('ed25519');
  });
});

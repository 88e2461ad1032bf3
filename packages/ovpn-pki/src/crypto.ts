// Key generation, key/PEM conversion and signing parameters (no openssl process): CA keys on
// WebCrypto for @peculiar/x509, leaf keys on node:crypto for the DER leaf builder in ca.ts.
// @peculiar/x509 2.x needs a Reflect polyfill loaded before it (tsyringe), hence the first import.
import 'reflect-metadata';
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  generateKeyPair as generateNodeKeyPair,
  KeyObject,
  X509Certificate as NodeX509,
  randomBytes,
  webcrypto,
} from 'node:crypto';
import { promisify } from 'node:util';
import * as x509 from '@peculiar/x509';
import { OvpnPkiError } from './errors';
import type { KeyAlgorithm } from './model';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[1]);

/** A WebCrypto key (node:crypto's; the DOM lib is not loaded). */
export type CryptoKey = webcrypto.CryptoKey;
type Algorithm = webcrypto.Algorithm;

/** WebCrypto key generation/import parameters per algorithm. */
function keyParams(alg: KeyAlgorithm): webcrypto.RsaHashedKeyGenParams | webcrypto.EcKeyGenParams | Algorithm {
  switch (alg) {
    case 'ec-p256':
      return { name: 'ECDSA', namedCurve: 'P-256' } as webcrypto.EcKeyGenParams;
    case 'ec-p384':
      return { name: 'ECDSA', namedCurve: 'P-384' } as webcrypto.EcKeyGenParams;
    case 'ed25519':
      return { name: 'Ed25519' };
    default:
      return {
        name: 'RSASSA-PKCS1-v1_5',
        modulusLength: Number(alg.slice(4)),
        publicExponent: new Uint8Array([1, 0, 1]),
        hash: 'SHA-256',
      } as webcrypto.RsaHashedKeyGenParams;
  }
}

/** The signature algorithm a key of `alg` signs with. */
export function signingAlgorithm(alg: KeyAlgorithm): Algorithm {
  if (alg === 'ed25519') return { name: 'Ed25519' };
  if (alg.startsWith('ec-')) return { name: 'ECDSA', hash: alg === 'ec-p384' ? 'SHA-384' : 'SHA-256' } as Algorithm;
  return { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as Algorithm;
}

/** Generates an extractable key pair. */
export async function generateKeyPair(alg: KeyAlgorithm): Promise<webcrypto.CryptoKeyPair> {
  try {
    return (await webcrypto.subtle.generateKey(keyParams(alg), true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
  } catch (cause) {
    throw new OvpnPkiError('PKI_CRYPTO_FAILED', `cannot generate a ${alg} key`, { cause, details: { algorithm: alg } });
  }
}

/** A leaf's new key: the private half and the public half as SPKI DER. */
export interface LeafKey {
  privateKey: KeyObject;
  spki: Buffer;
}

const generateNodeKeyPairAsync = promisify(generateNodeKeyPair);

/**
 * Generates a leaf key with node:crypto (no WebCrypto round trips): EC and Ed25519 at once,
 * RSA on the thread pool (it takes tens of milliseconds and must not block the event loop).
 * @throws {OvpnPkiError} PKI_CRYPTO_FAILED
 */
export async function generateLeafKey(alg: KeyAlgorithm): Promise<LeafKey> {
  try {
    const { privateKey, publicKey } =
      alg === 'ed25519'
        ? generateKeyPairSync('ed25519')
        : alg.startsWith('ec-')
          ? generateKeyPairSync('ec', { namedCurve: alg === 'ec-p384' ? 'P-384' : 'P-256' })
          : await generateNodeKeyPairAsync('rsa', { modulusLength: Number(alg.slice(4)) });
    return { privateKey, spki: publicKey.export({ type: 'spki', format: 'der' }) };
  } catch (cause) {
    throw new OvpnPkiError('PKI_CRYPTO_FAILED', `cannot generate a ${alg} key`, { cause, details: { algorithm: alg } });
  }
}

/**
 * Exports a private key as PKCS#8 PEM; with a passphrase as `ENCRYPTED PRIVATE KEY`
 * (PBES2, AES-256-CBC; what `openssl pkey -aes256` writes, so easy-rsa/openssl can use it).
 */
export async function exportPrivateKeyPem(key: CryptoKey | KeyObject, passphrase?: string): Promise<string> {
  const der =
    key instanceof KeyObject
      ? key.export({ type: 'pkcs8', format: 'der' })
      : Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  if (passphrase === undefined) return `${x509.PemConverter.encode(der, 'PRIVATE KEY')}\n`;
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' })
    .export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase })
    .toString();
}

/**
 * The algorithm of a private key in any PEM form OpenSSL writes (PKCS#8, encrypted PKCS#8,
 * traditional `EC`/`RSA PRIVATE KEY`), and the key as a WebCrypto signing key.
 * @throws {OvpnPkiError} PKI_PASSPHRASE_REQUIRED, PKI_BAD_PASSPHRASE, PKI_PARSE_FAILED
 */
export async function importPrivateKeyPem(
  pem: string,
  passphrase?: string,
): Promise<{ algorithm: KeyAlgorithm; privateKey: CryptoKey }> {
  const encrypted = /-----BEGIN (ENCRYPTED PRIVATE KEY|[A-Z]+ PRIVATE KEY-----\r?\nProc-Type: 4,ENCRYPTED)/.test(pem);
  if (encrypted && passphrase === undefined) {
    throw new OvpnPkiError('PKI_PASSPHRASE_REQUIRED', 'the private key is encrypted; a passphrase is required');
  }
  let keyObject: ReturnType<typeof createPrivateKey>;
  try {
    keyObject = createPrivateKey(encrypted ? { key: pem, format: 'pem', passphrase: passphrase ?? '' } : pem);
  } catch (cause) {
    if (encrypted) throw new OvpnPkiError('PKI_BAD_PASSPHRASE', 'wrong passphrase for the private key', { cause });
    throw new OvpnPkiError('PKI_PARSE_FAILED', 'not a readable private key (PEM)', { cause });
  }
  const algorithm = keyObjectAlgorithm(keyObject.asymmetricKeyType, keyObject.asymmetricKeyDetails);
  const der = keyObject.export({ type: 'pkcs8', format: 'der' });
  try {
    const privateKey = await webcrypto.subtle.importKey('pkcs8', der, keyParams(algorithm), true, ['sign']);
    return { algorithm, privateKey };
  } catch (cause) {
    throw new OvpnPkiError('PKI_CRYPTO_FAILED', `cannot use the ${algorithm} key`, { cause });
  }
}

function keyObjectAlgorithm(
  type: string | undefined,
  details: { modulusLength?: number; namedCurve?: string } | undefined,
): KeyAlgorithm {
  if (type === 'ed25519') return 'ed25519';
  if (type === 'ec') {
    if (details?.namedCurve === 'prime256v1') return 'ec-p256';
    if (details?.namedCurve === 'secp384r1') return 'ec-p384';
  }
  if (type === 'rsa' && [2048, 3072, 4096].includes(details?.modulusLength ?? 0)) {
    return `rsa-${details?.modulusLength}` as KeyAlgorithm;
  }
  throw new OvpnPkiError(
    'PKI_PARSE_FAILED',
    `unsupported key type ${type ?? 'unknown'} ${details?.namedCurve ?? details?.modulusLength ?? ''}`.trim(),
    { details: { keyType: type ?? null } },
  );
}

/** SPKI DER of the public half of a PEM private key (to check that a key belongs to a certificate). */
export function publicKeyDerOfPrivatePem(pem: string, passphrase?: string): Buffer {
  const key = createPrivateKey(passphrase === undefined ? pem : { key: pem, format: 'pem', passphrase });
  return createPublicKey(key).export({ type: 'spki', format: 'der' });
}

/** A positive 128-bit certificate serial in upper-case hex (top bit clear, first byte non-zero). */
export function randomSerial(): string {
  const b = randomBytes(16);
  b[0] = ((b[0] ?? 0) & 0x7f) | 0x01;
  return b.toString('hex').toUpperCase();
}

/** PEM of a CRL with the label OpenSSL/OpenVPN read (`X509 CRL`, not the library's `CRL`). */
export function crlToPem(crl: x509.X509Crl): string {
  return `${x509.PemConverter.encode(crl.rawData, 'X509 CRL')}\n`;
}

/** What listing needs from a certificate, read with Node's native X509 parser (≈50× faster than a full parse). */
export interface CertMeta {
  /** Upper-case hex, without leading zero bytes (as index.txt). */
  serial: string;
  kind: 'server' | 'client' | undefined;
  /** CN of the issuer. */
  issuerCn: string;
  /** Whether `ca` issued this certificate (name and signature). */
  issuedBy(ca: NodeX509): boolean;
}

/** Metadata of a PEM certificate (see {@link CertMeta}). */
export function certMeta(pem: string): CertMeta {
  const cert = new NodeX509(pem);
  const eku = cert.keyUsage ?? [];
  return {
    serial: cert.serialNumber.toUpperCase(),
    kind: eku.includes('1.3.6.1.5.5.7.3.1') ? 'server' : eku.includes('1.3.6.1.5.5.7.3.2') ? 'client' : undefined,
    issuerCn: /(?:^|\n)CN=([^\n]*)/.exec(cert.issuer)?.[1] ?? cert.issuer,
    issuedBy: (ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey),
  };
}

export { NodeX509, x509 };

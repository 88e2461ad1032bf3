// In-memory certificate and CRL issuance: no disk, no processes. The store (store.ts) decides
// names, serials and validity; these functions only build and sign.
import { createHash, sign as cryptoSign, KeyObject } from 'node:crypto';
import { type CryptoKey, generateKeyPair, generateLeafKey, randomSerial, signingAlgorithm, x509 } from './crypto';
import * as der from './der';
import { OvpnPkiError } from './errors';
import type { KeyAlgorithm, SubjectAltNames } from './model';

/** A CA that can sign: its certificate, private key and key algorithm. */
export interface Signer {
  cert: x509.X509Certificate;
  privateKey: CryptoKey;
  algorithm: KeyAlgorithm;
}

/** What a leaf certificate is for: OpenVPN checks the EKU with `remote-cert-tls`. */
export type CertKind = 'server' | 'client';

const DAY = 86_400_000;
/** notBefore is set this far in the past so that clients with a slow clock accept new certificates. */
const BACKDATE = 3_600_000;

/** Revocation reasons (RFC 5280 §5.3.1), name ↔ code; names as OpenSSL writes them in index.txt. */
export const REVOCATION_REASONS: Readonly<Record<RevocationReason, number>> = Object.freeze({
  unspecified: 0,
  keyCompromise: 1,
  CACompromise: 2,
  affiliationChanged: 3,
  superseded: 4,
  cessationOfOperation: 5,
  certificateHold: 6,
  privilegeWithdrawn: 9,
});

/** A revocation reason name (see {@link REVOCATION_REASONS}). */
export type RevocationReason =
  | 'unspecified'
  | 'keyCompromise'
  | 'CACompromise'
  | 'affiliationChanged'
  | 'superseded'
  | 'cessationOfOperation'
  | 'certificateHold'
  | 'privilegeWithdrawn';

/** Reverse lookup of {@link REVOCATION_REASONS}: the name of a reason code, or undefined. */
export function revocationReasonName(code: number): RevocationReason | undefined {
  return (Object.keys(REVOCATION_REASONS) as RevocationReason[]).find((n) => REVOCATION_REASONS[n] === code);
}

async function sign<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (cause) {
    if (cause instanceof OvpnPkiError) throw cause;
    throw new OvpnPkiError('PKI_CRYPTO_FAILED', `cannot sign the ${what}`, { cause });
  }
}

/** Creates a self-signed CA (basicConstraints CA critical, keyCertSign|cRLSign, SKI). */
export async function createCaCertificate(options: {
  commonName: string;
  algorithm: KeyAlgorithm;
  days: number;
  now: Date;
}): Promise<Signer> {
  const keys = await generateKeyPair(options.algorithm);
  const cert = await sign('CA certificate', async () =>
    x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: [{ CN: [options.commonName] }],
      keys,
      signingAlgorithm: signingAlgorithm(options.algorithm),
      notBefore: new Date(options.now.getTime() - BACKDATE),
      notAfter: new Date(options.now.getTime() + options.days * DAY),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    }),
  );
  return { cert, privateKey: keys.privateKey, algorithm: options.algorithm };
}

/**
 * Cross-certificate for a CA rollover: the new CA's subject and key, signed by the old CA, so
 * clients that trust only the old CA accept chains ending in the new one (server `extra-certs`).
 */
export async function crossCertificate(options: {
  signer: Signer;
  newCa: x509.X509Certificate;
  now: Date;
}): Promise<x509.X509Certificate> {
  const { signer, newCa, now } = options;
  return sign('cross-certificate', async () =>
    x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: newCa.subjectName,
      issuer: signer.cert.subjectName,
      publicKey: newCa.publicKey,
      signingKey: signer.privateKey,
      signingAlgorithm: signingAlgorithm(signer.algorithm),
      notBefore: new Date(now.getTime() - BACKDATE),
      notAfter: new Date(Math.min(newCa.notAfter.getTime(), signer.cert.notAfter.getTime())),
      extensions: [
        new x509.BasicConstraintsExtension(true, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(newCa.publicKey),
        await authorityKeyId(signer),
      ],
    }),
  );
}

/** AKI pointing at the signer: its own SKI when present (easy-rsa CAs), else derived from its key. */
async function authorityKeyId(signer: Signer): Promise<x509.AuthorityKeyIdentifierExtension> {
  const ski = signer.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  if (ski) return new x509.AuthorityKeyIdentifierExtension(ski.keyId);
  return x509.AuthorityKeyIdentifierExtension.create(signer.cert.publicKey);
}

function leafKeyUsage(alg: KeyAlgorithm): number {
  const KU = x509.KeyUsageFlags;
  if (alg.startsWith('rsa-')) return KU.digitalSignature | KU.keyEncipherment;
  if (alg.startsWith('ec-')) return KU.digitalSignature | KU.keyAgreement;
  return KU.digitalSignature;
}

/** A leaf certificate as issued: what the store writes and lists, without a parsed object. */
export interface LeafCertificate {
  /** PEM (label `CERTIFICATE`, no trailing newline, as `X509Certificate.toString('pem')`). */
  pem: string;
  /** Upper-case hex, as index.txt. */
  serial: string;
  /** To the second, as the certificate stores it. */
  notAfter: Date;
  commonName: string;
}

/** What every leaf of one CA shares, encoded once per signer. */
interface SignerDer {
  issuer: Buffer;
  authorityKeyId: Buffer;
  signatureAlgorithm: Buffer;
  key: KeyObject;
  /** Digest for `crypto.sign` (null for Ed25519, which hashes itself). */
  digest: string | null;
}

const signerDer = new WeakMap<Signer, Promise<SignerDer>>();

/** The signature AlgorithmIdentifier and digest of a CA key (RFC 5758, RFC 8410, RFC 4055). */
function signatureOf(alg: KeyAlgorithm): { identifier: Buffer; digest: string | null } {
  if (alg === 'ed25519') return { identifier: der.sequence(der.oid('1.3.101.112')), digest: null };
  if (alg === 'ec-p384') return { identifier: der.sequence(der.oid('1.2.840.10045.4.3.3')), digest: 'sha384' };
  if (alg.startsWith('ec-')) return { identifier: der.sequence(der.oid('1.2.840.10045.4.3.2')), digest: 'sha256' };
  return { identifier: der.sequence(der.oid('1.2.840.113549.1.1.11'), der.NULL), digest: 'sha256' };
}

function loadSignerDer(signer: Signer): Promise<SignerDer> {
  let loaded = signerDer.get(signer);
  if (!loaded) {
    loaded = (async () => {
      const { identifier, digest } = signatureOf(signer.algorithm);
      return {
        issuer: Buffer.from(signer.cert.subjectName.toArrayBuffer()),
        authorityKeyId: Buffer.from((await authorityKeyId(signer)).rawData),
        signatureAlgorithm: identifier,
        key: KeyObject.from(signer.privateKey),
        digest,
      };
    })();
    signerDer.set(signer, loaded);
  }
  return loaded;
}

/** basicConstraints, keyUsage and extendedKeyUsage of a leaf: the same for every leaf of a kind and key type. */
const fixedExtensions = new Map<string, Buffer[]>();

function leafFixedExtensions(kind: CertKind, alg: KeyAlgorithm): Buffer[] {
  const id = `${kind}/${alg}`;
  let extensions = fixedExtensions.get(id);
  if (!extensions) {
    extensions = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(leafKeyUsage(alg), true),
      new x509.ExtendedKeyUsageExtension(
        [kind === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
    ].map((e) => Buffer.from(e.rawData));
    fixedExtensions.set(id, extensions);
  }
  return extensions;
}

/** subjectKeyIdentifier: SHA-1 of the subjectPublicKey bits (RFC 5280 §4.2.1.2 method 1). */
function subjectKeyIdentifier(spki: Uint8Array): Buffer {
  const outer = der.readTlv(spki, 0);
  const bits = der.readTlv(spki, der.readTlv(spki, outer.start).end);
  const keyId = createHash('sha1')
    .update(spki.subarray(bits.start + 1, bits.end))
    .digest();
  return der.sequence(der.oid('2.5.29.14'), der.octetString(der.octetString(keyId)));
}

const DER_CERTIFICATE_VERSION_3 = der.explicit(0, Buffer.from([0x02, 0x01, 0x02]));

/**
 * Issues a server (EKU serverAuth, SAN) or client (EKU clientAuth) certificate. Generates a new
 * key pair of `algorithm` unless `publicKey` (SPKI DER) is given (renewal with the same key);
 * notAfter never exceeds the CA's. The certificate is encoded here (DER) and signed with
 * node:crypto; its content is what @peculiar/x509's generator makes for the same input.
 */
export async function issueLeafCertificate(options: {
  signer: Signer;
  commonName: string;
  kind: CertKind;
  algorithm: KeyAlgorithm;
  days: number;
  now: Date;
  san?: SubjectAltNames;
  publicKey?: Uint8Array;
}): Promise<{ cert: LeafCertificate; privateKey?: KeyObject }> {
  const { signer, now } = options;
  const keys = options.publicKey ? undefined : await generateLeafKey(options.algorithm);
  const spki = (options.publicKey ?? keys?.spki) as Uint8Array;
  const toSecond = (ms: number): Date => new Date(Math.floor(ms / 1000) * 1000);
  const notBefore = toSecond(now.getTime() - BACKDATE);
  const notAfter = toSecond(Math.min(now.getTime() + options.days * DAY, signer.cert.notAfter.getTime()));
  const serial = randomSerial();
  const cert = await sign(`${options.kind} certificate`, async () => {
    const ca = await loadSignerDer(signer);
    const extensions = [
      ...leafFixedExtensions(options.kind, options.algorithm),
      subjectKeyIdentifier(spki),
      ca.authorityKeyId,
    ];
    const san = options.san;
    if (san && san.dns.length + san.ip.length > 0) {
      const names = [
        ...san.dns.map((value) => ({ type: 'dns' as const, value })),
        ...san.ip.map((value) => ({ type: 'ip' as const, value })),
      ];
      extensions.push(Buffer.from(new x509.SubjectAlternativeNameExtension(names).rawData));
    }
    const tbs = der.sequence(
      DER_CERTIFICATE_VERSION_3,
      der.unsignedInteger(serial),
      ca.signatureAlgorithm,
      ca.issuer,
      der.sequence(der.time(notBefore), der.time(notAfter)),
      der.sequence(der.set(der.sequence(der.oid('2.5.4.3'), der.directoryString(options.commonName)))),
      spki,
      der.explicit(3, der.sequence(...extensions)),
    );
    const signature = cryptoSign(ca.digest, tbs, { key: ca.key, dsaEncoding: 'der' });
    const certificate = der.sequence(tbs, ca.signatureAlgorithm, der.bitString(signature));
    return {
      pem: x509.PemConverter.encode(certificate, 'CERTIFICATE'),
      serial,
      notAfter,
      commonName: options.commonName,
    };
  });
  return keys ? { cert, privateKey: keys.privateKey } : { cert };
}

/** One revoked certificate on a CRL. */
export interface CrlEntry {
  /** Serial in hex. */
  serial: string;
  revokedAt: Date;
  reason: RevocationReason;
}

/** DER INTEGER for the CRL number extension (@peculiar/x509 has no class for it). */
function derInteger(n: number): Uint8Array {
  const bytes: number[] = [];
  let v = n;
  do {
    bytes.unshift(v & 0xff);
    v = Math.floor(v / 256);
  } while (v > 0);
  if ((bytes[0] ?? 0) & 0x80) bytes.unshift(0);
  return new Uint8Array([0x02, bytes.length, ...bytes]);
}

/** Signs a CRL valid from `now` (minus a minute) until now + `days`, with AKI and CRL number. */
export async function signCrl(options: {
  signer: Signer;
  entries: readonly CrlEntry[];
  now: Date;
  days: number;
  crlNumber: number;
}): Promise<x509.X509Crl> {
  const { signer, now } = options;
  return sign('CRL', async () =>
    x509.X509CrlGenerator.create({
      issuer: signer.cert.subjectName,
      thisUpdate: new Date(now.getTime() - 60_000),
      nextUpdate: new Date(now.getTime() + options.days * DAY),
      signingKey: signer.privateKey,
      signingAlgorithm: signingAlgorithm(signer.algorithm),
      extensions: [await authorityKeyId(signer), new x509.Extension('2.5.29.20', false, derInteger(options.crlNumber))],
      entries: options.entries.map((e) => ({
        serialNumber: e.serial,
        revocationDate: e.revokedAt,
        reason: REVOCATION_REASONS[e.reason],
      })),
    }),
  );
}

/** The kind of a leaf from its EKU (server wins when both are present), or undefined. */
export function certKind(cert: x509.X509Certificate): CertKind | undefined {
  const eku = cert.getExtension(x509.ExtendedKeyUsageExtension);
  const usages = (eku?.usages ?? []).map(String);
  if (usages.includes(x509.ExtendedKeyUsage.serverAuth)) return 'server';
  if (usages.includes(x509.ExtendedKeyUsage.clientAuth)) return 'client';
  return undefined;
}

/** The first CN of a certificate subject, or the whole subject when it has none. */
export function commonName(cert: x509.X509Certificate): string {
  return cert.subjectName.getField('CN')[0] ?? cert.subject;
}

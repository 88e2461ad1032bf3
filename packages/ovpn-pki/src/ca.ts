// In-memory certificate and CRL issuance: no disk, no processes. The store (store.ts) decides
// names, serials and validity; these functions only build and sign.
import { type CryptoKey, generateKeyPair, randomSerial, signingAlgorithm, x509 } from './crypto';
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

/**
 * Issues a server (EKU serverAuth, SAN) or client (EKU clientAuth) certificate. Generates a new
 * key pair of `algorithm` unless `publicKey` is given (renewal with the same key); notAfter never
 * exceeds the CA's.
 */
export async function issueLeafCertificate(options: {
  signer: Signer;
  commonName: string;
  kind: CertKind;
  algorithm: KeyAlgorithm;
  days: number;
  now: Date;
  san?: SubjectAltNames;
  publicKey?: x509.PublicKey;
}): Promise<{ cert: x509.X509Certificate; privateKey?: CryptoKey }> {
  const { signer, now } = options;
  const keys = options.publicKey ? undefined : await generateKeyPair(options.algorithm);
  const publicKey = (options.publicKey ?? keys?.publicKey) as x509.PublicKey | CryptoKey;
  const notAfter = Math.min(now.getTime() + options.days * DAY, signer.cert.notAfter.getTime());
  const cert = await sign(`${options.kind} certificate`, async () => {
    const extensions: x509.Extension[] = [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(leafKeyUsage(options.algorithm), true),
      new x509.ExtendedKeyUsageExtension(
        [options.kind === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
      await x509.SubjectKeyIdentifierExtension.create(publicKey),
      await authorityKeyId(signer),
    ];
    const san = options.san;
    if (san && san.dns.length + san.ip.length > 0) {
      extensions.push(
        new x509.SubjectAlternativeNameExtension([
          ...san.dns.map((value) => ({ type: 'dns' as const, value })),
          ...san.ip.map((value) => ({ type: 'ip' as const, value })),
        ]),
      );
    }
    return x509.X509CertificateGenerator.create({
      serialNumber: randomSerial(),
      subject: [{ CN: [options.commonName] }],
      issuer: signer.cert.subjectName,
      publicKey,
      signingKey: signer.privateKey,
      signingAlgorithm: signingAlgorithm(signer.algorithm),
      notBefore: new Date(now.getTime() - BACKDATE),
      notAfter: new Date(notAfter),
      extensions,
    });
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

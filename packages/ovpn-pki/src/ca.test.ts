// The leaf certificates ca.ts encodes itself (der.ts) must be exactly what @peculiar/x509's
// generator makes for the same input: the to-be-signed part is compared byte for byte.
import { createPublicKey } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { type CertKind, createCaCertificate, issueLeafCertificate, type Signer } from './ca';
import { NodeX509, signingAlgorithm, x509 } from './crypto';
import { readTlv } from './der';
import type { KeyAlgorithm, SubjectAltNames } from './model';

/** The tbsCertificate bytes of a DER certificate. */
function tbsOf(der: ArrayBuffer): Buffer {
  const bytes = Buffer.from(der);
  const outer = readTlv(bytes, 0);
  const tbs = readTlv(bytes, outer.start);
  return bytes.subarray(outer.start, tbs.end);
}

/** The same certificate through the library's generator (what the store used before). */
async function libraryTbs(signer: Signer, cert: x509.X509Certificate, kind: CertKind, alg: KeyAlgorithm) {
  const KU = x509.KeyUsageFlags;
  const usage = alg.startsWith('rsa-')
    ? KU.digitalSignature | KU.keyEncipherment
    : alg.startsWith('ec-')
      ? KU.digitalSignature | KU.keyAgreement
      : KU.digitalSignature;
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const ski = signer.cert.getExtension(x509.SubjectKeyIdentifierExtension);
  const reference = await x509.X509CertificateGenerator.create({
    serialNumber: cert.serialNumber,
    subject: cert.subjectName,
    issuer: signer.cert.subjectName,
    publicKey: cert.publicKey,
    signingKey: signer.privateKey,
    signingAlgorithm: signingAlgorithm(signer.algorithm),
    notBefore: cert.notBefore,
    notAfter: cert.notAfter,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usage, true),
      new x509.ExtendedKeyUsageExtension(
        [kind === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
      await x509.SubjectKeyIdentifierExtension.create(cert.publicKey),
      new x509.AuthorityKeyIdentifierExtension(ski?.keyId ?? ''),
      ...(san ? [new x509.SubjectAlternativeNameExtension(san.names.toJSON())] : []),
    ],
  });
  return tbsOf(reference.rawData);
}

const now = new Date('2026-03-01T10:20:30.456Z');
const cases: { ca: KeyAlgorithm; leaf: KeyAlgorithm; kind: CertKind; name: string; san?: SubjectAltNames }[] = [
  { ca: 'ec-p256', leaf: 'ec-p256', kind: 'client', name: 'anna.laptop' },
  { ca: 'ec-p256', leaf: 'ec-p256', kind: 'client', name: 'anna_b@example.de' }, // UTF8String, not PrintableString
  {
    ca: 'ec-p384',
    leaf: 'ec-p384',
    kind: 'server',
    name: 'vpn.example.de',
    san: { dns: ['vpn.example.de', 'vpn2.example.de'], ip: ['192.0.2.1', '2001:db8::1'] },
  },
  { ca: 'rsa-2048', leaf: 'rsa-2048', kind: 'client', name: 'rsa-client' },
  { ca: 'ed25519', leaf: 'ed25519', kind: 'server', name: 'edge', san: { dns: ['edge.example.de'], ip: [] } },
  { ca: 'ec-p256', leaf: 'rsa-2048', kind: 'client', name: 'mixed' },
];

describe('issueLeafCertificate', () => {
  for (const c of cases) {
    it(`encodes a ${c.kind} certificate (${c.leaf} key, ${c.ca} CA) as the library does, signed by the CA`, async () => {
      const signer = await createCaCertificate({ commonName: `CA ${c.ca} Ü`, algorithm: c.ca, days: 3650, now });
      const { cert: leaf, privateKey } = await issueLeafCertificate({
        signer,
        commonName: c.name,
        kind: c.kind,
        algorithm: c.leaf,
        days: 730,
        now,
        ...(c.san ? { san: c.san } : {}),
      });
      const parsed = new x509.X509Certificate(leaf.pem);
      expect(tbsOf(parsed.rawData)).toEqual(await libraryTbs(signer, parsed, c.kind, c.leaf));
      expect(leaf).toMatchObject({ serial: parsed.serialNumber.toUpperCase(), commonName: c.name });
      expect(leaf.notAfter).toEqual(new Date('2028-02-29T10:20:30Z')); // to the second
      expect(parsed.notBefore).toEqual(new Date('2026-03-01T09:20:30Z')); // back-dated an hour
      const node = new NodeX509(leaf.pem);
      const ca = new NodeX509(signer.cert.toString('pem'));
      expect(node.checkIssued(ca) && node.verify(ca.publicKey)).toBe(true);
      expect(privateKey && createPublicKey(privateKey).equals(node.publicKey)).toBe(true);
    });
  }

  it('re-certifies a given public key, and writes dates from 2050 on as GeneralizedTime', async () => {
    const late = new Date('2049-06-01T00:00:00Z');
    const signer = await createCaCertificate({ commonName: 'Late CA', algorithm: 'ec-p256', days: 3650, now: late });
    const first = await issueLeafCertificate({
      signer,
      commonName: 'late',
      kind: 'client',
      algorithm: 'ec-p256',
      days: 730,
      now: late,
    });
    const spki = new Uint8Array(new x509.X509Certificate(first.cert.pem).publicKey.rawData);
    const again = await issueLeafCertificate({
      signer,
      commonName: 'late',
      kind: 'client',
      algorithm: 'ec-p256',
      days: 730,
      now: late,
      publicKey: spki,
    });
    expect(again.privateKey).toBeUndefined();
    const parsed = new x509.X509Certificate(again.cert.pem);
    expect(new Uint8Array(parsed.publicKey.rawData)).toEqual(spki);
    expect(parsed.notAfter).toEqual(new Date('2051-06-01T00:00:00Z'));
    expect(tbsOf(parsed.rawData)).toEqual(await libraryTbs(signer, parsed, 'client', 'ec-p256'));
  });
});

// Import of an existing easy-rsa 3 PKI (the original invis server's /etc/easy-rsa/<domain>):
// the CA (key kept byte for byte, so its passphrase stays), issued certificates with their
// keys, the revocation history (index.txt) and a fresh CRL signed with the imported CA key, so
// every existing client keeps working and every revoked one stays locked out.
import { join } from 'node:path';
import { createNodeFs, type HostFs } from '@invis/host';
import { commonName } from './ca';
import type { CrlInfo } from './crl';
import { importPrivateKeyPem, publicKeyDerOfPrivatePem, x509 } from './crypto';
import { OvpnPkiError } from './errors';
import { parseIndexTxt, renderIndexTxt } from './index-txt';
import { certNameSchema, type PkiSettingsInput, parseInput, pkiSettingsSchema } from './model';
import { createPki, type PkiOptions } from './store';

/** Options of {@link importEasyRsa}. */
export interface ImportEasyRsaOptions {
  /** The easy-rsa PKI directory (`EASYRSA_PKI`, holding ca.crt, index.txt, issued/, private/). */
  from: string;
  /** The target PKI (must not be initialised yet). */
  to: PkiOptions;
  /** Passphrase of the easy-rsa CA key when it is encrypted (needed to sign the new CRL). */
  passphrase?: string;
  /** Settings for the imported PKI; `keyAlgorithm` defaults to the CA key's algorithm. */
  settings?: PkiSettingsInput;
}

/** What {@link importEasyRsa} did. */
export interface ImportEasyRsaReport {
  /** CN of the imported CA. */
  caName: string;
  /** Current certificates taken over (name = easy-rsa file name). */
  imported: { name: string; serial: string; hasKey: boolean }[];
  /** Index lines carried over (history, including revoked ones). */
  indexEntries: number;
  /** Revoked serials now on the new CRL. */
  revoked: number;
  /** Files not taken over, with the reason. */
  skipped: { file: string; reason: string }[];
  /** The CRL signed right after the import. */
  crl: CrlInfo;
}

function sameKey(cert: x509.X509Certificate, keyPem: string, passphrase?: string): boolean {
  try {
    return Buffer.from(cert.publicKey.rawData).equals(publicKeyDerOfPrivatePem(keyPem, passphrase));
  } catch {
    return false;
  }
}

/**
 * Imports an easy-rsa 3 PKI into a new @invis/ovpn-pki directory.
 * @param options source directory, target PKI, CA passphrase
 * @returns a report of imported and skipped files
 * @throws {OvpnPkiError} PKI_IMPORT_FAILED (no CA/index), PKI_KEY_MISMATCH (CA key does not match), PKI_ALREADY_INITIALIZED,
 *   PKI_PASSPHRASE_REQUIRED, PKI_BAD_PASSPHRASE, PKI_PARSE_FAILED (broken index.txt)
 * @example
 * const report = await importEasyRsa({ from: '/etc/easy-rsa/example.de', to: { dir: '/var/lib/invis/pki/vpn' } });
 */
export async function importEasyRsa(options: ImportEasyRsaOptions): Promise<ImportEasyRsaReport> {
  const fs: HostFs = options.to.fs ?? createNodeFs();
  const src = (...parts: string[]): string => join(options.from, ...parts);
  const dst = (...parts: string[]): string => join(options.to.dir, ...parts);
  const readSource = async (rel: string): Promise<string> => {
    try {
      return await fs.readFile(src(rel));
    } catch (cause) {
      throw new OvpnPkiError('PKI_IMPORT_FAILED', `${src(rel)} is missing; is ${options.from} an easy-rsa PKI?`, {
        cause,
        details: { file: rel },
      });
    }
  };
  if (await fs.exists(dst('ca.crt'))) {
    throw new OvpnPkiError('PKI_ALREADY_INITIALIZED', `${options.to.dir} already holds a CA`, {
      details: { dir: options.to.dir },
    });
  }
  const caPem = await readSource('ca.crt');
  const caKeyPem = await readSource(join('private', 'ca.key'));
  const index = parseIndexTxt(await readSource('index.txt'));
  let caCert: x509.X509Certificate;
  try {
    caCert = new x509.X509Certificate(caPem);
  } catch (cause) {
    throw new OvpnPkiError('PKI_IMPORT_FAILED', 'ca.crt is not a certificate', { cause });
  }
  const { algorithm } = await importPrivateKeyPem(caKeyPem, options.passphrase);
  if (!sameKey(caCert, caKeyPem, options.passphrase)) {
    throw new OvpnPkiError('PKI_KEY_MISMATCH', 'private/ca.key does not belong to ca.crt');
  }
  const settings = parseInput(pkiSettingsSchema, { keyAlgorithm: algorithm, ...options.settings }, 'settings');

  for (const sub of [
    '',
    'private',
    'issued',
    'certs_by_serial',
    'revoked/certs_by_serial',
    'revoked/private_by_serial',
  ]) {
    await fs.mkdir(dst(sub), 0o700);
  }
  await fs.writeFileAtomic(dst('pki.json'), `${JSON.stringify({ version: 1, settings }, null, 2)}\n`, { mode: 0o644 });
  await fs.writeFileAtomic(dst('private', 'ca.key'), caKeyPem, { mode: 0o600 });

  const skipped: ImportEasyRsaReport['skipped'] = [];
  const imported: ImportEasyRsaReport['imported'] = [];
  const bySerial = new Map(index.map((e) => [e.serial, e]));
  for (const file of (await fs.readdir(src('issued'))).sort()) {
    if (!file.endsWith('.crt')) continue;
    const name = file.slice(0, -4);
    const skip = (reason: string): void => {
      skipped.push({ file: join('issued', file), reason });
    };
    if (!certNameSchema.safeParse(name).success) {
      skip('name not allowed (letters, digits, . _ @ - only)');
      continue;
    }
    let cert: x509.X509Certificate;
    const pem = await fs.readFile(src('issued', file));
    try {
      cert = new x509.X509Certificate(pem);
    } catch {
      skip('not a certificate');
      continue;
    }
    const serial = cert.serialNumber.toUpperCase();
    if (!(await cert.verify({ publicKey: caCert.publicKey, signatureOnly: true }).catch(() => false))) {
      skip('not signed by this CA');
      continue;
    }
    const entry = bySerial.get(serial);
    if (entry?.status !== 'valid') {
      skip(entry ? 'revoked in index.txt' : `serial ${serial} not in index.txt`);
      continue;
    }
    const keyPem = await fs.readFileIfExists(src('private', `${name}.key`));
    if (keyPem !== undefined && !keyPem.includes('ENCRYPTED') && !sameKey(cert, keyPem)) {
      skip(`private/${name}.key does not belong to the certificate`);
      continue;
    }
    if (keyPem !== undefined) await fs.writeFileAtomic(dst('private', `${name}.key`), keyPem, { mode: 0o600 });
    await fs.writeFileAtomic(dst('issued', file), pem, { mode: 0o644 });
    imported.push({ name, serial, hasKey: keyPem !== undefined });
    if (commonName(cert) !== name)
      skipped.push({ file: join('issued', file), reason: `imported; CN is "${commonName(cert)}"` });
  }
  // Certificates by serial, current and revoked, so list() can tell server from client.
  for (const [from, to, ext] of [
    ['certs_by_serial', 'certs_by_serial', '.pem'],
    [join('revoked', 'certs_by_serial'), join('revoked', 'certs_by_serial'), '.crt'],
  ] as const) {
    for (const file of await fs.readdir(src(from))) {
      if (file.endsWith(ext))
        await fs.writeFileAtomic(dst(to, file), await fs.readFile(src(from, file)), { mode: 0o644 });
    }
  }
  await fs.writeFileAtomic(dst('index.txt'), renderIndexTxt(index), { mode: 0o644 });
  const crlNumber = await fs.readFileIfExists(src('crlnumber'));
  if (crlNumber !== undefined) await fs.writeFileAtomic(dst('crlnumber'), crlNumber, { mode: 0o644 });
  // ca.crt last: it marks the target as initialised.
  await fs.writeFileAtomic(dst('ca.crt'), caPem, { mode: 0o644 });
  const { passphrase } = options;
  const pki = createPki({ ...options.to, ...(passphrase === undefined ? {} : { caPassphrase: () => passphrase }) });
  const crl = await pki.generateCrl();
  return {
    caName: commonName(caCert),
    imported,
    indexEntries: index.length,
    revoked: index.filter((e) => e.status === 'revoked').length,
    skipped,
    crl,
  };
}

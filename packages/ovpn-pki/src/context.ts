// The PKI directory as every stage (lock, CRL, CA rollover, certificates) sees it: paths, reads
// that recognise an uninitialised PKI, the settings, index.txt, the CA signers (the current one
// and, during a rollover, the previous one) and stored certificates by serial. No stage reaches
// the disk any other way, so each can be tested alone on a real PKI directory.
import { join } from 'node:path';
import { type Clock, createNodeFs, type HostFs, isMissing, systemClock } from '@invis/host';
import { z } from 'zod';
import { type CertKind, commonName, type LeafCertificate, type RevocationReason, type Signer } from './ca';
import { type CertMeta, certMeta, importPrivateKeyPem, NodeX509, x509 } from './crypto';
import { OvpnPkiError } from './errors';
import { type IndexEntry, parseIndexTxt, renderIndexTxt } from './index-txt';
import { type PkiSettings, parseInput, pkiSettingsSchema } from './model';

export const DAY = 86_400_000;
export const DIR_MODE = 0o700;
export const KEY_MODE = 0o600;
export const PUBLIC_MODE = 0o644;

/** Expiry state of a certificate or CRL at the PKI clock's "now". */
export type ExpiryState = 'ok' | 'expiring' | 'expired';

/** One certificate of the PKI as listed by {@link Pki.list}. */
export interface CertificateInfo {
  /** File name (issued/<name>.crt); the CN for certificates we issued; `ca` / `previous-ca` for CAs. */
  name: string;
  kind: CertKind | 'ca';
  /** Upper-case hex. */
  serial: string;
  /** OpenSSL one-line subject from index.txt, e.g. `/CN=client1`. */
  subject: string;
  notAfter: Date;
  /** `revoked` once revoked; `valid` otherwise (even when expired; see `expiry`). */
  status: 'valid' | 'revoked';
  expiry: ExpiryState;
  /** Whole days until notAfter (negative when expired). */
  daysLeft: number;
  /** Whether this is the name's current certificate (issued/<name>.crt), not a superseded one. */
  current: boolean;
  /** CN of the issuing CA (during a CA rollover: old or new CA), when the certificate file is known. */
  issuer?: string;
  revokedAt?: Date;
  reason?: RevocationReason;
}

/** What a stage needs to open a PKI directory. */
export interface PkiContextOptions {
  dir: string;
  fs?: HostFs;
  clock?: Clock;
  caPassphrase?: () => string | Promise<string>;
}

/** Shared access to one PKI directory. Create with {@link createPkiContext}. */
export interface PkiContext {
  readonly dir: string;
  readonly fs: HostFs;
  /** The PKI clock (validity periods, expiry states). */
  now(): Date;
  /** `dir` joined with `parts`. */
  path(...parts: string[]): string;
  /** Reads a file of the PKI; a missing `ca.crt` is PKI_NOT_INITIALIZED. */
  read(rel: string): Promise<string>;
  /** The stored settings (defaults filled in). @throws PKI_NOT_INITIALIZED */
  settings(): Promise<PkiSettings>;
  readIndex(): Promise<IndexEntry[]>;
  writeIndex(entries: readonly IndexEntry[]): Promise<void>;
  /** The CA that signs now (loaded once, asking `caPassphrase` for an encrypted key). */
  signer(): Promise<Signer>;
  /** The previous CA during a rollover, else undefined. */
  previousSigner(): Promise<Signer | undefined>;
  /** The loaded signers; init, rollover and finish replace them instead of re-reading the keys. */
  readonly signers: { current: Signer | undefined; previous: Signer | undefined };
  /** Kind and issuer of a stored certificate (current or revoked) by serial. */
  metaBySerial(serial: string): Promise<CertMeta | undefined>;
  /** The {@link CertificateInfo} of an index line at the PKI clock's now. */
  info(
    entry: IndexEntry,
    name: string,
    kind: CertificateInfo['kind'],
    current: boolean,
    s: PkiSettings,
  ): CertificateInfo;
}

const storedSettingsSchema = z.object({ version: z.literal(1), settings: pkiSettingsSchema });

/**
 * Opens the PKI in `options.dir` for the stages; reads nothing yet.
 * @param options directory, fs, clock, CA passphrase supplier
 * @returns the context
 */
export function createPkiContext(options: PkiContextOptions): PkiContext {
  const { dir } = options;
  const fs = options.fs ?? createNodeFs();
  const clock = options.clock ?? systemClock;
  const now = (): Date => clock.now();
  const path = (...parts: string[]): string => join(dir, ...parts);
  const signers: PkiContext['signers'] = { current: undefined, previous: undefined };

  async function read(rel: string): Promise<string> {
    try {
      return await fs.readFile(path(rel));
    } catch (cause) {
      if (isMissing(cause) && rel === 'ca.crt') {
        throw new OvpnPkiError('PKI_NOT_INITIALIZED', `no CA in ${dir}; run init first`, { details: { dir } });
      }
      throw cause;
    }
  }

  async function loadSigner(base: string): Promise<Signer> {
    const cert = new x509.X509Certificate(await read(join(base, 'ca.crt')));
    const keyPem = await read(join(base, 'private', 'ca.key'));
    const encrypted = keyPem.includes('ENCRYPTED');
    const passphrase = encrypted && options.caPassphrase ? await options.caPassphrase() : undefined;
    const { algorithm, privateKey } = await importPrivateKeyPem(keyPem, passphrase);
    return { cert, privateKey, algorithm };
  }

  return {
    dir,
    fs,
    now,
    path,
    read,
    signers,
    async settings() {
      let text: string;
      try {
        text = await fs.readFile(path('pki.json'));
      } catch (cause) {
        if (!isMissing(cause)) throw cause;
        await read('ca.crt');
        return parseInput(pkiSettingsSchema, {}, 'settings');
      }
      return parseInput(storedSettingsSchema, JSON.parse(text), 'pki.json').settings;
    },
    async readIndex() {
      return parseIndexTxt(await read('index.txt'));
    },
    async writeIndex(entries) {
      await fs.writeFileAtomic(path('index.txt'), renderIndexTxt(entries), { mode: PUBLIC_MODE });
    },
    async signer() {
      signers.current ??= await loadSigner('');
      return signers.current;
    },
    async previousSigner() {
      if (!(await fs.exists(path('previous', 'ca.crt')))) return undefined;
      signers.previous ??= await loadSigner('previous');
      return signers.previous;
    },
    async metaBySerial(serial) {
      for (const rel of [
        join('certs_by_serial', `${serial}.pem`),
        join('revoked', 'certs_by_serial', `${serial}.crt`),
      ]) {
        try {
          return certMeta(await fs.readFile(path(rel)));
        } catch (cause) {
          if (!isMissing(cause)) throw cause;
        }
      }
      return undefined;
    },
    info(entry, name, kind, current, s) {
      const daysLeft = Math.floor((entry.notAfter.getTime() - now().getTime()) / DAY);
      const expiry: ExpiryState =
        daysLeft < 0 || entry.notAfter <= now() ? 'expired' : daysLeft < s.expiringWithinDays ? 'expiring' : 'ok';
      const result: CertificateInfo = {
        name,
        kind,
        serial: entry.serial,
        subject: entry.subject,
        notAfter: entry.notAfter,
        status: entry.status === 'revoked' ? 'revoked' : 'valid',
        expiry,
        daysLeft,
        current,
      };
      if (entry.revokedAt) result.revokedAt = entry.revokedAt;
      if (entry.reason) result.reason = entry.reason;
      return result;
    },
  };
}

/**
 * The index line of a freshly signed certificate (notAfter to the second, as OpenSSL stores it).
 * @param cert the certificate (parsed, or as {@link issueLeafCertificate} returns it)
 * @returns a `valid` entry
 */
export function entryOf(
  cert: x509.X509Certificate | Pick<LeafCertificate, 'serial' | 'notAfter' | 'commonName'>,
): IndexEntry {
  const leaf =
    cert instanceof x509.X509Certificate
      ? { serial: cert.serialNumber.toUpperCase(), notAfter: cert.notAfter, commonName: commonName(cert) }
      : cert;
  return {
    status: 'valid',
    notAfter: new Date(Math.floor(leaf.notAfter.getTime() / 1000) * 1000),
    serial: leaf.serial,
    file: 'unknown',
    subject: `/CN=${leaf.commonName}`,
  };
}

/**
 * A signer's CA certificate as a node:crypto certificate (for `issuedBy` checks).
 * @param signer the CA
 * @returns its certificate
 */
export function nodeCa(signer: Signer): NodeX509 {
  return new NodeX509(signer.cert.toString('pem'));
}

/**
 * The CN of an OpenSSL one-line subject (`/O=x/CN=name` → `name`).
 * @param subject the subject from index.txt
 * @returns the CN, or the whole subject when it has none
 */
export function subjectCn(subject: string): string {
  return /\/CN=([^/]*)/.exec(subject)?.[1] ?? subject;
}

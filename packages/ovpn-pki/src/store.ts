// The PKI on disk: an easy-rsa-compatible layout (ca.crt, private/, issued/, certs_by_serial/,
// revoked/, index.txt, crlnumber, crl.pem) plus pki.json with our settings. Every mutation
// rewrites index.txt and re-signs the CRL; ensureFreshCrl() re-signs it long before nextUpdate
// so that an expiring CRL can never lock every VPN user out (the original's 180-day outage).
import { join } from 'node:path';
import { type Clock, createNodeFs, type HostFs, isMissing, systemClock } from '@invis/host';
import { z } from 'zod';
import {
  type CertKind,
  type CrlEntry,
  certKind,
  commonName,
  createCaCertificate,
  crossCertificate,
  issueLeafCertificate,
  REVOCATION_REASONS,
  type RevocationReason,
  type Signer,
  signCrl,
} from './ca';
import {
  type CertMeta,
  type CryptoKey,
  certMeta,
  crlToPem,
  exportPrivateKeyPem,
  importPrivateKeyPem,
  NodeX509,
  x509,
} from './crypto';
import { isOvpnPkiError, OvpnPkiError } from './errors';
import { type IndexEntry, parseIndexTxt, renderIndexTxt } from './index-txt';
import {
  caNameSchema,
  certNameSchema,
  type KeyAlgorithm,
  type PkiSettings,
  type PkiSettingsInput,
  parseInput,
  pkiSettingsSchema,
  type SubjectAltNames,
  subjectAltNamesSchema,
} from './model';

const DAY = 86_400_000;
const DIR_MODE = 0o700;
const KEY_MODE = 0o600;
const PUBLIC_MODE = 0o644;
const STALE_LOCK_MS = 60_000;

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

/** The CRL's state: `renew-due` means ensureFreshCrl() will re-sign it now. */
export interface CrlInfo {
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber: number;
  revoked: number;
  state: 'ok' | 'renew-due' | 'expired';
}

/** The daily health report of a PKI (what the original's `getcertinfo` mailed, without the outage). */
export interface PkiReport {
  ca: CertificateInfo;
  crl: CrlInfo;
  /** Current, not revoked certificates by expiry state (CA excluded). */
  counts: Record<ExpiryState, number>;
  /** What needs action: the CA or current certificates that are expiring or expired, soonest first. */
  attention: CertificateInfo[];
}

/** A certificate with its PEMs, for bundles and server configs. */
export interface CertificateMaterial {
  info: CertificateInfo;
  certPem: string;
  /** Unencrypted PKCS#8 PEM; undefined when the PKI has no key for it (imported without key). */
  keyPem: string | undefined;
}

/** Options of {@link createPki}. */
export interface PkiOptions {
  /** The PKI directory (created by init, mode 0700). */
  dir: string;
  /** File system; default the real one (`createNodeFs()` of @invis/host). */
  fs?: HostFs;
  /** Clock for validity periods and expiry states; default the system clock. Tests pass a fixed or past one. */
  clock?: Clock;
  /** Supplies the CA key passphrase when the CA key is encrypted; asked once per Pki object. */
  caPassphrase?: () => string | Promise<string>;
  /** How long a mutation waits for another process's lock (`<dir>/.lock`); default 10 s. */
  lockTimeoutMs?: number;
}

/** Options of {@link Pki.init}. */
export interface PkiInitOptions {
  /** CA common name, e.g. `invis VPN CA example.de`. */
  caName: string;
  settings?: PkiSettingsInput;
  /** Encrypts the CA key (PKCS#8, AES-256-CBC) with this passphrase. */
  passphrase?: string;
}

/** Options of {@link Pki.issueServer} and {@link Pki.issueClient}. */
export interface IssueOptions {
  /** Certificate name and CN (see {@link certNameSchema}). */
  name: string;
  /** Validity in days; default from the settings. */
  days?: number;
  /** Key algorithm; default from the settings. */
  keyAlgorithm?: KeyAlgorithm;
}

/** Options of {@link Pki.issueServer}. */
export interface IssueServerOptions extends IssueOptions {
  /** Subject alternative names (DNS names, IPs). */
  san?: Partial<SubjectAltNames>;
}

/** Options of {@link Pki.renew}. */
export interface RenewOptions {
  /** New key pair instead of re-certifying the existing key. Default false. */
  rekey?: boolean;
  /** Revoke the previous certificate (reason `superseded`). Default: same as `rekey`. */
  revokePrevious?: boolean;
  /** Validity in days; default from the settings. */
  days?: number;
}

/** A PKI directory: CA, server and client certificates, revocation, CRL. Create with {@link createPki}. */
export interface Pki {
  /** The PKI directory. */
  readonly dir: string;
  /** Whether `dir` holds a CA. */
  isInitialized(): Promise<boolean>;
  /** Creates the CA, directories, index and first CRL. @throws PKI_ALREADY_INITIALIZED, PKI_INVALID_INPUT */
  init(options: PkiInitOptions): Promise<CertificateInfo>;
  /** The stored settings (defaults filled in). */
  settings(): Promise<PkiSettings>;
  /** CA certificate PEM. */
  caCertPem(): Promise<string>;
  /** Issues a server certificate (EKU serverAuth, SAN). @throws PKI_NAME_EXISTS, PKI_INVALID_INPUT */
  issueServer(options: IssueServerOptions): Promise<CertificateMaterial>;
  /** Issues a client certificate (EKU clientAuth). @throws PKI_NAME_EXISTS, PKI_INVALID_INPUT */
  issueClient(options: IssueOptions): Promise<CertificateMaterial>;
  /** The current certificate (and key) of `name`. @throws PKI_NOT_FOUND */
  get(name: string): Promise<CertificateMaterial>;
  /** Every certificate in index.txt (history included), with expiry states. */
  list(): Promise<CertificateInfo[]>;
  /** CA and CRL state, counts per expiry state, and what needs action (for a daily job / the portal). */
  report(): Promise<PkiReport>;
  /**
   * Revokes the current certificate of `name` and re-signs the CRL.
   * @throws PKI_NOT_FOUND (no certificate of that name), PKI_ALREADY_REVOKED (its last certificate is revoked, none issued since)
   */
  revoke(name: string, reason?: RevocationReason): Promise<CertificateInfo>;
  /** Re-issues `name` (same key, or a new one with `rekey`). @throws PKI_NOT_FOUND */
  renew(name: string, options?: RenewOptions): Promise<CertificateMaterial>;
  /** Signs a new CRL now. */
  generateCrl(): Promise<CrlInfo>;
  /** Re-signs the CRL when it is missing or fewer than `crlRenewBeforeDays` are left. */
  ensureFreshCrl(): Promise<{ renewed: boolean; crl: CrlInfo }>;
  /** The CRL PEM (`X509 CRL` label; during a rollover one CRL per CA) and its state. @throws PKI_NOT_INITIALIZED */
  crl(): Promise<{ pem: string; info: CrlInfo }>;
  /**
   * Starts a CA rollover: the current CA becomes `previous/`, a new CA is created and cross-signed
   * by the old one. New certificates come from the new CA; certificates of both CAs stay valid and
   * revocable (one CRL per CA). @throws PKI_ROLLOVER_IN_PROGRESS
   */
  rolloverCa(options: { caName: string; passphrase?: string }): Promise<CertificateInfo>;
  /** CA certificates to trust: the current CA, plus the previous one during a rollover (server `ca`, bundles). */
  trustPem(): Promise<string>;
  /** The cross-certificate (new CA signed by the old) during a rollover, else undefined (server `extra-certs`). */
  crossCertPem(): Promise<string | undefined>;
  /**
   * Ends a rollover: retires the previous CA to `retired/<date>/`. Refuses while certificates of
   * the previous CA are still valid, unless `force`. @throws PKI_ROLLOVER_PENDING, PKI_NOT_FOUND
   */
  finishRollover(options?: { force?: boolean }): Promise<{ retired: string }>;
}

const storedSettingsSchema = z.object({ version: z.literal(1), settings: pkiSettingsSchema });

/**
 * Opens (or prepares) the PKI in `options.dir`. Nothing is read or written until a method runs.
 * @param options directory, fs, clock, CA passphrase supplier, lock timeout
 * @returns a {@link Pki}
 * @example
 * const pki = createPki({ dir: '/etc/invis/pki/vpn' });
 * await pki.init({ caName: 'invis VPN CA' });
 * const client = await pki.issueClient({ name: 'anna.laptop' });
 */
export function createPki(options: PkiOptions): Pki {
  const { dir } = options;
  const fs = options.fs ?? createNodeFs();
  const clock = options.clock ?? systemClock;
  const now = (): Date => clock.now();
  const path = (...parts: string[]): string => join(dir, ...parts);
  let signerCache: Signer | undefined;
  let previousCache: Signer | undefined;
  let chain: Promise<unknown> = Promise.resolve();

  // One mutation at a time: index.txt and crlnumber are read-modify-write. The promise chain
  // orders calls on this object; the lock file orders processes (portal job vs. setup CLI).
  function locked<T>(fn: () => Promise<T>): Promise<T> {
    const result = chain.then(() => withLockFile(fn));
    chain = result.catch(() => undefined);
    return result;
  }

  async function withLockFile<T>(fn: () => Promise<T>): Promise<T> {
    const lock = path('.lock');
    const until = Date.now() + (options.lockTimeoutMs ?? 10_000);
    for (;;) {
      let created: boolean;
      try {
        created = await fs.createExclusive(lock, `${process.pid}\n`, KEY_MODE);
      } catch (cause) {
        // No directory yet: nothing to protect (init creates it, everything else fails anyway).
        if (isMissing(cause)) return fn();
        throw cause;
      }
      if (created) break;
      // A holder that died leaves its lock behind; no mutation takes a minute.
      // Wall time, not the PKI clock: the lock's mtime is real even when certificates are back-dated.
      if (Date.now() - ((await fs.mtimeMs(lock)) ?? Date.now()) > STALE_LOCK_MS) {
        await fs.remove(lock);
        continue;
      }
      if (Date.now() > until) {
        throw new OvpnPkiError('PKI_LOCKED', `${dir} is locked by another process (${lock})`, { details: { dir } });
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    try {
      return await fn();
    } finally {
      await fs.remove(lock);
    }
  }

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

  async function settings(): Promise<PkiSettings> {
    let text: string;
    try {
      text = await fs.readFile(path('pki.json'));
    } catch (cause) {
      if (!isMissing(cause)) throw cause;
      await read('ca.crt');
      return parseInput(pkiSettingsSchema, {}, 'settings');
    }
    return parseInput(storedSettingsSchema, JSON.parse(text), 'pki.json').settings;
  }

  async function loadSigner(base: string): Promise<Signer> {
    const cert = new x509.X509Certificate(await read(join(base, 'ca.crt')));
    const keyPem = await read(join(base, 'private', 'ca.key'));
    const encrypted = keyPem.includes('ENCRYPTED');
    const passphrase = encrypted && options.caPassphrase ? await options.caPassphrase() : undefined;
    const { algorithm, privateKey } = await importPrivateKeyPem(keyPem, passphrase);
    return { cert, privateKey, algorithm };
  }

  async function signer(): Promise<Signer> {
    signerCache ??= await loadSigner('');
    return signerCache;
  }

  /** The previous CA during a rollover, else undefined. */
  async function previousSigner(): Promise<Signer | undefined> {
    if (!(await fs.exists(path('previous', 'ca.crt')))) return undefined;
    previousCache ??= await loadSigner('previous');
    return previousCache;
  }

  async function readIndex(): Promise<IndexEntry[]> {
    return parseIndexTxt(await read('index.txt'));
  }

  function info(entry: IndexEntry, name: string, kind: CertificateInfo['kind'], current: boolean, s: PkiSettings) {
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
  }

  function entryOf(cert: x509.X509Certificate): IndexEntry {
    return {
      status: 'valid',
      notAfter: new Date(Math.floor(cert.notAfter.getTime() / 1000) * 1000),
      serial: cert.serialNumber.toUpperCase(),
      file: 'unknown',
      subject: `/CN=${commonName(cert)}`,
    };
  }

  async function crlInfo(pem: string): Promise<CrlInfo> {
    // During a rollover the file holds one CRL per CA; the earliest nextUpdate counts.
    const crls = (pem.match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g) ?? [pem]).map(
      (block) => new x509.X509Crl(block),
    );
    const crl = crls[0] as x509.X509Crl;
    const s = await settings();
    const nextUpdate = new Date(Math.min(...crls.map((c) => (c.nextUpdate ?? new Date(0)).getTime())));
    const left = nextUpdate.getTime() - now().getTime();
    const numberExt = crl.extensions.find((e) => e.type === '2.5.29.20');
    const crlNumber = numberExt
      ? Number.parseInt(Buffer.from(numberExt.value).subarray(2).toString('hex') || '0', 16)
      : 0;
    return {
      thisUpdate: crl.thisUpdate,
      nextUpdate,
      crlNumber,
      revoked: crls.reduce((n, c) => n + c.entries.length, 0),
      state: left <= 0 ? 'expired' : left < s.crlRenewBeforeDays * DAY ? 'renew-due' : 'ok',
    };
  }

  async function writeCrl(): Promise<CrlInfo> {
    const s = await settings();
    const entries = (await readIndex()).filter((e) => e.status === 'revoked');
    let crlNumber = 1;
    try {
      crlNumber = Number.parseInt((await fs.readFile(path('crlnumber'))).trim(), 16) || 1;
    } catch (cause) {
      if (!isMissing(cause)) throw cause;
    }
    const current = await signer();
    const previous = await previousSigner();
    const byIssuer = new Map<Signer, CrlEntry[]>([[current, []]]);
    if (previous) byIssuer.set(previous, []);
    for (const e of entries) {
      const issuer = previous && (await metaBySerial(e.serial))?.issuedBy(nodeCa(previous)) ? previous : current;
      byIssuer
        .get(issuer)
        ?.push({ serial: e.serial, revokedAt: e.revokedAt ?? now(), reason: e.reason ?? 'unspecified' });
    }
    let pem = '';
    for (const [issuer, list] of byIssuer) {
      pem += crlToPem(await signCrl({ signer: issuer, entries: list, now: now(), days: s.crlDays, crlNumber }));
    }
    await fs.writeFileAtomic(path('crl.pem'), pem, { mode: PUBLIC_MODE });
    await fs.writeFileAtomic(path('crlnumber'), `${(crlNumber + 1).toString(16).toUpperCase().padStart(2, '0')}\n`, {
      mode: PUBLIC_MODE,
    });
    return crlInfo(pem);
  }

  async function currentCert(name: string): Promise<x509.X509Certificate> {
    parseInput(certNameSchema, name, 'certificate name');
    try {
      return new x509.X509Certificate(await fs.readFile(path('issued', `${name}.crt`)));
    } catch (cause) {
      if (isMissing(cause)) {
        throw new OvpnPkiError('PKI_NOT_FOUND', `no current certificate named "${name}"`, { cause, details: { name } });
      }
      throw new OvpnPkiError('PKI_PARSE_FAILED', `issued/${name}.crt is not a certificate`, {
        cause,
        details: { name },
      });
    }
  }

  async function readKey(name: string): Promise<string | undefined> {
    try {
      return await fs.readFile(path('private', `${name}.key`));
    } catch (cause) {
      if (isMissing(cause)) return undefined;
      throw cause;
    }
  }

  async function material(name: string, cert: x509.X509Certificate): Promise<CertificateMaterial> {
    const s = await settings();
    const serial = cert.serialNumber.toUpperCase();
    const entry = (await readIndex()).find((e) => e.serial === serial) ?? entryOf(cert);
    return {
      info: info(entry, name, certKind(cert) ?? 'client', true, s),
      certPem: `${cert.toString('pem')}\n`,
      keyPem: await readKey(name),
    };
  }

  /** Writes a freshly signed leaf: cert by name and by serial, key 0600, index line. */
  async function store(name: string, cert: x509.X509Certificate, privateKey: CryptoKey | undefined): Promise<void> {
    const pem = `${cert.toString('pem')}\n`;
    if (privateKey)
      await fs.writeFileAtomic(path('private', `${name}.key`), await exportPrivateKeyPem(privateKey), {
        mode: KEY_MODE,
      });
    await fs.writeFileAtomic(path('certs_by_serial', `${cert.serialNumber.toUpperCase()}.pem`), pem, {
      mode: PUBLIC_MODE,
    });
    await fs.writeFileAtomic(path('issued', `${name}.crt`), pem, { mode: PUBLIC_MODE });
    const index = await readIndex();
    index.push(entryOf(cert));
    await fs.writeFileAtomic(path('index.txt'), renderIndexTxt(index), { mode: PUBLIC_MODE });
  }

  async function issue(
    kind: CertKind,
    opts: IssueOptions & { san?: Partial<SubjectAltNames> },
  ): Promise<CertificateMaterial> {
    const name = parseInput(certNameSchema, opts.name, 'certificate name');
    const san =
      kind === 'server' ? parseInput(subjectAltNamesSchema, opts.san ?? {}, 'subject alternative names') : undefined;
    if (opts.days !== undefined) parseInput(z.number().int().min(1).max(36_500), opts.days, 'days');
    return locked(async () => {
      const s = await settings();
      if (await fs.exists(path('issued', `${name}.crt`))) {
        throw new OvpnPkiError('PKI_NAME_EXISTS', `a certificate named "${name}" exists; renew or revoke it`, {
          details: { name },
        });
      }
      const algorithm = opts.keyAlgorithm
        ? parseInput(pkiSettingsSchema, { keyAlgorithm: opts.keyAlgorithm }, 'key algorithm').keyAlgorithm
        : s.keyAlgorithm;
      const { cert, privateKey } = await issueLeafCertificate({
        signer: await signer(),
        commonName: name,
        kind,
        algorithm,
        days: opts.days ?? (kind === 'server' ? s.serverDays : s.clientDays),
        now: now(),
        ...(san ? { san } : {}),
      });
      await store(name, cert, privateKey);
      return material(name, cert);
    });
  }

  /** Serial of the current certificate of `name`; a name whose certificate was revoked (and none issued since) is PKI_ALREADY_REVOKED. */
  async function currentSerial(name: string, index: readonly IndexEntry[]): Promise<string> {
    try {
      return (await currentCert(name)).serialNumber.toUpperCase();
    } catch (error) {
      // revoke() moved issued/<name>.crt away; the index still knows the name. The last line is the newest.
      const revoked = index.findLast((e) => e.status === 'revoked' && subjectCn(e.subject) === name);
      if (!isOvpnPkiError(error) || error.code !== 'PKI_NOT_FOUND' || !revoked) throw error;
      throw new OvpnPkiError('PKI_ALREADY_REVOKED', `certificate "${name}" (${revoked.serial}) is already revoked`, {
        cause: error,
        details: { name, serial: revoked.serial },
      });
    }
  }

  async function revokeLocked(name: string, reason: RevocationReason, serial?: string): Promise<IndexEntry> {
    const index = await readIndex();
    const target = serial ?? (await currentSerial(name, index));
    const entry = index.find((e) => e.serial === target);
    if (!entry)
      throw new OvpnPkiError('PKI_NOT_FOUND', `serial ${target} is not in index.txt`, {
        details: { name, serial: target },
      });
    if (entry.status === 'revoked') {
      throw new OvpnPkiError('PKI_ALREADY_REVOKED', `certificate ${target} is already revoked`, {
        details: { name, serial: target },
      });
    }
    entry.status = 'revoked';
    entry.revokedAt = new Date(Math.floor(now().getTime() / 1000) * 1000);
    entry.reason = reason;
    await fs.writeFileAtomic(path('index.txt'), renderIndexTxt(index), { mode: PUBLIC_MODE });
    if (serial === undefined) {
      // Like easy-rsa: the name becomes free again; the files are kept by serial.
      await fs.mkdir(path('revoked', 'certs_by_serial'), DIR_MODE);
      await fs.mkdir(path('revoked', 'private_by_serial'), DIR_MODE);
      await fs.rename(path('issued', `${name}.crt`), path('revoked', 'certs_by_serial', `${target}.crt`));
      if (await fs.exists(path('private', `${name}.key`))) {
        await fs.rename(path('private', `${name}.key`), path('revoked', 'private_by_serial', `${target}.key`));
      }
    }
    return entry;
  }

  async function listAll(): Promise<CertificateInfo[]> {
    const s = await settings();
    const ca = new x509.X509Certificate(await read('ca.crt'));
    const files = (await fs.readdir(path('issued'))).filter((f) => f.endsWith('.crt'));
    const serials = await mapLimit(files, async (file) => certMeta(await fs.readFile(path('issued', file))).serial);
    const byName = new Map(serials.map((serial, i) => [serial, (files[i] as string).slice(0, -4)]));
    const entries = await mapLimit(await readIndex(), (entry) => {
      const current = byName.get(entry.serial);
      return entryInfo(entry, current ?? subjectCn(entry.subject), current !== undefined, s);
    });
    const cas = [info(entryOf(ca), 'ca', 'ca', true, s)];
    // During a rollover the old CA is still trusted, so its expiry matters too.
    if (await fs.exists(path('previous', 'ca.crt'))) {
      cas.push(
        info(entryOf(new x509.X509Certificate(await read(join('previous', 'ca.crt')))), 'previous-ca', 'ca', false, s),
      );
    }
    return [...cas, ...entries];
  }

  return {
    dir,
    isInitialized: () => fs.exists(path('ca.crt')),
    async init(initOptions) {
      const caName = parseInput(caNameSchema, initOptions.caName, 'CA name');
      const s = parseInput(pkiSettingsSchema, initOptions.settings ?? {}, 'settings');
      if (initOptions.passphrase !== undefined) {
        parseInput(z.string().min(8, 'passphrase is shorter than 8 characters'), initOptions.passphrase, 'passphrase');
      }
      return locked(async () => {
        if (await fs.exists(path('ca.crt'))) {
          throw new OvpnPkiError('PKI_ALREADY_INITIALIZED', `${dir} already holds a CA`, { details: { dir } });
        }
        for (const sub of ['', 'private', 'issued', 'certs_by_serial', 'revoked']) await fs.mkdir(path(sub), DIR_MODE);
        const ca = await createCaCertificate({
          commonName: caName,
          algorithm: s.keyAlgorithm,
          days: s.caDays,
          now: now(),
        });
        await fs.writeFileAtomic(path('pki.json'), `${JSON.stringify({ version: 1, settings: s }, null, 2)}\n`, {
          mode: PUBLIC_MODE,
        });
        await fs.writeFileAtomic(
          path('private', 'ca.key'),
          await exportPrivateKeyPem(ca.privateKey, initOptions.passphrase),
          { mode: KEY_MODE },
        );
        await fs.writeFileAtomic(path('index.txt'), '', { mode: PUBLIC_MODE });
        await fs.writeFileAtomic(path('ca.crt'), `${ca.cert.toString('pem')}\n`, { mode: PUBLIC_MODE });
        signerCache = ca;
        await writeCrl();
        return info(entryOf(ca.cert), 'ca', 'ca', true, s);
      });
    },
    settings,
    caCertPem: () => read('ca.crt'),
    issueServer: (opts) => issue('server', opts),
    issueClient: (opts) => issue('client', opts),
    async get(name) {
      return material(name, await currentCert(name));
    },
    list: listAll,
    async report() {
      const [ca, ...certs] = await listAll();
      const current = certs.filter((c) => c.kind !== 'ca' && c.current && c.status === 'valid');
      const counts: Record<ExpiryState, number> = { ok: 0, expiring: 0, expired: 0 };
      for (const c of current) counts[c.expiry]++;
      const attention = [ca as CertificateInfo, ...certs.filter((c) => c.kind === 'ca'), ...current]
        .filter((c) => c.expiry !== 'ok')
        .sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime());
      return { ca: ca as CertificateInfo, crl: await crlInfo(await fs.readFile(path('crl.pem'))), counts, attention };
    },
    async revoke(name, reason = 'unspecified') {
      parseInput(z.enum(Object.keys(REVOCATION_REASONS) as [RevocationReason]), reason, 'revocation reason');
      return locked(async () => {
        const entry = await revokeLocked(name, reason);
        await writeCrl();
        return entryInfo(entry, name, false, await settings());
      });
    },
    async renew(name, renewOptions = {}) {
      const rekey = renewOptions.rekey ?? false;
      const revokePrevious = renewOptions.revokePrevious ?? rekey;
      return locked(async () => {
        const s = await settings();
        const old = await currentCert(name);
        const kind = certKind(old) ?? 'client';
        const oldKey = await readKey(name);
        if (!rekey && oldKey === undefined) {
          throw new OvpnPkiError('PKI_NOT_FOUND', `no private key for "${name}"; renew with rekey`, {
            details: { name },
          });
        }
        const algorithm =
          rekey || oldKey === undefined ? s.keyAlgorithm : (await importPrivateKeyPem(oldKey)).algorithm;
        const san = old.getExtension(x509.SubjectAlternativeNameExtension);
        const { cert, privateKey } = await issueLeafCertificate({
          signer: await signer(),
          commonName: commonName(old),
          kind,
          algorithm,
          days: renewOptions.days ?? (kind === 'server' ? s.serverDays : s.clientDays),
          now: now(),
          san: {
            dns: (san?.names.items ?? []).filter((n) => n.type === 'dns').map((n) => n.value),
            ip: (san?.names.items ?? []).filter((n) => n.type === 'ip').map((n) => n.value),
          },
          ...(rekey ? {} : { publicKey: old.publicKey }),
        });
        if (revokePrevious) await revokeLocked(name, 'superseded', old.serialNumber.toUpperCase());
        await store(name, cert, privateKey);
        if (revokePrevious) await writeCrl();
        return material(name, cert);
      });
    },
    generateCrl: () => locked(writeCrl),
    async ensureFreshCrl() {
      return locked(async () => {
        let current: CrlInfo | undefined;
        try {
          current = await crlInfo(await fs.readFile(path('crl.pem')));
        } catch (cause) {
          // Missing or unreadable: either way OpenVPN needs a new one.
          if (!isMissing(cause) && isOvpnPkiError(cause)) throw cause;
        }
        if (current?.state === 'ok') return { renewed: false, crl: current };
        return { renewed: true, crl: await writeCrl() };
      });
    },
    async crl() {
      await read('ca.crt');
      const pem = await fs.readFile(path('crl.pem'));
      return { pem, info: await crlInfo(pem) };
    },
    async rolloverCa(rollover) {
      const caName = parseInput(caNameSchema, rollover.caName, 'CA name');
      return locked(async () => {
        const s = await settings();
        if (await fs.exists(path('previous', 'ca.crt'))) {
          throw new OvpnPkiError('PKI_ROLLOVER_IN_PROGRESS', 'a CA rollover is in progress; finish it first');
        }
        const old = await signer();
        if (old.cert.subject === `CN=${caName}`) {
          throw new OvpnPkiError('PKI_INVALID_INPUT', 'the new CA needs a name different from the current one', {
            details: { field: 'caName' },
          });
        }
        const next = await createCaCertificate({
          commonName: caName,
          algorithm: s.keyAlgorithm,
          days: s.caDays,
          now: now(),
        });
        const cross = await crossCertificate({ signer: old, newCa: next.cert, now: now() });
        await fs.mkdir(path('previous', 'private'), DIR_MODE);
        await fs.writeFileAtomic(path('previous', 'private', 'ca.key'), await read(join('private', 'ca.key')), {
          mode: KEY_MODE,
        });
        await fs.writeFileAtomic(path('previous', 'ca.crt'), await read('ca.crt'), { mode: PUBLIC_MODE });
        await fs.writeFileAtomic(path('previous', 'cross.crt'), `${cross.toString('pem')}\n`, { mode: PUBLIC_MODE });
        const keyPem = await exportPrivateKeyPem(next.privateKey, rollover.passphrase);
        await fs.writeFileAtomic(path('private', 'ca.key'), keyPem, { mode: KEY_MODE });
        await fs.writeFileAtomic(path('ca.crt'), `${next.cert.toString('pem')}\n`, { mode: PUBLIC_MODE });
        previousCache = old;
        signerCache = next;
        await writeCrl();
        return info(entryOf(next.cert), 'ca', 'ca', true, s);
      });
    },
    async trustPem() {
      const current = await read('ca.crt');
      if (!(await fs.exists(path('previous', 'ca.crt')))) return current;
      return `${current.trimEnd()}\n${(await read(join('previous', 'ca.crt'))).trimEnd()}\n`;
    },
    async crossCertPem() {
      try {
        return await fs.readFile(path('previous', 'cross.crt'));
      } catch (cause) {
        if (isMissing(cause)) return undefined;
        throw cause;
      }
    },
    async finishRollover(finish = {}) {
      return locked(async () => {
        const previous = await previousSigner();
        if (!previous) throw new OvpnPkiError('PKI_NOT_FOUND', 'no CA rollover in progress');
        const pending: string[] = [];
        for (const entry of await readIndex()) {
          if (entry.status !== 'valid' || entry.notAfter <= now()) continue;
          if ((await metaBySerial(entry.serial))?.issuedBy(nodeCa(previous))) pending.push(subjectCn(entry.subject));
        }
        if (pending.length > 0 && !finish.force) {
          throw new OvpnPkiError(
            'PKI_ROLLOVER_PENDING',
            `${pending.length} certificate(s) of the previous CA are still valid (${pending.slice(0, 5).join(', ')}); renew them first`,
            { details: { pending: pending.length } },
          );
        }
        const retired = join('retired', now().toISOString().replace(/[:.]/g, '-'));
        await fs.mkdir(path(retired, 'private'), DIR_MODE);
        for (const rel of ['ca.crt', 'cross.crt', join('private', 'ca.key')]) {
          if (await fs.exists(path('previous', rel))) await fs.rename(path('previous', rel), path(retired, rel));
        }
        previousCache = undefined;
        await writeCrl();
        return { retired: path(retired) };
      });
    },
  };

  async function metaBySerial(serial: string): Promise<CertMeta | undefined> {
    for (const rel of [join('certs_by_serial', `${serial}.pem`), join('revoked', 'certs_by_serial', `${serial}.crt`)]) {
      try {
        return certMeta(await fs.readFile(path(rel)));
      } catch (cause) {
        if (!isMissing(cause)) throw cause;
      }
    }
    return undefined;
  }

  function nodeCa(signer: Signer): NodeX509 {
    return new NodeX509(signer.cert.toString('pem'));
  }

  /** info() for an index entry, with kind and issuer from the stored certificate. */
  async function entryInfo(
    entry: IndexEntry,
    name: string,
    current: boolean,
    s: PkiSettings,
  ): Promise<CertificateInfo> {
    const meta = await metaBySerial(entry.serial);
    const result = info(entry, name, meta?.kind ?? 'client', current, s);
    if (meta) result.issuer = meta.issuerCn;
    return result;
  }
}

/** `items.map(fn)` with at most `limit` calls in flight: thousands of small reads, not one at a time. */
async function mapLimit<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, limit = 32): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** The CN of an OpenSSL one-line subject (`/O=x/CN=name` → `name`). */
function subjectCn(subject: string): string {
  return /\/CN=([^/]*)/.exec(subject)?.[1] ?? subject;
}

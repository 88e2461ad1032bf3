// The PKI on disk: an easy-rsa-compatible layout (ca.crt, private/, issued/, certs_by_serial/,
// revoked/, index.txt, crlnumber, crl.pem) plus pki.json with our settings. This module issues,
// revokes, renews and lists certificates and composes the stages that live in their own modules:
// the lock (lock.ts), the CRL (crl.ts) and the CA rollover (rollover.ts), all on one PkiContext
// (context.ts). Every mutation rewrites index.txt and re-signs the CRL when revocations change.
import type { KeyObject } from 'node:crypto';
import { type Clock, type HostFs, isMissing } from '@invis/host';
import { z } from 'zod';
import {
  type CertKind,
  certKind,
  commonName,
  createCaCertificate,
  issueLeafCertificate,
  type LeafCertificate,
  REVOCATION_REASONS,
  type RevocationReason,
} from './ca';
import {
  type CertificateInfo,
  createPkiContext,
  DIR_MODE,
  type ExpiryState,
  entryOf,
  KEY_MODE,
  type PkiContext,
  PUBLIC_MODE,
  subjectCn,
} from './context';
import { type CrlInfo, crlInfo, ensureFreshCrl, readCrl, writeCrl } from './crl';
import { certMeta, exportPrivateKeyPem, importPrivateKeyPem, x509 } from './crypto';
import { isOvpnPkiError, OvpnPkiError } from './errors';
import type { IndexEntry } from './index-txt';
import { createPkiLock } from './lock';
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
import { crossCertPem, finishRollover, startRollover, trustPem } from './rollover';

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
  /**
   * Issues several client certificates at once: one lock, the files of all certificates written
   * concurrently, then one index.txt write. All or nothing up front: a taken or repeated name
   * fails the call before anything is signed. A crash during the call leaves certificate files
   * that index.txt does not list (their names count as taken), never an index line without its
   * certificate and key; once it resolves, every file and the index are on disk (fsynced).
   * @throws PKI_NAME_EXISTS, PKI_INVALID_INPUT
   */
  issueClients(list: readonly IssueOptions[]): Promise<CertificateMaterial[]>;
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
  /**
   * Revokes every valid client certificate whose common name `match` accepts — the current
   * certificate of a name and superseded ones alike (a `renew` without `revokePrevious` leaves the
   * old certificate valid) — under one lock, and re-signs the CRL once when anything was revoked.
   * Server certificates are never revoked here; a certificate whose kind cannot be read counts as
   * a client (fail closed).
   * @returns the revoked certificates, oldest first; empty when none matched (the CRL is then left as it is)
   * @throws PKI_NOT_INITIALIZED, PKI_INVALID_INPUT (reason), PKI_PARSE_FAILED
   */
  revokeClients(match: (commonName: string) => boolean, reason?: RevocationReason): Promise<CertificateInfo[]>;
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
  const ctx = createPkiContext(options);
  const { dir, fs, path, now } = ctx;
  const lock = createPkiLock({
    fs,
    dir,
    ...(options.lockTimeoutMs === undefined ? {} : { timeoutMs: options.lockTimeoutMs }),
  });
  const locked = <T>(fn: () => Promise<T>): Promise<T> => lock.run(fn);
  const issuing = createCertificates(ctx);

  /** Serial of `issued/<cn>.crt`, if `cn` is a name this PKI can store (an imported CN may not be) and the file exists. */
  async function currentFileSerial(cn: string): Promise<string | undefined> {
    if (!certNameSchema.safeParse(cn).success) return undefined;
    const pem = await fs.readFileIfExists(path('issued', `${cn}.crt`));
    if (pem === undefined) return undefined;
    try {
      return certMeta(pem).serial;
    } catch (cause) {
      throw new OvpnPkiError('PKI_PARSE_FAILED', `issued/${cn}.crt is not a certificate`, {
        cause,
        details: { name: cn },
      });
    }
  }

  function request(kind: CertKind, opts: IssueServerOptions): IssueRequest {
    const name = parseInput(certNameSchema, opts.name, 'certificate name');
    const san =
      kind === 'server' ? parseInput(subjectAltNamesSchema, opts.san ?? {}, 'subject alternative names') : undefined;
    if (opts.days !== undefined) parseInput(z.number().int().min(1).max(36_500), opts.days, 'days');
    return { kind, name, opts, ...(san ? { san } : {}) };
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
        ctx.signers.current = ca;
        await writeCrl(ctx);
        return ctx.info(entryOf(ca.cert), 'ca', 'ca', true, s);
      });
    },
    settings: () => ctx.settings(),
    caCertPem: () => ctx.read('ca.crt'),
    async issueServer(opts) {
      const one = request('server', opts);
      return (await locked(() => issuing.issueLocked([one])))[0] as CertificateMaterial;
    },
    async issueClient(opts) {
      const one = request('client', opts);
      return (await locked(() => issuing.issueLocked([one])))[0] as CertificateMaterial;
    },
    async issueClients(list) {
      const requests = list.map((opts) => request('client', opts));
      const seen = new Set<string>();
      for (const { name } of requests) {
        if (seen.has(name)) {
          throw new OvpnPkiError('PKI_NAME_EXISTS', `"${name}" is given twice`, { details: { name } });
        }
        seen.add(name);
      }
      return requests.length === 0 ? [] : locked(() => issuing.issueLocked(requests));
    },
    async get(name) {
      return issuing.material(name, await issuing.currentCert(name));
    },
    list: () => issuing.listAll(),
    async report() {
      const [ca, ...certs] = await issuing.listAll();
      const current = certs.filter((c) => c.kind !== 'ca' && c.current && c.status === 'valid');
      const counts: Record<ExpiryState, number> = { ok: 0, expiring: 0, expired: 0 };
      for (const c of current) counts[c.expiry]++;
      const attention = [ca as CertificateInfo, ...certs.filter((c) => c.kind === 'ca'), ...current]
        .filter((c) => c.expiry !== 'ok')
        .sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime());
      return {
        ca: ca as CertificateInfo,
        crl: await crlInfo(ctx, await fs.readFile(path('crl.pem'))),
        counts,
        attention,
      };
    },
    async revoke(name, reason = 'unspecified') {
      parseInput(z.enum(Object.keys(REVOCATION_REASONS) as [RevocationReason]), reason, 'revocation reason');
      return locked(async () => {
        const entry = await issuing.revokeLocked(name, reason);
        await writeCrl(ctx);
        return issuing.entryInfo(entry, name, false, await ctx.settings());
      });
    },
    async revokeClients(match, reason = 'unspecified') {
      parseInput(z.enum(Object.keys(REVOCATION_REASONS) as [RevocationReason]), reason, 'revocation reason');
      return locked(async () => {
        const s = await ctx.settings();
        const revoked: CertificateInfo[] = [];
        for (const entry of await ctx.readIndex()) {
          const cn = subjectCn(entry.subject);
          if (entry.status !== 'valid' || !match(cn)) continue;
          if ((await ctx.metaBySerial(entry.serial))?.kind === 'server') continue;
          // The current certificate of a name is revoked by name, so its files move and the name is free again.
          const current = await currentFileSerial(cn);
          const done = await issuing.revokeLocked(cn, reason, current === entry.serial ? undefined : entry.serial);
          revoked.push(await issuing.entryInfo(done, cn, false, s));
        }
        if (revoked.length > 0) await writeCrl(ctx);
        return revoked;
      });
    },
    async renew(name, renewOptions = {}) {
      const rekey = renewOptions.rekey ?? false;
      const revokePrevious = renewOptions.revokePrevious ?? rekey;
      return locked(async () => {
        const s = await ctx.settings();
        const old = await issuing.currentCert(name);
        const kind = certKind(old) ?? 'client';
        const oldKey = await issuing.readKey(name);
        if (!rekey && oldKey === undefined) {
          throw new OvpnPkiError('PKI_NOT_FOUND', `no private key for "${name}"; renew with rekey`, {
            details: { name },
          });
        }
        const algorithm =
          rekey || oldKey === undefined ? s.keyAlgorithm : (await importPrivateKeyPem(oldKey)).algorithm;
        const san = old.getExtension(x509.SubjectAlternativeNameExtension);
        const { cert, privateKey } = await issueLeafCertificate({
          signer: await ctx.signer(),
          commonName: commonName(old),
          kind,
          algorithm,
          days: renewOptions.days ?? (kind === 'server' ? s.serverDays : s.clientDays),
          now: now(),
          san: {
            dns: (san?.names.items ?? []).filter((n) => n.type === 'dns').map((n) => n.value),
            ip: (san?.names.items ?? []).filter((n) => n.type === 'ip').map((n) => n.value),
          },
          ...(rekey ? {} : { publicKey: new Uint8Array(old.publicKey.rawData) }),
        });
        if (revokePrevious) await issuing.revokeLocked(name, 'superseded', old.serialNumber.toUpperCase());
        const [material] = await issuing.store([{ name, kind, cert, privateKey }], s, await ctx.readIndex());
        if (revokePrevious) await writeCrl(ctx);
        return material as CertificateMaterial;
      });
    },
    generateCrl: () => locked(() => writeCrl(ctx)),
    ensureFreshCrl: () => locked(() => ensureFreshCrl(ctx)),
    crl: () => readCrl(ctx),
    async rolloverCa(rollover) {
      const caName = parseInput(caNameSchema, rollover.caName, 'CA name');
      return locked(() =>
        startRollover(ctx, {
          caName,
          ...(rollover.passphrase === undefined ? {} : { passphrase: rollover.passphrase }),
        }),
      );
    },
    trustPem: () => trustPem(ctx),
    crossCertPem: () => crossCertPem(ctx),
    finishRollover: (finish = {}) => locked(() => finishRollover(ctx, finish)),
  };
}

/** A validated issue call. */
interface IssueRequest {
  kind: CertKind;
  name: string;
  opts: IssueOptions;
  san?: SubjectAltNames;
}

/** A signed leaf before it is written. */
interface Signed {
  name: string;
  kind: CertKind;
  cert: LeafCertificate;
  /** The new key; undefined when re-certifying the stored one. */
  privateKey: KeyObject | undefined;
}

/** Issuing, revoking and reading leaf certificates of one PKI (the parts that mutate run under the caller's lock). */
function createCertificates(ctx: PkiContext) {
  const { fs, path, now } = ctx;

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
    return fs.readFileIfExists(path('private', `${name}.key`));
  }

  async function material(name: string, cert: x509.X509Certificate): Promise<CertificateMaterial> {
    const s = await ctx.settings();
    const serial = cert.serialNumber.toUpperCase();
    const entry = (await ctx.readIndex()).find((e) => e.serial === serial) ?? entryOf(cert);
    return {
      info: ctx.info(entry, name, certKind(cert) ?? 'client', true, s),
      certPem: `${cert.toString('pem')}\n`,
      keyPem: await readKey(name),
    };
  }

  /**
   * Writes freshly signed leaves: per certificate the key (0600, when new) and the certificate by
   * serial and by name, every file of every certificate concurrently (each through
   * `writeFileAtomic`: fsync of the file and its directory, so their flushes share disk commits);
   * then, once all of them are durable, index.txt a single time. A crash in between leaves files
   * that index.txt does not list, never an index line without its files.
   * @param index index.txt as read under the caller's lock (the new lines are appended to it)
   */
  async function store(signed: readonly Signed[], s: PkiSettings, index: IndexEntry[]): Promise<CertificateMaterial[]> {
    const materials = await mapLimit(signed, async ({ name, kind, cert, privateKey }) => {
      const certPem = `${cert.pem}\n`;
      const keyPem = privateKey ? await exportPrivateKeyPem(privateKey) : undefined;
      await settleAll([
        ...(keyPem === undefined
          ? []
          : [fs.writeFileAtomic(path('private', `${name}.key`), keyPem, { mode: KEY_MODE })]),
        fs.writeFileAtomic(path('certs_by_serial', `${cert.serial}.pem`), certPem, {
          mode: PUBLIC_MODE,
        }),
        fs.writeFileAtomic(path('issued', `${name}.crt`), certPem, { mode: PUBLIC_MODE }),
      ]);
      return {
        info: ctx.info(entryOf(cert), name, kind, true, s),
        certPem,
        keyPem: keyPem ?? (await readKey(name)),
      };
    });
    index.push(...signed.map(({ cert }) => entryOf(cert)));
    await ctx.writeIndex(index);
    return materials;
  }

  /** Signs and stores new leaves for validated requests (all names free, or nothing is signed). */
  async function issueLocked(requests: readonly IssueRequest[]): Promise<CertificateMaterial[]> {
    // Independent reads at once: each costs a few thread-pool round trips, in a row they add up.
    const reads = [
      ctx.settings(),
      ctx.signer(),
      ctx.readIndex(),
      mapLimit(requests, ({ name }) => fs.exists(path('issued', `${name}.crt`))),
    ] as const;
    // The first failure in this order, not in time: an uninitialized PKI says PKI_NOT_INITIALIZED
    // (the settings' read), whichever other read happens to fail first.
    await settleAll(reads);
    const [s, signer, index, taken] = await Promise.all(reads);
    const clash = requests.find((_, i) => taken[i]);
    if (clash) {
      throw new OvpnPkiError('PKI_NAME_EXISTS', `a certificate named "${clash.name}" exists; renew or revoke it`, {
        details: { name: clash.name },
      });
    }
    const signed = await mapLimit(requests, async ({ kind, name, opts, san }) => {
      const algorithm = opts.keyAlgorithm
        ? parseInput(pkiSettingsSchema, { keyAlgorithm: opts.keyAlgorithm }, 'key algorithm').keyAlgorithm
        : s.keyAlgorithm;
      const { cert, privateKey } = await issueLeafCertificate({
        signer,
        commonName: name,
        kind,
        algorithm,
        days: opts.days ?? (kind === 'server' ? s.serverDays : s.clientDays),
        now: now(),
        ...(san ? { san } : {}),
      });
      return { name, kind, cert, privateKey };
    });
    return store(signed, s, index);
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
    const index = await ctx.readIndex();
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
    await ctx.writeIndex(index);
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

  /** info() for an index entry, with kind and issuer from the stored certificate. */
  async function entryInfo(
    entry: IndexEntry,
    name: string,
    current: boolean,
    s: PkiSettings,
  ): Promise<CertificateInfo> {
    const meta = await ctx.metaBySerial(entry.serial);
    const result = ctx.info(entry, name, meta?.kind ?? 'client', current, s);
    if (meta) result.issuer = meta.issuerCn;
    return result;
  }

  async function listAll(): Promise<CertificateInfo[]> {
    const s = await ctx.settings();
    const ca = new x509.X509Certificate(await ctx.read('ca.crt'));
    const files = (await fs.readdir(path('issued'))).filter((f) => f.endsWith('.crt'));
    const serials = await mapLimit(files, async (file) => certMeta(await fs.readFile(path('issued', file))).serial);
    const byName = new Map(serials.map((serial, i) => [serial, (files[i] as string).slice(0, -4)]));
    const entries = await mapLimit(await ctx.readIndex(), (entry) => {
      const current = byName.get(entry.serial);
      return entryInfo(entry, current ?? subjectCn(entry.subject), current !== undefined, s);
    });
    const cas = [ctx.info(entryOf(ca), 'ca', 'ca', true, s)];
    // During a rollover the old CA is still trusted, so its expiry matters too.
    if (await fs.exists(path('previous', 'ca.crt'))) {
      const previous = new x509.X509Certificate(await ctx.read('previous/ca.crt'));
      cas.push(ctx.info(entryOf(previous), 'previous-ca', 'ca', false, s));
    }
    return [...cas, ...entries];
  }

  return { currentCert, readKey, material, store, issueLocked, revokeLocked, entryInfo, listAll };
}

/**
 * `items.map(fn)` with at most `limit` calls in flight: thousands of small reads, not one at a
 * time. After a failure no new call starts, and the first error is thrown only once the calls in
 * flight have settled (no write continues after the caller's lock is released).
 */
async function mapLimit<T, R>(items: readonly T[], fn: (item: T) => Promise<R>, limit = 32): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (next < items.length && !failed) {
      const i = next++;
      try {
        out[i] = await fn(items[i] as T);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await settleAll(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** Waits for every promise, then throws the first rejection (if any). */
async function settleAll(promises: readonly Promise<unknown>[]): Promise<void> {
  const failure = (await Promise.allSettled(promises)).find((r) => r.status === 'rejected');
  if (failure) throw failure.reason;
}

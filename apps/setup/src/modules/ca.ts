// `ca`: the server's internal CA and its certificates for LDAP, mail, web and VPN. The CA is an
// @invis/ovpn-pki store (EC P-256, key 0600 in a 0700 folder); the certificates are deployed as
// PEM files for the services, re-issued when their names change or fewer than 30 days are left,
// and summarised in a small JSON file the portal's status page reads.
import { X509Certificate } from 'node:crypto';
import { type ApplyReport, applyReport, type FileChange, fileChange } from '@invis/host';
import { createPki, type Pki } from '@invis/ovpn-pki';
import type { Answers } from '../answers';
import { SetupError } from '../errors';
import type { ModuleContext, ModulePlan, SetupModule, VerifyCheck } from '../module';
import { parseCidr } from '../net';

/** A certificate is re-issued when fewer days than this are left (and `verify` flags it). */
export const RENEW_BEFORE_DAYS = 30;

/** The certificates the server's services use. */
export const SERVER_CERTIFICATES = ['ldap', 'mail', 'web', 'vpn'] as const;
/** One of {@link SERVER_CERTIFICATES}. */
export type ServerCertificate = (typeof SERVER_CERTIFICATES)[number];

/** The names a certificate must carry. */
export interface WantedNames {
  dns: string[];
  ip: string[];
}

/**
 * The subject alternative names of each server certificate for the answers: the server's FQDN,
 * its short name and its LAN address; LDAP also the domain (clients ask `ldaps://<domain>`), mail
 * also `mail.<domain>` (the MX target the `dns` module publishes).
 * @param answers host name, domain and LAN address
 * @returns names per certificate
 */
export function wantedNames(answers: Answers): Record<ServerCertificate, WantedNames> {
  const fqdn = `${answers.hostname}.${answers.domain}`;
  const address = parseCidr(answers.lan.address)?.address;
  const ip = address ? [address] : [];
  const base = [fqdn, answers.hostname];
  return {
    ldap: { dns: [...base, answers.domain], ip },
    mail: { dns: [...base, `mail.${answers.domain}`], ip },
    web: { dns: base, ip },
    vpn: { dns: base, ip },
  };
}

/** Where the files of one certificate are deployed. */
export interface CertificatePaths {
  cert: string;
  key: string;
}

/**
 * The deployed files of the CA and the server certificates (profile paths).
 * @param ctx the module context (its profile)
 * @returns the CA certificate path and the paths per certificate
 */
export function certificatePaths(ctx: Pick<ModuleContext, 'profile'>): {
  caCert: string;
  certs: Record<ServerCertificate, CertificatePaths>;
} {
  const { certsDir, privateDir } = ctx.profile.ca;
  const entry = (name: ServerCertificate): CertificatePaths => ({
    cert: `${certsDir}/${name}-cert.pem`,
    key: `${privateDir}/${name}-key.pem`,
  });
  return {
    caCert: `${certsDir}/ca.crt`,
    certs: { ldap: entry('ldap'), mail: entry('mail'), web: entry('web'), vpn: entry('vpn') },
  };
}

/**
 * The names in a certificate's subjectAltName, as node:crypto prints them.
 * @param certPem the certificate
 * @returns DNS names and IP addresses, sorted
 */
export function certificateNames(certPem: string): WantedNames {
  const text = new X509Certificate(certPem).subjectAltName ?? '';
  const dns: string[] = [];
  const ip: string[] = [];
  for (const part of text.split(', ')) {
    if (part.startsWith('DNS:')) dns.push(part.slice(4).toLowerCase());
    else if (part.startsWith('IP Address:')) ip.push(part.slice(11));
  }
  return { dns: dns.sort(), ip: ip.sort() };
}

const sameNames = (a: WantedNames, b: WantedNames): boolean =>
  JSON.stringify({ dns: [...a.dns].sort(), ip: [...a.ip].sort() }) ===
  JSON.stringify({ dns: [...b.dns].sort(), ip: [...b.ip].sort() });

const daysLeft = (certPem: string, now: Date): number =>
  Math.floor((new Date(new X509Certificate(certPem).validTo).getTime() - now.getTime()) / 86_400_000);

/** Why a certificate is (re-)issued. */
export type IssueReason = 'missing' | 'names-changed' | 'expiring';

/** One line of the status file: what the portal shows per certificate. */
export interface CertificateStatus {
  name: string;
  serial: string;
  notAfter: string;
  dns: string[];
  ip: string[];
  cert: string;
}

/** The status file `certs.json` (stable between runs: the portal computes the days left). */
export interface CertificatesStatus {
  ca: { subject: string; notAfter: string; cert: string };
  renewBeforeDays: number;
  certificates: CertificateStatus[];
}

function openPki(ctx: ModuleContext): Pki {
  return createPki({ dir: ctx.profile.ca.pkiDir, fs: ctx.fs, clock: ctx.clock });
}

/** The current certificate of `name` in the store, or undefined. */
async function current(pki: Pki, name: string): Promise<{ certPem: string; keyPem: string } | undefined> {
  try {
    const material = await pki.get(name);
    return material.keyPem === undefined ? undefined : { certPem: material.certPem, keyPem: material.keyPem };
  } catch {
    // PKI_NOT_FOUND: never issued, or revoked and not re-issued.
    return undefined;
  }
}

/**
 * Why `name` must be (re-)issued, or undefined when its certificate is fine.
 * @param certPem the current certificate, if any
 * @param wanted the names it must carry
 * @param now the clock's time
 * @returns the reason
 */
export function issueReason(certPem: string | undefined, wanted: WantedNames, now: Date): IssueReason | undefined {
  if (certPem === undefined) return 'missing';
  if (!sameNames(certificateNames(certPem), wanted)) return 'names-changed';
  if (daysLeft(certPem, now) < RENEW_BEFORE_DAYS) return 'expiring';
  return undefined;
}

/**
 * The status file's content for the current certificates.
 * @param caPem the CA certificate
 * @param certs PEM per certificate
 * @param paths where they are deployed
 * @returns the JSON text
 */
export function renderStatus(
  caPem: string,
  certs: Record<ServerCertificate, string>,
  paths: ReturnType<typeof certificatePaths>,
): string {
  const ca = new X509Certificate(caPem);
  const status: CertificatesStatus = {
    ca: { subject: ca.subject, notAfter: new Date(ca.validTo).toISOString(), cert: paths.caCert },
    renewBeforeDays: RENEW_BEFORE_DAYS,
    certificates: SERVER_CERTIFICATES.map((name) => {
      const x509 = new X509Certificate(certs[name]);
      return {
        name,
        serial: x509.serialNumber,
        notAfter: new Date(x509.validTo).toISOString(),
        ...certificateNames(certs[name]),
        cert: paths.certs[name].cert,
      };
    }),
  };
  return `${JSON.stringify(status, null, 2)}\n`;
}

interface Assessment {
  initialized: boolean;
  reasons: Partial<Record<ServerCertificate, IssueReason>>;
  /** The deployed files as they should be, for the certificates that stay. */
  files: { path: string; content: string; mode: number; secret: boolean }[];
}

async function assess(ctx: ModuleContext, pki: Pki): Promise<Assessment> {
  const initialized = await pki.isInitialized();
  const wanted = wantedNames(ctx.answers);
  const paths = certificatePaths(ctx);
  const reasons: Assessment['reasons'] = {};
  const files: Assessment['files'] = [];
  const pems: Partial<Record<ServerCertificate, string>> = {};
  const caPem = initialized ? await pki.caCertPem() : undefined;
  if (caPem) files.push({ path: paths.caCert, content: caPem, mode: 0o644, secret: false });
  for (const name of SERVER_CERTIFICATES) {
    const material = initialized ? await current(pki, name) : undefined;
    const reason = issueReason(material?.certPem, wanted[name], ctx.clock.now());
    if (reason) reasons[name] = reason;
    else if (material) {
      pems[name] = material.certPem;
      files.push({ path: paths.certs[name].cert, content: material.certPem, mode: 0o644, secret: false });
      files.push({ path: paths.certs[name].key, content: material.keyPem, mode: 0o600, secret: true });
    }
  }
  if (caPem && Object.keys(reasons).length === 0) {
    const all = pems as Record<ServerCertificate, string>;
    files.push({
      path: ctx.profile.ca.statusFile,
      content: renderStatus(caPem, all, paths),
      mode: 0o644,
      secret: false,
    });
  }
  return { initialized, reasons, files };
}

async function planOf(ctx: ModuleContext, pki: Pki): Promise<{ plan: ModulePlan; assessment: Assessment }> {
  const assessment = await assess(ctx, pki);
  const plan: ModulePlan = { files: [], services: [], commands: [], directories: [] };
  for (const dir of directoriesOf(ctx)) if (!(await ctx.fs.exists(dir.path))) plan.directories.push(dir.path);
  const paths = certificatePaths(ctx);
  const pending = (path: string, secret: boolean): Promise<FileChange> =>
    // A certificate not issued yet has no content to diff: the change is shown without one.
    ctx.fs.exists(path).then((exists) => ({
      path,
      action: exists ? 'update' : 'create',
      diff: '',
      ...(secret ? { secret: true } : {}),
    }));
  if (!assessment.initialized) {
    plan.files.push(await pending(`${ctx.profile.ca.pkiDir}/ca.crt`, false));
    plan.files.push(await pending(paths.caCert, false));
  }
  for (const [name, reason] of Object.entries(assessment.reasons)) {
    ctx.progress(`ca: ${name}: ${reason}`);
    const p = paths.certs[name as ServerCertificate];
    plan.files.push(await pending(p.cert, false), await pending(p.key, true));
  }
  if (!assessment.initialized || Object.keys(assessment.reasons).length > 0) {
    plan.files.push(await pending(ctx.profile.ca.statusFile, false));
  }
  for (const file of assessment.files) {
    plan.files.push(
      fileChange(file.path, await ctx.fs.readFileIfExists(file.path), file.content, { secret: file.secret }),
    );
  }
  return { plan, assessment };
}

function directoriesOf(ctx: ModuleContext): { path: string; mode: number }[] {
  const { ca } = ctx.profile;
  const parent = (path: string) => path.slice(0, path.lastIndexOf('/'));
  return [
    { path: parent(ca.pkiDir), mode: 0o755 },
    { path: ca.certsDir, mode: 0o755 },
    { path: ca.privateDir, mode: 0o700 },
    { path: parent(ca.statusFile), mode: 0o755 },
  ];
}

async function apply(ctx: ModuleContext): Promise<ApplyReport> {
  const started = Date.now();
  const pki = openPki(ctx);
  const { plan, assessment } = await planOf(ctx, pki);
  if (!plan.files.some((f) => f.action !== 'unchanged') && plan.directories.length === 0) return applyReport(plan);
  for (const dir of directoriesOf(ctx)) await ctx.fs.mkdir(dir.path, dir.mode);
  if (!assessment.initialized) {
    ctx.progress('ca: creating the CA');
    // EC P-256: what every client of ours speaks (Samba's GnuTLS, OpenSSL in Postfix, Dovecot and
    // OpenVPN, Node, browsers), made in-process in milliseconds; see the README for RSA.
    await pki.init({ caName: `invis CA ${ctx.answers.domain}`, settings: { keyAlgorithm: 'ec-p256' } });
  }
  const wanted = wantedNames(ctx.answers);
  for (const [name, reason] of Object.entries(assessment.reasons)) {
    ctx.progress(`ca: issuing ${name} (${reason})`);
    // A certificate with other names or near its end is superseded: revoked, then issued anew
    // (new key) under the same name.
    if (reason !== 'missing') await pki.revoke(name, 'superseded');
    await pki.issueServer({ name, san: wanted[name as ServerCertificate] });
  }
  const after = await assess(ctx, pki);
  if (Object.keys(after.reasons).length > 0) {
    throw new SetupError('SETUP_CHECK_FAILED', `ca: still not valid after issuing: ${Object.keys(after.reasons)}`, {
      details: { module: 'ca' },
    });
  }
  const files: FileChange[] = [];
  for (const file of after.files) {
    const before = await ctx.fs.readFileIfExists(file.path);
    files.push(fileChange(file.path, before, file.content, { secret: file.secret }));
    if (before !== file.content) await ctx.fs.writeFileAtomic(file.path, file.content, { mode: file.mode });
  }
  return applyReport({ files, services: [], commands: [] }, { timings: { total: Date.now() - started } });
}

/** The mode bits of a file, read with `stat` (a read-only program, so it also runs when staging). */
async function modeOf(ctx: ModuleContext, path: string): Promise<number | undefined> {
  const result = await ctx.runner.run('stat', ['-c', '%a', '--', ctx.fs.hostPath(path)]);
  return result.exitCode === 0 ? Number.parseInt(result.stdout.trim(), 8) : undefined;
}

async function verify(ctx: ModuleContext): Promise<VerifyCheck[]> {
  const checks: VerifyCheck[] = [];
  const paths = certificatePaths(ctx);
  const caPem = await ctx.fs.readFileIfExists(paths.caCert);
  if (caPem === undefined) return [{ name: 'ca certificate', ok: false, problem: `${paths.caCert} is missing` }];
  const ca = new X509Certificate(caPem);
  checks.push({ name: 'ca certificate', ok: true });
  const caKey = `${ctx.profile.ca.pkiDir}/private/ca.key`;
  const caKeyMode = await modeOf(ctx, caKey);
  checks.push(
    caKeyMode === 0o600
      ? { name: 'ca key mode', ok: true }
      : { name: 'ca key mode', ok: false, problem: `${caKey}: mode ${caKeyMode?.toString(8) ?? 'missing'}, not 600` },
  );
  const wanted = wantedNames(ctx.answers);
  const now = ctx.clock.now();
  for (const name of SERVER_CERTIFICATES) {
    const { cert, key } = paths.certs[name];
    const pem = await ctx.fs.readFileIfExists(cert);
    const problems: string[] = [];
    if (pem === undefined) problems.push(`${cert} is missing`);
    else {
      const x509 = new X509Certificate(pem);
      if (!x509.checkIssued(ca) || !x509.verify(ca.publicKey)) problems.push('not signed by the CA');
      if (!sameNames(certificateNames(pem), wanted[name])) problems.push('names differ from the answers');
      const left = daysLeft(pem, now);
      if (left < RENEW_BEFORE_DAYS) problems.push(left < 0 ? 'expired' : `expires in ${left} days`);
    }
    const mode = await modeOf(ctx, key);
    if (mode !== 0o600) problems.push(`${key}: mode ${mode?.toString(8) ?? 'missing'}, not 600`);
    checks.push(
      problems.length === 0
        ? { name: `certificate ${name}`, ok: true }
        : { name: `certificate ${name}`, ok: false, problem: `${problems.join('; ')} (run apply)` },
    );
  }
  return checks;
}

/** The `ca` module. */
export const caModule: SetupModule = {
  id: 'ca',
  title: { de: 'Zertifizierungsstelle und Serverzertifikate', en: 'Certificate authority and server certificates' },
  dependsOn: ['check'],
  plan: async (ctx) => (await planOf(ctx, openPki(ctx))).plan,
  apply,
  verify,
};

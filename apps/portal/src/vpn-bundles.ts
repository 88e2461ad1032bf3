// VPN bundles on the portal: an admin (or a `mobilusers` member, when self-service is allowed)
// issues a client certificate and gets its inline `.ovpn` once. The private key lives only in
// that bundle: it is removed from the PKI right after the bundle is rendered, and the bundle is
// kept in memory only, behind a one-time download token that expires. A restart forgets bundles
// not yet downloaded; their certificates are then useless to anyone and are revoked from the list.
import { createHash, randomBytes } from 'node:crypto';
import { readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, systemClock } from '@invis/host';
import {
  type CertificateInfo,
  isOvpnPkiError,
  type Pki,
  renderClientBundle,
  wrapTlsCryptV2ClientKey,
} from '@invis/ovpn-pki';
import { z } from 'zod';
import { PortalError } from './errors';
import type { PrivilegedClient, PrivilegedRequest } from './services';
import { belongsToUser, deployCrl, vpnCommonName } from './vpn';

/** The OpenVPN server a bundle connects to (setup's road-warrior server). */
export interface VpnServerParams {
  /** Public name or address clients dial (the DDNS name). */
  remote: string;
  /** The server's UDP port. */
  port: number;
  /** CN of the server certificate (`verify-x509-name`). */
  serverName: string;
  /** tls-crypt-v2 (a client key per bundle, wrapped with the server key) or a shared tls-crypt (v1) key. */
  tls: { kind: 'tls-crypt-v2'; serverKeyFile: string } | { kind: 'tls-crypt'; key: string };
}

/** A certificate as the bundles see it: from the PKI in this process or from the root service. */
export type VpnCertificateInfo = Pick<CertificateInfo, 'name' | 'serial' | 'notAfter' | 'daysLeft' | 'expiry'>;

/**
 * Where certificates are issued and revoked: the PKI in this process ({@link pkiVpnAuthority}), or
 * root behind setup's privileged socket ({@link privilegedVpnAuthority}) on an installed server,
 * where the PKI is root's. The portal's rights checks stay in {@link createVpnBundles}.
 */
export interface VpnAuthority {
  /**
   * The valid, current client certificates.
   * @throws PortalError PORTAL_VPN_FAILED
   */
  clients(): Promise<VpnCertificateInfo[]>;
  /**
   * Issues `name` and renders its bundle; the private key is in the bundle only.
   * @throws PortalError PORTAL_CONFLICT (name taken), PORTAL_VALIDATION (refused name), PORTAL_VPN_FAILED
   */
  issue(name: string): Promise<{ info: VpnCertificateInfo; ovpn: string }>;
  /**
   * Revokes `name` (reason `cessationOfOperation`) and deploys the CRL.
   * @throws PortalError PORTAL_NOT_FOUND (no valid certificate of that name), PORTAL_VPN_REVOCATION_FAILED
   */
  revoke(name: string): Promise<VpnCertificateInfo>;
}

/** Options of {@link pkiVpnAuthority}. */
export interface PkiVpnAuthorityOptions {
  pki: Pki;
  server: VpnServerParams;
  /** The CRL the OpenVPN server reads; rewritten after every revocation. Omit: no deployment. */
  crlFile?: string;
  clock?: Clock;
}

/** Options of {@link createVpnBundles}: the PKI in this process, or an authority. */
export type VpnBundlesOptions = (PkiVpnAuthorityOptions | { authority: VpnAuthority }) & {
  clock?: Clock;
  /** How long a download token is good for (default 15 minutes). */
  downloadTtlMs?: number;
  /** Whether members of the mobile group may issue and download their own bundles. */
  selfService: boolean;
};

/** A VPN client certificate as the VPN page lists it. */
export interface VpnCertificate {
  name: string;
  /** The account it belongs to (`name` up to `@`). */
  owner: string;
  device: string | null;
  serial: string;
  notAfter: string;
  daysLeft: number;
  expiry: CertificateInfo['expiry'];
  /** Issued, bundle not downloaded yet (only while this portal process runs). */
  pendingDownload: boolean;
}

/** One issued bundle, ready for its one download. */
export interface IssuedBundle {
  certificate: VpnCertificate;
  /** `GET` this URL once, with the issuing session, before `expiresAt`. */
  download: string;
  expiresAt: string;
}

/** Issue, list, download once and revoke VPN bundles. */
export interface VpnBundles {
  readonly selfService: boolean;
  /**
   * The valid client certificates that belong to an account, or to `owner` only.
   * @throws PortalError PORTAL_VPN_FAILED when the PKI cannot be read
   */
  list(owner?: string): Promise<VpnCertificate[]>;
  /**
   * Issues a certificate `owner[@device]` and renders its bundle; the key leaves the PKI at once.
   * @param issuer the session user who may download it
   * @throws PortalError PORTAL_CONFLICT (name taken), PORTAL_VALIDATION (bad device), PORTAL_VPN_FAILED
   */
  issue(input: { owner: string; device?: string; issuer: string }): Promise<IssuedBundle>;
  /**
   * Hands out a bundle once: the token is gone afterwards.
   * @throws PortalError PORTAL_NOT_FOUND for an unknown, used, expired or foreign token
   */
  take(token: string, downloader: string): { name: string; ovpn: string };
  /**
   * Revokes one certificate (reason `cessationOfOperation`) and deploys the CRL.
   * @throws PortalError PORTAL_NOT_FOUND (no valid certificate of that name), PORTAL_VPN_REVOCATION_FAILED
   */
  revoke(name: string): Promise<VpnCertificate>;
}

interface Pending {
  name: string;
  issuer: string;
  ovpn: string;
  expiresAt: number;
}

const MAX_PENDING = 500;
const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex');

function toCertificate(info: VpnCertificateInfo, pending: boolean): VpnCertificate {
  const at = info.name.indexOf('@');
  return {
    name: info.name,
    owner: at < 0 ? info.name : info.name.slice(0, at),
    device: at < 0 ? null : info.name.slice(at + 1),
    serial: info.serial,
    notAfter: info.notAfter.toISOString(),
    daysLeft: info.daysLeft,
    expiry: info.expiry,
    pendingDownload: pending,
  };
}

const failed = (what: string, cause: unknown): PortalError =>
  new PortalError('PORTAL_VPN_FAILED', `the VPN PKI could not ${what}`, { cause });

const conflict = (name: string): PortalError =>
  new PortalError('PORTAL_CONFLICT', `a VPN certificate ${name} exists; revoke it first`, { details: { name } });
const revocationFailed = (name: string, cause: unknown): PortalError =>
  new PortalError('PORTAL_VPN_REVOCATION_FAILED', `the VPN certificate ${name} was not revoked`, {
    cause,
    details: { name },
  });

/**
 * The {@link VpnAuthority} of an `@invis/ovpn-pki` PKI this process may write (a demo, a test, a
 * portal running as root): tls-crypt-v2 client keys in-process, the CRL deployed after revoking.
 * @param options the PKI, the server the bundles dial and the CRL deployment
 */
export function pkiVpnAuthority(options: PkiVpnAuthorityOptions): VpnAuthority {
  const { pki, server, crlFile } = options;
  const clock = options.clock ?? systemClock;

  async function clients(): Promise<CertificateInfo[]> {
    let all: CertificateInfo[];
    try {
      all = await pki.list();
    } catch (cause) {
      throw failed('list its certificates', cause);
    }
    return all.filter((c) => c.kind === 'client' && c.status === 'valid' && c.current);
  }

  async function clientTlsKey(): Promise<{ tlsCrypt: string } | { tlsCryptV2: string }> {
    if (server.tls.kind === 'tls-crypt') return { tlsCrypt: server.tls.key };
    try {
      // In-process, byte-compatible with `openvpn --genkey tls-crypt-v2-client` (no process per bundle).
      return { tlsCryptV2: wrapTlsCryptV2ClientKey(await readFile(server.tls.serverKeyFile, 'utf8'), { clock }) };
    } catch (cause) {
      throw failed('make a tls-crypt-v2 client key', cause);
    }
  }

  return {
    clients,
    async issue(name) {
      const tls = await clientTlsKey();
      let material: Awaited<ReturnType<Pki['issueClient']>>;
      try {
        material = await pki.issueClient({ name });
      } catch (cause) {
        if (isOvpnPkiError(cause) && cause.code === 'PKI_NAME_EXISTS') throw conflict(name);
        throw failed('issue a certificate', cause);
      }
      try {
        const ovpn = renderClientBundle({
          name,
          remotes: [{ host: server.remote, port: server.port, proto: 'udp' }],
          serverName: server.serverName,
          caPem: await pki.trustPem(),
          certPem: material.certPem,
          keyPem: material.keyPem ?? '',
          ...tls,
        });
        // The bundle is the only copy of the key from now on.
        await unlink(join(pki.dir, 'private', `${name}.key`));
        return { info: material.info, ovpn };
      } catch (cause) {
        // No half-issued certificate: without a delivered bundle nobody may hold a valid one.
        await pki.revoke(name, 'cessationOfOperation').catch(() => undefined);
        throw failed('render the bundle', cause);
      }
    },
    async revoke(name) {
      const current = (await clients()).find((c) => c.name === name);
      if (!current)
        throw new PortalError('PORTAL_NOT_FOUND', `no valid VPN certificate ${name}`, { details: { name } });
      let info: CertificateInfo;
      try {
        info = await pki.revoke(name, 'cessationOfOperation');
      } catch (cause) {
        throw revocationFailed(name, cause);
      }
      if (crlFile !== undefined) await deployCrl(pki, crlFile, { name, serials: [info.serial] });
      return { ...current, ...info };
    },
  };
}

const PrivilegedCertificate = z.object({
  name: z.string(),
  serial: z.string(),
  notAfter: z.iso.datetime().transform((s) => new Date(s)),
  daysLeft: z.number(),
  expiry: z.enum(['ok', 'expiring', 'expired']),
});

/**
 * Reads one answer of the privileged service: the result's shape, or the portal's error for the
 * root side's refusal (its code kept in `details.code`, its message not shown: it may name paths).
 */
async function ask<T>(
  client: PrivilegedClient,
  request: PrivilegedRequest,
  shape: z.ZodType<T>,
  failure: (cause: unknown, code?: string) => PortalError,
): Promise<T> {
  let answer: Awaited<ReturnType<PrivilegedClient['call']>>;
  try {
    answer = await client.call(request);
  } catch (cause) {
    throw failure(cause);
  }
  if (!answer.ok) throw failure(undefined, answer.error.code);
  const result = shape.safeParse(answer.result);
  if (!result.success) throw failure(result.error);
  return result.data;
}

/**
 * The {@link VpnAuthority} of an installed server: the PKI is root's, so every issue, list and
 * revocation is one request to setup's privileged socket (`invis-setup privileged`), which issues
 * with the server's own bundle settings and deploys the CRL itself.
 * @param client the privileged client
 * @example createVpnBundles({ authority: privilegedVpnAuthority(createPrivilegedClient({ socket })), selfService: false })
 */
export function privilegedVpnAuthority(client: PrivilegedClient): VpnAuthority {
  const refusedName = (name: string) =>
    new PortalError('PORTAL_VALIDATION', `no VPN certificate name ${name}`, { details: { name } });
  return {
    clients: () =>
      ask(
        client,
        { op: 'vpn.list' },
        z.object({ certificates: PrivilegedCertificate.array() }).transform((r) => r.certificates),
        (cause) => failed('list its certificates', cause),
      ),
    issue: (name) =>
      ask(
        client,
        { op: 'vpn.issue', commonName: name },
        z.object({ certificate: PrivilegedCertificate, ovpn: z.string().min(1) }).transform((r) => ({
          info: r.certificate,
          ovpn: r.ovpn,
        })),
        (cause, code) =>
          code === 'SETUP_PRIVILEGED_CONFLICT'
            ? conflict(name)
            : code === 'SETUP_PRIVILEGED_REFUSED'
              ? refusedName(name)
              : failed('issue a certificate', cause ?? code),
      ),
    revoke: (name) =>
      ask(
        client,
        { op: 'vpn.revoke', commonName: name },
        z.object({ certificate: PrivilegedCertificate }).transform((r) => r.certificate),
        (cause, code) =>
          code === 'SETUP_PRIVILEGED_NOT_FOUND' || code === 'SETUP_PRIVILEGED_REFUSED'
            ? new PortalError('PORTAL_NOT_FOUND', `no valid VPN certificate ${name}`, { details: { name } })
            : revocationFailed(name, cause ?? code),
      ),
  };
}

/**
 * VPN bundles with one-time downloads held in memory, on an `@invis/ovpn-pki` PKI or an authority.
 * @param options the PKI (the server the bundles dial, the CRL deployment) or an authority
 * @example
 * const bundles = createVpnBundles({ pki, server: { remote: 'vpn.muster.de', port: 51194, serverName: 'invis.muster.loc',
 *   tls: { kind: 'tls-crypt-v2', serverKeyFile: '/var/lib/invis/pki/tc-v2-server.key' } }, selfService: false });
 */
export function createVpnBundles(options: VpnBundlesOptions): VpnBundles {
  const authority = 'authority' in options ? options.authority : pkiVpnAuthority(options);
  const clock = options.clock ?? systemClock;
  const ttl = options.downloadTtlMs ?? 15 * 60_000;
  const pending = new Map<string, Pending>();
  const now = (): number => clock.now().getTime();
  const prune = (): void => {
    for (const [k, p] of pending) if (p.expiresAt <= now()) pending.delete(k);
  };
  const isPending = (name: string): boolean => [...pending.values()].some((p) => p.name === name);

  return {
    selfService: options.selfService,
    async list(owner) {
      prune();
      return (await authority.clients())
        .filter((c) => owner === undefined || belongsToUser(c.name, owner))
        .map((c) => toCertificate(c, isPending(c.name)))
        .sort((a, b) => a.name.localeCompare(b.name));
    },
    async issue({ owner, device, issuer }) {
      prune();
      if (pending.size >= MAX_PENDING) throw new PortalError('PORTAL_CONFLICT', 'too many bundles wait for download');
      const name = vpnCommonName(owner, device);
      // AD compares account names without case; the PKI would take `Anna` next to `anna`.
      if ((await authority.clients()).some((c) => c.name.toLowerCase() === name.toLowerCase())) throw conflict(name);
      const { info, ovpn } = await authority.issue(name);
      const token = randomBytes(32).toString('base64url');
      const expiresAt = now() + ttl;
      pending.set(hashToken(token), { name, issuer, ovpn, expiresAt });
      return {
        certificate: toCertificate(info, true),
        download: `/api/vpn/downloads/${token}`,
        expiresAt: new Date(expiresAt).toISOString(),
      };
    },
    take(token, downloader) {
      prune();
      const key = hashToken(token);
      const entry = pending.get(key);
      if (!entry || entry.issuer.toLowerCase() !== downloader.toLowerCase()) {
        throw new PortalError('PORTAL_NOT_FOUND', 'no such download (used, expired or never issued)');
      }
      pending.delete(key);
      return { name: entry.name, ovpn: entry.ovpn };
    },
    async revoke(name) {
      const info = await authority.revoke(name);
      for (const [k, p] of pending) if (p.name === name) pending.delete(k);
      return toCertificate(info, false);
    },
  };
}

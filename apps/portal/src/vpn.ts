// Which VPN certificates belong to a directory account, and revoking them all when the account is
// disabled or deleted (security finding 19). One naming convention for issuing and revoking:
// the common name is the sAMAccountName, or `<sAMAccountName>@<device>` for further devices.
// `@` is the separator because AD refuses it in sAMAccountName (so does the portal's schema);
// `.` and `-` are common inside account names (`anna.schmidt`, `hans-peter`) and would let one
// account's revocation hit another's certificates, or miss its own.
import { writeFileAtomic } from '@invis/host';
import { certNameSchema, type Pki } from '@invis/ovpn-pki';
import { z } from 'zod';
import { PortalError } from './errors';
import type { PrivilegedAnswer, PrivilegedClient } from './services';

/** Revokes the VPN access of an account. */
export interface VpnRevoker {
  /**
   * Revokes every valid VPN client certificate of `username` (see {@link belongsToUser}), renews
   * the CRL and deploys it when a deployment is configured — also when nothing was left to revoke,
   * so a retry after a failed deployment delivers the CRL.
   * @returns the revoked serials (upper-case hex); empty when the account had none
   * @throws PortalError PORTAL_VPN_REVOCATION_FAILED (the PKI or the deployment failed; cause server-side)
   */
  revokeUser(username: string): Promise<string[]>;
}

/** Options of {@link createVpnRevoker}. */
export interface VpnRevokerOptions {
  /** The VPN server's PKI (`createPki({ dir: '/var/lib/invis/pki/…' })` of `@invis/ovpn-pki`). */
  pki: Pki;
  /**
   * Where the OpenVPN server reads its CRL (`crl-verify`; `buildServerFiles` puts it at
   * `<dir>/crl.pem`): written atomically, 0644, as `applyServerDeployment` does for the live CRL.
   * OpenVPN re-reads it for every new connection, so no restart is needed. Omit: no deployment.
   */
  crlFile?: string;
}

const DEVICE = /^[A-Za-z0-9._-]{1,63}$/;

/**
 * The common name of a VPN certificate of an account: `username` alone, or `username@device`.
 * The VPN page issues with it; {@link belongsToUser} recognises every name it makes.
 * @param username the sAMAccountName as stored in the directory
 * @param device optional device label (`A-Z a-z 0-9 . _ -`)
 * @returns the common name (at most 64 characters)
 * @throws PortalError PORTAL_VALIDATION when the account name contains `@` or the result is no valid certificate name
 * @example vpnCommonName('anna.schmidt', 'laptop') // 'anna.schmidt@laptop'
 */
export function vpnCommonName(username: string, device?: string): string {
  const name = device === undefined ? username : `${username}@${device}`;
  if (
    username.includes('@') ||
    (device !== undefined && !DEVICE.test(device)) ||
    !certNameSchema.safeParse(name).success
  ) {
    throw new PortalError('PORTAL_VALIDATION', `no VPN certificate name for ${username}`, { details: { username } });
  }
  return name;
}

/**
 * Whether a certificate's common name belongs to an account: it is the account name or starts
 * with `<account name>@`, compared without case like AD compares sAMAccountName.
 * @param commonName the certificate's CN
 * @param username the sAMAccountName
 * @example belongsToUser('Anna.Schmidt@laptop', 'anna.schmidt') // true; ('anna.schmidtke', 'anna.schmidt') false
 */
export function belongsToUser(commonName: string, username: string): boolean {
  const cn = commonName.toLowerCase();
  const user = username.toLowerCase();
  return user.length > 0 && (cn === user || cn.startsWith(`${user}@`));
}

/**
 * A {@link VpnRevoker} on an `@invis/ovpn-pki` PKI: `pki.revokeClients` with {@link belongsToUser}
 * (current and superseded certificates, reason `privilegeWithdrawn`, one CRL), then the CRL deployed.
 * @param options the PKI and, optionally, the deployed CRL file
 * @example
 * const vpn = createVpnRevoker({ pki: createPki({ dir: '/var/lib/invis/pki/vpn' }), crlFile: '/etc/openvpn/server/keys/crl.pem' });
 * await composePortal(settings, { ad, vpn });
 */
export function createVpnRevoker(options: VpnRevokerOptions): VpnRevoker {
  const { pki, crlFile } = options;
  return {
    async revokeUser(username) {
      let serials: string[];
      try {
        serials = (await pki.revokeClients((cn) => belongsToUser(cn, username), 'privilegeWithdrawn')).map(
          (c) => c.serial,
        );
      } catch (cause) {
        throw new PortalError('PORTAL_VPN_REVOCATION_FAILED', `the VPN certificates of ${username} were not revoked`, {
          cause,
          details: { username },
        });
      }
      if (crlFile !== undefined) await deployCrl(pki, crlFile, { username, serials });
      return serials;
    },
  };
}

/**
 * Writes the PKI's current CRL where the OpenVPN server reads it (atomic, 0644). OpenVPN re-reads
 * it for every new connection, so no restart is needed.
 * @param pki the VPN PKI
 * @param crlFile the server's `crl-verify` file
 * @param details safe details for the error (who, which serials were revoked already)
 * @throws PortalError PORTAL_VPN_REVOCATION_FAILED when the file cannot be written
 */
export async function deployCrl(
  pki: Pki,
  crlFile: string,
  details: Readonly<Record<string, string | readonly string[]>>,
): Promise<void> {
  try {
    await writeFileAtomic(crlFile, (await pki.crl()).pem, { mode: 0o644 });
  } catch (cause) {
    // Revoked in the PKI, but the server still reads the old CRL: not done, and the serials must not get lost.
    throw new PortalError('PORTAL_VPN_REVOCATION_FAILED', `the new CRL could not be deployed to ${crlFile}`, {
      cause,
      details,
    });
  }
}

/**
 * A {@link VpnRevoker} of an installed server: root revokes through setup's privileged socket
 * (`vpn.revokeUser`: the same {@link belongsToUser} rule, current and superseded certificates,
 * reason `privilegeWithdrawn`) and deploys the CRL itself.
 * @param client the privileged client
 * @example composePortal(settings, { ad, vpn: createPrivilegedVpnRevoker(createPrivilegedClient({ socket })) });
 */
export function createPrivilegedVpnRevoker(client: PrivilegedClient): VpnRevoker {
  return {
    async revokeUser(username) {
      const fail = (cause: unknown) =>
        new PortalError('PORTAL_VPN_REVOCATION_FAILED', `the VPN certificates of ${username} were not revoked`, {
          cause,
          details: { username },
        });
      let answer: PrivilegedAnswer;
      try {
        answer = await client.call({ op: 'vpn.revokeUser', username });
      } catch (cause) {
        throw fail(cause);
      }
      if (!answer.ok) throw fail(answer.error.code);
      const result = z.object({ serials: z.string().array() }).safeParse(answer.result);
      if (!result.success) throw fail(result.error);
      return result.data.serials;
    },
  };
}

// `invis-setup vpn connect`: OpenVPN's client-connect check on the road-warrior server. OpenVPN
// runs it (as nobody and the VPN group) with the verified certificate's common name in the
// environment; exit 0 lets the client in, anything else refuses it. It refuses accounts that are
// missing, disabled or not (directly) in `mobilusers`, and — failing closed — every connect it
// cannot decide: LDAP down, bind refused, password copy unreadable, a name outside the convention.
import { type AdClient, createAdClient } from '@invis/ad-client';
import { certNameSchema } from '@invis/ovpn-pki';
import type { ModuleContext } from './module';
import { certificatePaths } from './modules/ca';
import { parseCidr } from './net';

/** The group whose members may use the VPN (the original's). */
export const VPN_GROUP = 'mobilusers';

/** What the check decided. */
export interface ConnectDecision {
  allow: boolean;
  /** The account the certificate belongs to, when the name follows the convention. */
  account?: string;
  /** One line for OpenVPN's log (no secrets). */
  reason: string;
}

// The portal's convention: `<sAMAccountName>` or `<sAMAccountName>@<device>`; AD refuses `@` in
// account names, so everything before the first `@` is the account.
const ACCOUNT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * The account a VPN certificate's common name belongs to.
 * @param commonName the verified CN OpenVPN hands over
 * @returns the sAMAccountName, or undefined when the name follows no convention (refuse)
 * @example accountOf('anna.schmidt@laptop') // 'anna.schmidt'
 */
export function accountOf(commonName: string): string | undefined {
  if (!certNameSchema.safeParse(commonName).success) return undefined;
  const account = commonName.split('@')[0] ?? '';
  return ACCOUNT.test(account) ? account : undefined;
}

/**
 * Decides one connect against the directory.
 * @param ad a client bound as the read-only account
 * @param commonName the certificate's CN
 * @returns allow or refuse, with the reason; LDAP errors propagate (the caller refuses)
 */
export async function decideConnect(
  ad: Pick<AdClient, 'users' | 'groups'>,
  commonName: string,
): Promise<ConnectDecision> {
  const account = accountOf(commonName);
  if (account === undefined) return { allow: false, reason: `refused ${JSON.stringify(commonName)}: no account name` };
  const [user, group] = await Promise.all([ad.users.get(account), ad.groups.get(VPN_GROUP)]);
  if (!user) return { allow: false, account, reason: `refused ${account}: no such account` };
  if (!user.enabled) return { allow: false, account, reason: `refused ${account}: disabled in AD` };
  if (!group) return { allow: false, account, reason: `refused ${account}: group ${VPN_GROUP} is missing` };
  const dn = group.dn.toLowerCase();
  if (!user.memberOf.some((m) => m.toLowerCase() === dn)) {
    return { allow: false, account, reason: `refused ${account}: not in ${VPN_GROUP}` };
  }
  return { allow: true, account, reason: `allowed ${account}` };
}

/** Where the road-warrior server's check reads the bind account's password (0640 root:VPN group). */
export const connectPasswordFile = (ctx: Pick<ModuleContext, 'profile'>): string =>
  `${ctx.profile.openvpn.configDir}/ldap-password`;

/**
 * One client-connect run: the CN from OpenVPN's environment (`common_name`), the directory over
 * LDAPS on the LAN address as `invis-portal` (password from {@link connectPasswordFile}, the
 * `ca` module's CA), short timeouts (OpenVPN waits for the answer).
 * @param ctx answers, profile and file system
 * @param env OpenVPN's environment
 * @returns the decision; every error is a refusal with its code
 */
export async function runVpnConnect(
  ctx: Pick<ModuleContext, 'answers' | 'profile' | 'fs'>,
  env: Readonly<Record<string, string | undefined>>,
): Promise<ConnectDecision> {
  const commonName = env.common_name ?? '';
  let ad: AdClient | undefined;
  try {
    const password = (await ctx.fs.readFile(connectPasswordFile(ctx))).trim();
    const ca = await ctx.fs.readFile(certificatePaths(ctx).caCert);
    const lan = parseCidr(ctx.answers.lan.address)?.address ?? '';
    ad = createAdClient({
      url: `ldaps://${lan}:636`,
      upn: `invis-portal@${ctx.answers.domain}`,
      password,
      ca,
      connectTimeoutMs: 3000,
      timeoutMs: 5000,
    });
    return await decideConnect(ad, commonName);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return {
      allow: false,
      reason: `refused ${JSON.stringify(commonName)}: the directory could not decide (${typeof code === 'string' ? code : (error as Error).message})`,
    };
  } finally {
    await ad?.close().catch(() => undefined);
  }
}

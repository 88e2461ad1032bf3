// `invis-setup privileged`: the one door from the unprivileged portal to root. systemd's
// `invis-privileged.socket` (Accept=yes, root:invis-portal 0660) starts one process per connection
// with the connection as stdin and stdout; it reads ONE bounded JSON request, does it and answers
// one JSON document. Only a fixed list of operations exists and every argument passes the same
// name rules as the portal's (account names, `account@device` VPN names); anything else is refused
// before it touches the PKI or a sync. The portal still decides who may ask (its rights checks);
// this side only makes sure no request can do more than those operations allow.
import { type CertificateInfo, certNameSchema, isOvpnPkiError } from '@invis/ovpn-pki';
import { z } from 'zod';
import { errorJson, SetupError } from './errors';
import { syncHomes } from './homes';
import type { ModuleContext } from './module';
import { syncDhcp } from './modules/dhcp';
import { syncMail } from './modules/fetchmail';
import { siteCertName, vpnPki } from './modules/openvpn';
import { syncDavGroups } from './modules/webdav';
import { vpnBundle } from './openvpn-check';

/** The socket unit (and `invis-privileged@.service`, its per-connection template). */
export const PRIVILEGED_UNIT = 'invis-privileged';
/** Where the socket listens (the portal's PORTAL_PRIVILEGED_SOCKET). */
export const PRIVILEGED_SOCKET = '/run/invis/privileged.sock';
/** The largest request: every valid one is far below (a name of 64 characters). */
export const MAX_REQUEST_BYTES = 4096;
/** A client that opens the socket and sends nothing must not hold a root process. */
export const REQUEST_TIMEOUT_MS = 10_000;

// The portal's account-name rule (apps/portal/src/api/schemas.ts `Username`): what AD accepts
// as sAMAccountName, at most 20 characters, no control characters, not padded.
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const ACCOUNT_BAD = /["/\\[\]:;|=,+*?<>@\u0000-\u001f\u007f]/;
const Username = z
  .string()
  .min(1)
  .max(20)
  .refine((s) => !ACCOUNT_BAD.test(s) && s.trim() === s, 'not an account name');
// The portal's VPN names (apps/portal/src/vpn.ts `vpnCommonName`): `account` or `account@device`,
// within the PKI's name rule; `site-` names are the branches of the answers, never the portal's.
const ACCOUNT_CN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,19}$/;
const DEVICE = /^[A-Za-z0-9._-]{1,63}$/;
const CommonName = z
  .string()
  .max(64)
  .refine((name) => {
    const [account = '', device, ...more] = name.split('@');
    return (
      more.length === 0 &&
      certNameSchema.safeParse(name).success &&
      // Harmless to the PKI's file names (no slash), but never a name anyone means.
      !name.includes('..') &&
      ACCOUNT_CN.test(account) &&
      (device === undefined || DEVICE.test(device)) &&
      !name.toLowerCase().startsWith(siteCertName(''))
    );
  }, 'not a VPN name (account or account@device)');

/** The sync jobs the portal may start at once instead of waiting for their timers. */
export const SYNC_JOBS = ['dhcp', 'mail', 'homes'] as const;

/** The only requests that exist. */
export const PrivilegedRequest = z.discriminatedUnion('op', [
  z.strictObject({ op: z.literal('vpn.list') }),
  z.strictObject({ op: z.literal('vpn.issue'), commonName: CommonName }),
  z.strictObject({ op: z.literal('vpn.revoke'), commonName: CommonName }),
  z.strictObject({ op: z.literal('vpn.revokeUser'), username: Username }),
  z.strictObject({ op: z.literal('sync.run'), job: z.enum(SYNC_JOBS) }),
]);
export type PrivilegedRequest = z.infer<typeof PrivilegedRequest>;

const refused = (message: string, details: Record<string, string | string[]> = {}) =>
  new SetupError('SETUP_PRIVILEGED_REFUSED', message, { details });

const taken = (name: string) =>
  new SetupError('SETUP_PRIVILEGED_CONFLICT', `a VPN certificate ${name} exists; revoke it first`, {
    details: { name },
  });

/**
 * Parses one request: at most {@link MAX_REQUEST_BYTES}, UTF-8 JSON, one of the operations with
 * valid arguments.
 * @param bytes what the client sent
 * @returns the request
 * @throws SetupError SETUP_PRIVILEGED_REFUSED (too large, not JSON, unknown operation, bad argument)
 */
export function parsePrivilegedRequest(bytes: Uint8Array): PrivilegedRequest {
  if (bytes.byteLength > MAX_REQUEST_BYTES) throw refused(`a request has at most ${MAX_REQUEST_BYTES} bytes`);
  let data: unknown;
  try {
    data = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    throw refused('the request is no JSON');
  }
  const result = PrivilegedRequest.safeParse(data);
  if (!result.success) {
    // Paths and messages only: a refused value is not echoed (it may be anything).
    const problems = result.error.issues.map((i) => `${i.path.join('.') || 'request'}: ${i.message}`);
    throw refused(`refused request: ${problems.join('; ')}`, { problems });
  }
  return result.data;
}

/**
 * Reads the request from the connection: stops at {@link MAX_REQUEST_BYTES} + 1 bytes (refused),
 * at the first newline or at the end of the stream, or after {@link REQUEST_TIMEOUT_MS}.
 * @param input the connection (stdin)
 * @param timeoutMs how long the client may take
 * @returns the bytes of the request (without the newline)
 * @throws SetupError SETUP_PRIVILEGED_REFUSED when the client is too slow or sends too much
 */
export async function readRequest(
  input: AsyncIterable<Uint8Array>,
  timeoutMs = REQUEST_TIMEOUT_MS,
): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  let size = 0;
  const read = async (): Promise<Uint8Array> => {
    for await (const chunk of input) {
      const buffer = Buffer.from(chunk);
      const newline = buffer.indexOf(10);
      const part = newline < 0 ? buffer : buffer.subarray(0, newline);
      chunks.push(part);
      size += part.byteLength;
      if (size > MAX_REQUEST_BYTES) throw refused(`a request has at most ${MAX_REQUEST_BYTES} bytes`);
      if (newline >= 0) break;
    }
    return Buffer.concat(chunks);
  };
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(refused('no request in time')), timeoutMs);
  });
  try {
    return await Promise.race([read(), late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A VPN client certificate as the answers carry it (dates as ISO strings). */
export interface PrivilegedCertificate {
  name: string;
  serial: string;
  notAfter: string;
  daysLeft: number;
  expiry: CertificateInfo['expiry'];
}

const toCertificate = (c: CertificateInfo): PrivilegedCertificate => ({
  name: c.name,
  serial: c.serial,
  notAfter: c.notAfter.toISOString(),
  daysLeft: c.daysLeft,
  expiry: c.expiry,
});

/** Whether a certificate's CN belongs to an account, as the portal's `belongsToUser` decides. */
const belongsTo = (cn: string, username: string): boolean => {
  const name = cn.toLowerCase();
  const user = username.toLowerCase();
  return name === user || name.startsWith(`${user}@`);
};

/** The valid, current road-warrior certificates the portal manages (no server, no branch). */
async function portalClients(ctx: ModuleContext): Promise<CertificateInfo[]> {
  return (await vpnPki(ctx).list()).filter(
    (c) =>
      c.kind === 'client' && c.status === 'valid' && c.current && !c.name.toLowerCase().startsWith(siteCertName('')),
  );
}

/** The renewed CRL where both OpenVPN servers read it (they re-read it at every connect). */
async function deployCrl(ctx: ModuleContext): Promise<void> {
  const { keysDir } = ctx.profile.openvpn;
  if (!(await ctx.fs.exists(keysDir))) return;
  await ctx.fs.writeFileAtomic(`${keysDir}/crl.pem`, (await vpnPki(ctx).crl()).pem, { mode: 0o644 });
}

/**
 * The same work as `invis-setup sync dhcp|mail|homes` (homes with WebDAV's group rules).
 * @returns whether something changed and the problems the homes sync left alone
 */
export async function runSync(
  ctx: ModuleContext,
  job: (typeof SYNC_JOBS)[number],
): Promise<{ changed: boolean; problems: string[] }> {
  if (job === 'dhcp') return { changed: (await syncDhcp(ctx)).changed, problems: [] };
  if (job === 'mail') return { changed: (await syncMail(ctx)).changed, problems: [] };
  const homes = await syncHomes(ctx);
  const dav = await syncDavGroups(ctx);
  return {
    changed: homes.created.length > 0 || homes.archived.length > 0 || dav?.report.changed === true,
    problems: homes.problems,
  };
}

/**
 * Carries out one validated request as root.
 * @param ctx the setup context (answers, profile, file system, services)
 * @param request a request from {@link parsePrivilegedRequest}
 * @returns the answer's `result`; for `vpn.issue` the bundle holds the private key (deliver, never log)
 * @throws SetupError SETUP_PRIVILEGED_CONFLICT (name taken), SETUP_PRIVILEGED_NOT_FOUND (no such
 *   certificate), SETUP_PRIVILEGED_REFUSED (no VPN); PKI and sync errors
 */
export async function handlePrivileged(ctx: ModuleContext, request: PrivilegedRequest): Promise<unknown> {
  if (request.op === 'sync.run') return runSync(ctx, request.job);
  if (!ctx.answers.vpn) throw refused('this server has no VPN network');
  const pki = vpnPki(ctx);
  if (request.op === 'vpn.list') return { certificates: (await portalClients(ctx)).map(toCertificate) };
  if (request.op === 'vpn.revokeUser') {
    const { username } = request;
    const revoked = await pki.revokeClients(
      (cn) => belongsTo(cn, username) && !cn.toLowerCase().startsWith(siteCertName('')),
      'privilegeWithdrawn',
    );
    // Also when nothing was left: a retry after a failed deployment still delivers the CRL.
    await deployCrl(ctx);
    return { serials: revoked.map((c) => c.serial) };
  }
  const name = request.commonName;
  if (request.op === 'vpn.revoke') {
    if (!(await portalClients(ctx)).some((c) => c.name === name)) {
      throw new SetupError('SETUP_PRIVILEGED_NOT_FOUND', `no valid VPN certificate ${name}`, { details: { name } });
    }
    const info = await pki.revoke(name, 'cessationOfOperation');
    await deployCrl(ctx);
    return { certificate: toCertificate(info) };
  }
  // AD compares account names without case; the PKI would take `Anna` next to `anna`.
  if ((await pki.list()).some((c) => c.status === 'valid' && c.current && c.name.toLowerCase() === name.toLowerCase()))
    throw taken(name);
  let info: CertificateInfo;
  try {
    info = (await pki.issueClient({ name })).info;
  } catch (error) {
    if (isOvpnPkiError(error) && error.code === 'PKI_NAME_EXISTS') {
      throw taken(name);
    }
    throw error;
  }
  try {
    const ovpn = await vpnBundle(ctx, name);
    // The bundle is the only copy of the key from now on.
    await ctx.fs.remove(`${pki.dir}/private/${name}.key`);
    return { certificate: toCertificate(info), ovpn };
  } catch (error) {
    // No half-issued certificate: without a delivered bundle nobody may hold a valid one.
    await pki.revoke(name, 'cessationOfOperation').catch(() => undefined);
    throw error;
  }
}

/**
 * One connection: read, validate, carry out, answer `{ ok: true, result }` or
 * `{ ok: false, error: { code, message } }`.
 * @param ctx the setup context
 * @param input the connection's input
 * @returns the answer (one line of JSON) and whether it succeeded
 */
export async function serveRequest(
  ctx: ModuleContext,
  input: AsyncIterable<Uint8Array>,
): Promise<{ ok: boolean; answer: string }> {
  try {
    const request = parsePrivilegedRequest(await readRequest(input));
    const result = await handlePrivileged(ctx, request);
    return { ok: true, answer: `${JSON.stringify({ ok: true, result })}\n` };
  } catch (error) {
    const { code, message, details } = errorJson(error);
    return { ok: false, answer: `${JSON.stringify({ ok: false, error: { code, message, details } })}\n` };
  }
}

// `invis-setup vpn check` (the daily invis-vpn-check timer) and `invis-setup vpn bundle`: the VPN
// PKI's upkeep — the CRL re-signed long before OpenVPN would refuse everyone with an expired one
// and deployed live (no restart), certificates that end within 14 days mailed to the admin
// contacts through sendmail, the result recorded as job state for the portal's status page.
import { type JobState, recordJobRun } from '@invis/host';
import {
  buildClientBundle,
  type CertificateInfo,
  certNameSchema,
  isOvpnPkiError,
  wrapTlsCryptV2ClientKey,
} from '@invis/ovpn-pki';
import { SetupError } from './errors';
import type { ModuleContext } from './module';
import { externalPorts } from './modules/firewall';
import { serverCertName, siteCertName, tlsCryptV2KeyPath, vpnPki } from './modules/openvpn';

/** The job's name (`<jobsDir>/vpn-certificates.json`). */
export const VPN_CHECK_JOB = 'vpn-certificates';
/** Certificates ending within this many days are mailed to the admins. */
export const WARN_DAYS = 14;

/** The CRL OpenVPN reads (both servers). */
const deployedCrl = (ctx: Pick<ModuleContext, 'profile'>) => `${ctx.profile.openvpn.keysDir}/crl.pem`;

/**
 * The warning mail (headers and body); every name in it passed the PKI's name rules and every
 * address the answers' mail address rule, so nothing can add a header.
 * @param from the sender (`root@<fqdn>`)
 * @param to the admin contacts
 * @param due the certificates (and the CA) that end soon, soonest first
 * @returns the message for `sendmail -oi -t`
 */
export function renderWarningMail(from: string, to: readonly string[], due: readonly CertificateInfo[]): string {
  const lines = due.map(
    (c) =>
      `- ${c.kind === 'ca' ? 'CA' : c.name} (${c.kind}): ${c.daysLeft < 0 ? 'expired' : `ends in ${c.daysLeft} days`}, ${c.notAfter.toISOString().slice(0, 10)}`,
  );
  return [
    `From: ${from}`,
    `To: ${to.join(', ')}`,
    `Subject: invis VPN: ${due.length} certificate(s) end within ${WARN_DAYS} days`,
    'Content-Type: text/plain; charset=utf-8',
    '',
    `These VPN certificates of ${from.slice(from.indexOf('@') + 1)} end soon; renew them (new bundle for the user):`,
    '',
    ...lines,
    '',
  ].join('\n');
}

/**
 * One run of the check: CRL renewal and deployment, expiry warnings, job state.
 * @param ctx answers, profile, file system, runner, clock
 * @returns the job state as written
 */
export async function runVpnCheck(ctx: ModuleContext): Promise<JobState> {
  const startedAt = ctx.clock.now().toISOString();
  const record = (result: JobState['result'], message: string, details: JobState['details'] = {}) =>
    recordJobRun(ctx.fs, ctx.profile.jobsDir, {
      name: VPN_CHECK_JOB,
      startedAt,
      finishedAt: ctx.clock.now().toISOString(),
      result,
      message,
      details,
    });
  const pki = vpnPki(ctx);
  try {
    if (!(await pki.isInitialized())) return await record('failed', 'no VPN PKI: run invis-setup apply openvpn');
    const { renewed, crl } = await pki.ensureFreshCrl();
    const pem = (await pki.crl()).pem;
    const path = deployedCrl(ctx);
    const crlDeployed =
      (await ctx.fs.exists(ctx.profile.openvpn.keysDir)) && (await ctx.fs.readFileIfExists(path)) !== pem;
    // OpenVPN re-reads crl-verify at every connect: written in place, no restart.
    if (crlDeployed) await ctx.fs.writeFileAtomic(path, pem, { mode: 0o644 });
    const due = (await pki.list()).filter(
      (c) => c.status === 'valid' && (c.current || c.kind === 'ca') && c.daysLeft <= WARN_DAYS,
    );
    due.sort((a, b) => a.daysLeft - b.daysLeft);
    const details = {
      crlNextUpdate: crl.nextUpdate.toISOString(),
      crlRenewed: renewed,
      crlDeployed,
      due: due.length,
      soonest: due[0] ? `${due[0].name} ${due[0].notAfter.toISOString()}` : null,
      mailed: false,
    };
    if (due.length === 0)
      return await record(
        'ok',
        `CRL valid until ${details.crlNextUpdate}; no certificate ends within ${WARN_DAYS} days`,
        details,
      );
    const mailed = await mailAdmins(ctx, due);
    const names = due.map((c) => `${c.name} (${c.daysLeft} days)`).join(', ');
    return await record(
      'warning',
      `${due.length} certificate(s) end within ${WARN_DAYS} days: ${names}; ${mailed.ok ? `mailed to ${mailed.to}` : `not mailed: ${mailed.why}`}`,
      { ...details, mailed: mailed.ok },
    );
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return await record('failed', `${typeof code === 'string' ? `${code}: ` : ''}${(error as Error).message}`);
  }
}

async function mailAdmins(
  ctx: ModuleContext,
  due: readonly CertificateInfo[],
): Promise<{ ok: true; to: string } | { ok: false; why: string }> {
  const to = ctx.answers.mail.admins;
  if (to.length === 0) return { ok: false, why: 'no admin contacts in the answers (mail.admins)' };
  const sendmail = ctx.profile.openvpn.sendmail;
  if (!(await ctx.fs.exists(sendmail))) return { ok: false, why: `${sendmail} is not installed` };
  const from = `root@${serverCertName(ctx.answers)}`;
  // The recipients as arguments after `--` (validated addresses), the message on stdin.
  const result = await ctx.runner.run(ctx.fs.hostPath(sendmail), ['-oi', '-f', from, '--', ...to], {
    input: renderWarningMail(from, to, due),
    timeoutMs: 60_000,
  });
  return result.exitCode === 0
    ? { ok: true, to: to.join(', ') }
    : { ok: false, why: `sendmail exited ${result.exitCode}: ${result.output.trim().split('\n').at(-1) ?? ''}` };
}

/**
 * The inline `.ovpn` bundle of a road-warrior (`<account>` or `<account>@<device>`) or branch
 * (`site-<name>`) certificate, issued when it has none yet, with its own tls-crypt-v2 client key
 * and the server's public name and port (the site server's port + 1 for branches).
 * @param ctx answers, profile, file system, runner, clock
 * @param name the certificate name
 * @returns the bundle (it holds the private key: deliver it privately)
 * @throws SetupError `SETUP_USAGE` for a bad name or without a VPN network; PKI errors of @invis/ovpn-pki
 */
export async function vpnBundle(ctx: ModuleContext, name: string): Promise<string> {
  if (!ctx.answers.vpn) throw new SetupError('SETUP_USAGE', 'no VPN network in the answers');
  if (!certNameSchema.safeParse(name).success) {
    throw new SetupError('SETUP_USAGE', `not a certificate name: ${JSON.stringify(name)}`);
  }
  const pki = vpnPki(ctx);
  const site = ctx.answers.openvpn.sites.some((s) => siteCertName(s.name) === name);
  if (name.startsWith(siteCertName('')) && !site) {
    throw new SetupError('SETUP_USAGE', `${name}: site- names belong to the branches of the answers`);
  }
  try {
    await pki.get(name);
  } catch (error) {
    if (!(isOvpnPkiError(error) && error.code === 'PKI_NOT_FOUND')) throw error;
    await pki.issueClient({ name });
  }
  const port = externalPorts(ctx.answers).openvpn + (site ? 1 : 0);
  const host = ctx.answers.openvpn.remote ?? ctx.answers.ddns?.fqdn ?? serverCertName(ctx.answers);
  return buildClientBundle(pki, name, {
    remotes: [{ host, port }],
    serverName: serverCertName(ctx.answers),
    // In-process, as `openvpn --genkey tls-crypt-v2-client` would make it.
    tlsCryptV2: wrapTlsCryptV2ClientKey(await ctx.fs.readFile(tlsCryptV2KeyPath(ctx.profile)), { clock: ctx.clock }),
  });
}

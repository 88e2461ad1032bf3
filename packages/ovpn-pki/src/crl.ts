// The CRL stage: signs `crl.pem` from the revoked lines of index.txt (one CRL per CA during a
// rollover, each listing what that CA issued), counts `crlnumber` up, and tells how fresh the
// current CRL is. Re-signing long before nextUpdate is the guard against the outage of the
// original: a CRL that silently expires locks every VPN user out.
import { isMissing } from '@invis/host';
import { type CrlEntry, type Signer, signCrl } from './ca';
import { DAY, nodeCa, type PkiContext, PUBLIC_MODE } from './context';
import { crlToPem, x509 } from './crypto';
import { isOvpnPkiError } from './errors';

/** The CRL's state: `renew-due` means ensureFreshCrl() will re-sign it now. */
export interface CrlInfo {
  thisUpdate: Date;
  nextUpdate: Date;
  crlNumber: number;
  revoked: number;
  state: 'ok' | 'renew-due' | 'expired';
}

const CRL_BLOCK = /-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g;

/**
 * The state of a CRL file at the PKI clock's now. During a rollover the file holds one CRL per
 * CA; the earliest nextUpdate counts, revoked entries are summed.
 * @param ctx the PKI
 * @param pem content of `crl.pem`
 * @returns number, dates, revoked count, state (`renew-due` fewer than `crlRenewBeforeDays` before nextUpdate)
 * @throws when `pem` is not a CRL (the x509 parser's error)
 */
export async function crlInfo(ctx: PkiContext, pem: string): Promise<CrlInfo> {
  const crls = (pem.match(CRL_BLOCK) ?? [pem]).map((block) => new x509.X509Crl(block));
  const crl = crls[0] as x509.X509Crl;
  const s = await ctx.settings();
  const nextUpdate = new Date(Math.min(...crls.map((c) => (c.nextUpdate ?? new Date(0)).getTime())));
  const left = nextUpdate.getTime() - ctx.now().getTime();
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

/**
 * Signs a new CRL now (valid `crlDays`) with the number from `crlnumber` and writes `crl.pem`
 * and the next number. Run it under the PKI lock.
 * @param ctx the PKI
 * @returns the new CRL's state
 * @throws PKI_NOT_INITIALIZED, PKI_PASSPHRASE_REQUIRED, PKI_BAD_PASSPHRASE
 */
export async function writeCrl(ctx: PkiContext): Promise<CrlInfo> {
  const s = await ctx.settings();
  const entries = (await ctx.readIndex()).filter((e) => e.status === 'revoked');
  const numberText = await ctx.fs.readFileIfExists(ctx.path('crlnumber'));
  const crlNumber = numberText === undefined ? 1 : Number.parseInt(numberText.trim(), 16) || 1;
  const current = await ctx.signer();
  const previous = await ctx.previousSigner();
  const byIssuer = new Map<Signer, CrlEntry[]>([[current, []]]);
  if (previous) byIssuer.set(previous, []);
  for (const e of entries) {
    const issuer = previous && (await ctx.metaBySerial(e.serial))?.issuedBy(nodeCa(previous)) ? previous : current;
    byIssuer
      .get(issuer)
      ?.push({ serial: e.serial, revokedAt: e.revokedAt ?? ctx.now(), reason: e.reason ?? 'unspecified' });
  }
  let pem = '';
  for (const [issuer, list] of byIssuer) {
    pem += crlToPem(await signCrl({ signer: issuer, entries: list, now: ctx.now(), days: s.crlDays, crlNumber }));
  }
  await ctx.fs.writeFileAtomic(ctx.path('crl.pem'), pem, { mode: PUBLIC_MODE });
  await ctx.fs.writeFileAtomic(
    ctx.path('crlnumber'),
    `${(crlNumber + 1).toString(16).toUpperCase().padStart(2, '0')}\n`,
    { mode: PUBLIC_MODE },
  );
  return crlInfo(ctx, pem);
}

/**
 * Re-signs the CRL when it is missing, unreadable or fewer than `crlRenewBeforeDays` are left.
 * Run it under the PKI lock.
 * @param ctx the PKI
 * @returns whether it was renewed, and the CRL's state
 */
export async function ensureFreshCrl(ctx: PkiContext): Promise<{ renewed: boolean; crl: CrlInfo }> {
  let current: CrlInfo | undefined;
  try {
    current = await crlInfo(ctx, await ctx.fs.readFile(ctx.path('crl.pem')));
  } catch (cause) {
    // Missing or unreadable: either way OpenVPN needs a new one. Our own errors (no CA) stay errors.
    if (!isMissing(cause) && isOvpnPkiError(cause)) throw cause;
  }
  if (current?.state === 'ok') return { renewed: false, crl: current };
  return { renewed: true, crl: await writeCrl(ctx) };
}

/**
 * The CRL as it is on disk.
 * @param ctx the PKI
 * @returns the PEM and its state
 * @throws PKI_NOT_INITIALIZED
 */
export async function readCrl(ctx: PkiContext): Promise<{ pem: string; info: CrlInfo }> {
  await ctx.read('ca.crt');
  const pem = await ctx.fs.readFile(ctx.path('crl.pem'));
  return { pem, info: await crlInfo(ctx, pem) };
}

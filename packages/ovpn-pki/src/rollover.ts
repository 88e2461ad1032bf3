// The CA rollover stage: the current CA moves to `previous/`, a new CA takes its place and is
// cross-signed by the old one, so old bundles (old CA only) still verify the server through the
// cross-certificate while new certificates come from the new CA. Finishing retires the old CA
// once nothing it issued is still valid.
import { join } from 'node:path';
import { createCaCertificate, crossCertificate } from './ca';
import {
  type CertificateInfo,
  DIR_MODE,
  entryOf,
  KEY_MODE,
  nodeCa,
  type PkiContext,
  PUBLIC_MODE,
  subjectCn,
} from './context';
import { writeCrl } from './crl';
import { exportPrivateKeyPem } from './crypto';
import { OvpnPkiError } from './errors';

/**
 * Starts a rollover: keeps the current CA (certificate and key) in `previous/`, creates the new
 * CA (settings' algorithm and `caDays`), writes the cross-certificate `previous/cross.crt` and
 * re-signs the CRL (one per CA). Run it under the PKI lock with a validated `caName`.
 * @param ctx the PKI
 * @param options the new CA's name; `passphrase` encrypts its key
 * @returns the new CA
 * @throws PKI_ROLLOVER_IN_PROGRESS (a rollover is not finished), PKI_INVALID_INPUT (same name as the current CA)
 */
export async function startRollover(
  ctx: PkiContext,
  options: { caName: string; passphrase?: string },
): Promise<CertificateInfo> {
  const s = await ctx.settings();
  if (await ctx.fs.exists(ctx.path('previous', 'ca.crt'))) {
    throw new OvpnPkiError('PKI_ROLLOVER_IN_PROGRESS', 'a CA rollover is in progress; finish it first');
  }
  const old = await ctx.signer();
  if (old.cert.subject === `CN=${options.caName}`) {
    throw new OvpnPkiError('PKI_INVALID_INPUT', 'the new CA needs a name different from the current one', {
      details: { field: 'caName' },
    });
  }
  const next = await createCaCertificate({
    commonName: options.caName,
    algorithm: s.keyAlgorithm,
    days: s.caDays,
    now: ctx.now(),
  });
  const cross = await crossCertificate({ signer: old, newCa: next.cert, now: ctx.now() });
  const { fs, path } = ctx;
  await fs.mkdir(path('previous', 'private'), DIR_MODE);
  await fs.writeFileAtomic(path('previous', 'private', 'ca.key'), await ctx.read(join('private', 'ca.key')), {
    mode: KEY_MODE,
  });
  await fs.writeFileAtomic(path('previous', 'ca.crt'), await ctx.read('ca.crt'), { mode: PUBLIC_MODE });
  await fs.writeFileAtomic(path('previous', 'cross.crt'), `${cross.toString('pem')}\n`, { mode: PUBLIC_MODE });
  const keyPem = await exportPrivateKeyPem(next.privateKey, options.passphrase);
  await fs.writeFileAtomic(path('private', 'ca.key'), keyPem, { mode: KEY_MODE });
  await fs.writeFileAtomic(path('ca.crt'), `${next.cert.toString('pem')}\n`, { mode: PUBLIC_MODE });
  ctx.signers.previous = old;
  ctx.signers.current = next;
  await writeCrl(ctx);
  return ctx.info(entryOf(next.cert), 'ca', 'ca', true, s);
}

/**
 * Ends a rollover: moves the previous CA (certificate, cross-certificate, key) to
 * `retired/<now>/` and re-signs the CRL for the current CA alone. Run it under the PKI lock.
 * @param ctx the PKI
 * @param options `force` retires even while certificates of the previous CA are still valid
 * @returns the retired directory
 * @throws PKI_NOT_FOUND (no rollover in progress), PKI_ROLLOVER_PENDING (`details.pending` still valid)
 */
export async function finishRollover(ctx: PkiContext, options: { force?: boolean } = {}): Promise<{ retired: string }> {
  const previous = await ctx.previousSigner();
  if (!previous) throw new OvpnPkiError('PKI_NOT_FOUND', 'no CA rollover in progress');
  const pending: string[] = [];
  for (const entry of await ctx.readIndex()) {
    if (entry.status !== 'valid' || entry.notAfter <= ctx.now()) continue;
    if ((await ctx.metaBySerial(entry.serial))?.issuedBy(nodeCa(previous))) pending.push(subjectCn(entry.subject));
  }
  if (pending.length > 0 && !options.force) {
    throw new OvpnPkiError(
      'PKI_ROLLOVER_PENDING',
      `${pending.length} certificate(s) of the previous CA are still valid (${pending.slice(0, 5).join(', ')}); renew them first`,
      { details: { pending: pending.length } },
    );
  }
  const { fs, path } = ctx;
  const retired = join('retired', ctx.now().toISOString().replace(/[:.]/g, '-'));
  await fs.mkdir(path(retired, 'private'), DIR_MODE);
  for (const rel of ['ca.crt', 'cross.crt', join('private', 'ca.key')]) {
    if (await fs.exists(path('previous', rel))) await fs.rename(path('previous', rel), path(retired, rel));
  }
  ctx.signers.previous = undefined;
  await writeCrl(ctx);
  return { retired: path(retired) };
}

/**
 * The CA certificates to trust: the current CA, plus the previous one during a rollover.
 * @param ctx the PKI
 * @returns PEM text (server `ca`, bundles)
 * @throws PKI_NOT_INITIALIZED
 */
export async function trustPem(ctx: PkiContext): Promise<string> {
  const current = await ctx.read('ca.crt');
  if (!(await ctx.fs.exists(ctx.path('previous', 'ca.crt')))) return current;
  return `${current.trimEnd()}\n${(await ctx.read(join('previous', 'ca.crt'))).trimEnd()}\n`;
}

/**
 * The cross-certificate (new CA signed by the old one) during a rollover.
 * @param ctx the PKI
 * @returns its PEM (server `extra-certs`), or undefined outside a rollover
 */
export async function crossCertPem(ctx: PkiContext): Promise<string | undefined> {
  return ctx.fs.readFileIfExists(ctx.path('previous', 'cross.crt'));
}

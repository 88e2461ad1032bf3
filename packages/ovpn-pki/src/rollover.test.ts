import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { beforeEach, describe, expect, it } from 'vitest';
import { createPkiContext } from './context';
import { x509 } from './crypto';
import { isOvpnPkiError } from './errors';
import { crossCertPem, finishRollover, startRollover, trustPem } from './rollover';
import { createPki } from './store';

const DAY = 86_400_000;
const tmp = useTempDir('ovpn-rollover-');
let today: Date;
const clock = { now: () => today };
beforeEach(() => {
  today = new Date('2026-05-04T09:30:00Z');
});

/** A real PKI (made by createPki) with one client, and the rollover stage's view of it. */
async function pkiWithClient(days = 365) {
  const dir = join(tmp(), 'pki');
  const pki = createPki({ dir, clock });
  await pki.init({ caName: 'Old CA' });
  const client = await pki.issueClient({ name: 'veteran', days });
  return { pki, dir, client, ctx: createPkiContext({ dir, clock }) };
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;
const crlIssuers = async (dir: string) =>
  (
    (await readFile(join(dir, 'crl.pem'), 'utf8')).match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g) ??
    []
  ).map((b) => new x509.X509Crl(b).issuer);
const rejection = async (p: Promise<unknown>) => {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return isOvpnPkiError(error) ? error.toJSON() : error;
};

describe('startRollover', () => {
  it('keeps the old CA in previous/, makes a cross-signed new CA and re-signs one CRL per CA', async () => {
    const { dir, ctx } = await pkiWithClient();
    const oldCert = await readFile(join(dir, 'ca.crt'), 'utf8');
    const oldKey = await readFile(join(dir, 'private', 'ca.key'), 'utf8');

    const info = await startRollover(ctx, { caName: 'New CA', passphrase: 'new ca passphrase' });
    expect(info).toMatchObject({ name: 'ca', kind: 'ca', subject: '/CN=New CA', expiry: 'ok', current: true });
    expect(await readFile(join(dir, 'previous', 'ca.crt'), 'utf8')).toBe(oldCert);
    expect(await readFile(join(dir, 'previous', 'private', 'ca.key'), 'utf8')).toBe(oldKey);
    expect(await readFile(join(dir, 'private', 'ca.key'), 'utf8')).toMatch(/^-----BEGIN ENCRYPTED PRIVATE KEY-----/);
    expect([
      await mode(join(dir, 'previous')),
      await mode(join(dir, 'previous', 'private')),
      await mode(join(dir, 'previous', 'private', 'ca.key')),
      await mode(join(dir, 'private', 'ca.key')),
      await mode(join(dir, 'previous', 'cross.crt')),
    ]).toEqual([0o700, 0o700, 0o600, 0o600, 0o644]);

    const oldCa = new x509.X509Certificate(oldCert);
    const newCa = new x509.X509Certificate(await readFile(join(dir, 'ca.crt'), 'utf8'));
    const cross = new x509.X509Certificate((await crossCertPem(ctx)) ?? '');
    expect([newCa.subject, cross.subject, cross.issuer]).toEqual(['CN=New CA', 'CN=New CA', 'CN=Old CA']);
    expect(await cross.verify({ publicKey: oldCa.publicKey, signatureOnly: true })).toBe(true);
    expect(Buffer.from(cross.publicKey.rawData).equals(Buffer.from(newCa.publicKey.rawData))).toBe(true);
    // The signers stay loaded: the encrypted new key is not asked for again.
    expect([ctx.signers.current?.cert.subject, ctx.signers.previous?.cert.subject]).toEqual(['CN=New CA', 'CN=Old CA']);
    expect(await crlIssuers(dir)).toEqual(['CN=New CA', 'CN=Old CA']);
  });

  it('refuses a second rollover and a new CA with the current name, changing nothing', async () => {
    const { dir, ctx } = await pkiWithClient();
    expect(await rejection(startRollover(ctx, { caName: 'Old CA' }))).toMatchObject({
      code: 'PKI_INVALID_INPUT',
      details: { field: 'caName' },
    });
    expect(await readdir(dir)).not.toContain('previous');
    await startRollover(ctx, { caName: 'New CA' });
    const caPem = await readFile(join(dir, 'ca.crt'), 'utf8');
    expect(await rejection(startRollover(ctx, { caName: 'Newer CA' }))).toMatchObject({
      code: 'PKI_ROLLOVER_IN_PROGRESS',
    });
    expect(await readFile(join(dir, 'ca.crt'), 'utf8')).toBe(caPem);
  });
});

describe('trustPem and crossCertPem', () => {
  it('trust the current CA alone outside a rollover and both CAs during one', async () => {
    const { dir, ctx } = await pkiWithClient();
    expect(await trustPem(ctx)).toBe(await readFile(join(dir, 'ca.crt'), 'utf8'));
    expect(await crossCertPem(ctx)).toBeUndefined();
    await startRollover(ctx, { caName: 'New CA' });
    const subjects = (
      (await trustPem(ctx)).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []
    ).map((pem) => new x509.X509Certificate(pem).subject);
    expect(subjects).toEqual(['CN=New CA', 'CN=Old CA']);
  });

  it('need an initialised PKI', async () => {
    const ctx = createPkiContext({ dir: join(tmp(), 'nothing'), clock });
    expect(await rejection(trustPem(ctx))).toMatchObject({ code: 'PKI_NOT_INITIALIZED' });
  });
});

describe('finishRollover', () => {
  it('refuses while old-CA certificates are valid, then retires the old CA once they expired', async () => {
    const { dir, ctx } = await pkiWithClient(20);
    expect(await rejection(finishRollover(ctx))).toMatchObject({ code: 'PKI_NOT_FOUND' });
    await startRollover(ctx, { caName: 'New CA' });
    expect(await rejection(finishRollover(ctx))).toMatchObject({
      code: 'PKI_ROLLOVER_PENDING',
      message: expect.stringContaining('(veteran)'),
      details: { pending: 1 },
    });
    today = new Date(today.getTime() + 21 * DAY);
    const { retired } = await finishRollover(ctx);
    expect(retired).toBe(join(dir, 'retired', '2026-05-25T09-30-00-000Z'));
    expect((await readdir(retired)).sort()).toEqual(['ca.crt', 'cross.crt', 'private']);
    expect(await readdir(join(retired, 'private'))).toEqual(['ca.key']);
    expect(await mode(join(retired, 'private', 'ca.key'))).toBe(0o600);
    expect(await readdir(join(dir, 'previous', 'private'))).toEqual([]);
    expect(ctx.signers.previous).toBeUndefined();
    expect(await crlIssuers(dir)).toEqual(['CN=New CA']);
    expect(await crossCertPem(ctx)).toBeUndefined();
  });

  it('retires with force while old-CA certificates are still valid', async () => {
    const { dir, ctx } = await pkiWithClient();
    await startRollover(ctx, { caName: 'New CA' });
    const { retired } = await finishRollover(ctx, { force: true });
    expect(await readFile(join(retired, 'ca.crt'), 'utf8')).toContain('BEGIN CERTIFICATE');
    expect((await trustPem(ctx)).match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    expect(await crlIssuers(dir)).toEqual(['CN=New CA']);
  });
});

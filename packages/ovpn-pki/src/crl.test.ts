import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { beforeEach, describe, expect, it } from 'vitest';
import { createPkiContext } from './context';
import { crlInfo, ensureFreshCrl, readCrl, writeCrl } from './crl';
import { x509 } from './crypto';
import { isOvpnPkiError } from './errors';
import type { PkiSettingsInput } from './model';
import { createPki } from './store';

const DAY = 86_400_000;
const tmp = useTempDir('ovpn-crl-');
let today: Date;
const clock = { now: () => today };
beforeEach(() => {
  today = new Date('2026-03-01T08:00:00Z');
});

/** A real PKI (made by createPki) and the CRL stage's view of it. */
async function pkiWith(settings: PkiSettingsInput = {}) {
  const dir = join(tmp(), 'pki');
  const pki = createPki({ dir, clock });
  await pki.init({ caName: 'CRL Test CA', settings });
  return { pki, dir, ctx: createPkiContext({ dir, clock }) };
}

const blocks = (pem: string): x509.X509Crl[] =>
  (pem.match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g) ?? []).map((b) => new x509.X509Crl(b));

describe('writeCrl', () => {
  it('signs the revoked index lines with the CA, numbers from crlnumber and counts it up', async () => {
    const { pki, dir, ctx } = await pkiWith({ crlDays: 30, crlRenewBeforeDays: 10 });
    expect(await readFile(join(dir, 'crlnumber'), 'utf8')).toBe('02\n');
    const gone = await pki.issueClient({ name: 'gone' });
    await pki.issueClient({ name: 'stays' });
    // Revoke through the index alone, so only this stage signs the CRL.
    const index = await ctx.readIndex();
    const entry = index.find((e) => e.serial === gone.info.serial);
    if (!entry) throw new Error('no index line');
    Object.assign(entry, { status: 'revoked', revokedAt: new Date('2026-02-27T10:00:00Z'), reason: 'keyCompromise' });
    await ctx.writeIndex(index);

    const info = await writeCrl(ctx);
    // thisUpdate is back-dated a minute for servers whose clocks run a little behind.
    expect(info).toMatchObject({
      crlNumber: 2,
      revoked: 1,
      state: 'ok',
      thisUpdate: new Date(today.getTime() - 60_000),
    });
    expect(info.nextUpdate.getTime() - today.getTime()).toBe(30 * DAY);
    expect(await readFile(join(dir, 'crlnumber'), 'utf8')).toBe('03\n');
    const [crl] = blocks(await readFile(join(dir, 'crl.pem'), 'utf8'));
    const ca = new x509.X509Certificate(await pki.caCertPem());
    expect(await crl?.verify({ publicKey: ca.publicKey })).toBe(true);
    expect(crl?.entries.map((e) => [e.serialNumber.toUpperCase(), e.reason, e.revocationDate.toISOString()])).toEqual([
      [gone.info.serial, x509.X509CrlReason.keyCompromise, '2026-02-27T10:00:00.000Z'],
    ]);
    expect((await writeCrl(ctx)).crlNumber).toBe(3);
  });

  it('writes crl.pem world-readable whatever the umask (OpenVPN reads it as nobody)', async () => {
    const { ctx, dir } = await pkiWith();
    const previous = process.umask(0o077);
    try {
      await writeCrl(ctx);
    } finally {
      process.umask(previous);
    }
    expect((await stat(join(dir, 'crl.pem'))).mode & 0o777).toBe(0o644);
  });

  it('during a rollover signs one CRL per CA, each listing what that CA issued', async () => {
    const { pki, dir, ctx } = await pkiWith();
    const veteran = await pki.issueClient({ name: 'veteran' });
    await pki.rolloverCa({ caName: 'CRL Test CA 2' });
    const rookie = await pki.issueClient({ name: 'rookie' });
    const index = await ctx.readIndex();
    for (const e of index) Object.assign(e, { status: 'revoked', revokedAt: today, reason: 'superseded' });
    await ctx.writeIndex(index);

    const info = await writeCrl(ctx);
    const crls = blocks(await readFile(join(dir, 'crl.pem'), 'utf8'));
    expect(crls.map((c) => [c.issuer, c.entries.map((e) => e.serialNumber.toUpperCase())])).toEqual([
      ['CN=CRL Test CA 2', [rookie.info.serial]],
      ['CN=CRL Test CA', [veteran.info.serial]],
    ]);
    const [newCa, oldCa] =
      (await pki.trustPem()).match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
    expect(await crls[0]?.verify({ publicKey: new x509.X509Certificate(newCa as string).publicKey })).toBe(true);
    expect(await crls[1]?.verify({ publicKey: new x509.X509Certificate(oldCa as string).publicKey })).toBe(true);
    expect(info.revoked).toBe(2);
  });
});

describe('crlInfo', () => {
  it('is ok, then renew-due crlRenewBeforeDays before nextUpdate, then expired', async () => {
    const { ctx } = await pkiWith({ crlDays: 30, crlRenewBeforeDays: 10 });
    const { pem } = await readCrl(ctx);
    const at = async (days: number) => {
      today = new Date(Date.parse('2026-03-01T08:00:00Z') + days * DAY);
      return (await crlInfo(ctx, pem)).state;
    };
    expect([await at(0), await at(19), await at(21), await at(29.9), await at(30), await at(45)]).toEqual([
      'ok',
      'ok',
      'renew-due',
      'renew-due',
      'expired',
      'expired',
    ]);
  });

  it('takes the earliest nextUpdate of several CRLs and sums their entries', async () => {
    const { ctx } = await pkiWith({ crlDays: 30, crlRenewBeforeDays: 10 });
    const early = (await readCrl(ctx)).pem;
    today = new Date(today.getTime() + 5 * DAY);
    await writeCrl(ctx);
    const late = (await readCrl(ctx)).pem;
    const info = await crlInfo(ctx, `${late}${early}`);
    expect(info.nextUpdate).toEqual(new Date(Date.parse('2026-03-01T08:00:00Z') + 30 * DAY));
    expect(info).toMatchObject({ crlNumber: 2, revoked: 0 });
  });
});

describe('ensureFreshCrl', () => {
  it('leaves a fresh CRL alone and re-signs one that is due, missing or unreadable', async () => {
    const { ctx, dir } = await pkiWith({ crlDays: 30, crlRenewBeforeDays: 10 });
    expect(await ensureFreshCrl(ctx)).toMatchObject({ renewed: false, crl: { crlNumber: 1 } });
    today = new Date(today.getTime() + 25 * DAY);
    expect(await ensureFreshCrl(ctx)).toMatchObject({ renewed: true, crl: { crlNumber: 2, state: 'ok' } });
    await rm(join(dir, 'crl.pem'));
    expect(await ensureFreshCrl(ctx)).toMatchObject({ renewed: true, crl: { crlNumber: 3 } });
    await writeFile(join(dir, 'crl.pem'), 'not a CRL');
    expect(await ensureFreshCrl(ctx)).toMatchObject({ renewed: true, crl: { crlNumber: 4 } });
    expect((await readCrl(ctx)).info).toMatchObject({ crlNumber: 4, state: 'ok' });
  });

  it('does not hide a PKI without a CA', async () => {
    const ctx = createPkiContext({ dir: join(tmp(), 'empty'), clock });
    for (const call of [ensureFreshCrl, readCrl, writeCrl]) {
      const error = await call(ctx).catch((e: unknown) => e);
      expect(isOvpnPkiError(error) && error.code).toBe('PKI_NOT_INITIALIZED');
    }
  });
});

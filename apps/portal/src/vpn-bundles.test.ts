import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createPki, generateTlsCryptKey, type Pki } from '@invis/ovpn-pki';
import { useTempDir } from '@invis/test-utils';
import { beforeEach, describe, expect, it } from 'vitest';
import { createVpnBundles, type VpnBundles } from './vpn-bundles';

const dir = useTempDir('portal-vpn-bundles-');
let pki: Pki;
let now: Date;
let bundles: VpnBundles;
const crlFile = (): string => join(dir(), 'crl.pem');
const tokenOf = (url: string): string => url.split('/').pop() as string;

beforeEach(async () => {
  pki = createPki({ dir: join(dir(), 'pki') });
  await pki.init({ caName: 'invis VPN CA unit' });
  now = new Date('2026-12-06T10:00:00Z');
  bundles = createVpnBundles({
    pki,
    crlFile: crlFile(),
    clock: { now: () => now },
    selfService: false,
    server: {
      remote: 'vpn.muster.de',
      port: 51194,
      serverName: 'invis.muster.loc',
      tls: { kind: 'tls-crypt', key: generateTlsCryptKey() },
    },
  });
});

describe('VPN bundles', () => {
  it('issues a bundle whose key exists only in the one download', async () => {
    const issued = await bundles.issue({ owner: 'anna.schmidt', device: 'laptop', issuer: 'admin' });
    expect(issued.certificate).toMatchObject({
      name: 'anna.schmidt@laptop',
      owner: 'anna.schmidt',
      device: 'laptop',
      pendingDownload: true,
    });
    // The PKI keeps the certificate, not the key.
    expect(existsSync(join(pki.dir, 'issued', 'anna.schmidt@laptop.crt'))).toBe(true);
    expect(existsSync(join(pki.dir, 'private', 'anna.schmidt@laptop.key'))).toBe(false);
    const { name, ovpn } = bundles.take(tokenOf(issued.download), 'admin');
    expect(name).toBe('anna.schmidt@laptop');
    expect(ovpn).toContain('remote vpn.muster.de 51194 udp');
    expect(ovpn).toContain('verify-x509-name invis.muster.loc name');
    expect(ovpn).toMatch(/<key>\n-----BEGIN PRIVATE KEY-----/);
    expect(ovpn).toContain('<tls-crypt>');
    // Once only.
    expect(() => bundles.take(tokenOf(issued.download), 'admin')).toThrow(
      expect.objectContaining({ code: 'PORTAL_NOT_FOUND' }),
    );
    expect((await bundles.list())[0]?.pendingDownload).toBe(false);
  });

  it('hands a bundle only to its issuer, and not after the token expired', async () => {
    const a = await bundles.issue({ owner: 'anna.schmidt', issuer: 'admin' });
    expect(() => bundles.take(tokenOf(a.download), 'clara.weber')).toThrow(
      expect.objectContaining({ code: 'PORTAL_NOT_FOUND' }),
    );
    now = new Date(now.getTime() + 16 * 60_000);
    expect(() => bundles.take(tokenOf(a.download), 'admin')).toThrow(
      expect.objectContaining({ code: 'PORTAL_NOT_FOUND' }),
    );
    expect(() => bundles.take('x'.repeat(43), 'admin')).toThrow(expect.objectContaining({ code: 'PORTAL_NOT_FOUND' }));
  });

  it('refuses a second certificate of the same name and bad device names', async () => {
    await bundles.issue({ owner: 'bernd', issuer: 'admin' });
    await expect(bundles.issue({ owner: 'Bernd', issuer: 'admin' })).rejects.toMatchObject({ code: 'PORTAL_CONFLICT' });
    await expect(bundles.issue({ owner: 'bernd', device: 'a/b', issuer: 'admin' })).rejects.toMatchObject({
      code: 'PORTAL_VALIDATION',
    });
  });

  it('lists per owner with expiry and revokes with a deployed CRL', async () => {
    const issued = await bundles.issue({ owner: 'anna.schmidt', issuer: 'admin' });
    await bundles.issue({ owner: 'anna.schmidtke', issuer: 'admin' });
    const mine = await bundles.list('anna.schmidt');
    expect(mine.map((c) => c.name)).toEqual(['anna.schmidt']);
    expect(mine[0]?.daysLeft).toBeGreaterThan(700);
    const revoked = await bundles.revoke('anna.schmidt');
    expect(revoked.serial).toBe(issued.certificate.serial);
    expect(readFileSync(crlFile(), 'utf8')).toContain('BEGIN X509 CRL');
    expect((await pki.crl()).info.revoked).toBe(1);
    expect((await pki.list()).find((c) => c.serial === issued.certificate.serial)?.status).toBe('revoked');
    // The pending download went with it.
    expect(() => bundles.take(tokenOf(issued.download), 'admin')).toThrow(
      expect.objectContaining({ code: 'PORTAL_NOT_FOUND' }),
    );
    expect((await bundles.list()).map((c) => c.name)).toEqual(['anna.schmidtke']);
    await expect(bundles.revoke('anna.schmidt')).rejects.toMatchObject({ code: 'PORTAL_NOT_FOUND' });
  });
});

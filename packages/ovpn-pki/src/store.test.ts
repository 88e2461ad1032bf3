import { readdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeFs, type HostFs } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { NodeX509, publicKeyDerOfPrivatePem, x509 } from './crypto';
import { isOvpnPkiError } from './errors';
import { caNameSchema, certNameSchema, parseInput, pkiSettingsSchema } from './model';
import { createPki, type Pki } from './store';

const DAY = 86_400_000;
const dir = useTempDir('ovpn-pki-store-');
let today: Date;
let pki: Pki;

beforeEach(() => {
  today = new Date('2026-01-10T12:00:00Z');
  pki = createPki({ dir: join(dir(), 'pki'), clock: { now: () => today } });
});

async function rejects(p: Promise<unknown>, code: string): Promise<void> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(isOvpnPkiError(error) && error.code).toBe(code);
}

describe('createPki', () => {
  it('creates an EC P-256 CA, server and client certificates with the right extensions', async () => {
    const ca = await pki.init({ caName: 'invis VPN CA' });
    expect(ca).toMatchObject({ kind: 'ca', expiry: 'ok', status: 'valid' });
    const caCert = new x509.X509Certificate(await pki.caCertPem());
    expect(caCert.subject).toBe('CN=invis VPN CA');
    expect(caCert.getExtension(x509.BasicConstraintsExtension)?.ca).toBe(true);
    expect((caCert.publicKey.algorithm as { namedCurve?: string }).namedCurve).toBe('P-256');

    const server = await pki.issueServer({
      name: 'vpn.example.de',
      san: { dns: ['vpn.example.de'], ip: ['192.0.2.1'] },
    });
    const serverCert = new x509.X509Certificate(server.certPem);
    expect(serverCert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.serverAuth]);
    const san = serverCert
      .getExtension(x509.SubjectAlternativeNameExtension)
      ?.names.items.map((n) => `${n.type}:${n.value}`);
    expect(san).toEqual(['dns:vpn.example.de', 'ip:192.0.2.1']);
    expect(await serverCert.verify({ publicKey: caCert.publicKey, signatureOnly: true })).toBe(true);

    const client = await pki.issueClient({ name: 'anna.laptop' });
    const clientCert = new x509.X509Certificate(client.certPem);
    expect(clientCert.subject).toBe('CN=anna.laptop');
    expect(clientCert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).toEqual([x509.ExtendedKeyUsage.clientAuth]);
    expect(client.keyPem).toMatch(/^-----BEGIN PRIVATE KEY-----/);
    expect(client.info).toMatchObject({ name: 'anna.laptop', kind: 'client', expiry: 'ok', daysLeft: 730 });
    expect((await stat(join(dir(), 'pki', 'private', 'anna.laptop.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir(), 'pki', 'private', 'ca.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir(), 'pki'))).mode & 0o777).toBe(0o700);
    const index = await readFile(join(dir(), 'pki', 'index.txt'), 'utf8');
    expect(
      index
        .split('\n')
        .filter(Boolean)
        .map((l) => l.split('\t')[5]),
    ).toEqual(['/CN=vpn.example.de', '/CN=anna.laptop']);
    expect(await readFile(join(dir(), 'pki', 'certs_by_serial', `${client.info.serial}.pem`), 'utf8')).toBe(
      client.certPem,
    );
  });

  it.each(['rsa-2048', 'ed25519', 'ec-p384'] as const)('supports %s keys', async (keyAlgorithm) => {
    await pki.init({ caName: 'CA', settings: { keyAlgorithm } });
    const client = await pki.issueClient({ name: 'c1' });
    const cert = new x509.X509Certificate(client.certPem);
    const ca = new x509.X509Certificate(await pki.caCertPem());
    expect(await cert.verify({ publicKey: ca.publicKey, signatureOnly: true })).toBe(true);
  });

  it('revokes with a reason, frees the name and lists it on the CRL', async () => {
    await pki.init({ caName: 'CA' });
    const c = await pki.issueClient({ name: 'bob' });
    today = new Date(today.getTime() + 60_000);
    const revoked = await pki.revoke('bob', 'keyCompromise');
    expect(revoked).toMatchObject({ status: 'revoked', reason: 'keyCompromise', serial: c.info.serial });
    const { pem, info } = await pki.crl();
    expect(pem).toMatch(/^-----BEGIN X509 CRL-----/);
    expect(info).toMatchObject({ revoked: 1, state: 'ok', crlNumber: 2 });
    const crl = new x509.X509Crl(pem);
    expect(crl.entries[0]?.serialNumber.toUpperCase()).toBe(c.info.serial);
    expect(crl.entries[0]?.reason).toBe(x509.X509CrlReason.keyCompromise);
    // Revoking twice is the documented PKI_ALREADY_REVOKED, naming the revoked serial.
    const twice = await pki.revoke('bob').catch((e: unknown) => e);
    expect(isOvpnPkiError(twice) && twice.toJSON()).toMatchObject({
      code: 'PKI_ALREADY_REVOKED',
      details: { name: 'bob', serial: c.info.serial },
    });
    expect((await pki.crl()).info).toMatchObject({ revoked: 1, crlNumber: 2 });
    const again = await pki.issueClient({ name: 'bob' });
    expect(again.info.serial).not.toBe(c.info.serial);
    const list = await pki.list();
    expect(list.filter((i) => i.name === 'bob').map((i) => [i.status, i.current])).toEqual([
      ['revoked', false],
      ['valid', true],
    ]);
    // The re-issued one revokes normally; then both are revoked and a third try names the newest.
    expect(await pki.revoke('bob')).toMatchObject({ status: 'revoked', serial: again.info.serial });
    await expect(pki.revoke('bob')).rejects.toMatchObject({
      code: 'PKI_ALREADY_REVOKED',
      details: { serial: again.info.serial },
    });
  });

  it('reports expiry states ok / expiring / expired', async () => {
    await pki.init({ caName: 'CA' });
    await pki.issueClient({ name: 'short', days: 20 });
    await pki.issueClient({ name: 'old', days: 1 });
    await pki.issueClient({ name: 'fine', days: 400 });
    today = new Date(today.getTime() + 2 * DAY);
    const states = Object.fromEntries((await pki.list()).map((i) => [i.name, i.expiry]));
    expect(states).toEqual({ ca: 'ok', short: 'expiring', old: 'expired', fine: 'ok' });
    await pki.issueClient({ name: 'gone', days: 5 });
    await pki.revoke('gone');
    const report = await pki.report();
    expect(report.counts).toEqual({ ok: 1, expiring: 1, expired: 1 });
    expect(report.attention.map((c) => c.name)).toEqual(['old', 'short']);
    expect(report).toMatchObject({ ca: { kind: 'ca', expiry: 'ok' }, crl: { state: 'ok', revoked: 1 } });
  });

  it('renews the CRL well before nextUpdate, and only then', async () => {
    await pki.init({ caName: 'CA', settings: { crlDays: 180, crlRenewBeforeDays: 90 } });
    const first = await pki.crl();
    expect(first.info.nextUpdate.getTime() - today.getTime()).toBe(180 * DAY);
    today = new Date(today.getTime() + 89 * DAY);
    expect((await pki.ensureFreshCrl()).renewed).toBe(false);
    today = new Date(today.getTime() + 2 * DAY);
    expect((await pki.crl()).info.state).toBe('renew-due');
    const renewed = await pki.ensureFreshCrl();
    expect(renewed.renewed).toBe(true);
    expect(renewed.crl).toMatchObject({ state: 'ok', crlNumber: first.info.crlNumber + 1 });
    expect(renewed.crl.nextUpdate.getTime() - today.getTime()).toBe(180 * DAY);
  });

  it('renews with the same key, or re-keys and revokes the old certificate', async () => {
    await pki.init({ caName: 'CA' });
    const first = await pki.issueClient({ name: 'carl' });
    const renewed = await pki.renew('carl');
    expect(renewed.keyPem).toBe(first.keyPem);
    expect(renewed.info.serial).not.toBe(first.info.serial);
    expect((await pki.crl()).info.revoked).toBe(0);
    const rekeyed = await pki.renew('carl', { rekey: true });
    expect(rekeyed.keyPem).not.toBe(first.keyPem);
    const crl = new x509.X509Crl((await pki.crl()).pem);
    expect(crl.entries.map((e) => [e.serialNumber.toUpperCase(), e.reason])).toEqual([
      [renewed.info.serial, x509.X509CrlReason.superseded],
    ]);
    expect((await pki.get('carl')).info.serial).toBe(rekeyed.info.serial);
  });

  it('encrypts the CA key with a passphrase and needs it to sign', async () => {
    await pki.init({ caName: 'CA', passphrase: 'correct horse battery' });
    expect(await readFile(join(dir(), 'pki', 'private', 'ca.key'), 'utf8')).toMatch(
      /^-----BEGIN ENCRYPTED PRIVATE KEY-----/,
    );
    const reopened = (passphrase?: string) =>
      createPki({
        dir: join(dir(), 'pki'),
        clock: { now: () => today },
        ...(passphrase ? { caPassphrase: () => passphrase } : {}),
      });
    await rejects(reopened().issueClient({ name: 'x' }), 'PKI_PASSPHRASE_REQUIRED');
    await rejects(reopened('wrong passphrase').issueClient({ name: 'x' }), 'PKI_BAD_PASSPHRASE');
    expect((await reopened('correct horse battery').issueClient({ name: 'x' })).info.kind).toBe('client');
  });

  it('turns bad input into typed errors', async () => {
    await rejects(pki.issueClient({ name: 'x' }), 'PKI_NOT_INITIALIZED');
    await rejects(pki.init({ caName: 'a/b' }), 'PKI_INVALID_INPUT');
    await rejects(pki.init({ caName: 'CA', settings: { keyAlgorithm: 'ec-secp999' as never } }), 'PKI_INVALID_INPUT');
    await rejects(pki.init({ caName: 'CA', settings: { crlDays: 30, crlRenewBeforeDays: 30 } }), 'PKI_INVALID_INPUT');
    expect(parseInput(pkiSettingsSchema, { crlDays: 30 }, 'settings').crlRenewBeforeDays).toBe(15);
    expect(parseInput(pkiSettingsSchema, {}, 'settings').crlRenewBeforeDays).toBe(90);
    await pki.init({ caName: 'CA' });
    await rejects(pki.init({ caName: 'CA' }), 'PKI_ALREADY_INITIALIZED');
    for (const name of ['a/b', 'a\nb', 'x'.repeat(300), '', '../etc', 'ca', 'with space']) {
      await rejects(pki.issueClient({ name }), 'PKI_INVALID_INPUT');
    }
    await rejects(pki.issueClient({ name: 'ok', keyAlgorithm: 'ec-p999' as never }), 'PKI_INVALID_INPUT');
    await rejects(pki.issueServer({ name: 'srv', san: { dns: ['bad name'] } }), 'PKI_INVALID_INPUT');
    await rejects(pki.revoke('nobody'), 'PKI_NOT_FOUND');
    await pki.issueClient({ name: 'dup' });
    await rejects(pki.issueClient({ name: 'dup' }), 'PKI_NAME_EXISTS');
    await rejects(pki.revoke('dup', 'becauseISaySo' as never), 'PKI_INVALID_INPUT');
    const error = await pki.issueClient({ name: 'a/b' }).catch((e: unknown) => e);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: 'PKI_INVALID_INPUT',
      message: expect.stringContaining('name may only contain'),
      details: { field: '' },
    });
  });

  it('rolls the CA over with a cross-certificate, one CRL per CA, and finishes only when done', async () => {
    await pki.init({ caName: 'Old CA' });
    const oldCa = new x509.X509Certificate(await pki.caCertPem());
    const veteran = await pki.issueClient({ name: 'veteran' });
    await rejects(pki.rolloverCa({ caName: 'Old CA' }), 'PKI_INVALID_INPUT');
    const next = await pki.rolloverCa({ caName: 'New CA' });
    expect(next).toMatchObject({ kind: 'ca', name: 'ca' });
    await rejects(pki.rolloverCa({ caName: 'Newer CA' }), 'PKI_ROLLOVER_IN_PROGRESS');
    const newCa = new x509.X509Certificate(await pki.caCertPem());
    expect(newCa.subject).toBe('CN=New CA');
    expect((await pki.trustPem()).match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    const cross = new x509.X509Certificate((await pki.crossCertPem()) ?? '');
    expect([cross.subject, cross.issuer]).toEqual(['CN=New CA', 'CN=Old CA']);
    expect(await cross.verify({ publicKey: oldCa.publicKey, signatureOnly: true })).toBe(true);
    expect(Buffer.from(cross.publicKey.rawData).equals(Buffer.from(newCa.publicKey.rawData))).toBe(true);

    const rookie = new x509.X509Certificate((await pki.issueClient({ name: 'rookie' })).certPem);
    expect(rookie.issuer).toBe('CN=New CA');
    const issuers = Object.fromEntries((await pki.list()).map((c) => [c.name, c.issuer]));
    expect(issuers).toMatchObject({ veteran: 'Old CA', rookie: 'New CA' });
    expect((await pki.list()).slice(0, 2).map((c) => [c.name, c.kind, c.subject])).toEqual([
      ['ca', 'ca', '/CN=New CA'],
      ['previous-ca', 'ca', '/CN=Old CA'],
    ]);

    await rejects(pki.finishRollover(), 'PKI_ROLLOVER_PENDING');
    await pki.revoke('veteran', 'superseded');
    const { pem, info } = await pki.crl();
    const crls = (pem.match(/-----BEGIN X509 CRL-----[\s\S]+?-----END X509 CRL-----/g) ?? []).map(
      (b) => new x509.X509Crl(b),
    );
    expect(crls.map((c) => [c.issuer, c.entries.map((e) => e.serialNumber.toUpperCase())])).toEqual([
      ['CN=New CA', []],
      ['CN=Old CA', [veteran.info.serial]],
    ]);
    expect(info.revoked).toBe(1);

    const { retired } = await pki.finishRollover();
    expect(await readFile(join(retired, 'ca.crt'), 'utf8')).toContain('BEGIN CERTIFICATE');
    expect(await pki.crossCertPem()).toBeUndefined();
    expect((await pki.trustPem()).match(/BEGIN CERTIFICATE/g)).toHaveLength(1);
    expect((await pki.crl()).pem.match(/BEGIN X509 CRL/g)).toHaveLength(1);
    await rejects(pki.finishRollover(), 'PKI_NOT_FOUND');
  });
});

describe('revokeClients', () => {
  it('revokes every valid client certificate a predicate picks, superseded ones too, with one CRL', async () => {
    await pki.init({ caName: 'CA' });
    const old = await pki.issueClient({ name: 'anna' });
    const renewed = await pki.renew('anna'); // same key: the old certificate stays valid
    const laptop = await pki.issueClient({ name: 'anna@laptop' });
    const other = await pki.issueClients([{ name: 'annabel' }, { name: 'bob@anna' }]);
    await pki.issueServer({ name: 'anna@server' });
    const already = await pki.issueClient({ name: 'anna@old' });
    await pki.revoke('anna@old');
    const before = (await pki.crl()).info.crlNumber;
    const isAnna = (cn: string): boolean => cn === 'anna' || cn.startsWith('anna@');

    const revoked = await pki.revokeClients(isAnna, 'privilegeWithdrawn');
    expect(revoked.map((r) => [r.name, r.serial, r.status, r.reason])).toEqual([
      ['anna', old.info.serial, 'revoked', 'privilegeWithdrawn'],
      ['anna', renewed.info.serial, 'revoked', 'privilegeWithdrawn'],
      ['anna@laptop', laptop.info.serial, 'revoked', 'privilegeWithdrawn'],
    ]);
    const { pem, info } = await pki.crl();
    expect(info.crlNumber).toBe(before + 1);
    expect(new x509.X509Crl(pem).entries.map((e) => e.serialNumber.toUpperCase()).sort()).toEqual(
      [already.info.serial, old.info.serial, renewed.info.serial, laptop.info.serial].sort(),
    );
    // Current certificates were revoked by name: their files moved, the names are free again.
    await rejects(pki.get('anna'), 'PKI_NOT_FOUND');
    await rejects(pki.get('anna@laptop'), 'PKI_NOT_FOUND');
    const valid = (await pki.list()).filter((c) => c.status === 'valid').map((c) => c.name);
    expect(valid).toEqual(['ca', ...other.map((o) => o.info.name), 'anna@server']);
    // Nothing left: no new CRL.
    expect(await pki.revokeClients(isAnna)).toEqual([]);
    expect((await pki.crl()).info.crlNumber).toBe(before + 1);
    await rejects(pki.revokeClients(isAnna, 'nonsense' as 'unspecified'), 'PKI_INVALID_INPUT');
  });
});

describe('locking', () => {
  it('serialises concurrent writers of one directory and reports a held lock as PKI_LOCKED', async () => {
    await pki.init({ caName: 'CA' });
    const other = createPki({ dir: join(dir(), 'pki'), clock: { now: () => today } });
    await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => pki.issueClient({ name: `a${i}` })),
      ...Array.from({ length: 5 }, (_, i) => other.issueClient({ name: `b${i}` })),
    ]);
    expect((await pki.list()).filter((c) => c.kind === 'client')).toHaveLength(10);
    await writeFile(join(dir(), 'pki', '.lock'), '1\n');
    const impatient = createPki({ dir: join(dir(), 'pki'), lockTimeoutMs: 100 });
    await rejects(impatient.issueClient({ name: 'late' }), 'PKI_LOCKED');
    // A lock older than a minute is from a dead process and is taken over.
    const old = new Date(Date.now() - 120_000);
    await utimes(join(dir(), 'pki', '.lock'), old, old);
    expect((await impatient.issueClient({ name: 'late' })).info.name).toBe('late');
  });
});

describe('issueClients', () => {
  it('issues a batch with one index write; every key matches its certificate and the CA signed it', async () => {
    await pki.init({ caName: 'CA' });
    const real = createNodeFs();
    const indexWrites: string[] = [];
    const counting: HostFs = {
      ...real,
      writeFileAtomic: (path, data, options) => {
        if (path.endsWith('index.txt')) indexWrites.push(path);
        return real.writeFileAtomic(path, data, options);
      },
    };
    const batch = createPki({ dir: join(dir(), 'pki'), clock: { now: () => today }, fs: counting });
    const names = Array.from({ length: 12 }, (_, i) => `user${i}.laptop`);
    const issued = await batch.issueClients(names.map((name) => ({ name })));
    expect(indexWrites).toHaveLength(1);
    expect(issued.map((m) => m.info.name)).toEqual(names);
    const ca = new NodeX509(await pki.caCertPem());
    for (const m of issued) {
      const cert = new NodeX509(m.certPem);
      expect(cert.verify(ca.publicKey)).toBe(true);
      expect(cert.subject).toBe(`CN=${m.info.name}`);
      expect(publicKeyDerOfPrivatePem(m.keyPem ?? '')).toEqual(cert.publicKey.export({ type: 'spki', format: 'der' }));
      expect(await pki.get(m.info.name)).toEqual(m);
    }
    const index = await readFile(join(dir(), 'pki', 'index.txt'), 'utf8');
    expect(
      index
        .trim()
        .split('\n')
        .map((l) => l.split('\t')[5]),
    ).toEqual(names.map((n) => `/CN=${n}`));
    expect(await batch.issueClients([])).toEqual([]);
  });

  it('is all or nothing for taken or repeated names', async () => {
    await pki.init({ caName: 'CA' });
    await pki.issueClient({ name: 'taken' });
    const before = await readFile(join(dir(), 'pki', 'index.txt'), 'utf8');
    await rejects(pki.issueClients([{ name: 'fresh' }, { name: 'taken' }]), 'PKI_NAME_EXISTS');
    await rejects(pki.issueClients([{ name: 'twice' }, { name: 'twice' }]), 'PKI_NAME_EXISTS');
    await rejects(pki.issueClients([{ name: 'ok' }, { name: 'a/b' }]), 'PKI_INVALID_INPUT');
    expect(await readFile(join(dir(), 'pki', 'index.txt'), 'utf8')).toBe(before);
    expect((await readdir(join(dir(), 'pki', 'issued'))).sort()).toEqual(['taken.crt']);
  });

  it('leaves index.txt untouched when a file of the batch cannot be written, after every write settled', async () => {
    await pki.init({ caName: 'CA' });
    const real = createNodeFs();
    let inFlight = 0;
    let afterFailure = 0;
    let failed = false;
    const failing: HostFs = {
      ...real,
      async writeFileAtomic(path, data, options) {
        if (path.endsWith('c3.crt') && path.includes('issued')) {
          failed = true;
          throw Object.assign(new Error('disk full'), { code: 'ENOSPC' });
        }
        inFlight++;
        try {
          return await real.writeFileAtomic(path, data, options);
        } finally {
          inFlight--;
          if (failed) afterFailure++;
        }
      },
    };
    const batch = createPki({ dir: join(dir(), 'pki'), clock: { now: () => today }, fs: failing });
    const before = await readFile(join(dir(), 'pki', 'index.txt'), 'utf8');
    await expect(batch.issueClients(Array.from({ length: 8 }, (_, i) => ({ name: `c${i}` })))).rejects.toMatchObject({
      code: 'ENOSPC',
    });
    expect(inFlight).toBe(0); // nothing still writing once the call rejected
    expect(afterFailure).toBeGreaterThan(0);
    expect(await readFile(join(dir(), 'pki', 'index.txt'), 'utf8')).toBe(before);
  });
});

describe('names', () => {
  it('accept only safe names and reject everything else with PKI_INVALID_INPUT', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (junk) => {
        for (const schema of [certNameSchema, caNameSchema]) {
          try {
            const name = parseInput(schema, junk, 'name');
            expect(name).toBe(junk);
            expect(name).not.toMatch(/[/\\\n\r\0,=+"<>;]/);
            expect(name.length).toBeLessThanOrEqual(64);
          } catch (e) {
            expect(isOvpnPkiError(e) && e.code === 'PKI_INVALID_INPUT').toBe(true);
          }
        }
      }),
    );
  });
});

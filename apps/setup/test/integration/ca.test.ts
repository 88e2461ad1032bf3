// The `ca` module into a staging root, checked with the real openssl: every certificate verifies
// against the CA and carries its names, keys are 0600, a second apply changes nothing, and a
// changed LAN address or a near end re-issues.
import { chmod, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createExecaRunner } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { caModule, certificatePaths, SERVER_CERTIFICATES, type ServerCertificate } from '../../src/modules/ca';
import { moduleContext, movableClock } from './module-context';

const runner = createExecaRunner();

async function openssl(args: string[]): Promise<string> {
  const result = await runner.run('openssl', args);
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout;
}

describe('ca module', () => {
  const dir = useTempDir('setup-ca-');

  it('issues certificates that openssl verifies, with their names, keys 0600, idempotent, re-issued on change', async () => {
    const root = dir();
    const clock = movableClock();
    const ctx = await moduleContext(root, { clock });
    const paths = certificatePaths(ctx);
    const host = (p: string) => join(root, p);

    const first = await caModule.apply(ctx);
    expect(first.changed).toBe(true);

    const caFile = host(paths.caCert);
    const serials: Record<string, string> = {};
    for (const name of SERVER_CERTIFICATES) {
      const cert = host(paths.certs[name].cert);
      expect(await openssl(['verify', '-CAfile', caFile, '-purpose', 'sslserver', cert])).toContain(': OK');
      const san = await openssl(['x509', '-in', cert, '-noout', '-ext', 'subjectAltName']);
      for (const want of ['DNS:invis.invis-net.loc', 'DNS:invis', 'IP Address:192.168.220.10']) {
        expect(san).toContain(want);
      }
      // The key belongs to the certificate.
      const keyPub = await openssl(['pkey', '-in', host(paths.certs[name].key), '-pubout']);
      expect(await openssl(['x509', '-in', cert, '-noout', '-pubkey'])).toBe(keyPub);
      expect((await stat(host(paths.certs[name].key))).mode & 0o777).toBe(0o600);
      serials[name] = (await openssl(['x509', '-in', cert, '-noout', '-serial'])).trim();
    }
    expect(await openssl(['x509', '-in', host(paths.certs.ldap.cert), '-noout', '-ext', 'subjectAltName'])).toContain(
      'DNS:invis-net.loc',
    );
    expect(await openssl(['x509', '-in', host(paths.certs.mail.cert), '-noout', '-ext', 'subjectAltName'])).toContain(
      'DNS:mail.invis-net.loc',
    );
    expect((await stat(host(`${ctx.profile.ca.pkiDir}/private/ca.key`))).mode & 0o777).toBe(0o600);
    expect((await stat(host(ctx.profile.ca.privateDir))).mode & 0o777).toBe(0o700);
    expect(
      await openssl(['pkey', '-in', host(`${ctx.profile.ca.pkiDir}/private/ca.key`), '-noout', '-text']),
    ).toContain('NIST CURVE: P-256');

    const status = JSON.parse(await readFile(host(ctx.profile.ca.statusFile), 'utf8'));
    expect(status.certificates.map((c: { name: string }) => c.name)).toEqual([...SERVER_CERTIFICATES]);
    expect(status.certificates[0]).toMatchObject({ dns: ['invis', 'invis-net.loc', 'invis.invis-net.loc'] });
    expect(await caModule.verify(ctx)).toEqual(expect.arrayContaining([{ name: 'certificate ldap', ok: true }]));
    expect((await caModule.verify(ctx)).every((c) => c.ok)).toBe(true);

    // Idempotent: nothing to plan, nothing done.
    const plan = await caModule.plan(ctx);
    expect(plan.files.every((f) => f.action === 'unchanged')).toBe(true);
    expect(plan.directories).toEqual([]);
    expect((await caModule.apply(ctx)).changed).toBe(false);

    // A new LAN address: every certificate is re-issued with it, under the same CA.
    const moved = await moduleContext(root, { clock, answers: { lan: { address: '192.168.221.10/24' } } });
    const planned = await caModule.plan(moved);
    expect(planned.files.filter((f) => f.action !== 'unchanged').map((f) => f.path)).toEqual(
      expect.arrayContaining([paths.certs.ldap.cert, paths.certs.vpn.key, ctx.profile.ca.statusFile]),
    );
    expect((await caModule.verify(moved)).find((c) => c.name === 'certificate web')).toMatchObject({
      ok: false,
      problem: expect.stringContaining('names differ'),
    });
    expect((await caModule.apply(moved)).changed).toBe(true);
    for (const name of SERVER_CERTIFICATES) {
      const cert = host(paths.certs[name].cert);
      expect(await openssl(['verify', '-CAfile', caFile, cert])).toContain(': OK');
      expect(await openssl(['x509', '-in', cert, '-noout', '-ext', 'subjectAltName'])).toContain(
        'IP Address:192.168.221.10',
      );
      const serial = (await openssl(['x509', '-in', cert, '-noout', '-serial'])).trim();
      expect(serial).not.toBe(serials[name as ServerCertificate]);
      serials[name] = serial;
    }
    expect((await caModule.apply(moved)).changed).toBe(false);

    // 20 days before the end (825-day certificates): verify warns, apply re-issues.
    clock.set(new Date(Date.now() + 805 * 86_400_000));
    expect((await caModule.verify(moved)).find((c) => c.name === 'certificate mail')).toMatchObject({
      ok: false,
      problem: expect.stringContaining('expires in'),
    });
    expect((await caModule.apply(moved)).changed).toBe(true);
    const renewed = (await openssl(['x509', '-in', host(paths.certs.mail.cert), '-noout', '-serial'])).trim();
    expect(renewed).not.toBe(serials.mail);
    expect((await caModule.verify(moved)).every((c) => c.ok)).toBe(true);

    // A key file opened up is reported.
    await chmod(host(paths.certs.web.key), 0o644);
    expect((await caModule.verify(moved)).find((c) => c.name === 'certificate web')).toMatchObject({
      ok: false,
      problem: expect.stringContaining('mode 644'),
    });
  });
});

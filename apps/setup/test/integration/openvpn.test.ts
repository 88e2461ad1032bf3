// The openvpn module into a staging root: a PKI of @invis/ovpn-pki, both server configs accepted by
// the real openvpn option parser, units by systemd-analyze verify, a second apply that changes
// nothing; a branch taken out of the answers loses its ccd entry and its certificate; `vpn check`
// renews and deploys the CRL and mails expiring certificates through a sendmail; the connect
// check refuses when the directory cannot be asked; a bundle parses as an OpenVPN client config.
import { stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fixedClock, readJobState } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { createEasyRsaPki } from '@invis/testbed';
import { describe, expect, it } from 'vitest';
import type { AnswersInput } from '../../src/answers';
import { validateAnswers } from '../../src/answers';
import { openvpnModule, vpnPki } from '../../src/modules/openvpn';
import { runVpnCheck, VPN_CHECK_JOB, vpnBundle } from '../../src/openvpn-check';
import { runVpnConnect } from '../../src/openvpn-connect';
import { MODULE_ANSWERS, moduleContext } from './context';

const ANSWERS: AnswersInput = {
  ...MODULE_ANSWERS,
  openvpn: {
    port: 57194,
    remote: '203.0.113.10',
    sites: [
      { name: 'berlin', subnets: ['10.50.0.0/24'] },
      { name: 'hamburg', subnets: ['10.60.0.0/24', '10.61.0.0/24'] },
    ],
  },
  mail: { admins: ['chef@firma.de'] },
};

describe('openvpn module (openvpn option parser, systemd-analyze verify)', () => {
  const dir = useTempDir('setup-openvpn-');

  it('makes the PKI and both servers; keys stay out of the plan; a second apply changes nothing', async () => {
    const root = dir();
    const ctx = await moduleContext(root, { answers: ANSWERS });
    // Before the first apply the plan shows the configs and, without content, the key files.
    const planned = await openvpnModule.plan(ctx);
    expect(planned.commands).toEqual([]);
    expect(planned.files.find((f) => f.path === '/etc/openvpn/server/invis-vpn.conf')?.diff).toContain(
      '+client-connect "/usr/bin/invis-setup vpn connect"',
    );
    expect(planned.files.find((f) => f.path === '/etc/openvpn/server/invis/invis.invis-net.loc.key')).toMatchObject({
      action: 'create',
      secret: true,
      diff: '',
    });
    const report = await openvpnModule.apply(ctx);
    expect(report.changed).toBe(true);
    const paths = report.files.map((f) => f.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        '/etc/openvpn/server/invis-vpn.conf',
        '/etc/openvpn/server/invis-site.conf',
        '/etc/openvpn/server/invis/crl.pem',
        '/etc/openvpn/server/invis-ccd/site-berlin',
        '/etc/openvpn/server/invis-ccd/site-hamburg',
        '/etc/systemd/system/invis-vpn-check.timer',
        '/etc/systemd/system/openvpn-server@invis-vpn.service.d/invis.conf',
      ]),
    );
    const key = report.files.find((f) => f.path === '/etc/openvpn/server/invis/invis.invis-net.loc.key');
    expect(key).toMatchObject({ secret: true, diff: '' });
    expect((await stat(join(root, 'var/lib/invis/pki'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(root, 'etc/openvpn/server/invis/invis.invis-net.loc.key'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(root, 'etc/openvpn/server/invis/crl.pem'))).mode & 0o777).toBe(0o644);
    const ccd = await ctx.fs.readFile('/etc/openvpn/server/invis-ccd/site-hamburg');
    expect(ccd).toContain('iroute 10.60.0.0 255.255.255.0\niroute 10.61.0.0 255.255.255.0\n');
    expect(ccd).toContain('push "route 10.50.0.0 255.255.255.0"\n');
    expect((await vpnPki(ctx).list()).map((c) => c.name)).toEqual(
      expect.arrayContaining(['invis.invis-net.loc', 'site-berlin', 'site-hamburg']),
    );

    const again = await openvpnModule.apply(ctx);
    expect(again.changed).toBe(false);
    expect((await openvpnModule.verify(ctx)).filter((c) => !c.ok)).toEqual([]);

    // Hamburg closes: its ccd entry goes, its certificate is revoked, the new CRL is deployed.
    const fewer = {
      ...ctx,
      answers: validateAnswers(
        { ...ANSWERS, openvpn: { ...ANSWERS.openvpn, sites: [ANSWERS.openvpn?.sites?.[0]] } },
        'en',
      ),
    };
    const crlBefore = await ctx.fs.readFile('/etc/openvpn/server/invis/crl.pem');
    expect((await openvpnModule.apply(fewer)).changed).toBe(true);
    expect(await ctx.fs.exists('/etc/openvpn/server/invis-ccd/site-hamburg')).toBe(false);
    expect(await ctx.fs.readFile('/etc/openvpn/server/invis/crl.pem')).not.toBe(crlBefore);
    const hamburg = (await vpnPki(ctx).list()).find(
      (c) => c.name === 'site-hamburg' || c.subject === '/CN=site-hamburg',
    );
    expect(hamburg?.status).toBe('revoked');
  }, 120_000);

  it('takes over an easy-rsa PKI once: its CA and clients stay, the server certificate comes from it', async () => {
    const root = dir();
    const easy = await createEasyRsaPki(join(root, 'etc/easy-rsa/invis-net.loc'), {
      algo: 'ec',
      caName: 'Old invis CA',
    });
    await easy.run(['build-client-full', 'otto', 'nopass']);
    const ctx = await moduleContext(root, {
      answers: { ...ANSWERS, openvpn: { ...ANSWERS.openvpn, importEasyRsa: '/etc/easy-rsa/invis-net.loc' } },
    });
    expect((await openvpnModule.apply(ctx)).changed).toBe(true);
    const pki = vpnPki(ctx);
    expect(await pki.caCertPem()).toBe(await ctx.fs.readFile('/etc/easy-rsa/invis-net.loc/ca.crt'));
    const names = (await pki.list()).map((c) => c.name);
    expect(names).toEqual(expect.arrayContaining(['otto', 'invis.invis-net.loc', 'site-berlin']));
    // Imported once: a second apply neither imports again nor changes anything.
    expect((await openvpnModule.apply(ctx)).changed).toBe(false);
  }, 120_000);

  it('refuses a config openvpn rejects and writes nothing', async () => {
    const root = dir();
    // A client-connect command with an unbalanced quote: openvpn's parser refuses the config.
    const ctx = await moduleContext(root, { answers: ANSWERS });
    const broken = {
      ...ctx,
      profile: { ...ctx.profile, openvpn: { ...ctx.profile.openvpn, connectCommand: ['/bin/true', 'x"'] } },
    };
    await expect(openvpnModule.apply(broken)).rejects.toMatchObject({ code: 'SETUP_CHECK_FAILED' });
    expect(await ctx.fs.exists('/etc/openvpn/server/invis-vpn.conf')).toBe(false);
  }, 120_000);

  it('vpn check: renews and deploys the CRL, mails expiring certificates, records the job', async () => {
    const root = dir();
    const ctx = await moduleContext(root, { answers: ANSWERS });
    await openvpnModule.apply(ctx);
    // A sendmail that keeps what it was given.
    await ctx.fs.mkdir('/usr/sbin', 0o755);
    await writeFile(
      join(root, 'usr/sbin/sendmail'),
      `#!/bin/sh\nprintf '%s\\n' "$*" > ${join(root, 'sendmail.args')}\ncat > ${join(root, 'sendmail.mail')}\n`,
      { mode: 0o755 },
    );
    const quiet = await runVpnCheck(ctx);
    expect(quiet).toMatchObject({ name: VPN_CHECK_JOB, result: 'ok', details: { due: 0, crlRenewed: false } });

    // 100 days on the CRL (180 days, renewed with fewer than 90 left) is due: renewed, deployed.
    const later = { ...ctx, clock: fixedClock('2026-04-12T00:00:00Z') };
    const crlBefore = await ctx.fs.readFile('/etc/openvpn/server/invis/crl.pem');
    expect(await runVpnCheck(later)).toMatchObject({ result: 'ok', details: { crlRenewed: true, crlDeployed: true } });
    expect(await ctx.fs.readFile('/etc/openvpn/server/invis/crl.pem')).not.toBe(crlBefore);
    expect(await ctx.fs.readFile('/etc/openvpn/server/invis/crl.pem')).toBe((await vpnPki(later).crl()).pem);

    // 10 days before the server certificate (825 days) ends: a warning mail to the admins.
    const server = (await vpnPki(ctx).list()).find((c) => c.name === 'invis.invis-net.loc');
    const soon = new Date((server?.notAfter.getTime() ?? 0) - 10 * 86_400_000);
    const warned = await runVpnCheck({ ...ctx, clock: fixedClock(soon) });
    expect(warned).toMatchObject({ result: 'warning', details: { mailed: true } });
    expect(warned.message).toContain('invis.invis-net.loc (10 days)');
    expect(await ctx.fs.readFile('/sendmail.args')).toBe('-oi -f root@invis.invis-net.loc -- chef@firma.de\n');
    const mail = await ctx.fs.readFile('/sendmail.mail');
    expect(mail).toContain('To: chef@firma.de\n');
    expect(mail).toContain('- invis.invis-net.loc (server): ends in 10 days');
    expect(await readJobState(ctx.fs, '/var/lib/invis/jobs', VPN_CHECK_JOB)).toMatchObject({
      result: 'warning',
      lastSuccessAt: expect.any(String),
    });
  }, 120_000);

  it('vpn connect refuses when the directory does not answer; a bundle is a client config openvpn parses', async () => {
    const root = dir();
    // LDAPS on a LAN address where nothing listens: the check must refuse, fast.
    const ctx = await moduleContext(root, {
      answers: { ...ANSWERS, lan: { address: '127.0.0.90/8' }, vpn: { network: '192.168.166.0/24' } },
    });
    await ctx.fs.mkdir('/etc/invis/openvpn', 0o750);
    await ctx.fs.writeFileAtomic('/etc/invis/openvpn/ldap-password', 'x', { mode: 0o640 });
    await ctx.fs.mkdir('/etc/invis/certs', 0o755);
    await ctx.fs.writeFileAtomic(
      '/etc/invis/certs/ca.crt',
      await (async () => {
        await openvpnModule.apply(ctx);
        return vpnPki(ctx).caCertPem();
      })(),
    );
    const started = Date.now();
    const decision = await runVpnConnect(ctx, { common_name: 'anna' });
    expect(decision.allow).toBe(false);
    expect(decision.reason).toMatch(/^refused "anna": the directory could not decide/);
    expect(Date.now() - started).toBeLessThan(10_000);
    expect((await runVpnConnect(ctx, {})).allow).toBe(false);

    const bundle = await vpnBundle(ctx, 'anna@laptop');
    expect(bundle).toContain('remote 203.0.113.10 57194 udp\n');
    expect(bundle).toContain('verify-x509-name invis.invis-net.loc name\n');
    expect(bundle).toContain('-----BEGIN OpenVPN tls-crypt-v2 client key-----');
    expect(await vpnBundle(ctx, 'site-berlin')).toContain('remote 203.0.113.10 57195 udp\n');
    await expect(vpnBundle(ctx, 'site-nowhere')).rejects.toMatchObject({ code: 'SETUP_USAGE' });
    const file = join(root, 'anna.ovpn');
    await writeFile(file, bundle, { mode: 0o600 });
    const parsed = await ctx.runner.run('openvpn', [
      '--config',
      file,
      '--verb',
      '0',
      '--genkey',
      'secret',
      '/dev/null',
    ]);
    expect(parsed.exitCode, parsed.output).toBe(0);
  }, 120_000);
});

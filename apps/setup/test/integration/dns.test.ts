// The `dns` module: named.conf accepted by the real named-checkconf (and a broken one refused),
// the DDNS key file readable by @invis/dns-zone; then against a real DC provisioned by samba_ad,
// BIND with Samba's DLZ module started from the rendered named.conf answers for the server's name,
// the mail host, the MX and the PTR, and a second apply changes nothing.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createDnsUpdateClient, parseTsigKeyFile } from '@invis/dns-zone';
import { createExecaRunner } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caModule } from '../../src/modules/ca';
import { checkNamedConf, DDNS_KEY_NAME, dnsModule, renderNamedConf } from '../../src/modules/dns';
import { sambaAdModule } from '../../src/modules/samba-ad';
import { netnsServices, startLan, type TestLan } from './dc';
import { moduleContext } from './module-context';

const runner = createExecaRunner();

async function dig(server: string, name: string, type: string): Promise<string[]> {
  const result = await runner.run('dig', ['+short', '+time=3', '+tries=2', `@${server}`, name, type]);
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout.split('\n').filter((l) => l !== '');
}

describe('dns module', () => {
  const dir = useTempDir('setup-dns-');

  it('staged: named-checkconf accepts named.conf, the key parses, a second apply changes nothing', async () => {
    const ctx = await moduleContext(dir(), { answers: { dns: { forwarders: ['9.9.9.9', '149.112.112.112'] } } });
    const report = await dnsModule.apply(ctx);
    expect(report.changed).toBe(true);
    const conf = await readFile(join(dir(), 'etc/bind/named.conf'), 'utf8');
    expect(conf).toBe(renderNamedConf(ctx));
    expect(conf).toContain('forwarders { 9.9.9.9; 149.112.112.112; };');
    expect(conf).toContain('acl "invis-clients" { localhost; 192.168.220.0/24; };');
    expect(await checkNamedConf(ctx, join(dir(), 'etc/bind/named.conf'))).toEqual({ ok: true });
    const keyFile = join(dir(), 'etc/bind/invis-ddns.key');
    expect((await stat(keyFile)).mode & 0o777).toBe(0o640);
    const key = parseTsigKeyFile(await readFile(keyFile, 'utf8'));
    expect(key).toMatchObject({ name: DDNS_KEY_NAME, algorithm: 'hmac-sha256' });
    expect(Buffer.from(key.secret, 'base64')).toHaveLength(24);
    expect((await dnsModule.verify(ctx)).filter((c) => !c.ok)).toEqual([]);
    const again = await dnsModule.plan(ctx);
    expect(again.files.map((f) => f.action)).toEqual(['unchanged', 'unchanged']);
    expect(again.directories).toEqual([]);
    expect((await dnsModule.apply(ctx)).changed).toBe(false);

    const broken = join(dir(), 'broken.conf');
    await writeFile(broken, conf.replace('recursion yes;', 'recursion perhaps;'));
    expect(await checkNamedConf(ctx, broken)).toEqual({ ok: false, message: expect.stringContaining('perhaps') });
  });

  describe('with a DC', () => {
    let lan: TestLan;
    beforeAll(async () => {
      lan = await startLan();
    });
    afterAll(async () => {
      await lan?.remove();
    });

    it('BIND with the DLZ module answers for the server, mail host, MX and PTR', { timeout: 400_000 }, async () => {
      const root = dir();
      const services = netnsServices(lan.netns, root);
      try {
        const ctx = await moduleContext(root, { answers: { lan: { address: lan.cidr } }, services, staging: false });
        await caModule.apply(ctx);
        await sambaAdModule.apply(ctx);
        const planned = await dnsModule.plan(ctx);
        expect(planned.commands.map((c) => c.args[0])).toEqual(
          expect.arrayContaining([
            `add MX invis-net.loc 10 mail.invis-net.loc`,
            `add A mail.invis-net.loc ${lan.address}`,
          ]),
        );
        expect((await dnsModule.apply(ctx)).changed).toBe(true);
        expect(await services.isActive('named')).toBe(true);

        // BIND loads the DLZ zones after start-up; wait for the first answer.
        const deadline = Date.now() + 30_000;
        let answer: string[] = [];
        while (Date.now() < deadline) {
          answer = await dig(lan.address, 'invis.invis-net.loc', 'A').catch(() => []);
          if (answer.length > 0) break;
          await new Promise((r) => setTimeout(r, 500));
        }
        const log = await readFile(join(root, 'named.log'), 'utf8').catch(() => '(no log)');
        expect(answer, log.slice(-3000)).toEqual([lan.address]);
        expect(await dig(lan.address, 'mail.invis-net.loc', 'A')).toEqual([lan.address]);
        expect(await dig(lan.address, 'invis-net.loc', 'MX')).toEqual(['10 mail.invis-net.loc.']);
        const ptr = lan.address.split('.').reverse().join('.');
        expect(await dig(lan.address, `${ptr}.in-addr.arpa`, 'PTR')).toEqual(['invis.invis-net.loc.']);

        // An HMAC-signed update of an AD zone: Samba's DLZ module accepts only GSS-TSIG (Kerberos).
        const key = parseTsigKeyFile(await readFile(join(root, 'etc/bind/invis-ddns.key'), 'utf8'));
        const client = createDnsUpdateClient({ server: lan.address, key });
        await expect(
          client.update({
            zone: 'invis-net.loc',
            updates: [{ op: 'add', record: { name: 'x.invis-net.loc', type: 'A', ttl: 60, address: '10.0.0.9' } }],
          }),
        ).rejects.toMatchObject({ code: 'DNS_UPDATE_REFUSED' });

        expect((await dnsModule.verify(ctx)).filter((c) => !c.ok)).toEqual([]);
        const again = await dnsModule.plan(ctx);
        expect([again.commands, again.services, again.files.map((f) => f.action)]).toEqual([
          [],
          [],
          ['unchanged', 'unchanged'],
        ]);
        expect((await dnsModule.apply(ctx)).changed).toBe(false);
      } finally {
        await services.stopAll();
      }
    });
  });
});

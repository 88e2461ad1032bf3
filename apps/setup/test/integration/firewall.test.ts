// The firewall module into a staging root with the real firewall-offline-cmd: plan shows the new
// tree, apply writes it (checked on a copy, then in place), a second apply changes nothing, and
// firewalld itself reads back the zones the answers describe.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createExecaRunner, formatPlan, runChecked } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { firewallModule } from '../../src/modules/firewall';
import { moduleContext } from './context';

describe('firewall module (firewall-offline-cmd)', () => {
  const dir = useTempDir('setup-firewall-');

  it('renders, checks and applies the invis layout into --root; firewalld reads it back', async () => {
    const root = dir();
    const ctx = await moduleContext(root);
    const plan = await firewallModule.plan(ctx);
    expect(plan.directories).toEqual(['/etc/firewalld']);
    expect(plan.files.map((f) => f.path)).toContain('/etc/firewalld/zones/internal.xml');
    expect(formatPlan(plan)).not.toContain(root);

    const report = await firewallModule.apply(ctx);
    expect(report.changed).toBe(true);
    expect(report.files.map((f) => f.path)).toContain('/etc/firewalld/zones/external.xml');
    expect((await firewallModule.apply(ctx)).changed).toBe(false);
    expect((await firewallModule.plan(ctx)).files).toEqual([]);
    expect(await firewallModule.verify(ctx)).toEqual([{ name: '/etc/firewalld', ok: true }]);

    const config = join(root, 'etc/firewalld');
    const info = async (...args: string[]) =>
      (
        await runChecked(createExecaRunner(), 'firewall-offline-cmd', ['--system-config', config, ...args])
      ).stdout.trim();
    expect(await info('--check-config')).toBe('');
    expect(await info('--get-default-zone')).toBe('external');
    const external = await info('--info-zone=external');
    expect(external).toMatch(/interfaces: extern$/m);
    expect(external).toMatch(/target: DROP/);
    expect(external).toMatch(/masquerade: yes/);
    expect(external).toMatch(/services: invis-openvpn invis-portal invis-ssh$/m);
    const internal = await info('--info-zone=internal');
    expect(internal).toMatch(/interfaces: intern vpn vpn-sub$/m);
    expect(internal).toMatch(/ dns /);
    expect(internal).toMatch(/ ldaps /);
    expect(await info('--info-service=invis-portal')).toMatch(/ports: 56443\/tcp/);
    expect(await info('--info-service=invis-openvpn')).toMatch(/ports: 57194\/udp 57195\/udp/);
    expect(await readFile(join(config, 'firewalld.conf'), 'utf8')).toMatch(/^DefaultZone=external$/m);
  });

  it('reports a file changed behind its back in verify', async () => {
    const root = dir();
    const ctx = await moduleContext(root);
    await firewallModule.apply(ctx);
    const file = join(root, 'etc/firewalld/services/invis-portal.xml');
    await writeFile(file, (await readFile(file, 'utf8')).replace('56443', '56444'));
    expect(await firewallModule.verify(ctx)).toEqual([
      { name: '/etc/firewalld', ok: false, problem: '1 file(s) differ from what setup renders (run plan)' },
    ]);
  });
});

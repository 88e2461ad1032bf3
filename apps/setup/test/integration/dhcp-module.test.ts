// The dhcp module into a staging root: the Kea config passes the real `kea-dhcp4 -t` (on a copy
// listening on `*`: the staging host lacks the server's interface), dhcpd's passes `dhcpd -t`,
// the sync's service and timer pass `systemd-analyze verify`; a broken unit is refused.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { dhcpModule, renderSyncUnits } from '../../src/modules/dhcp';
import { verifyUnit } from '../../src/systemd';
import { MODULE_ANSWERS, moduleContext } from './context';

describe('dhcp module (kea-dhcp4 -t, dhcpd -t, systemd-analyze verify)', () => {
  const dir = useTempDir('setup-dhcp-module-');

  it('renders Kea with the original pool and the server as router/DNS/NTP, idempotently', async () => {
    const root = dir();
    const ctx = await moduleContext(root);
    const report = await dhcpModule.apply(ctx);
    expect(report.files.map((f) => f.path)).toEqual([
      '/etc/kea/kea-dhcp4.conf',
      '/etc/systemd/system/invis-dhcp-sync.service',
      '/etc/systemd/system/invis-dhcp-sync.timer',
    ]);
    const kea = JSON.parse((await readFile(join(root, 'etc/kea/kea-dhcp4.conf'), 'utf8')).replace(/^\s*\/\/.*$/gm, ''));
    expect(kea.Dhcp4['interfaces-config'].interfaces).toEqual(['intern']);
    expect(kea.Dhcp4.subnet4[0]).toMatchObject({
      subnet: '192.168.220.0/24',
      pools: [{ pool: '192.168.220.200 - 192.168.220.220' }],
    });
    expect(JSON.stringify(kea.Dhcp4['option-data'])).toContain('"name":"domain-name-servers","data":"192.168.220.10"');
    expect(kea.Dhcp4['control-socket']['socket-name']).toBe('/run/kea/kea4-ctrl-socket');
    const service = await readFile(join(root, 'etc/systemd/system/invis-dhcp-sync.service'), 'utf8');
    expect(service).toContain('ExecStart=/usr/bin/invis-setup sync dhcp\n');
    expect(service).toContain('NoNewPrivileges=yes\n');
    expect((await dhcpModule.apply(ctx)).changed).toBe(false);
    expect((await dhcpModule.verify(ctx)).every((c) => c.ok)).toBe(true);
  });

  it('renders ISC dhcpd instead when answered, checked with dhcpd -t', async () => {
    const root = dir();
    const ctx = await moduleContext(root, { answers: { ...MODULE_ANSWERS, dhcp: { server: 'dhcpd' } } });
    await dhcpModule.apply(ctx);
    const conf = await readFile(join(root, 'etc/dhcp/dhcpd.conf'), 'utf8');
    expect(conf).toMatch(/subnet 192\.168\.220\.0 netmask 255\.255\.255\.0/);
    expect(conf).toMatch(/range 192\.168\.220\.200 192\.168\.220\.220;/);
  });

  it('refuses a unit that systemd-analyze only warns about', async () => {
    const root = dir();
    const ctx = await moduleContext(root);
    const { timer, service } = renderSyncUnits(ctx.profile, ctx.answers);
    const { writeFile, mkdir } = await import('node:fs/promises');
    await mkdir(join(root, 'check'));
    const file = join(root, 'check/invis-dhcp-sync.timer');
    await writeFile(file, timer.replace('OnUnitActiveSec=1min', 'OnUnitActiveSec=every minute'));
    const verdict = await verifyUnit(
      ctx,
      file,
      [{ name: 'invis-dhcp-sync.service', content: service }],
      ['/usr/bin/invis-setup'],
    );
    expect(verdict).toEqual({ ok: false, message: expect.stringContaining('every minute') });
  });
});

// The offline driver against the real firewall-offline-cmd (no daemon): validation in an isolated
// --system-config copy, typed errors from its exit codes, import + diff, and /etc/firewalld untouched.
import { createHash } from 'node:crypto';
import { copyFile, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir, withTempDir } from '@invis/test-utils';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFirewalld, type FirewallConfig, invisFirewallLayout } from '../../src/index';

const ports = { ssh: 52022, portal: 53443, openvpn: 54194 };
let dir: string;
let etcBefore: string;

async function checksum(root: string): Promise<string> {
  const hash = createHash('sha256');
  for (const entry of (await readdir(root, { recursive: true, withFileTypes: true })).sort((a, b) =>
    join(a.parentPath, a.name).localeCompare(join(b.parentPath, b.name)),
  )) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    hash.update(path).update(await readFile(path));
  }
  return hash.digest('hex');
}

// The config dir one level down, so that its `.invis-backup` sibling lies in the temp folder too.
const root = useTempDir('invis-fw-offline-', { shared: true });
beforeAll(async () => {
  etcBefore = await checksum('/etc/firewalld');
  dir = join(root(), 'firewalld');
  await mkdir(dir);
  await copyFile('/etc/firewalld/firewalld.conf', join(dir, 'firewalld.conf'));
});
afterAll(async () => {
  // The host's own firewalld configuration is never touched.
  expect(await checksum('/etc/firewalld')).toBe(etcBefore);
});

const info = async (args: string[]): Promise<string> =>
  (await execa('firewall-offline-cmd', ['--system-config', dir, ...args])).stdout;

describe('offline driver with firewall-offline-cmd', () => {
  it('applies the invis layout; firewalld reads it back as intended; a second apply is a no-op', async () => {
    const fw = createFirewalld({ driver: 'offline', configDir: dir });
    const report = await fw.apply(invisFirewallLayout({ ports, interfaces: { wlan: ['wlan0'] } }));
    expect(report.changed).toBe(true);
    expect(report.backup?.startsWith(`${dir}.invis-backup/`)).toBe(true);
    expect(await info(['--get-default-zone'])).toBe('external');
    expect(await info(['--get-log-denied'])).toBe('all');
    const external = await info(['--info-zone=external']);
    expect(external).toMatch(/target: DROP/);
    expect(external).toMatch(/services: http invis-openvpn invis-portal invis-ssh/);
    expect(external).toMatch(/masquerade: yes/);
    expect(await info(['--info-service=invis-portal'])).toMatch(/ports: 53443\/tcp/);
    expect(await info(['--policy=allowZoneForward', '--get-target'])).toBe('ACCEPT');
    expect((await fw.apply(invisFirewallLayout({ ports, interfaces: { wlan: ['wlan0'] } }))).changed).toBe(false);
  });

  it.each<[string, (c: FirewallConfig) => void, string]>([
    ['unknown service', (c) => c.zones[0]?.services.push('does-not-exist'), 'FW_INVALID_SERVICE'],
    ['unknown icmp type', (c) => c.zones[0]?.icmpBlocks.push('no-such-icmp'), 'FW_INVALID_ICMPTYPE'],
    ['unknown protocol', (c) => c.zones[0]?.protocols.push('tcpx'), 'FW_INVALID_PROTOCOL'],
    ['unknown service in a policy', (c) => c.policies[0]?.services.push('nope'), 'FW_INVALID_SERVICE'],
  ])('rejects an invalid layout (%s) with a typed error and keeps the files', async (_, breakIt, code) => {
    const fw = createFirewalld({ driver: 'offline', configDir: dir });
    const before = await fw.read();
    const broken = invisFirewallLayout({ ports: { ...ports, portal: 53444 } });
    breakIt(broken);
    await expect(fw.apply(broken)).rejects.toMatchObject({ code });
    expect(await fw.read()).toEqual(before);
  });

  it('reports a firewalld program that is not installed as FW_COMMAND_FAILED (cause HOST_COMMAND_NOT_FOUND)', async () => {
    const fw = createFirewalld({
      driver: 'offline',
      configDir: dir,
      programs: { offlineCmd: 'invis-no-such-firewall-offline-cmd' },
    });
    const before = await fw.read();
    const error = await fw.apply(invisFirewallLayout({ ports: { ...ports, portal: 53445 } })).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'FW_COMMAND_FAILED',
      details: { command: 'invis-no-such-firewall-offline-cmd' },
      cause: { code: 'HOST_COMMAND_NOT_FOUND' },
    });
    expect(await fw.read()).toEqual(before);
  });

  it('imports a hand-written /etc/firewalld and shows the diff to the invis layout', async () => {
    await withTempDir('invis-fw-legacy-', async (legacy) => {
      await mkdir(join(legacy, 'zones'));
      await mkdir(join(legacy, 'services'));
      await copyFile('/etc/firewalld/firewalld.conf', join(legacy, 'firewalld.conf'));
      // As the original's templates + sed left it: https open to the WAN, no generator marker.
      await writeFile(
        join(legacy, 'zones/external.xml'),
        `<?xml version="1.0" encoding="utf-8"?>
<zone target="DROP">
  <short>External</short>
  <interface name="extern"/>
  <service name="invis-ssh"/>
  <service name="https"/>
  <masquerade/>
  <icmp-block-inversion/>
</zone>
`,
      );
      await writeFile(
        join(legacy, 'services/invis-ssh.xml'),
        '<?xml version="1.0" encoding="utf-8"?>\n<service><short>SSH</short><port protocol="tcp" port="52022"/></service>\n',
      );
      await execa('firewall-offline-cmd', ['--system-config', legacy, '--check-config']);
      const fw = createFirewalld({ driver: 'offline', configDir: legacy });
      const imported = await fw.read();
      expect(imported.zones[0]).toMatchObject({ name: 'external', target: 'DROP', services: ['invis-ssh', 'https'] });
      const { files } = await fw.plan(invisFirewallLayout({ ports }));
      const external = files.find((c) => c.path === join(legacy, 'zones/external.xml'));
      expect(external?.action).toBe('update');
      expect(external?.diff).toContain('-  <service name="https"/>');
      expect(files.filter((c) => c.action === 'create').map((c) => c.path)).toContain(
        join(legacy, 'zones/internal.xml'),
      );
    });
  });
});

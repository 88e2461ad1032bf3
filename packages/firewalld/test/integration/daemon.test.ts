// The daemon driver against a real firewalld running in a router namespace on a private dbus,
// proven with real TCP traffic between WAN/LAN namespaces (see @invis/testbed startFirewalld).

import { join } from 'node:path';
import {
  type EchoServer,
  type FirewalldServer,
  type PortProbe,
  probePorts,
  startEchoServer,
  startFirewalld,
} from '@invis/testbed';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFirewalld, type FirewallConfig, type Firewalld, invisFirewallLayout } from '../../src/index';

const ports = { ssh: 52022, portal: 53443, openvpn: 54194 };
let fw: FirewalldServer;
let client: Firewalld;
const echoes: EchoServer[] = [];

function layout(): FirewallConfig {
  return invisFirewallLayout({
    ports,
    interfaces: { external: 'extern', internal: ['intern'], vpn: [], dmz: 'dmz' },
    portForwards: [{ port: 8080, protocol: 'tcp', toAddr: '10.232.0.2', toPort: 80 }],
  });
}

type Side = 'wan' | 'lan' | 'dmz';

function netnsOf(side: Side): string {
  const host = fw.info[side];
  if (!host) throw new Error(`testbed started without ${side}`);
  return host.netns;
}

/** `port → state` (plus `@peer` when open) for compact assertions; `udp:<port>` for UDP. */
async function reach(from: Side, address: string, list: (number | `udp:${number}`)[]): Promise<Record<string, string>> {
  const targets = list.map((p) =>
    typeof p === 'number' ? { address, port: p } : { address, port: Number(p.slice(4)), protocol: 'udp' as const },
  );
  const results: PortProbe[] = await probePorts(netnsOf(from), targets);
  return Object.fromEntries(
    results.map((r) => [r.protocol === 'udp' ? `udp:${r.port}` : r.port, r.peer ? `${r.state}@${r.peer}` : r.state]),
  );
}

async function pings(from: Side, address: string): Promise<boolean> {
  const r = await execa('ip', ['netns', 'exec', netnsOf(from), 'ping', '-c1', '-W1', address], { reject: false });
  return r.exitCode === 0;
}

const firewallCmd = async (args: string[]): Promise<string> =>
  (await execa('firewall-cmd', args, { env: fw.info.env })).stdout;

beforeAll(async () => {
  fw = await startFirewalld({ dmz: true });
  const { router, lan, wan } = fw.info;
  // Services on the router itself, the LAN web server behind the forward, an "Internet" server.
  echoes.push(
    await startEchoServer(router.netns, {
      tcp: [22, 80, 389, 445, ports.ssh, ports.portal],
      udp: [53, ports.openvpn, ports.openvpn + 1],
    }),
  );
  echoes.push(await startEchoServer(lan.netns, { tcp: [80] }));
  echoes.push(await startEchoServer(netnsOf('dmz'), { tcp: [80] }));
  echoes.push(await startEchoServer(wan.netns, { tcp: [8888] }));
  client = createFirewalld({ driver: 'daemon', configDir: fw.info.configDir, env: fw.info.env });
});

afterAll(async () => {
  for (const e of echoes) await e.stop();
  await fw?.stop();
});

describe('daemon driver: firewall-cmd --reload on a firewalld in a netns', () => {
  it('applies the invis layout once; WAN reaches only the random ports, LAN reaches everything', async () => {
    expect(await client.isRunning()).toBe(true);
    const report = await client.apply(layout());
    expect(report.changed).toBe(true);
    expect(await firewallCmd(['--get-default-zone'])).toBe('external');
    expect(await firewallCmd(['--get-zone-of-interface=intern'])).toBe('internal');
    const wanAddr = fw.info.router.wanAddress;
    const vpn = `udp:${ports.openvpn}` as const;
    const vpnSub = `udp:${ports.openvpn + 1}` as const;
    expect(await reach('wan', wanAddr, [ports.portal, ports.ssh, vpn, vpnSub, 22, 389, 445, 'udp:53'])).toEqual({
      [ports.portal]: 'open@10.231.0.2',
      [ports.ssh]: 'open@10.231.0.2',
      [vpn]: 'open@10.231.0.2',
      [vpnSub]: 'open@10.231.0.2',
      22: 'timeout',
      389: 'timeout',
      445: 'timeout',
      'udp:53': 'timeout',
    });
    expect(await reach('lan', fw.info.router.lanAddress, [22, 389, 445, ports.portal, 'udp:53'])).toEqual({
      22: 'open@10.232.0.2',
      389: 'open@10.232.0.2',
      445: 'open@10.232.0.2',
      [ports.portal]: 'open@10.232.0.2',
      'udp:53': 'open@10.232.0.2',
    });
    // icmp-block-inversion without icmp-blocks: the WAN cannot even ping the router.
    expect(await pings('wan', wanAddr)).toBe(false);
    expect(await pings('lan', fw.info.router.lanAddress)).toBe(true);
  });

  it('masquerades LAN clients towards the WAN', async () => {
    // The WAN host has no route to 10.232.0.0/24: only masquerade makes this work.
    expect(await reach('lan', fw.info.wan.address, [8888])).toEqual({ 8888: `open@${fw.info.router.wanAddress}` });
  });

  it('lets the DMZ out to the WAN (masqueraded) but not into the LAN; the LAN reaches the DMZ', async () => {
    const dmz = fw.info.dmz?.address ?? '';
    expect(await reach('dmz', fw.info.wan.address, [8888])).toEqual({ 8888: `open@${fw.info.router.wanAddress}` });
    expect(await reach('dmz', fw.info.lan.address, [80])).toEqual({ 80: 'unreachable' });
    expect(await reach('lan', dmz, [80])).toEqual({ 80: `open@${fw.info.lan.address}` });
  });

  it('forwards a WAN port to a LAN host (DNAT keeps the client address)', async () => {
    expect(await reach('wan', fw.info.router.wanAddress, [8080])).toEqual({ 8080: `open@${fw.info.wan.address}` });
  });

  it('closes the port after the library removes a service', async () => {
    const next = layout();
    const external = next.zones.find((z) => z.name === 'external');
    if (!external) throw new Error('no external zone');
    external.services = external.services.filter((s) => s !== 'invis-portal');
    const report = await client.apply(next);
    expect(report.files.map((c) => c.path)).toEqual([join(fw.info.configDir, 'zones/external.xml')]);
    expect(await reach('wan', fw.info.router.wanAddress, [ports.portal, ports.ssh])).toEqual({
      [ports.portal]: 'timeout',
      [ports.ssh]: 'open@10.231.0.2',
    });
    // still open on the LAN side
    expect(await reach('lan', fw.info.router.lanAddress, [ports.portal])).toEqual({
      [ports.portal]: 'open@10.232.0.2',
    });
    await client.apply(layout());
  });

  it('never lets a broken zone reach the daemon; the old rules stay in force', async () => {
    const before = await client.read();
    const broken = layout();
    const external = broken.zones.find((z) => z.name === 'external');
    external?.services.splice(0, external.services.length, 'does-not-exist');
    await expect(client.apply(broken)).rejects.toMatchObject({ code: 'FW_INVALID_SERVICE' });
    expect(await client.read()).toEqual(before);
    expect(await firewallCmd(['--zone=external', '--list-services'])).toBe('http invis-openvpn invis-portal invis-ssh');
    expect(await reach('wan', fw.info.router.wanAddress, [ports.portal, 22])).toEqual({
      [ports.portal]: 'open@10.231.0.2',
      22: 'timeout',
    });
  });

  it('rolls back when the safety probe fails (the admin would lock himself out)', async () => {
    const next = layout();
    const external = next.zones.find((z) => z.name === 'external');
    if (!external) throw new Error('no external zone');
    external.services = external.services.filter((s) => s !== 'invis-ssh');
    const sshStillOpen = async (): Promise<boolean> =>
      (await reach('wan', fw.info.router.wanAddress, [ports.ssh]))[ports.ssh]?.startsWith('open') ?? false;
    await expect(client.apply(next, { safetyProbe: sshStillOpen })).rejects.toMatchObject({
      code: 'FW_SAFETY_PROBE_FAILED',
    });
    expect(await sshStillOpen()).toBe(true);
    expect(await client.plan(layout())).toEqual({ files: [], services: [], commands: [] });
  });

  it('rolls back when the reload fails on something only the daemon checks', async () => {
    // firewall-offline-cmd --check-config accepts an unknown conntrack helper; the reload does not.
    const next = layout();
    next.services.find((s) => s.name === 'invis-portal')?.helpers.push('no-such-helper');
    await expect(client.apply(next)).rejects.toMatchObject({ code: 'FW_RELOAD_FAILED' });
    expect(await client.plan(layout())).toEqual({ files: [], services: [], commands: [] });
    expect(await firewallCmd(['--state'])).toBe('running');
    expect(await reach('wan', fw.info.router.wanAddress, [ports.portal])).toEqual({
      [ports.portal]: 'open@10.231.0.2',
    });
  });
});

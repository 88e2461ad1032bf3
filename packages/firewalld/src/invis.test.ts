import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { FirewalldError } from './errors';
import { checkRandomPorts, chooseRandomPorts, findExposures, invisFirewallLayout, RANDOM_PORT_RANGE } from './invis';
import { renderZoneXml } from './xml';

const ports = { ssh: 52022, portal: 53443, openvpn: 54194 };

/** Small seeded PRNG so fast-check can shrink the seed, not a stream of doubles. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('invisFirewallLayout', () => {
  it('builds the original zones from the setup answers', () => {
    const c = invisFirewallLayout({ ports, interfaces: { wlan: ['wlan0'] } });
    expect(c.defaultZone).toBe('external');
    expect(c.logDenied).toBe('all');
    const external = c.zones.find((z) => z.name === 'external');
    expect(external).toMatchObject({
      target: 'DROP',
      interfaces: ['extern'],
      services: ['invis-ssh', 'invis-portal', 'invis-openvpn', 'http'],
      icmpBlockInversion: true,
      icmpBlocks: [],
      masquerade: true,
    });
    const internal = c.zones.find((z) => z.name === 'internal');
    expect(internal?.interfaces).toEqual(['intern', 'vpn', 'vpn-sub', 'wlan0']);
    expect(internal?.forward).toBe(true);
    expect(internal?.services).toContain('samba-ad-dc');
    expect(c.services.find((s) => s.name === 'invis-openvpn')?.ports).toEqual([
      { port: 54194, protocol: 'udp' },
      { port: 54195, protocol: 'udp' },
    ]);
    expect(c.policies).toEqual([
      expect.objectContaining({
        name: 'allowZoneForward',
        target: 'ACCEPT',
        ingressZones: ['internal'],
        egressZones: ['external'],
      }),
    ]);
  });

  it('adds a DMZ zone with its policies and port forwards to internal hosts', () => {
    const c = invisFirewallLayout({
      ports,
      interfaces: { dmz: 'dmz' },
      letsEncrypt: false,
      portForwards: [{ port: 8080, protocol: 'tcp', toAddr: '192.168.220.20', toPort: 80 }],
    });
    expect(c.zones.map((z) => z.name)).toEqual(['external', 'internal', 'dmz']);
    expect(c.policies.map((p) => p.name)).toEqual(['allowZoneForward', 'dmzToExternal', 'internalToDmz']);
    const external = c.zones[0];
    expect(external?.services).not.toContain('http');
    expect(renderZoneXml(external as never)).toContain(
      '<forward-port port="8080" protocol="tcp" to-port="80" to-addr="192.168.220.20"/>',
    );
  });

  it('refuses to open 443 to the WAN while the internal-certificate vhost is on 443', () => {
    const attempt = (): unknown => invisFirewallLayout({ ports, activeSync: true });
    expect(attempt).toThrow(expect.objectContaining({ code: 'FW_INTERNAL_VHOST_EXPOSED' }));
    const c = invisFirewallLayout({ ports, activeSync: true, internalVhostPort: 8443 });
    expect(c.zones[0]?.services).toContain('https');
  });

  it('reports colliding random ports as FW_PORT_COLLISION with every issue', () => {
    try {
      invisFirewallLayout({
        ports: { ssh: 53443, portal: 53443, openvpn: 49999 },
        sambaRpcPorts: { from: 49152, to: 65535 },
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FirewalldError);
      const err = e as FirewalldError;
      expect(err.code).toBe('FW_PORT_COLLISION');
      expect(err.toJSON().details?.issues).toEqual([
        "ports.ssh 53443/tcp: inside Samba's RPC range 49152-65535",
        'ports.portal 53443/tcp: same port as ports.ssh',
        "ports.portal 53443/tcp: inside Samba's RPC range 49152-65535",
      ]);
    }
  });
});

describe('checkRandomPorts', () => {
  it.each([
    [{ ssh: 22, portal: 53443, openvpn: 54194 }, 'ports.ssh', 'outside 1024–65535'],
    [{ ssh: 3000, portal: 53443, openvpn: 54194 }, 'ports.ssh', 'fixed invis tcp port'],
    [{ ssh: 52022, portal: 443, openvpn: 54194 }, 'ports.portal', 'outside 1024–65535'],
    [
      { ssh: 52022, portal: 53443, openvpn: 54194, openvpnSub: 54194 },
      'ports.openvpnSub',
      'same port as ports.openvpn',
    ],
    [{ ssh: 52022, portal: 8443, openvpn: 54194 }, 'ports.portal', 'port of the internal-certificate vhost'],
  ])('%o: %s %s', (p, field, reason) => {
    expect(checkRandomPorts({ ports: p, internalVhostPort: 8443 })).toContainEqual(
      expect.objectContaining({ field, reason }),
    );
  });

  it('sees ports that are already in use', () => {
    expect(checkRandomPorts({ ports, inUse: [{ port: 53443, protocol: 'tcp' }] })).toEqual([
      { field: 'ports.portal', port: 53443, protocol: 'tcp', reason: 'a program already listens on it' },
    ]);
    // the same number on UDP is no collision for a TCP port
    expect(checkRandomPorts({ ports, inUse: [{ port: 53443, protocol: 'udp' }] })).toEqual([]);
  });

  it('chooseRandomPorts always returns a collision-free set in the original range', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.array(
          fc.record({ port: fc.integer({ min: 50001, max: 65535 }), protocol: fc.constantFrom('tcp', 'udp' as const) }),
          {
            maxLength: 20,
          },
        ),
        (seed, inUse) => {
          const p = chooseRandomPorts(mulberry32(seed), { inUse });
          expect(checkRandomPorts({ ports: p, inUse })).toEqual([]);
          for (const n of Object.values(p)) {
            expect(n).toBeGreaterThanOrEqual(RANDOM_PORT_RANGE.from);
            expect(n).toBeLessThanOrEqual(RANDOM_PORT_RANGE.to);
          }
        },
      ),
    );
  });

  it('chooseRandomPorts gives up with FW_PORT_COLLISION when nothing is free', () => {
    expect(() => chooseRandomPorts(() => 0, { inUse: [{ port: 50001, protocol: 'tcp' }] })).toThrow(
      expect.objectContaining({ code: 'FW_PORT_COLLISION' }),
    );
  });
});

describe('findExposures', () => {
  it('finds a port through services, ports, local forward-ports and target ACCEPT', () => {
    const c = invisFirewallLayout({ ports, internalVhostPort: 8443, activeSync: true });
    const zone = c.zones[0];
    if (!zone) throw new Error('no zone');
    zone.ports.push({ port: 8000, to: 9000, protocol: 'tcp' });
    zone.forwardPorts.push({ port: 4443, protocol: 'tcp', toPort: 8443 });
    const q = [
      { port: 443, protocol: 'tcp' as const },
      { port: 8443, protocol: 'tcp' as const },
    ];
    expect(findExposures(c, 'external', q).map((e) => `${e.port}:${e.via}`)).toEqual([
      '443:service https',
      '8443:port 8000/tcp',
      '8443:forward-port 4443 → :8443',
    ]);
    zone.target = 'ACCEPT';
    expect(findExposures(c, 'external', [{ port: 1, protocol: 'udp' }])).toEqual([
      { zone: 'external', port: 1, protocol: 'udp', via: 'target ACCEPT' },
    ]);
    expect(findExposures(c, 'nope', q)).toEqual([]);
  });
});

import { AdEntry } from '@invis/ad-client';
import { describe, expect, it } from 'vitest';
import { createDhcpDirectory, type DhcpDirectoryAd } from './directory';

// Pure mapping tests on an in-memory directory; the real Samba AD is in test/integration.
const BASE = 'DC=invis,DC=test';
const SERVICE = `CN=DHCP Config,CN=DHCP-Server,CN=invis-Server,${BASE}`;

function memoryAd(entries: AdEntry[]): DhcpDirectoryAd {
  return {
    baseDN: async () => BASE,
    get: async (dn) => entries.find((e) => e.dn.toLowerCase() === dn.toLowerCase()),
    // The fake ignores the filter: the one subtree search brings the service object and all below it.
    search: async () => entries,
    add: async () => {},
    modify: async () => {},
    delete: async () => {},
  };
}

const entry = (dn: string, attributes: Record<string, string[]>): AdEntry => new AdEntry(dn, attributes);

describe('createDhcpDirectory.read', () => {
  it('reads pools below subnets, subnet options and names the source DN in warnings', async () => {
    const ad = memoryAd([
      entry(SERVICE, { objectClass: ['top', 'iscDhcpService'], iscDhcpStatements: ['default-lease-time 3600'] }),
      entry(`CN=10.1.0.0,${SERVICE}`, {
        cn: ['10.1.0.0'],
        objectClass: ['top', 'iscDhcpSubnet'],
        iscDhcpNetMask: ['16'],
        iscDhcpOption: ['routers 10.1.0.1', 'time-offset 3600'],
        iscDhcpStatements: ['max-lease-time 7200'],
      }),
      entry(`CN=pool1,CN=10.1.0.0,${SERVICE}`, {
        cn: ['pool1'],
        objectClass: ['top', 'iscDhcpPool'],
        iscDhcpRange: ['10.1.200.1 10.1.200.254'],
        iscDhcpPermitList: ['allow unknown-clients'],
      }),
      entry(`CN=PC7,${SERVICE}`, {
        cn: ['PC7'],
        objectClass: ['top', 'iscDhcpHost'],
        iscDhcpHWAddress: ['ethernet 02:00:00:00:00:07'],
        iscDhcpStatements: ['fixed-address 10.1.4.7'],
        iscDhcpComments: ['line one\nline two'],
      }),
    ]);
    const { config, warnings, hostDNs } = await createDhcpDirectory({ ad, serviceDN: SERVICE }).read();
    expect(config.validLifetime).toBe(3600);
    expect(config.subnets).toEqual([
      {
        id: 1,
        cidr: '10.1.0.0/16',
        pools: [{ start: '10.1.200.1', end: '10.1.200.254' }],
        options: { routers: ['10.1.0.1'] },
        maxLifetime: 7200,
      },
    ]);
    expect(config.reservations).toEqual([
      { mac: '02:00:00:00:00:07', ip: '10.1.4.7', hostname: 'pc7', comment: 'line one line two' },
    ]);
    expect(hostDNs).toEqual({ pc7: `CN=PC7,${SERVICE}` });
    expect(warnings).toEqual([
      `CN=10.1.0.0,${SERVICE}: option time-offset not imported`,
      `CN=pool1,CN=10.1.0.0,${SERVICE}: pool statement "allow unknown-clients" not imported`,
    ]);
  });

  it('reads DDNS zone and TSIG key objects; DDNS without them is reported', async () => {
    const service = entry(SERVICE, {
      objectClass: ['top', 'iscDhcpService'],
      iscDhcpStatements: ['ddns-update-style interim', 'ignore client-updates'],
    });
    const key = entry(`CN=dhcp-key,${SERVICE}`, {
      objectClass: ['top', 'iscDhcpTSigKey'],
      iscDhcpKeyAlgorithm: ['hmac-sha256'],
      iscDhcpKeySecret: ['c2VjcmV0LXNlY3JldA=='],
    });
    const zone = entry(`CN=invis-net.loc.,${SERVICE}`, {
      objectClass: ['top', 'iscDhcpDnsZone'],
      iscDhcpDnsZoneServer: ['192.168.220.10'],
      iscDhcpKeyDN: [`CN=dhcp-key,${SERVICE}`],
    });
    const withZone = await createDhcpDirectory({ ad: memoryAd([service, key, zone]), serviceDN: SERVICE }).read();
    expect(withZone.config.ddns).toEqual({
      enabled: true,
      ignoreClientUpdates: true,
      zones: [
        {
          name: 'invis-net.loc',
          primary: '192.168.220.10',
          key: { name: 'dhcp-key', algorithm: 'hmac-sha256', secret: 'c2VjcmV0LXNlY3JldA==' },
        },
      ],
    });
    expect(withZone.warnings).toEqual([]);
    const without = await createDhcpDirectory({ ad: memoryAd([service]), serviceDN: SERVICE }).read();
    expect(without.config.ddns).toEqual({ enabled: true, ignoreClientUpdates: true, zones: [] });
    expect(without.warnings).toEqual([
      `${SERVICE}: "ddns-update-style interim" without a DNS zone and TSIG key object: no update can be sent; Kea renders with DDNS off`,
    ]);
  });

  it('moves the service-wide subnet-mask and broadcast-address to the subnet they describe', async () => {
    const ad = memoryAd([
      entry(SERVICE, {
        objectClass: ['top', 'iscDhcpService'],
        iscDhcpOption: ['subnet-mask 255.255.255.0', 'broadcast-address 10.1.0.255', 'smtp-server 10.1.0.1'],
      }),
      entry(`CN=10.1.0.0,${SERVICE}`, { cn: ['10.1.0.0'], objectClass: ['iscDhcpSubnet'], iscDhcpNetMask: ['24'] }),
      entry(`CN=10.2.0.0,${SERVICE}`, { cn: ['10.2.0.0'], objectClass: ['iscDhcpSubnet'], iscDhcpNetMask: ['24'] }),
    ]);
    const { config } = await createDhcpDirectory({ ad, serviceDN: SERVICE }).read();
    expect(config.options).toEqual({ smtpServers: ['10.1.0.1'] });
    expect(config.subnets.map((s) => [s.cidr, s.options])).toEqual([
      ['10.1.0.0/24', { subnetMask: '255.255.255.0', broadcastAddress: '10.1.0.255' }],
      ['10.2.0.0/24', {}],
    ]);
  });

  it('names the object whose data is broken', async () => {
    const ad = memoryAd([
      entry(SERVICE, { objectClass: ['iscDhcpService'] }),
      entry(`CN=bad,${SERVICE}`, {
        cn: ['bad'],
        objectClass: ['iscDhcpHost'],
        iscDhcpHWAddress: ['ethernet 02:00:00:00:00:07'],
        iscDhcpStatements: ['fixed-address "10.1.4.7'],
      }),
    ]);
    await expect(createDhcpDirectory({ ad, serviceDN: SERVICE }).read()).rejects.toMatchObject({
      code: 'DHCP_PARSE_ERROR',
      message: expect.stringContaining(`CN=bad,${SERVICE}: dhcpd.conf line`),
    });
  });
});

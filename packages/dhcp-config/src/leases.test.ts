import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DhcpConfigError } from './errors';
import { type Lease, parseDhcpdLeases, parseKeaLeases, reservationFromLease } from './leases';
import { normalizeDhcpConfig } from './model';

const DHCPD = `# The format of this file is documented in the dhcpd.leases(5) manual page.
# This lease file was written by isc-dhcp-4.4.3-P1

# authoring-byte-order entry is generated, DO NOT DELETE
authoring-byte-order little-endian;

server-duid "\\000\\001\\000\\001-\\2311\\317\\242\\344\\337\\010\\244\\323";

lease 192.168.220.201 {
  starts 6 2026/11/28 18:00:00;
  ends 6 2026/11/28 18:10:00;
  cltt 6 2026/11/28 18:00:00;
  binding state active;
  next binding state free;
  rewind binding state free;
  hardware ethernet 02:00:00:00:00:43;
  uid "\\001\\002\\000\\000\\000\\000C";
  client-hostname "Laptop of \\"Anna\\"";
}
lease 192.168.220.200 {
  starts epoch 1795888800; # Sat Nov 28 18:00:00 2026
  ends never;
  binding state active;
  hardware ethernet 02:00:00:00:00:44;
}
failover peer "x" state {
  my state normal at 6 2026/11/28 18:00:00;
}
lease 192.168.220.201 {
  starts 6 2026/11/28 18:05:00;
  ends 6 2026/11/28 18:05:00;
  binding state free;
  hardware ethernet 02:00:00:00:00:43;
}
lease 192.168.220.202 {
  starts 6 2026/11/28 17:00:00;
  ends 6 2026/11/28 17:10:00;
  binding state active;
  hardware ethernet 02:00:00:00:00:45;
  client-hostname "scanner.invis.test";
}
`;

const KEA = `address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context
192.168.220.200,02:00:00:00:00:43,01:02:00:00:00:00:43,600,1795889400,1,0,0,pc&#x2c one,0,
192.168.220.201,02:00:00:00:00:44,,600,1795889400,1,0,0,,0,
192.168.220.202,02:00:00:00:00:45,,600,1795885800,1,0,0,,0,
192.168.220.203,02:00:00:00:00:46,,600,1795889400,1,0,0,,1,
192.168.220.201,02:00:00:00:00:44,,0,1795889400,1,0,0,,0,
address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context
192.168.220.204,,,600,1795889400,1,0,0,,2,
`;

const now = new Date('2026-11-28T18:06:00Z');

describe('parseDhcpdLeases', () => {
  it('keeps the last block per address, skips other blocks, decodes strings and dates', () => {
    expect(parseDhcpdLeases(DHCPD, { now })).toEqual([
      { ip: '192.168.220.200', mac: '02:00:00:00:00:44', starts: new Date('2026-11-28T18:00:00Z'), state: 'active' },
      {
        ip: '192.168.220.201',
        mac: '02:00:00:00:00:43',
        starts: new Date('2026-11-28T18:05:00Z'),
        ends: new Date('2026-11-28T18:05:00Z'),
        state: 'free',
      },
      {
        ip: '192.168.220.202',
        mac: '02:00:00:00:00:45',
        hostname: 'scanner.invis.test',
        starts: new Date('2026-11-28T17:00:00Z'),
        ends: new Date('2026-11-28T17:10:00Z'),
        state: 'expired',
      },
    ]);
    const first = parseDhcpdLeases(DHCPD.split('failover')[0] as string)[1] as Lease;
    expect(first.hostname).toBe('Laptop of "Anna"');
    expect(first.clientId).toBe('01:02:00:00:00:00:43');
  });

  it('skips on expiry / on commit / on release blocks inside a lease, nested or on one line', () => {
    const text = `lease 10.0.0.5 {
  binding state active;
  on expiry {
    if exists agent.circuit-id {
      log (info, "a } b");
    } else {
      log (info, "c");
    }
  }
  on commit or release { log (info, "{"); }
  hardware ethernet 02:00:00:00:00:05;
}
`;
    expect(parseDhcpdLeases(text)).toEqual([{ ip: '10.0.0.5', mac: '02:00:00:00:00:05', state: 'active' }]);
    expect(() => parseDhcpdLeases('lease 10.0.0.5 {\n  on expiry {\n    log (info, "x");\n')).toThrow(
      /lease 10.0.0.5 not closed/,
    );
    expect(() => parseDhcpdLeases('lease 10.0.0.5 {\n  on expiry;\n}\n')).toThrow(/line 2: malformed event block/);
    expect(() => parseDhcpdLeases('lease 10.0.0.5 {\n  on expiry {\n  } }\n}\n')).toThrow(/line 3: unbalanced/);
  });

  it('reports broken structure with the line', () => {
    expect(() => parseDhcpdLeases('lease 1.2.3.4 {\n  binding state active;\n')).toThrow(
      expect.objectContaining({ code: 'DHCP_LEASE_PARSE_ERROR' }),
    );
    expect(() => parseDhcpdLeases('lease 1.2.3.999 {\n}\n')).toThrow(/line 1: "1.2.3.999" is not an IPv4/);
    expect(() => parseDhcpdLeases('lease 1.2.3.4 {\n  starts 6 yesterday;\n}\n')).toThrow(/line 2: bad date/);
  });
});

describe('parseKeaLeases', () => {
  it('takes the last row per address, drops deletions, maps states and expiry', () => {
    const leases = parseKeaLeases(KEA, { now });
    expect(leases.map((l) => [l.ip, l.state, l.mac, l.hostname])).toEqual([
      ['192.168.220.200', 'active', '02:00:00:00:00:43', 'pc, one'],
      ['192.168.220.202', 'expired', '02:00:00:00:00:45', undefined],
      ['192.168.220.203', 'declined', '02:00:00:00:00:46', undefined],
      ['192.168.220.204', 'expired', undefined, undefined],
    ]);
    expect(leases[0]).toMatchObject({
      clientId: '01:02:00:00:00:00:43',
      subnetId: 1,
      starts: new Date(1795888800 * 1000),
      ends: new Date(1795889400 * 1000),
    });
  });

  it('needs a header and well-formed rows', () => {
    expect(() => parseKeaLeases('1.2.3.4,02:00:00:00:00:01,,600,1,1\n')).toThrow(/line 1: no header/);
    expect(() => parseKeaLeases('address,hwaddr,valid_lifetime,expire\n1.2.3.4,x,abc,1\n')).toThrow(/line 2: bad row/);
  });
});

describe('lease parsers on junk', () => {
  it('return a list or throw DhcpConfigError, never crash', () => {
    const lines = fc.constantFrom(
      'lease 10.0.0.1 {',
      '}',
      'binding state active;',
      'starts 6 2026/11/28 18:00:00;',
      'hardware ethernet 02:00:00:00:00:01;',
      'client-hostname "a\\"b";',
      'host x {',
      'on expiry {',
      'on release { log (info, "}"); }',
      '} else {',
      'address,hwaddr,client_id,valid_lifetime,expire',
      '10.0.0.1,02:00:00:00:00:01,,0,5',
      '10.0.0.2,,,600,5,1,0,0,&#x2c,9,',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(fc.oneof(lines, fc.string()), { maxLength: 20 }).map((l) => l.join('\n')),
        ),
        (junk) => {
          for (const parse of [parseDhcpdLeases, parseKeaLeases]) {
            try {
              expect(Array.isArray(parse(junk))).toBe(true);
            } catch (e) {
              expect(e).toBeInstanceOf(DhcpConfigError);
            }
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('reservationFromLease', () => {
  const config = normalizeDhcpConfig({
    subnets: [{ cidr: '192.168.220.0/24', pools: [{ start: '192.168.220.200', end: '192.168.220.220' }] }],
    reservations: [{ mac: '02:00:00:00:01:20', ip: '192.168.220.120', hostname: 'pc1' }],
  });
  const lease: Lease = {
    ip: '192.168.220.205',
    mac: '02:00:00:00:00:99',
    hostname: 'Anna Laptop.fritz.box',
    state: 'active',
  };

  it('moves a pool address into the device range and derives the hostname', () => {
    const { reservation, config: next } = reservationFromLease(config, lease);
    expect(reservation).toEqual({ mac: '02:00:00:00:00:99', ip: '192.168.220.121', hostname: 'anna-laptop' });
    expect(next.reservations).toHaveLength(2);
    expect(
      reservationFromLease(config, lease, { deviceType: 'printer', hostname: 'laser', comment: 'Flur' }).reservation,
    ).toEqual({
      mac: '02:00:00:00:00:99',
      ip: '192.168.220.20',
      hostname: 'laser',
      comment: 'Flur',
    });
  });

  it('keeps a free address outside the pools, names MAC-only clients by MAC', () => {
    const { reservation } = reservationFromLease(config, {
      ip: '192.168.220.99',
      mac: '02:00:00:00:00:98',
      state: 'active',
    });
    expect(reservation).toEqual({ mac: '02:00:00:00:00:98', ip: '192.168.220.99', hostname: 'mac-020000000098' });
  });

  it('refuses leases without MAC and MACs already reserved', () => {
    expect(() => reservationFromLease(config, { ip: '192.168.220.201', state: 'active' })).toThrow(
      expect.objectContaining({ code: 'DHCP_INVALID_CONFIG' }),
    );
    expect(() => reservationFromLease(config, { ...lease, mac: '02:00:00:00:01:20' })).toThrow(
      expect.objectContaining({ code: 'DHCP_CONFLICT' }),
    );
  });
});

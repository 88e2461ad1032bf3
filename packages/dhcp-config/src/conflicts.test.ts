import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { findConflicts, validateDhcpConfig } from './conflicts';
import { DhcpConfigError } from './errors';
import { type DhcpConfigInput, normalizeDhcpConfig } from './model';
import { arbConfig } from './testing/arbitraries';

const base = (extra: Partial<DhcpConfigInput> = {}): DhcpConfigInput => ({
  subnets: [{ cidr: '192.168.220.0/24', pools: [{ start: '192.168.220.200', end: '192.168.220.220' }] }],
  ...extra,
});
const kinds = (input: DhcpConfigInput): string[] => findConflicts(normalizeDhcpConfig(input)).map((i) => i.kind);
const host = (ip: string, mac: string, hostname: string) => ({ ip, mac, hostname });

describe('normalizeDhcpConfig', () => {
  it('fills defaults, assigns subnet ids and sorts reservations by address', () => {
    const config = normalizeDhcpConfig({
      subnets: [{ cidr: '10.0.1.0/24', id: 1 }, { cidr: '10.0.2.0/24' }],
      reservations: [host('10.0.1.30', 'AA-BB-CC-DD-EE-01', 'B'), host('10.0.1.4', 'aabb.ccdd.ee02', 'a')],
    });
    expect(config.subnets.map((s) => s.id)).toEqual([1, 2]);
    expect(config.validLifetime).toBe(86_400);
    expect(config.maxLifetime).toBe(604_800);
    expect(config.authoritative).toBe(true);
    expect(config.reservations).toEqual([
      host('10.0.1.4', 'aa:bb:cc:dd:ee:02', 'a'),
      host('10.0.1.30', 'aa:bb:cc:dd:ee:01', 'b'),
    ]);
  });

  it('reports every malformed field with a kind and a path', () => {
    try {
      normalizeDhcpConfig({
        subnets: [{ cidr: '10.0.0.1/24' }],
        reservations: [host('10.0.0.300', '00:00:00:00:00:00', '-bad-')],
      });
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(DhcpConfigError);
      const err = e as DhcpConfigError;
      expect(err.code).toBe('DHCP_INVALID_CONFIG');
      expect(err.issues.map((i) => [i.kind, i.path])).toEqual([
        ['INVALID_CIDR', 'subnets[0].cidr'],
        ['INVALID_MAC', 'reservations[0].mac'],
        ['INVALID_ADDRESS', 'reservations[0].ip'],
        ['INVALID_HOSTNAME', 'reservations[0].hostname'],
      ]);
      expect(JSON.stringify(err)).toContain('"code":"DHCP_INVALID_CONFIG"');
      expect(JSON.stringify(err)).not.toContain('stack');
    }
  });

  it('rejects unknown keys instead of dropping them', () => {
    expect(() => normalizeDhcpConfig({ ...base(), leaseTime: 5 } as DhcpConfigInput)).toThrow(/leaseTime|Unrecognized/);
  });

  it('resolves reservation rows in one loop exactly as the zod schema does', () => {
    // Rows with a null prototype are left to the full zod schema; plain rows take the one-loop
    // resolver when they are valid. Both must give the same model, or the same issues. Each row is
    // valid or has exactly one field broken, removed or added.
    const valid = fc.record({
      mac: fc.constantFrom('02:00:00:00:00:01', 'AA-BB-CC-DD-EE-02', 'aabb.ccdd.ee03', 'AABBCCDDEE04'),
      ip: fc.constantFrom('10.0.0.5', '10.0.0.6', '192.168.220.20'),
      hostname: fc.constantFrom('pc1', 'PC2', 'a-b'),
      comment: fc.constantFrom('(absent)', undefined, '  Flur 1 ', '', 'Büro "links"', 'x'.repeat(1024)),
    });
    const broken = fc.option(
      fc.constantFrom<[string, unknown]>(
        ['mac', '00:00:00:00:00:00'],
        ['mac', 5],
        ['ip', '10.0.0.05'],
        ['ip', '10.0.0.256'],
        ['ip', undefined],
        ['hostname', '-x'],
        ['hostname', 'a'.repeat(64)],
        ['comment', 'a\nb'],
        ['comment', 'x'.repeat(1025)],
        ['comment', 3],
        ['extra', 1],
      ),
      { nil: undefined },
    );
    const row = fc.tuple(valid, broken).map(([{ comment, ...r }, change]) => ({
      ...r,
      ...(comment === '(absent)' ? {} : { comment }),
      ...(change ? { [change[0]]: change[1] } : {}),
    }));
    const outcome = (rows: unknown[]): unknown => {
      try {
        return normalizeDhcpConfig({ reservations: rows as DhcpConfigInput['reservations'] });
      } catch (e) {
        return (e as DhcpConfigError).issues;
      }
    };
    fc.assert(
      fc.property(fc.array(row, { maxLength: 3 }), (rows) => {
        expect(outcome(rows)).toStrictEqual(outcome(rows.map((r) => Object.assign(Object.create(null), r))));
      }),
      { numRuns: 500 },
    );
  });

  it('never crashes on junk: a typed error or a model', () => {
    fc.assert(
      fc.property(fc.anything(), (junk) => {
        try {
          normalizeDhcpConfig(junk as DhcpConfigInput);
        } catch (e) {
          expect(e).toBeInstanceOf(DhcpConfigError);
        }
      }),
    );
  });
});

describe('findConflicts', () => {
  it('accepts a clean invis layout', () => {
    expect(
      kinds(
        base({
          options: { routers: ['192.168.220.10'] },
          reservations: [
            host('192.168.220.20', '02:00:00:00:00:01', 'printer1'),
            host('192.168.220.120', '02:00:00:00:00:02', 'pc1'),
          ],
        }),
      ),
    ).toEqual([]);
  });

  it('finds a reservation outside every subnet, on the network address and in the pool', () => {
    expect(
      kinds(
        base({
          reservations: [
            host('192.168.221.5', '02:00:00:00:00:01', 'a'),
            host('192.168.220.0', '02:00:00:00:00:02', 'b'),
            host('192.168.220.255', '02:00:00:00:00:03', 'c'),
            host('192.168.220.210', '02:00:00:00:00:04', 'd'),
          ],
        }),
      ),
    ).toEqual([
      'RESERVATION_OUTSIDE_SUBNET',
      'RESERVATION_IN_POOL',
      'RESERVATION_OUTSIDE_SUBNET',
      'RESERVATION_OUTSIDE_SUBNET',
    ]);
  });

  it('finds duplicate IPs, MACs and hostnames and names the first reservation for every repeat', () => {
    const config = normalizeDhcpConfig(
      base({
        reservations: [
          host('192.168.220.22', '02:00:00:00:00:01', 'x'),
          host('192.168.220.20', '02:00:00:00:00:03', 'c'),
          host('192.168.220.20', '02:00:00:00:00:01', 'a'),
          { ...host('192.168.220.21', '02-00-00-00-00-01', 'A'), comment: 'same MAC and name as a, other notation' },
          host('192.168.220.20', '02:00:00:00:00:02', 'b'),
        ],
      }),
    );
    // A caller's own, unsorted list is checked the same way.
    expect(findConflicts({ ...config, reservations: [...config.reservations].reverse() }).map((i) => i.path)).toEqual([
      'reservations[1].mac',
      'reservations[3].ip',
      'reservations[4].ip',
      'reservations[4].mac',
      'reservations[4].hostname',
    ]);
    expect(findConflicts(config).map((i) => [i.kind, i.path, i.message])).toEqual([
      ['DUPLICATE_IP', 'reservations[1].ip', '192.168.220.20 is reserved for both a and b'],
      ['DUPLICATE_IP', 'reservations[2].ip', '192.168.220.20 is reserved for both a and c'],
      ['DUPLICATE_MAC', 'reservations[3].mac', '02:00:00:00:00:01 is used by both a and a'],
      [
        'DUPLICATE_HOSTNAME',
        'reservations[3].hostname',
        'hostname a is used twice (192.168.220.20 and 192.168.220.21)',
      ],
      ['DUPLICATE_MAC', 'reservations[4].mac', '02:00:00:00:00:01 is used by both a and x'],
    ]);
  });

  it('finds overlapping subnets, duplicate ids, bad pools, stray routers and lifetimes', () => {
    expect(
      kinds({
        validLifetime: 1000,
        maxLifetime: 10,
        subnets: [
          { cidr: '10.0.0.0/16', id: 7, options: { routers: ['10.1.0.1'] } },
          {
            cidr: '10.0.5.0/24',
            id: 7,
            pools: [
              { start: '10.0.5.50', end: '10.0.5.10' },
              { start: '10.0.5.100', end: '10.0.6.10' },
              { start: '10.0.5.90', end: '10.0.5.120' },
            ],
          },
        ],
      }).sort(),
    ).toEqual([
      'DUPLICATE_SUBNET_ID',
      'INVALID_LIFETIME',
      'INVALID_LIFETIME',
      'INVALID_LIFETIME',
      'INVALID_POOL',
      'OVERLAPPING_SUBNETS',
      'POOL_OUTSIDE_SUBNET',
      'POOL_OVERLAP',
      'ROUTER_OUTSIDE_SUBNET',
    ]);
  });

  it('validateDhcpConfig throws DHCP_CONFLICT listing all issues', () => {
    const run = () =>
      validateDhcpConfig(
        base({
          reservations: [
            host('192.168.220.200', '02:00:00:00:00:01', 'a'),
            host('192.168.220.200', '02:00:00:00:00:02', 'b'),
          ],
        }),
      );
    expect(run).toThrow(DhcpConfigError);
    expect(run).toThrow(/reservations\[0\]\.ip: a: 192.168.220.200 lies in the dynamic pool .* \(and 2 more\)/);
  });

  it('validateDhcpConfig names reservations by the index the caller gave them, not by sorted position', () => {
    // A form highlights rows by path: row 0 here is the pool address, row 2 the repeated MAC.
    try {
      validateDhcpConfig(
        base({
          reservations: [
            host('192.168.220.205', '02:00:00:00:00:01', 'in-pool'),
            host('192.168.220.30', '02:00:00:00:00:02', 'printer'),
            host('192.168.220.10', '02:00:00:00:00:02', 'server'),
          ],
        }),
      );
      expect.unreachable();
    } catch (e) {
      expect((e as DhcpConfigError).issues.map((i) => [i.kind, i.path, i.message])).toEqual([
        [
          'RESERVATION_IN_POOL',
          'reservations[0].ip',
          'in-pool: 192.168.220.205 lies in the dynamic pool of 192.168.220.0/24',
        ],
        ['DUPLICATE_MAC', 'reservations[2].mac', '02:00:00:00:00:02 is used by both printer and server'],
      ]);
      expect((e as DhcpConfigError).message).toMatch(/^reservations\[0\]\.ip: in-pool:/);
    }
  });

  it('random valid models have no conflicts', () => {
    fc.assert(
      fc.property(arbConfig, (input) => {
        expect(findConflicts(normalizeDhcpConfig(input))).toEqual([]);
      }),
    );
  });
});

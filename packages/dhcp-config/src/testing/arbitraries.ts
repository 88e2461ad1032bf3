// fast-check arbitraries shared by the unit tests: random valid, conflict-free models.
import { dnsLabel, dnsName } from '@invis/test-utils/arbitraries';
import fc from 'fast-check';
import type { DhcpConfigInput, DhcpOptions } from '../model';

const label = dnsLabel();
const domain = dnsName();
const ip = (a: number): fc.Arbitrary<string> =>
  fc.tuple(fc.integer({ min: 0, max: 255 }), fc.integer({ min: 1, max: 254 })).map(([c, d]) => `10.${a}.${c}.${d}`);

/** Random options with addresses in 10.a.x.y. */
export function arbOptions(a: number): fc.Arbitrary<DhcpOptions> {
  const ips = fc.array(ip(a), { minLength: 1, maxLength: 3 });
  return fc.record(
    {
      routers: ips,
      domainNameServers: ips,
      domainName: domain,
      domainSearch: fc.array(domain, { minLength: 1, maxLength: 3 }),
      ntpServers: ips,
      smtpServers: ips,
      netbiosNameServers: ips,
      netbiosNodeType: fc.constantFrom(1 as const, 2 as const, 4 as const, 8 as const),
    },
    { requiredKeys: [] },
  );
}

/** A random valid model: 1–3 /24 subnets in 10.a.b.0, pools in .200–.250, unique reservations. */
export const arbConfig: fc.Arbitrary<DhcpConfigInput> = fc
  .record({
    a: fc.integer({ min: 0, max: 255 }),
    nets: fc.uniqueArray(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 3 }),
    lifetimes: fc.tuple(fc.integer({ min: 60, max: 100_000 }), fc.integer({ min: 0, max: 100_000 })),
    authoritative: fc.boolean(),
    ddns: fc.record({
      enabled: fc.boolean(),
      qualifyingSuffix: fc.option(domain, { nil: undefined }),
      ignoreClientUpdates: fc.boolean(),
      zones: fc.uniqueArray(
        fc.record(
          {
            name: domain,
            primary: fc.constant('127.0.0.1'),
            key: fc.record({
              name: domain,
              algorithm: fc.constantFrom('hmac-md5' as const, 'hmac-sha256' as const),
              secret: fc.base64String({ minLength: 4, maxLength: 44 }).filter((x) => x.length > 0),
            }),
          },
          { requiredKeys: ['name', 'primary'] },
        ),
        { maxLength: 2, selector: (z) => z.name },
      ),
    }),
    interfaces: fc.uniqueArray(fc.stringMatching(/^[a-z][a-z0-9]{0,8}$/), { maxLength: 2 }),
    seed: fc.nat(),
  })
  .chain(({ a, nets, lifetimes, authoritative, ddns, interfaces }) =>
    fc
      .record({
        options: arbOptions(a),
        subnets: fc.tuple(
          ...nets.map((b) =>
            fc.record({
              cidr: fc.constant(`10.${a}.${b}.0/24`),
              pools: fc
                .uniqueArray(fc.integer({ min: 0, max: 4 }), { maxLength: 2 })
                .map((slots) =>
                  slots.map((s) => ({ start: `10.${a}.${b}.${200 + s * 10}`, end: `10.${a}.${b}.${205 + s * 10}` })),
                ),
              options: arbOptions(a).map((o) => ({
                ...o,
                routers: [`10.${a}.${b}.1`],
                subnetMask: '255.255.255.0',
                broadcastAddress: `10.${a}.${b}.255`,
              })),
              validLifetime: fc.option(fc.integer({ min: 60, max: 1000 }), { nil: undefined }),
            }),
          ),
        ),
        hosts: fc.uniqueArray(
          fc.record({
            net: fc.constantFrom(...nets),
            host: fc.integer({ min: 2, max: 199 }),
            mac: fc.nat({ max: 2 ** 40 - 2 }),
            name: label,
            comment: fc.option(
              fc.string({ maxLength: 20 }).map((s) => s.replace(/[\r\n]/g, ' ')),
              { nil: undefined },
            ),
          }),
          { maxLength: 12, selector: (h) => `${h.net}.${h.host}` },
        ),
      })
      .map(({ options, subnets, hosts }) => {
        const names = new Set<string>();
        const macs = new Set<number>();
        const reservations = hosts
          .filter((h) => {
            if (names.has(h.name) || macs.has(h.mac)) return false;
            names.add(h.name);
            macs.add(h.mac);
            return true;
          })
          .map((h) => ({
            mac: `02:${(h.mac + 1)
              .toString(16)
              .padStart(10, '0')
              .replace(/(..)(?!$)/g, '$1:')}`,
            ip: `10.${a}.${h.net}.${h.host}`,
            hostname: h.name,
            ...(h.comment === undefined ? {} : { comment: h.comment }),
          }));
        return {
          interfaces,
          authoritative,
          validLifetime: lifetimes[0],
          maxLifetime: lifetimes[0] + lifetimes[1],
          options,
          ddns: {
            enabled: ddns.enabled,
            ignoreClientUpdates: ddns.ignoreClientUpdates,
            ...(ddns.qualifyingSuffix === undefined ? {} : { qualifyingSuffix: ddns.qualifyingSuffix }),
            // one key per name: dhcpd declares a key once
            zones: ddns.zones.map((z) => (z.key ? { ...z, key: { ...z.key, name: `${z.name}-key` } } : z)),
          },
          subnets: subnets.map((s) => ({
            ...s,
            ...(s.validLifetime === undefined ? {} : { maxLifetime: 100_000 + s.validLifetime }),
          })),
          reservations,
        };
      }),
  );

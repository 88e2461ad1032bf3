// fast-check arbitraries for valid records and zones, shared by the property tests.
import { dnsLabel } from '@invis/test-utils/arbitraries';
import fc from 'fast-check';
import type { DnsRecord, DnsZone } from '../src/model';

/** A DNS label that is never one of the `c-*` CNAME owners of {@link zoneArb}. */
export const label: fc.Arbitrary<string> = dnsLabel({ maxLength: 20 }).filter((l) => !l.startsWith('c-'));
const ttl = fc.integer({ min: 0, max: 0x7fffffff });
const u16 = fc.integer({ min: 0, max: 0xffff });
const ipv6 = fc.ipV6().map((a) => a);
const text = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => Buffer.byteLength(s) <= 255);

/** A host name inside `origin` (never a CNAME owner) or an outside name. */
const target = (origin: string): fc.Arbitrary<string> =>
  fc.oneof(
    fc.array(label, { minLength: 1, maxLength: 3 }).map((ls) => `${ls.join('.')}.${origin}`),
    fc.constant(origin),
    fc.array(label, { minLength: 2, maxLength: 3 }).map((ls) => ls.join('.')),
  );

/** Any non-SOA, non-CNAME record owned by `name`. */
export const recordAt = (name: string, origin: string): fc.Arbitrary<DnsRecord> =>
  fc.oneof(
    fc.record({ name: fc.constant(name), ttl, type: fc.constant('A' as const), address: fc.ipV4() }),
    fc.record({ name: fc.constant(name), ttl, type: fc.constant('AAAA' as const), address: ipv6 }),
    fc.record({
      name: fc.constant(name),
      ttl,
      type: fc.constantFrom('PTR' as const, 'NS' as const),
      target: target(origin),
    }),
    fc.record({
      name: fc.constant(name),
      ttl,
      type: fc.constant('MX' as const),
      preference: u16,
      exchange: target(origin),
    }),
    fc.record({
      name: fc.constant(name),
      ttl,
      type: fc.constant('TXT' as const),
      text: fc.array(text, { minLength: 1, maxLength: 3 }),
    }),
    fc.record({
      name: fc.constant(name),
      ttl,
      type: fc.constant('SRV' as const),
      priority: u16,
      weight: u16,
      port: u16,
      target: target(origin),
    }),
    fc.record({
      name: fc.constant(name),
      ttl,
      type: fc.constant('CAA' as const),
      flags: fc.constantFrom(0, 128),
      tag: fc.constantFrom('issue', 'issuewild', 'iodef'),
      value: text,
    }),
  );

/** A valid zone: SOA + NS at the apex, random records, CNAMEs only on their own `c-*` names. */
export const zoneArb: fc.Arbitrary<DnsZone> = fc
  .tuple(fc.constantFrom('invis.test', 'example.org', '0.0.10.in-addr.arpa'), fc.integer({ min: 0, max: 0xffffffff }))
  .chain(([origin, serial]) =>
    fc.record({
      origin: fc.constant(origin),
      ttl,
      records: fc
        .tuple(
          fc.array(
            fc
              .oneof(
                fc.constant(origin),
                label.map((l) => `${l}.${origin}`),
              )
              .chain((n) => recordAt(n, origin)),
            { maxLength: 15 },
          ),
          fc.uniqueArray(label, { maxLength: 3 }).chain((ls) =>
            fc.tuple(
              ...ls.map((l) =>
                fc.record({
                  name: fc.constant(`c-${l}.${origin}`),
                  ttl,
                  type: fc.constant('CNAME' as const),
                  target: target(origin),
                }),
              ),
            ),
          ),
        )
        .map(([records, cnames]): DnsRecord[] => [
          {
            name: origin,
            ttl: 3600,
            type: 'SOA',
            mname: `ns1.${origin}`,
            rname: 'hostmaster.invis.test',
            serial,
            refresh: 3600,
            retry: 600,
            expire: 86400,
            minimum: 300,
          },
          { name: origin, ttl: 3600, type: 'NS', target: 'ns.example.net' }, // out of zone: BIND wants glue for in-zone NS
          ...records,
          ...cnames,
        ]),
    }),
  );

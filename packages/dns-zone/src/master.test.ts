import { generatedBy } from '@invis/host';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { zoneArb } from '../test/arbitraries';
import { DnsZoneError } from './errors';
import { parseZone, renderZone } from './master';
import { type DnsZone, normalizeRecord } from './model';

const normalized = (zone: DnsZone): DnsZone => ({ ...zone, records: zone.records.map((r) => normalizeRecord(r)) });

const SAMPLE = `; hand-written
$ORIGIN invis.test.
$TTL 1h
@   IN SOA ns1 hostmaster.invis.test. (
        2026112801 ; serial
        3600       ; refresh
        10m        ; retry
        1w         ; expire
        300 )      ; minimum
    IN NS ns1
    IN MX 10 mail
ns1 300 IN A 10.0.0.1
mail IN 300 A 10.0.0.2
www CNAME ns1.invis.test.
txt IN TXT "v=spf1 mx -all" "say \\"hi\\"; ok" unquoted
_ldap._tcp SRV 0 100 389 ns1
v6 AAAA 2001:DB8::1
@ CAA 0 issue "letsencrypt.org"
$ORIGIN sub.invis.test.
deep A 10.0.0.3
`;

describe('parseZone', () => {
  it('takes the first $TTL as the zone default; records keep the TTL in effect where they stand', () => {
    const zone = parseZone(`$ORIGIN invis.test.
$TTL 1h
@ IN SOA ns1 hostmaster 1 3600 600 604800 300
  IN NS ns1
ns1 IN A 10.0.0.1
$TTL 60
dyn IN A 10.0.0.9
`);
    expect(zone.ttl).toBe(3600);
    expect(zone.records.map((r) => [r.name, r.type, r.ttl])).toEqual([
      ['invis.test', 'SOA', 3600],
      ['invis.test', 'NS', 3600],
      ['ns1.invis.test', 'A', 3600],
      ['dyn.invis.test', 'A', 60],
    ]);
    // Rendered with the zone default on top and each record's own TTL, read back the same.
    expect(parseZone(renderZone(zone))).toEqual(zone);
  });

  it('reads directives, relative names, blank owners, units, quoting and parentheses', () => {
    const zone = parseZone(SAMPLE);
    expect(zone.origin).toBe('invis.test');
    expect(zone.ttl).toBe(3600);
    expect(zone.records[0]).toEqual({
      name: 'invis.test',
      ttl: 3600,
      type: 'SOA',
      mname: 'ns1.invis.test',
      rname: 'hostmaster.invis.test',
      serial: 2026112801,
      refresh: 3600,
      retry: 600,
      expire: 604800,
      minimum: 300,
    });
    expect(zone.records).toContainEqual({
      name: 'invis.test',
      ttl: 3600,
      type: 'MX',
      preference: 10,
      exchange: 'mail.invis.test',
    });
    expect(zone.records).toContainEqual({ name: 'mail.invis.test', ttl: 300, type: 'A', address: '10.0.0.2' });
    expect(zone.records).toContainEqual({
      name: 'txt.invis.test',
      ttl: 3600,
      type: 'TXT',
      text: ['v=spf1 mx -all', 'say "hi"; ok', 'unquoted'],
    });
    expect(zone.records).toContainEqual({ name: 'v6.invis.test', ttl: 3600, type: 'AAAA', address: '2001:db8::1' });
    expect(zone.records).toContainEqual({ name: 'deep.sub.invis.test', ttl: 3600, type: 'A', address: '10.0.0.3' });
    expect(zone.records).toContainEqual({
      name: '_ldap._tcp.invis.test',
      ttl: 3600,
      type: 'SRV',
      priority: 0,
      weight: 100,
      port: 389,
      target: 'ns1.invis.test',
    });
  });

  it.each([
    ['$ORIGIN invis.test.\n@ IN A 10.0.0.1 10.0.0.2\n', 'DNS_PARSE_ERROR', 2],
    ['$ORIGIN invis.test.\nx IN A 300.0.0.1\n', 'DNS_INVALID_RECORD', 2],
    ['$ORIGIN invis.test.\n\nx IN HINFO a b\n', 'DNS_PARSE_ERROR', 3],
    ['$ORIGIN invis.test.\nx IN TXT "open\n', 'DNS_PARSE_ERROR', 2],
    ['$ORIGIN invis.test.\nx IN A ( 10.0.0.1\n', 'DNS_PARSE_ERROR', 2],
    ['$INCLUDE other.zone\n', 'DNS_PARSE_ERROR', 1],
    [`$ORIGIN invis.test.\n${'a'.repeat(64)} A 10.0.0.1\n`, 'DNS_INVALID_NAME', 2],
    ['$ORIGIN invis.test.\nmüller A 10.0.0.1\n', 'DNS_NON_ASCII_NAME', 2],
    ['$ORIGIN invis.test.\nx 9999999999 A 10.0.0.1\n', 'DNS_PARSE_ERROR', 2],
    ['x A 10.0.0.1\n', 'DNS_PARSE_ERROR', 1],
  ])('rejects bad input %#', (text, code, line) => {
    const error = (() => {
      try {
        parseZone(text, { validate: false });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(DnsZoneError);
    expect((error as DnsZoneError).code).toBe(code);
    expect((error as DnsZoneError).details.line).toBe(line);
  });

  it('checks zone rules after parsing', () => {
    const base = '$ORIGIN invis.test.\n@ SOA ns1 hm 1 2 3 4 5\n@ NS ns1\n';
    expect(() => parseZone(`${base}www CNAME a\nwww A 10.0.0.1\n`)).toThrow(
      expect.objectContaining({ code: 'DNS_CNAME_CONFLICT' }),
    );
    expect(() => parseZone(`${base}@ MX 10 www\nwww CNAME a\n`)).toThrow(
      expect.objectContaining({ code: 'DNS_TARGET_IS_CNAME' }),
    );
    expect(() => parseZone('$ORIGIN invis.test.\nwww A 10.0.0.1\n')).toThrow(
      expect.objectContaining({ code: 'DNS_INVALID_ZONE' }),
    );
    expect(() => parseZone(`${base}x.other.test. A 10.0.0.1\n`)).toThrow(
      expect.objectContaining({ code: 'DNS_OUT_OF_ZONE' }),
    );
  });
});

describe('renderZone', () => {
  it('renders a marker, directives, SOA first and relative names', () => {
    const text = renderZone(parseZone(SAMPLE));
    expect(text.split('\n').slice(0, 4)).toEqual([
      '; generated by @invis/dns-zone — do not edit',
      '$ORIGIN invis.test.',
      '$TTL 3600',
      '@\t3600\tIN\tSOA\tns1 hostmaster (',
    ]);
    expect(text).toContain('www\t3600\tIN\tCNAME\tns1\n');
    expect(text).toContain('txt\t3600\tIN\tTXT\t"v=spf1 mx -all" "say \\"hi\\"; ok" "unquoted"\n');
    expect(text).toContain('deep.sub\t3600\tIN\tA\t10.0.0.3\n');
    expect(generatedBy(text)).toBe('@invis/dns-zone');
  });

  it('round-trips: render → parse → render is identical', () => {
    const once = renderZone(parseZone(SAMPLE));
    expect(renderZone(parseZone(once))).toBe(once);
  });

  it('property: random valid zones survive render → parse', () => {
    fc.assert(
      fc.property(zoneArb, (raw) => {
        const zone = normalized(raw);
        const text = renderZone(zone);
        expect(parseZone(text)).toEqual(zone);
        expect(renderZone(parseZone(text))).toBe(text);
      }),
      { numRuns: 300 },
    );
  });

  it('property: junk never crashes the parser, only DnsZoneError', () => {
    const junk = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 200 }),
      fc
        .array(
          fc.constantFrom(
            '$ORIGIN',
            '$TTL',
            'x',
            '@',
            'IN',
            'A',
            'TXT',
            'SOA',
            '"',
            '(',
            ')',
            ';',
            '\\',
            '\n',
            ' ',
            '1',
            '10.0.0.1',
            'a.b.',
          ),
          {
            maxLength: 40,
          },
        )
        .map((t) => t.join(' ')),
    );
    fc.assert(
      fc.property(junk, (text) => {
        try {
          parseZone(text, { origin: 'invis.test' });
        } catch (e) {
          expect(e).toBeInstanceOf(DnsZoneError);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

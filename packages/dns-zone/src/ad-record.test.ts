import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordAt } from '../test/arbitraries';
import { decodeAdDnsRecord, encodeAdDnsRecord } from './ad-record';
import { DnsZoneError } from './errors';
import { type DnsRecord, normalizeRecord } from './model';

describe('AD dnsRecord codec', () => {
  it('matches the value Samba wrote for A 10.0.0.5 (lab notes §2.1)', () => {
    const samba = Buffer.from('0400010005f000000200000000000384000000000000000' + '00a000005', 'hex');
    const record: DnsRecord = { name: 'h.invis.test', ttl: 900, type: 'A', address: '10.0.0.5' };
    expect(encodeAdDnsRecord(record, { serial: 2 })).toEqual(samba);
    expect(decodeAdDnsRecord(samba, 'h.invis.test')).toEqual({
      kind: 'record',
      record,
      serial: 2,
      rank: 0xf0,
      timestamp: 0,
    });
  });

  it('encodes names as DNS_COUNT_NAME', () => {
    const value = encodeAdDnsRecord(
      { name: 'x.invis.test', ttl: 900, type: 'CNAME', target: 'host1.invis.test' },
      { serial: 1 },
    );
    expect(value.subarray(24).toString('hex')).toBe(
      `1203${Buffer.from('\x05host1\x05invis\x04test\x00', 'latin1').toString('hex')}`,
    );
  });

  it('decodes tombstones', () => {
    const value = Buffer.alloc(32);
    value.writeUInt16LE(8, 0);
    value[4] = 5;
    value.writeBigUInt64LE(133_000_000_000_000_000n, 24);
    const decoded = decodeAdDnsRecord(value, 'gone.invis.test');
    expect(decoded.kind).toBe('tombstone');
  });

  it('property: every non-CAA record survives encode → decode', () => {
    const arb = recordAt('n.invis.test', 'invis.test').filter((r) => r.type !== 'CAA');
    fc.assert(
      fc.property(arb, fc.integer({ min: 0, max: 0xffffffff }), (raw, serial) => {
        const record = normalizeRecord(raw);
        const decoded = decodeAdDnsRecord(encodeAdDnsRecord(record, { serial }), record.name);
        expect(decoded).toEqual({ kind: 'record', record, serial, rank: 0xf0, timestamp: 0 });
      }),
      { numRuns: 500 },
    );
  });

  it('reports types it does not model as unsupported (kept by the backend)', () => {
    for (const type of [13, 252, 257]) {
      const value = Buffer.alloc(26);
      value.writeUInt16LE(2, 0);
      value.writeUInt16LE(type, 2);
      value[4] = 5;
      expect(decodeAdDnsRecord(value, 'x.invis.test')).toEqual({ kind: 'unsupported', type, serial: 0 });
    }
  });

  it('rejects CAA, which MS-DNSP cannot store', () => {
    expect(() =>
      encodeAdDnsRecord(
        { name: 'x.invis.test', ttl: 1, type: 'CAA', flags: 0, tag: 'issue', value: 'ca' },
        { serial: 1 },
      ),
    ).toThrow(expect.objectContaining({ code: 'DNS_UNSUPPORTED' }));
  });

  it('property: junk gives DNS_AD_RECORD_INVALID or a value, never a crash', () => {
    const junk = fc.oneof(
      fc.uint8Array({ maxLength: 80 }),
      // a plausible header with random data
      fc
        .tuple(fc.constantFrom(1, 2, 5, 6, 12, 15, 16, 28, 33, 0, 99), fc.uint8Array({ maxLength: 40 }))
        .map(([type, data]) => {
          const b = Buffer.alloc(24 + data.length);
          b.writeUInt16LE(data.length, 0);
          b.writeUInt16LE(type, 2);
          b[4] = 5;
          Buffer.from(data).copy(b, 24);
          return new Uint8Array(b);
        }),
    );
    fc.assert(
      fc.property(junk, (bytes) => {
        try {
          decodeAdDnsRecord(bytes, 'x.invis.test');
        } catch (e) {
          expect(e).toBeInstanceOf(DnsZoneError);
          expect((e as DnsZoneError).code).toBe('DNS_AD_RECORD_INVALID');
        }
      }),
      { numRuns: 2000 },
    );
  });
});

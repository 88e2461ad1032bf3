import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { recordAt } from '../test/arbitraries';
import { DnsZoneError } from './errors';
import { normalizeRecord } from './model';
import { signMessage, type TsigKey, verifyMessage } from './tsig';
import { decodeMessage, encodeUpdate, walkMessage } from './wire';

const key: TsigKey = { name: 'ddns-key', algorithm: 'hmac-sha256', secret: Buffer.alloc(32, 7).toString('base64') };
const NOW = 1_800_000_000_000;
const a = normalizeRecord({ name: 'gw.dyn.invis.test', ttl: 60, type: 'A', address: '192.0.2.7' });

describe('UPDATE encoding', () => {
  it('sets opcode 5, the zone section and RFC 2136 classes', () => {
    const msg = encodeUpdate({
      id: 0x1234,
      zone: 'dyn.invis.test',
      prerequisites: [{ kind: 'nameNotInUse', name: 'new.dyn.invis.test' }],
      updates: [
        { op: 'deleteRRset', name: 'gw.dyn.invis.test', type: 'A' },
        { op: 'deleteRecord', record: a },
        { op: 'add', record: a },
      ],
    });
    expect(msg.readUInt16BE(0)).toBe(0x1234);
    expect((msg.readUInt16BE(2) >> 11) & 0xf).toBe(5);
    expect([msg.readUInt16BE(4), msg.readUInt16BE(6), msg.readUInt16BE(8), msg.readUInt16BE(10)]).toEqual([1, 1, 3, 0]);
    const { rrOffsets } = walkMessage(msg);
    const classOf = (i: number): number => {
      const off = rrOffsets[i] as number;
      let p = off;
      while (msg[p] !== 0) p += (msg[p] as number) + 1;
      return msg.readUInt16BE(p + 3);
    };
    expect([classOf(0), classOf(1), classOf(2), classOf(3)]).toEqual([254, 255, 254, 1]);
  });

  it('property: records survive encode → decode (as value-dependent prerequisites)', () => {
    fc.assert(
      fc.property(recordAt('n.invis.test', 'invis.test'), (raw) => {
        const record = normalizeRecord({ ...raw, ttl: 0 });
        const msg = encodeUpdate({
          id: 1,
          zone: 'invis.test',
          prerequisites: [{ kind: 'recordExists', record }],
          updates: [],
        });
        expect(decodeMessage(msg).answers).toEqual([record]);
      }),
      { numRuns: 500 },
    );
  });

  it('property: junk never crashes the decoders', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 120 }), (bytes) => {
        const buf = Buffer.from(bytes);
        for (const fn of [() => decodeMessage(buf), () => verifyMessage(buf, key, NOW)]) {
          try {
            fn();
          } catch (e) {
            expect(e).toBeInstanceOf(DnsZoneError);
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('property: byte flips in a valid signed message give typed errors or a verified result, never a crash', () => {
    const records = [
      a,
      normalizeRecord({ name: 'm.dyn.invis.test', ttl: 1, type: 'MX', preference: 1, exchange: 'gw.dyn.invis.test' }),
      normalizeRecord({ name: 't.dyn.invis.test', ttl: 1, type: 'TXT', text: ['x', 'yz'] }),
    ];
    const { message } = signMessage(
      encodeUpdate({
        id: 7,
        zone: 'dyn.invis.test',
        prerequisites: records.map((record) => ({ kind: 'recordExists', record })),
        updates: [],
      }),
      key,
      NOW,
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(message.length - 1), fc.integer({ min: 1, max: 255 })), {
          minLength: 1,
          maxLength: 4,
        }),
        (flips) => {
          const copy = Buffer.from(message);
          // Two flips of one byte add up (and may cancel): what counts is the change per byte.
          const changed = new Map<number, number>();
          for (const [i, x] of flips) changed.set(i, (changed.get(i) ?? 0) ^ x);
          for (const [i, x] of changed) copy.writeUInt8((copy[i] as number) ^ x, i);
          for (const fn of [() => decodeMessage(copy), () => verifyMessage(copy, key, NOW)]) {
            try {
              fn();
            } catch (e) {
              expect(e).toBeInstanceOf(DnsZoneError);
            }
          }
          // A flip anywhere but the id never verifies (the id is restored from the TSIG); a case
          // flip (0x20) may hit the key or algorithm name, which TSIG compares case-insensitively.
          if ([...changed].some(([i, x]) => i > 1 && x !== 0 && x !== 0x20)) {
            expect(() => verifyMessage(copy, key, NOW)).toThrow(DnsZoneError);
          }
        },
      ),
      { numRuns: 5000 },
    );
  });

  it('property: truncations of a valid signed message give typed errors', () => {
    const { message } = signMessage(
      encodeUpdate({ id: 9, zone: 'dyn.invis.test', updates: [{ op: 'add', record: a }] }),
      key,
      NOW,
    );
    for (let n = 0; n < message.length; n++) {
      expect(() => verifyMessage(message.subarray(0, n), key, NOW)).toThrow(DnsZoneError);
    }
  });
});

describe('TSIG', () => {
  const unsigned = encodeUpdate({ id: 42, zone: 'dyn.invis.test', updates: [{ op: 'add', record: a }] });

  it('signs and verifies (hmac-sha256 and hmac-sha512)', () => {
    for (const k of [
      key,
      { ...key, algorithm: 'hmac-sha512' as const, secret: Buffer.alloc(64, 3).toString('base64') },
    ]) {
      const { message, mac } = signMessage(unsigned, k, NOW);
      expect(message.readUInt16BE(10)).toBe(1);
      expect(verifyMessage(message, k, NOW).mac).toEqual(mac);
    }
  });

  it('detects tampering, a wrong secret, a wrong key name and clock skew', () => {
    const { message } = signMessage(unsigned, key, NOW);
    const tampered = Buffer.from(message);
    tampered.writeUInt8((tampered.at(-80) as number) ^ 1, tampered.length - 80);
    expect(() => verifyMessage(tampered, key, NOW)).toThrow(DnsZoneError);
    expect(() => verifyMessage(message, { ...key, secret: Buffer.alloc(32, 8).toString('base64') }, NOW)).toThrow(
      expect.objectContaining({ code: 'DNS_TSIG_INVALID' }),
    );
    expect(() => verifyMessage(message, { ...key, name: 'other' }, NOW)).toThrow(
      expect.objectContaining({ code: 'DNS_TSIG_BADKEY' }),
    );
    expect(() => verifyMessage(message, key, NOW + 301_000)).toThrow(
      expect.objectContaining({ code: 'DNS_TSIG_BADTIME' }),
    );
    expect(() => verifyMessage(unsigned, key, NOW)).toThrow(expect.objectContaining({ code: 'DNS_TSIG_UNSIGNED' }));
  });

  it('chains the request MAC into the response MAC', () => {
    const request = signMessage(unsigned, key, NOW);
    const responseBody = Buffer.from(unsigned);
    responseBody.writeUInt16BE(0x8000 | (5 << 11), 2);
    const response = signMessage(responseBody, key, NOW, request.mac);
    expect(() => verifyMessage(response.message, key, NOW, request.mac)).not.toThrow();
    expect(() => verifyMessage(response.message, key, NOW, Buffer.alloc(32))).toThrow(
      expect.objectContaining({ code: 'DNS_TSIG_INVALID' }),
    );
  });
});

import fc from 'fast-check';
import IPCIDR from 'ip-cidr';
import { describe, expect, it } from 'vitest';
import { ipv4ToNumber, netmaskToPrefix, normalizeMac, numberToIpv4, parseIpv4Subnet, prefixToNetmask } from './address';

describe('ipv4', () => {
  it('round-trips every 32-bit number', () => {
    fc.assert(fc.property(fc.nat({ max: 0xffffffff }), (n) => ipv4ToNumber(numberToIpv4(n)) === n));
  });

  it('agrees with ip-cidr on what an IPv4 address is', () => {
    fc.assert(
      fc.property(fc.oneof(fc.ipV4(), fc.string({ maxLength: 16 }), fc.ipV4Extended()), (s) => {
        const ours = ipv4ToNumber(s) !== undefined;
        const theirs = /^[\d.]+$/.test(s) && IPCIDR.isValidAddress(s) && !/(^|\.)0\d/.test(s);
        expect(ours).toBe(theirs);
      }),
    );
  });

  it('rejects leading zeros, short and out-of-range forms', () => {
    for (const bad of ['010.0.0.1', '1.2.3', '1.2.3.256', '1.2.3.4.5', ' 1.2.3.4', '']) {
      expect(ipv4ToNumber(bad)).toBeUndefined();
    }
  });

  it('parses subnets with ip-cidr and rejects host bits', () => {
    expect(parseIpv4Subnet('192.168.220.0/24')).toEqual({
      cidr: '192.168.220.0/24',
      prefix: 24,
      first: ipv4ToNumber('192.168.220.0'),
      last: ipv4ToNumber('192.168.220.255'),
    });
    expect(parseIpv4Subnet('192.168.220.1/24')).toBeUndefined();
    expect(parseIpv4Subnet('192.168.220.0/33')).toBeUndefined();
    expect(parseIpv4Subnet('192.168.220.0')).toBeUndefined();
    expect(parseIpv4Subnet('::1/128')).toBeUndefined();
    expect(parseIpv4Subnet('0.0.0.0/0')?.last).toBe(0xffffffff);
  });

  it('converts prefixes and netmasks both ways', () => {
    for (let p = 0; p <= 32; p++) expect(netmaskToPrefix(prefixToNetmask(p))).toBe(p);
    expect(prefixToNetmask(24)).toBe('255.255.255.0');
    expect(netmaskToPrefix('255.0.255.0')).toBeUndefined();
  });
});

describe('normalizeMac', () => {
  it('accepts the common notations', () => {
    for (const s of ['02:00:00:AA:bb:42', '02-00-00-aa-bb-42', '0200.00aa.bb42', '020000aabb42']) {
      expect(normalizeMac(s)).toBe('02:00:00:aa:bb:42');
    }
  });

  it('rejects malformed, mixed, all-zero and broadcast MACs', () => {
    for (const s of [
      '02:00:00:aa:bb',
      '02:00:00:aa:bb:4g',
      '02:00-00:aa:bb:42',
      '00:00:00:00:00:00',
      'ff:ff:ff:ff:ff:ff',
      '2:0:0:a:b:4',
    ]) {
      expect(normalizeMac(s)).toBeUndefined();
    }
  });

  it('is idempotent on random MACs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 6, maxLength: 6 }), (bytes) => {
        const text = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join(':');
        const n = normalizeMac(text);
        if (n === undefined) return text === '00:00:00:00:00:00' || text === 'ff:ff:ff:ff:ff:ff';
        return n === text && normalizeMac(n) === n;
      }),
    );
  });
});

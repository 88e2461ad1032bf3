import { HostError } from '@invis/host';
import { describe, expect, it } from 'vitest';
import { DnsZoneError, isDnsZoneError } from './errors';
import { normalizeRecord } from './model';
import { normalizeName, toAsciiName } from './names';
import { ptrName, reverseZonesForCidr } from './reverse';

describe('names', () => {
  it('normalises case and the trailing dot', () => {
    expect(normalizeName('WWW.Invis.Test.')).toBe('www.invis.test');
    expect(normalizeName('*.invis.test')).toBe('*.invis.test');
    expect(normalizeName('_ldap._tcp.invis.test')).toBe('_ldap._tcp.invis.test');
  });
  it.each([
    ['a'.repeat(64), 'DNS_INVALID_NAME'],
    [`${'a'.repeat(60)}.`.repeat(5), 'DNS_INVALID_NAME'],
    ['a..b', 'DNS_INVALID_NAME'],
    ['-a.b', 'DNS_INVALID_NAME'],
    ['a.*.b', 'DNS_INVALID_NAME'],
    ['a b', 'DNS_INVALID_NAME'],
    ['müller.invis.test', 'DNS_NON_ASCII_NAME'],
  ])('rejects %s', (name, code) => {
    expect(() => normalizeName(name)).toThrow(expect.objectContaining({ code }));
  });
  it('converts Unicode names with IDNA', () => {
    expect(toAsciiName('Müller.invis.test')).toBe('xn--mller-kva.invis.test');
  });
});

describe('normalizeRecord', () => {
  it('fills the default TTL and canonicalises addresses', () => {
    expect(normalizeRecord({ name: 'V6.invis.test', type: 'AAAA', address: '2001:DB8:0::1' })).toEqual({
      name: 'v6.invis.test',
      ttl: 3600,
      type: 'AAAA',
      address: '2001:db8::1',
    });
  });
  it.each([
    [{ name: 'x.invis.test', type: 'A', address: '10.0.0.256' }, 'DNS_INVALID_RECORD'],
    [{ name: 'x.invis.test', type: 'A', address: '10.0.0.1', ttl: 2 ** 31 }, 'DNS_INVALID_RECORD'],
    [{ name: 'x.invis.test', type: 'MX', preference: 70000, exchange: 'mail.invis.test' }, 'DNS_INVALID_RECORD'],
    [{ name: 'x.invis.test', type: 'TXT', text: ['a'.repeat(256)] }, 'DNS_INVALID_RECORD'],
    [{ name: 'x.invis.test', type: 'CNAME', target: 'bad..name' }, 'DNS_INVALID_NAME'],
    [{ name: 'x.invis.test', type: 'HINFO' }, 'DNS_INVALID_RECORD'],
  ])('rejects %j', (input, code) => {
    const run = () => normalizeRecord(input as never);
    expect(run).toThrow(DnsZoneError);
    expect(run).toThrow(expect.objectContaining({ code }));
  });
  it('serialises errors without stacks: code, message, details', () => {
    let caught: unknown;
    try {
      normalizeName('a..b');
    } catch (e) {
      caught = e;
    }
    expect(isDnsZoneError(caught)).toBe(true);
    expect(JSON.parse(JSON.stringify(caught))).toEqual({
      code: 'DNS_INVALID_NAME',
      message: expect.any(String),
      details: { name: 'a..b' },
    });
  });
  it('nests an invis cause in the JSON and drops any other', () => {
    const cause = new HostError('HOST_COMMAND_NOT_FOUND', 'named-checkzone is not installed');
    expect(new DnsZoneError('DNS_CHECK_FAILED', 'x', { cause, details: { zone: 'a.test' } }).toJSON()).toEqual({
      code: 'DNS_CHECK_FAILED',
      message: 'x',
      details: { zone: 'a.test' },
      cause: { code: 'HOST_COMMAND_NOT_FOUND', message: 'named-checkzone is not installed' },
    });
    expect(new DnsZoneError('DNS_IO', 'y', { cause: new Error('EACCES /etc/secret') }).toJSON()).toEqual({
      code: 'DNS_IO',
      message: 'y',
    });
    expect(isDnsZoneError(cause)).toBe(false);
  });
});

describe('reverse zones', () => {
  it('maps addresses to PTR names', () => {
    expect(ptrName('10.0.0.5')).toBe('5.0.0.10.in-addr.arpa');
    expect(ptrName('2001:db8::1')).toBe(`1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.ip6.arpa`);
  });
  it('derives zones from a CIDR, splitting non-octet prefixes', () => {
    expect(reverseZonesForCidr('10.0.0.0/24')).toEqual(['0.0.10.in-addr.arpa']);
    expect(reverseZonesForCidr('10.1.0.0/16')).toEqual(['1.10.in-addr.arpa']);
    expect(reverseZonesForCidr('192.168.16.0/20')).toHaveLength(16);
    expect(reverseZonesForCidr('192.168.16.0/20')[15]).toBe('31.168.192.in-addr.arpa');
    expect(reverseZonesForCidr('10.0.0.128/25')).toEqual(['0.0.10.in-addr.arpa']);
    expect(reverseZonesForCidr('2001:db8::/32')).toEqual(['8.b.d.0.1.0.0.2.ip6.arpa']);
    expect(() => reverseZonesForCidr('10.0.0.0/33')).toThrow(expect.objectContaining({ code: 'DNS_INVALID_ZONE' }));
    expect(() => reverseZonesForCidr('10.0.0.0/4')).toThrow(expect.objectContaining({ code: 'DNS_INVALID_ZONE' }));
  });
});

import { describe, expect, it } from 'vitest';
import { PortalError } from './errors';
import { clientAddress, createNetworkSet, isLoopbackHost, normalizeAddress, UNKNOWN_CLIENT } from './network';

describe('createNetworkSet', () => {
  const lan = createNetworkSet(['192.168.220.0/24', 'fd00::/8', '127.0.0.1']);

  it('matches IPv4, IPv6, single addresses and IPv4-mapped IPv6', () => {
    expect(lan.has('192.168.220.17')).toBe(true);
    expect(lan.has('::ffff:192.168.220.17')).toBe(true);
    expect(lan.has('fd12::1')).toBe(true);
    expect(lan.has('127.0.0.1')).toBe(true);
  });

  it('treats VPN clients and the Internet as outside', () => {
    expect(lan.has('192.168.166.5')).toBe(false);
    expect(lan.has('203.0.113.9')).toBe(false);
    expect(lan.has('2001:db8::1')).toBe(false);
    expect(lan.has('not-an-ip')).toBe(false);
  });

  it('rejects malformed networks', () => {
    expect(() => createNetworkSet(['192.168.1.0/33'])).toThrow(PortalError);
    expect(() => createNetworkSet(['lan'])).toThrow(PortalError);
    expect(() => createNetworkSet(['10.0.0.0/x'])).toThrow(PortalError);
    // an empty prefix is a typo, not /0 (everything)
    expect(() => createNetworkSet(['192.168.220.0/'])).toThrow(PortalError);
    expect(() => createNetworkSet(['10.0.0.0/8/8'])).toThrow(PortalError);
  });
});

describe('clientAddress', () => {
  const proxies = createNetworkSet(['10.0.0.2', '10.0.0.3']);

  it('ignores X-Forwarded-For from an untrusted peer', () => {
    expect(clientAddress('203.0.113.9', '192.168.220.5', proxies)).toBe('203.0.113.9');
  });

  it('takes the right-most untrusted hop behind trusted proxies', () => {
    expect(clientAddress('10.0.0.2', '192.168.220.5, 198.51.100.7, 10.0.0.3', proxies)).toBe('198.51.100.7');
  });

  it('makes a trusted proxy without header, or with garbage in it, an unknown (outside) client', () => {
    expect(clientAddress('10.0.0.2', 'evil, <script>', proxies)).toBe(UNKNOWN_CLIENT);
    expect(clientAddress('10.0.0.2', '192.168.220.5, junk', proxies)).toBe(UNKNOWN_CLIENT);
    expect(clientAddress('::ffff:10.0.0.2', undefined, proxies)).toBe(UNKNOWN_CLIENT);
    expect(createNetworkSet(['0.0.0.0/0', '::/0']).has(UNKNOWN_CLIENT)).toBe(false);
  });

  it('normalizes case and mapping', () => {
    expect(normalizeAddress(' ::FFFF:1.2.3.4 ')).toBe('1.2.3.4');
  });
});

describe('isLoopbackHost', () => {
  it('decides by address, not by how a name begins', () => {
    for (const h of ['127.0.0.1', '127.77.1.2', '::1', '[::1]', '0:0:0:0:0:0:0:1', 'localhost', '::ffff:127.0.0.1'])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['127.example.com', '127.0.0.1.evil.example', '::1.example', '192.168.220.10', '::', '0.0.0.0'])
      expect(isLoopbackHost(h), h).toBe(false);
  });
});

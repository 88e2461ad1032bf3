import { isIPv4, isIPv6 } from 'node:net';
import IPCIDR from 'ip-cidr';
import { DnsZoneError } from './errors';
import { ipv6Bytes } from './names';

function ipv4Octets(address: string): number[] {
  return address.split('.').map(Number);
}

function ipv6Nibbles(address: string): string[] {
  return ipv6Bytes(address).toString('hex').split('');
}

/**
 * Owner name of the PTR record for an address.
 *
 * @param address IPv4 or IPv6 address
 * @returns e.g. `5.0.0.10.in-addr.arpa` or a nibble `….ip6.arpa` name
 * @throws {DnsZoneError} `DNS_INVALID_RECORD` for anything else
 * @example ptrName('10.0.0.5') // '5.0.0.10.in-addr.arpa'
 */
export function ptrName(address: string): string {
  if (isIPv4(address)) return `${ipv4Octets(address).reverse().join('.')}.in-addr.arpa`;
  if (isIPv6(address)) return `${ipv6Nibbles(address).reverse().join('.')}.ip6.arpa`;
  throw new DnsZoneError('DNS_INVALID_RECORD', `"${address}" is not an IP address`, { details: { address } });
}

/**
 * Reverse zones covering a network. Prefixes on an octet (IPv4) or nibble (IPv6) boundary give
 * one zone; others are split into the zones of the next boundary (10.0.0.0/20 → 16 /24 zones);
 * IPv4 prefixes longer than /24 give their /24 zone (RFC 2317 delegation is not modelled).
 *
 * @param cidr e.g. `10.0.0.0/24` or `2001:db8::/48`
 * @returns zone names, e.g. `['0.0.10.in-addr.arpa']`
 * @throws {DnsZoneError} `DNS_INVALID_ZONE` for an invalid CIDR or a prefix shorter than /8 (IPv4) or /4 (IPv6)
 */
export function reverseZonesForCidr(cidr: string): string[] {
  if (!IPCIDR.isValidCIDR(cidr)) {
    throw new DnsZoneError('DNS_INVALID_ZONE', `"${cidr}" is not a CIDR network`, { details: { cidr } });
  }
  const range = new IPCIDR(cidr);
  const start = range.start<string>();
  const prefix = Number(cidr.split('/')[1]);
  const v4 = isIPv4(start);
  const unit = v4 ? 8 : 4;
  if (prefix < unit) {
    throw new DnsZoneError('DNS_INVALID_ZONE', `prefix /${prefix} is too short for a reverse zone`, {
      details: { cidr },
    });
  }
  const digits = Math.min(Math.ceil(prefix / unit), v4 ? 3 : 32);
  const extraBits = digits * unit - prefix;
  const base = v4 ? ipv4Octets(start) : ipv6Nibbles(start).map((n) => Number.parseInt(n, 16));
  const zones: string[] = [];
  for (let i = 0; i < 2 ** Math.max(extraBits, 0); i++) {
    const parts = base.slice(0, digits);
    parts[digits - 1] = (parts[digits - 1] as number) + i;
    const labels = parts.map((p) => (v4 ? String(p) : p.toString(16))).reverse();
    zones.push(`${labels.join('.')}.${v4 ? 'in-addr' : 'ip6'}.arpa`);
  }
  return zones;
}

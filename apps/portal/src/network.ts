import { BlockList, isIP } from 'node:net';
import { PortalError } from './errors';

/** A set of networks (CIDR or single addresses, IPv4 and IPv6) to test addresses against. */
export interface NetworkSet {
  has(address: string): boolean;
}

/** Strips the IPv4-mapped IPv6 prefix so `::ffff:10.0.0.1` matches `10.0.0.0/8`. */
export function normalizeAddress(address: string): string {
  const a = address.trim().toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(a);
  return mapped?.[1] ?? a;
}

/**
 * Builds a {@link NetworkSet} from CIDR strings (`192.168.220.0/24`, `fd00::/8`, `10.0.0.1`).
 * @throws PortalError PORTAL_CONFIG for a malformed entry
 */
export function createNetworkSet(cidrs: readonly string[]): NetworkSet {
  const list = new BlockList();
  for (const entry of cidrs) {
    const [addr = '', prefixText] = entry.trim().split('/');
    const family = isIP(addr);
    const prefix = prefixText === undefined ? (family === 6 ? 128 : 32) : Number(prefixText);
    const max = family === 6 ? 128 : 32;
    if (family === 0 || !/^\d+$/.test(String(prefix)) || prefix < 0 || prefix > max) {
      throw new PortalError('PORTAL_CONFIG', `not a network: ${entry}`);
    }
    list.addSubnet(addr, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return {
    has(address) {
      const a = normalizeAddress(address);
      const family = isIP(a);
      if (family === 0) return false;
      return list.check(a, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}

/**
 * The client's address: the socket peer, unless that peer is a trusted proxy; then the
 * right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Entries left of an
 * untrusted hop are ignored because any client can write them.
 * @param peer the TCP peer address
 * @param forwardedFor the raw `X-Forwarded-For` header, if any
 * @param trustedProxies proxies whose header is believed
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, trustedProxies: NetworkSet): string {
  const direct = normalizeAddress(peer);
  if (!forwardedFor || !trustedProxies.has(direct)) return direct;
  const hops = forwardedFor
    .split(',')
    .map((h) => normalizeAddress(h))
    .filter((h) => h !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (isIP(hop) === 0) return direct;
    if (!trustedProxies.has(hop)) return hop;
  }
  return hops[0] ?? direct;
}

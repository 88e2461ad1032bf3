import { BlockList, isIP } from 'node:net';
import { PortalError } from './errors';

/** A set of networks (CIDR or single addresses, IPv4 and IPv6) to test addresses against. */
export interface NetworkSet {
  has(address: string): boolean;
  /** No networks at all (e.g. no trusted proxies configured). */
  readonly empty: boolean;
}

/**
 * The client address used when the real one cannot be known: a trusted proxy sent no or an
 * unparsable `X-Forwarded-For`. It is in no network, so such a client is outside.
 */
export const UNKNOWN_CLIENT = 'unknown';

/**
 * Whether a listen host is loopback: `127.x.y.z`, `::1` or `localhost` — by parsed address,
 * so a name such as `127.example.com` is not.
 */
export function isLoopbackHost(host: string): boolean {
  const h = host.trim().toLowerCase();
  return h === 'localhost' || LOOPBACK.has(h.replace(/^\[(.*)\]$/, '$1'));
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
    // The prefix, when there is a slash, must be digits: `10.0.0.0/` is a typo, not `/0`.
    const m = /^([^/]+)(?:\/(\d{1,3}))?$/.exec(entry.trim());
    const addr = m?.[1] ?? '';
    const family = isIP(addr);
    const max = family === 6 ? 128 : 32;
    const prefix = m?.[2] === undefined ? max : Number(m[2]);
    if (!m || family === 0 || prefix > max) throw new PortalError('PORTAL_CONFIG', `not a network: ${entry}`);
    list.addSubnet(addr, prefix, family === 6 ? 'ipv6' : 'ipv4');
  }
  return {
    empty: cidrs.length === 0,
    has(address) {
      const a = normalizeAddress(address);
      const family = isIP(a);
      if (family === 0) return false;
      return list.check(a, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}

const LOOPBACK = createNetworkSet(['127.0.0.0/8', '::1/128']);

/**
 * The client's address: the socket peer, unless that peer is a trusted proxy; then the
 * right-most `X-Forwarded-For` entry that is not itself a trusted proxy. Entries left of an
 * untrusted hop are ignored because any client can write them. A trusted proxy that sends no
 * header, or a hop that is not an address, gives {@link UNKNOWN_CLIENT} (outside): the proxy's
 * own address would make every such client look inside.
 * @param peer the TCP peer address
 * @param forwardedFor the raw `X-Forwarded-For` header, if any
 * @param trustedProxies proxies whose header is believed
 */
export function clientAddress(peer: string, forwardedFor: string | undefined, trustedProxies: NetworkSet): string {
  const direct = normalizeAddress(peer);
  if (!trustedProxies.has(direct)) return direct;
  const hops = (forwardedFor ?? '')
    .split(',')
    .map((h) => normalizeAddress(h))
    .filter((h) => h !== '');
  for (let i = hops.length - 1; i >= 0; i--) {
    const hop = hops[i] as string;
    if (isIP(hop) === 0) return UNKNOWN_CLIENT;
    if (!trustedProxies.has(hop)) return hop;
  }
  return hops[0] ?? UNKNOWN_CLIENT;
}

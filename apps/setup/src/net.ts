// IPv4 address arithmetic for the answers (LAN address, VPN network): pure, no dependencies.

/** An IPv4 address with its prefix, e.g. `192.168.220.10/24`. */
export interface Cidr {
  address: string;
  prefix: number;
}

const OCTET = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

/**
 * Parses a dotted IPv4 address.
 * @param text e.g. `192.168.220.10`
 * @returns the address as an unsigned 32-bit number, or undefined when it is not one
 */
export function parseIpv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => OCTET.test(p))) return undefined;
  return parts.reduce((n, p) => n * 256 + Number(p), 0);
}

/**
 * Formats an unsigned 32-bit number as a dotted IPv4 address.
 * @param n the address
 * @returns e.g. `192.168.220.0`
 */
export function formatIpv4(n: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(n / 2 ** shift) % 256).join('.');
}

/**
 * Parses `a.b.c.d/p`.
 * @param text the CIDR text
 * @returns address and prefix, or undefined when malformed
 */
export function parseCidr(text: string): Cidr | undefined {
  const match = /^([\d.]+)\/(\d{1,2})$/.exec(text);
  if (!match?.[1] || match[2] === undefined) return undefined;
  const prefix = Number(match[2]);
  if (parseIpv4(match[1]) === undefined || prefix > 32) return undefined;
  return { address: match[1], prefix };
}

/** Network address, netmask, broadcast and first/last of a CIDR. */
export interface Ipv4Network {
  network: string;
  netmask: string;
  broadcast: string;
  prefix: number;
  /** `network/prefix`. */
  cidr: string;
}

/**
 * The network a CIDR address lies in.
 * @param cidr address and prefix
 * @returns network, netmask, broadcast
 */
export function networkOf(cidr: Cidr): Ipv4Network {
  const address = parseIpv4(cidr.address) ?? 0;
  const size = 2 ** (32 - cidr.prefix);
  const network = Math.floor(address / size) * size;
  const network_ = formatIpv4(network);
  return {
    network: network_,
    netmask: formatIpv4(2 ** 32 - size),
    broadcast: formatIpv4(network + size - 1),
    prefix: cidr.prefix,
    cidr: `${network_}/${cidr.prefix}`,
  };
}

/**
 * Whether two networks share any address.
 * @param a first
 * @param b second
 * @returns true when they overlap
 */
export function overlaps(a: Cidr, b: Cidr): boolean {
  const na = networkOf(a);
  const nb = networkOf(b);
  const start = (n: Ipv4Network) => parseIpv4(n.network) ?? 0;
  const end = (n: Ipv4Network) => parseIpv4(n.broadcast) ?? 0;
  return start(na) <= end(nb) && start(nb) <= end(na);
}

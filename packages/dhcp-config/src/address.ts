// IPv4 and MAC helpers. Subnet math (network, broadcast, prefix validation) goes through
// ip-cidr; single addresses use a strict dotted-quad parser because the model checks
// thousands of them per render and ip-address objects cost ~6 µs each (see the benchmark).
import IPCIDR from 'ip-cidr';

/** A parsed IPv4 subnet: network and broadcast as 32-bit unsigned numbers. */
export interface Ipv4Subnet {
  /** Canonical `a.b.c.d/len` with the host bits cleared. */
  cidr: string;
  prefix: number;
  /** Network address as a number. */
  first: number;
  /** Broadcast address as a number. */
  last: number;
}

/** Parses a dotted-quad IPv4 address to a number; `undefined` when malformed (leading zeros too). */
export function ipv4ToNumber(text: string): number | undefined {
  // Hand-rolled: this runs for every row of 100,000-line lease files.
  let n = 0;
  let octet = 0;
  let digits = 0;
  let dots = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) {
      if (digits === 1 && octet === 0) return undefined;
      octet = octet * 10 + (c - 48);
      if (++digits > 3 || octet > 255) return undefined;
    } else if (c === 46 && digits > 0 && dots < 3) {
      n = n * 256 + octet;
      octet = 0;
      digits = 0;
      dots++;
    } else return undefined;
  }
  return dots === 3 && digits > 0 ? n * 256 + octet : undefined;
}

/** Formats a 32-bit unsigned number as dotted quad. */
export function numberToIpv4(n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`;
}

/** Parses `a.b.c.d/len` (IPv4 only); host bits must be zero. `undefined` when invalid. */
export function parseIpv4Subnet(text: string): Ipv4Subnet | undefined {
  // ip-address objects are costly and every render/check parses the same few subnets.
  const cached = subnetCache.get(text);
  if (cached !== undefined || subnetCache.has(text)) return cached && { ...cached };
  const parsed = parseSubnetUncached(text);
  if (subnetCache.size > 1024) subnetCache.clear();
  subnetCache.set(text, parsed);
  return parsed && { ...parsed };
}

const subnetCache = new Map<string, Ipv4Subnet | undefined>();

function parseSubnetUncached(text: string): Ipv4Subnet | undefined {
  const match = /^(\d+\.\d+\.\d+\.\d+)\/(\d{1,2})$/.exec(text);
  if (!match || ipv4ToNumber(match[1] as string) === undefined || !IPCIDR.isValidCIDR(text)) return undefined;
  const prefix = Number(match[2]);
  if (prefix > 32) return undefined;
  const cidr = new IPCIDR(text);
  const first = Number(cidr.start({ type: 'bigInteger' }));
  const last = Number(cidr.end({ type: 'bigInteger' }));
  if (first !== ipv4ToNumber(match[1] as string)) return undefined;
  return { cidr: `${numberToIpv4(first)}/${prefix}`, prefix, first, last };
}

/** Dotted netmask of a prefix length, e.g. 24 → `255.255.255.0`. */
export function prefixToNetmask(prefix: number): string {
  return numberToIpv4(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

/** Prefix length of a dotted netmask; `undefined` when the mask is not contiguous. */
export function netmaskToPrefix(mask: string): number | undefined {
  const n = ipv4ToNumber(mask);
  if (n === undefined) return undefined;
  for (let prefix = 0; prefix <= 32; prefix++) {
    if ((prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0) >>> 0 === n) return prefix;
  }
  return undefined;
}

const MAC_HEX = /^[0-9a-f]{12}$/;
const CANONICAL_MAC = /^[0-9a-f]{2}(?::[0-9a-f]{2}){5}$/;

/**
 * Normalises a MAC (`AA-BB-CC-DD-EE-FF`, `aa:bb:…`, `aabb.ccdd.eeff`, `aabbccddeeff`) to
 * lower-case colon form; `undefined` when malformed or all-zero/all-ones (as the original portal).
 */
export function normalizeMac(text: string): string | undefined {
  // Fast path for the canonical form (lease files hold 100,000s of them).
  if (CANONICAL_MAC.test(text)) return text === '00:00:00:00:00:00' || text === 'ff:ff:ff:ff:ff:ff' ? undefined : text;
  const trimmed = text.trim().toLowerCase();
  // One separator kind per address: `aa:bb-cc…` is a typo, not a MAC.
  if (new Set(trimmed.match(/[:.-]/g) ?? []).size > 1) return undefined;
  const groups = trimmed.split(/[:.-]/);
  const sizes = groups.map((g) => g.length).join(',');
  const shapeOk =
    (groups.length === 6 && sizes === '2,2,2,2,2,2') ||
    (groups.length === 3 && sizes === '4,4,4') ||
    (groups.length === 1 && sizes === '12');
  if (!shapeOk) return undefined;
  const hex = groups.join('');
  if (!MAC_HEX.test(hex) || hex === '000000000000' || hex === 'ffffffffffff') return undefined;
  return hex.replace(/(..)(?!$)/g, '$1:');
}

import { isIPv4, isIPv6, SocketAddress } from 'node:net';
import { domainToASCII } from 'node:url';
import { DnsZoneError } from './errors';

const LABEL = /^(?:\*|[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)$/;

/**
 * Normalises a domain name: lower case, no trailing dot. Labels are 1–63 octets of letters,
 * digits, `-` and `_` (a leading `*` label is a wildcard); the whole name fits 255 octets on
 * the wire. Non-ASCII names must be converted with {@link toAsciiName} first.
 *
 * @param name absolute name, with or without trailing dot
 * @returns the normalised name (e.g. `host.invis.test`)
 * @throws {DnsZoneError} `DNS_NON_ASCII_NAME`, `DNS_INVALID_NAME`
 * @example normalizeName('Host.Invis.Test.') // 'host.invis.test'
 */
export function normalizeName(name: string): string {
  const trimmed = name.endsWith('.') ? name.slice(0, -1) : name;
  const lower = trimmed.toLowerCase();
  // Fast path for the common, well-formed case (big zone files).
  if (lower.length === 0 || lower.length > 253) {
    throw new DnsZoneError('DNS_INVALID_NAME', `invalid domain name length: "${name}"`, { details: { name } });
  }
  // biome-ignore lint/suspicious/noControlCharactersInRegex: detecting non-ASCII input is the point
  if (/[^\x00-\x7f]/.test(lower)) {
    throw new DnsZoneError(
      'DNS_NON_ASCII_NAME',
      `non-ASCII domain name "${name}": convert it with toAsciiName (IDNA) first`,
      {
        details: { name },
      },
    );
  }
  const labels = lower.split('.');
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i] as string;
    if (!LABEL.test(label) || (label === '*' && i !== 0)) {
      const reason =
        label.length > 63 ? 'label longer than 63 octets' : label.length === 0 ? 'empty label' : 'invalid label';
      throw new DnsZoneError('DNS_INVALID_NAME', `${reason} in domain name "${name}"`, { details: { name } });
    }
  }
  return lower;
}

/**
 * IDNA (UTS #46) conversion of a Unicode name to its ASCII (punycode) form.
 *
 * @param name e.g. `müller.invis.test`
 * @returns e.g. `xn--mller-kva.invis.test`, normalised
 * @throws {DnsZoneError} `DNS_INVALID_NAME` when the name has no IDNA form
 */
export function toAsciiName(name: string): string {
  const ascii = domainToASCII(name.endsWith('.') ? name.slice(0, -1) : name);
  if (!ascii) throw new DnsZoneError('DNS_INVALID_NAME', `"${name}" has no IDNA form`, { details: { name } });
  return normalizeName(ascii);
}

/** True when `name` equals `zone` or lies below it (both normalised). */
export function isInZone(name: string, zone: string): boolean {
  return name === zone || name.endsWith(`.${zone}`);
}

/**
 * Owner name relative to the zone origin, `@` for the apex (both normalised).
 *
 * @param name absolute name inside the zone
 * @param zone zone origin
 * @returns e.g. `www` for `www.invis.test` in `invis.test`
 */
export function relativeName(name: string, zone: string): string {
  if (name === zone) return '@';
  return name.slice(0, name.length - zone.length - 1);
}

/**
 * Canonical text form of an IPv4/IPv6 address (IPv6 lower case, compressed).
 *
 * @throws {DnsZoneError} `DNS_INVALID_RECORD` when `address` is not an IP address
 */
export function canonicalAddress(address: string, family: 4 | 6): string {
  if (family === 4 ? isIPv4(address) : isIPv6(address)) {
    return family === 4 ? address : new SocketAddress({ address, family: 'ipv6' }).address;
  }
  throw new DnsZoneError('DNS_INVALID_RECORD', `"${address}" is not an IPv${family} address`, { details: { address } });
}

/** The 16 bytes of an IPv6 address (the caller has validated it). */
export function ipv6Bytes(address: string): Buffer {
  const groups = (part: string): number[] =>
    part === ''
      ? []
      : part.split(':').flatMap((g) => {
          if (!g.includes('.')) return [Number.parseInt(g, 16)];
          const [a = 0, b = 0, c = 0, d = 0] = g.split('.').map(Number); // embedded IPv4 tail
          return [(a << 8) | b, (c << 8) | d];
        });
  const [head = '', tail] = address.split('::');
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  const all = [...h, ...Array<number>(8 - h.length - t.length).fill(0), ...t];
  const out = Buffer.alloc(16);
  all.forEach((g, i) => {
    out.writeUInt16BE(g, i * 2);
  });
  return out;
}

// IPv4 CIDR helpers for OpenVPN's "network netmask" notation.
import { z } from 'zod';

/** An aligned IPv4 network in CIDR notation, e.g. `192.168.166.0/24`. */
export const ipv4CidrSchema: z.ZodType<string, string> = z
  .string()
  .regex(/^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/, 'not an IPv4 CIDR like 192.168.166.0/24')
  .refine((c) => {
    const [ip = '', bits = ''] = c.split('/');
    const octets = ip.split('.').map(Number);
    if (octets.some((o) => o > 255) || Number(bits) > 32) return false;
    return (toInt(octets) & ~maskInt(Number(bits))) >>> 0 === 0;
  }, 'not a network address (host bits set) or out of range');

function toInt(octets: number[]): number {
  return octets.reduce((acc, o) => ((acc << 8) | o) >>> 0, 0);
}

function maskInt(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
}

function toDotted(n: number): string {
  return [24, 16, 8, 0].map((s) => (n >>> s) & 0xff).join('.');
}

/** `192.168.166.0/24` → `192.168.166.0 255.255.255.0` (input must be a valid CIDR). */
export function cidrToNetmask(cidr: string): string {
  const [ip = '', bits = '0'] = cidr.split('/');
  return `${ip} ${toDotted(maskInt(Number(bits)))}`;
}

/** Whether two CIDRs overlap. */
export function cidrsOverlap(a: string, b: string): boolean {
  const [ipA = '', bitsA = '0'] = a.split('/');
  const [ipB = '', bitsB = '0'] = b.split('/');
  const mask = maskInt(Math.min(Number(bitsA), Number(bitsB)));
  return (toInt(ipA.split('.').map(Number)) & mask) >>> 0 === (toInt(ipB.split('.').map(Number)) & mask) >>> 0;
}

import { z } from 'zod';
import { DnsZoneError } from './errors';
import { canonicalAddress, isInZone, normalizeName } from './names';

/** Fields every record has. `name` is absolute and normalised (`www.invis.test`). */
export interface RecordBase {
  name: string;
  /** Seconds, 0 … 2147483647 (RFC 2181 §8). */
  ttl: number;
}
/** IPv4 address record. */
export interface ARecord extends RecordBase {
  type: 'A';
  address: string;
}
/** IPv6 address record. */
export interface AaaaRecord extends RecordBase {
  type: 'AAAA';
  address: string;
}
/** Records whose data is one domain name. */
export interface NameRecord extends RecordBase {
  type: 'CNAME' | 'PTR' | 'NS';
  target: string;
}
/** Mail exchanger. */
export interface MxRecord extends RecordBase {
  type: 'MX';
  preference: number;
  exchange: string;
}
/** Text record: one or more character strings of ≤ 255 octets each. */
export interface TxtRecord extends RecordBase {
  type: 'TXT';
  text: string[];
}
/** Service locator (RFC 2782). */
export interface SrvRecord extends RecordBase {
  type: 'SRV';
  priority: number;
  weight: number;
  port: number;
  target: string;
}
/** Start of authority. `rname` is the mailbox as a domain name (`hostmaster.invis.test`). */
export interface SoaRecord extends RecordBase {
  type: 'SOA';
  mname: string;
  rname: string;
  serial: number;
  refresh: number;
  retry: number;
  expire: number;
  minimum: number;
}
/** Certification authority authorisation (RFC 8659). */
export interface CaaRecord extends RecordBase {
  type: 'CAA';
  flags: number;
  tag: string;
  value: string;
}
/** One resource record (resolved, validated form). */
export type DnsRecord = ARecord | AaaaRecord | NameRecord | MxRecord | TxtRecord | SrvRecord | SoaRecord | CaaRecord;

/** Input form of a record: like {@link DnsRecord} but `ttl` may be left out (zone default). */
export type DnsRecordInput = DnsRecord extends infer R
  ? R extends DnsRecord
    ? Omit<R, 'ttl'> & { ttl?: number }
    : never
  : never;

/** A zone: origin, default TTL and its records (absolute names). */
export interface DnsZone {
  origin: string;
  /** Default TTL: the first `$TTL` of a master file (each record carries its own `ttl`). */
  ttl: number;
  records: DnsRecord[];
}

/** Default TTL when neither the record nor the zone has one. */
export const DEFAULT_TTL = 3600;

const u16 = z.number().int().min(0).max(0xffff);
const u32 = z.number().int().min(0).max(0xffffffff);
const ttl = z.number().int().min(0).max(0x7fffffff);
const name = z.string().transform((s) => normalizeName(s));
const characterString = z
  .string()
  .refine((s) => Buffer.byteLength(s) <= 255, 'character string longer than 255 octets');
const base = { name, ttl: ttl.optional() };

const recordSchema = z.discriminatedUnion('type', [
  z.object({ ...base, type: z.literal('A'), address: z.string().transform((a) => canonicalAddress(a, 4)) }),
  z.object({ ...base, type: z.literal('AAAA'), address: z.string().transform((a) => canonicalAddress(a, 6)) }),
  z.object({ ...base, type: z.enum(['CNAME', 'PTR', 'NS']), target: name }),
  z.object({ ...base, type: z.literal('MX'), preference: u16, exchange: name }),
  z.object({ ...base, type: z.literal('TXT'), text: z.array(characterString).min(1) }),
  z.object({ ...base, type: z.literal('SRV'), priority: u16, weight: u16, port: u16, target: name }),
  z.object({
    ...base,
    type: z.literal('SOA'),
    mname: name,
    rname: name,
    serial: u32,
    refresh: ttl,
    retry: ttl,
    expire: ttl,
    minimum: ttl,
  }),
  z.object({
    ...base,
    type: z.literal('CAA'),
    flags: z.number().int().min(0).max(255),
    tag: z.string().regex(/^[a-z0-9]{1,15}$/i, 'CAA tag: 1–15 letters/digits'),
    value: z.string(),
  }),
]);

function firstIssue(error: z.ZodError): { message: string; path: string } {
  const issue = error.issues[0];
  return { message: issue?.message ?? 'invalid', path: issue?.path.join('.') ?? '' };
}

/**
 * Validates and normalises one record: names lower case without trailing dot, addresses in
 * canonical form, TTL defaulted.
 *
 * @param input the record
 * @param defaultTtl TTL used when `input.ttl` is missing
 * @returns the resolved record
 * @throws {DnsZoneError} `DNS_INVALID_RECORD`, `DNS_INVALID_NAME`, `DNS_NON_ASCII_NAME`
 * @example normalizeRecord({ name: 'WWW.invis.test.', type: 'A', address: '10.0.0.5' })
 */
export function normalizeRecord(input: DnsRecordInput, defaultTtl: number = DEFAULT_TTL): DnsRecord {
  let parsed: z.output<typeof recordSchema>;
  try {
    parsed = recordSchema.parse(input);
  } catch (error) {
    if (error instanceof DnsZoneError) throw error; // thrown by a transform (name, address)
    const { message, path } = error instanceof z.ZodError ? firstIssue(error) : { message: String(error), path: '' };
    throw new DnsZoneError(
      'DNS_INVALID_RECORD',
      `invalid ${String(input?.type)} record${path ? ` (${path})` : ''}: ${message}`,
      {
        cause: error,
        details: { type: String(input?.type), field: path },
      },
    );
  }
  return { ...parsed, ttl: parsed.ttl ?? defaultTtl } as DnsRecord;
}

/** Identity of a record's data (type + rdata), for set comparisons; ignores name case and TTL. */
export function recordKey(record: DnsRecord): string {
  const { ttl: _ttl, ...rest } = record;
  return JSON.stringify(rest, Object.keys(rest).sort());
}

/**
 * Checks zone-level rules: every record inside the origin; exactly one SOA, at the apex; NS at the apex;
 * CNAME exclusivity (a CNAME owner has no other data); MX exchanges and SRV targets inside
 * the zone are not CNAME owners.
 *
 * @throws {DnsZoneError} `DNS_OUT_OF_ZONE`, `DNS_INVALID_ZONE`, `DNS_CNAME_CONFLICT`, `DNS_TARGET_IS_CNAME`
 */
export function validateZone(zone: DnsZone): void {
  const origin = zone.origin;
  let soaCount = 0;
  for (const r of zone.records) {
    if (!isInZone(r.name, origin)) {
      throw new DnsZoneError('DNS_OUT_OF_ZONE', `${r.name} is not inside zone ${origin}`, {
        details: { name: r.name, zone: origin },
      });
    }
    if (r.type === 'SOA') {
      soaCount++;
      if (r.name !== origin) {
        throw new DnsZoneError('DNS_INVALID_ZONE', `SOA must be at the zone apex ${origin}, found at ${r.name}`, {
          details: { name: r.name, zone: origin },
        });
      }
    }
  }
  if (!zone.records.some((r) => r.type === 'NS' && r.name === origin)) {
    throw new DnsZoneError('DNS_INVALID_ZONE', `zone ${origin} needs at least one NS record at the apex`, {
      details: { zone: origin },
    });
  }
  if (soaCount !== 1) {
    throw new DnsZoneError('DNS_INVALID_ZONE', `zone ${origin} needs exactly one SOA record, has ${soaCount}`, {
      details: { zone: origin, soaCount },
    });
  }
  assertCnameRules(zone.records);
}

/** CNAME exclusivity and "MX/SRV target is not a CNAME" over a set of records. */
export function assertCnameRules(records: readonly DnsRecord[]): void {
  // Names that own a CNAME, and how many records each name has (a bitmask per name would be
  // overkill: only CNAME owners matter).
  const cnames = new Map<string, number>();
  for (const r of records) if (r.type === 'CNAME') cnames.set(r.name, (cnames.get(r.name) ?? 0) + 1);
  if (cnames.size === 0) return;
  for (const [owner, count] of cnames) {
    if (count > 1)
      throw new DnsZoneError('DNS_CNAME_CONFLICT', `${owner} has more than one CNAME`, { details: { name: owner } });
  }
  for (const r of records) {
    if (r.type !== 'CNAME' && cnames.has(r.name)) {
      throw new DnsZoneError('DNS_CNAME_CONFLICT', `${r.name} has a CNAME and other data (${r.type})`, {
        details: { name: r.name },
      });
    }
    const target = r.type === 'MX' ? r.exchange : r.type === 'SRV' ? r.target : undefined;
    if (target !== undefined && cnames.has(target)) {
      throw new DnsZoneError('DNS_TARGET_IS_CNAME', `${r.type} target ${target} of ${r.name} is a CNAME`, {
        details: { name: r.name, target },
      });
    }
  }
}

// MS-DNSP 2.3.2.2 DNS_RPC_RECORD: the binary `dnsRecord` attribute of AD dnsNode objects.
// Pure codec; layout confirmed byte by byte against Samba 4.17 (lab notes §2.1).
import { RECORD_TYPES, RR_TYPES } from './constants';
import { DnsZoneError } from './errors';
import { type DnsRecord, normalizeRecord } from './model';
import { canonicalAddress, ipv6Bytes } from './names';

/** Rank of records owned by the zone itself (DNS_RANK_ZONE). */
export const AD_RANK_ZONE = 0xf0;
const VERSION = 5;
const HEADER = 24;
/** Type 0 (DNS_TYPE_ZERO) marks a tombstoned node; its data is the FILETIME of deletion. */
const TYPE_TOMBSTONE = 0;

/** Per-value metadata next to the record data. */
export interface AdRecordMeta {
  /** Zone serial at write time. */
  serial: number;
  /** Default {@link AD_RANK_ZONE}. */
  rank?: number;
  /** Hours since 1601-01-01 for dynamic (aging) records; 0 = static (default). */
  timestamp?: number;
}

/** One decoded `dnsRecord` value. */
export type AdDnsRecordValue =
  | { kind: 'record'; record: DnsRecord; serial: number; rank: number; timestamp: number }
  | { kind: 'tombstone'; serial: number; deletedAt: Date | undefined }
  /** A type this package does not model (e.g. WINS); kept as-is when a node is rewritten. */
  | { kind: 'unsupported'; type: number; serial: number };

function invalid(message: string, cause?: unknown): DnsZoneError {
  return new DnsZoneError('DNS_AD_RECORD_INVALID', `dnsRecord: ${message}`, { cause });
}

/** DNS_COUNT_NAME: total length, label count, labels, terminating 0. */
function encodeCountName(name: string): Buffer {
  const labels = name.split('.').map((l) => Buffer.from(l, 'ascii'));
  const length = labels.reduce((sum, l) => sum + 1 + l.length, 0) + 1;
  const out = Buffer.alloc(2 + length);
  out[0] = length;
  out[1] = labels.length;
  let o = 2;
  for (const l of labels) {
    out[o++] = l.length;
    l.copy(out, o);
    o += l.length;
  }
  return out;
}

function u16be(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

function encodeData(record: DnsRecord): Buffer {
  switch (record.type) {
    case 'A':
      return Buffer.from(record.address.split('.').map(Number));
    case 'AAAA':
      return ipv6Bytes(record.address);
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return encodeCountName(record.target);
    case 'MX':
      return Buffer.concat([u16be(record.preference), encodeCountName(record.exchange)]);
    case 'TXT':
      return Buffer.concat(
        record.text.map((t) => {
          const bytes = Buffer.from(t, 'utf8');
          return Buffer.concat([Buffer.from([bytes.length]), bytes]);
        }),
      );
    case 'SRV':
      return Buffer.concat([
        u16be(record.priority),
        u16be(record.weight),
        u16be(record.port),
        encodeCountName(record.target),
      ]);
    case 'SOA': {
      const nums = Buffer.alloc(20);
      [record.serial, record.refresh, record.retry, record.expire, record.minimum].forEach((v, i) => {
        nums.writeUInt32BE(v, i * 4);
      });
      return Buffer.concat([nums, encodeCountName(record.mname), encodeCountName(record.rname)]);
    }
    case 'CAA':
      throw new DnsZoneError(
        'DNS_UNSUPPORTED',
        'CAA records cannot be stored in AD-integrated zones (not in MS-DNSP)',
        {
          details: { type: 'CAA' },
        },
      );
  }
}

/**
 * Encodes one record as a `dnsRecord` attribute value (DNS_RPC_RECORD).
 *
 * @param record a validated record (its name is the dnsNode, not part of the value)
 * @param meta zone serial, rank, aging timestamp
 * @returns the binary value
 * @throws {DnsZoneError} `DNS_UNSUPPORTED` for CAA
 * @example encodeAdDnsRecord({ name: 'h.invis.test', ttl: 900, type: 'A', address: '10.0.0.5' }, { serial: 2 })
 */
export function encodeAdDnsRecord(record: DnsRecord, meta: AdRecordMeta): Buffer {
  const data = encodeData(record);
  const header = Buffer.alloc(HEADER);
  header.writeUInt16LE(data.length, 0);
  header.writeUInt16LE(RR_TYPES.byName[record.type], 2);
  header[4] = VERSION;
  header[5] = meta.rank ?? AD_RANK_ZONE;
  header.writeUInt16LE(0, 6);
  header.writeUInt32LE(meta.serial >>> 0, 8);
  header.writeUInt32BE(record.ttl, 12); // the one big-endian header field
  header.writeUInt32LE(meta.timestamp ?? 0, 20);
  return Buffer.concat([header, data]);
}

class Reader {
  offset = 0;
  constructor(private readonly buf: Buffer) {}
  need(n: number): void {
    if (this.offset + n > this.buf.length) throw invalid(`truncated data (need ${n} bytes at offset ${this.offset})`);
  }
  u8(): number {
    this.need(1);
    return this.buf[this.offset++] as number;
  }
  u16(): number {
    this.need(2);
    const v = this.buf.readUInt16BE(this.offset);
    this.offset += 2;
    return v;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.offset);
    this.offset += 4;
    return v;
  }
  bytes(n: number): Buffer {
    this.need(n);
    const v = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return v;
  }
  countName(): string {
    const length = this.u8();
    const count = this.u8();
    const start = this.offset;
    const labels: string[] = [];
    for (let i = 0; i < count; i++) labels.push(this.bytes(this.u8()).toString('latin1'));
    if (this.u8() !== 0) throw invalid('DNS_COUNT_NAME is not terminated');
    if (this.offset - start !== length) throw invalid('DNS_COUNT_NAME length mismatch');
    return labels.join('.');
  }
  done(): boolean {
    return this.offset === this.buf.length;
  }
}

function decodeData(type: string, data: Buffer, name: string, ttl: number): DnsRecord {
  const r = new Reader(data);
  let record: DnsRecord;
  switch (type) {
    case 'A':
      if (data.length !== 4) throw invalid(`A data is ${data.length} bytes, expected 4`);
      record = { name, ttl, type, address: [...data].join('.') };
      break;
    case 'AAAA': {
      if (data.length !== 16) throw invalid(`AAAA data is ${data.length} bytes, expected 16`);
      const groups = Array.from({ length: 8 }, (_, i) => data.readUInt16BE(i * 2).toString(16));
      record = { name, ttl, type, address: canonicalAddress(groups.join(':'), 6) };
      break;
    }
    case 'CNAME':
    case 'PTR':
    case 'NS':
      record = { name, ttl, type, target: r.countName() };
      break;
    case 'MX':
      record = { name, ttl, type, preference: r.u16(), exchange: r.countName() };
      break;
    case 'TXT': {
      const text: string[] = [];
      while (!r.done()) text.push(r.bytes(r.u8()).toString('utf8'));
      record = { name, ttl, type, text };
      break;
    }
    case 'SRV':
      record = { name, ttl, type, priority: r.u16(), weight: r.u16(), port: r.u16(), target: r.countName() };
      break;
    case 'SOA': {
      const [serial, refresh, retry, expire, minimum] = [r.u32(), r.u32(), r.u32(), r.u32(), r.u32()] as const;
      record = { name, ttl, type, mname: r.countName(), rname: r.countName(), serial, refresh, retry, expire, minimum };
      break;
    }
    default:
      throw invalid(`type ${type} has no decoder`);
  }
  if (!r.done() && type !== 'A' && type !== 'AAAA')
    throw invalid(`${data.length - r.offset} trailing bytes in ${type} data`);
  return record;
}

/**
 * Decodes one `dnsRecord` value.
 *
 * @param value the binary attribute value
 * @param name owner name (from the dnsNode's DN and zone), normalised
 * @returns a record, a tombstone marker or an unsupported type
 * @throws {DnsZoneError} `DNS_AD_RECORD_INVALID` for truncated or inconsistent data
 */
export function decodeAdDnsRecord(value: Uint8Array, name: string): AdDnsRecordValue {
  const buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (buf.length < HEADER) throw invalid(`value is ${buf.length} bytes, shorter than the 24-byte header`);
  const dataLength = buf.readUInt16LE(0);
  if (HEADER + dataLength !== buf.length)
    throw invalid(`DataLength ${dataLength} does not match ${buf.length - HEADER} data bytes`);
  if (buf[4] !== VERSION) throw invalid(`unknown version ${buf[4]}`);
  const typeNumber = buf.readUInt16LE(2);
  const serial = buf.readUInt32LE(8);
  const ttl = buf.readUInt32BE(12);
  const data = buf.subarray(HEADER);
  if (typeNumber === TYPE_TOMBSTONE) {
    // FILETIME: 100 ns ticks since 1601-01-01
    const ticks = data.length === 8 ? data.readBigUInt64LE(0) : undefined;
    const deletedAt = ticks === undefined ? undefined : new Date(Number(ticks / 10_000n) - 11_644_473_600_000);
    return { kind: 'tombstone', serial, deletedAt };
  }
  const type = RR_TYPES.name(typeNumber);
  // CAA is not part of MS-DNSP; meta types (TSIG, AXFR, ANY) are never stored
  if (type === undefined || type === 'CAA' || !(RECORD_TYPES as readonly string[]).includes(type)) {
    return { kind: 'unsupported', type: typeNumber, serial };
  }
  const raw = decodeData(type, data, name, ttl);
  let record: DnsRecord;
  try {
    record = normalizeRecord(raw);
  } catch (error) {
    throw invalid(`${type} data does not form a valid record`, error);
  }
  return { kind: 'record', record, serial, rank: buf[5] as number, timestamp: buf.readUInt32LE(20) };
}

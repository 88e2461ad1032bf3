// DNS wire format for RFC 2136 UPDATE and plain queries. dns-packet does the RDATA of the
// modelled types and decodes answers; the pieces it lacks are done here: the UPDATE opcode
// (it ignores `opcode` on encode), classes NONE/ANY with empty RDATA, and message walking.
import dnsPacket from 'dns-packet';
import { DNS_CLASSES, OPCODES, RCODES, type RecordType, RR_TYPES } from './constants';
import { DnsZoneError } from './errors';
import { type DnsRecord, normalizeRecord } from './model';
import { normalizeName } from './names';

/** RFC 2136 §2.4 prerequisites. */
export type Prerequisite =
  /** Name has at least one RR (class ANY, type ANY). */
  | { kind: 'nameInUse'; name: string }
  /** Name has no RRs (class NONE, type ANY). */
  | { kind: 'nameNotInUse'; name: string }
  /** An RRset of this type exists (class ANY). */
  | { kind: 'rrsetExists'; name: string; type: RecordType }
  /** No RRset of this type exists (class NONE). */
  | { kind: 'rrsetNotExists'; name: string; type: RecordType }
  /** This exact record exists (value-dependent, class IN, TTL 0). */
  | { kind: 'recordExists'; record: DnsRecord };

/** RFC 2136 §2.5 update operations. */
export type UpdateOperation =
  | { op: 'add'; record: DnsRecord }
  /** Delete one RR (class NONE, TTL 0). */
  | { op: 'deleteRecord'; record: DnsRecord }
  /** Delete an RRset (class ANY, empty RDATA). */
  | { op: 'deleteRRset'; name: string; type: RecordType }
  /** Delete all RRsets at a name (class ANY, type ANY). */
  | { op: 'deleteName'; name: string };

/** One UPDATE message before signing. */
export interface UpdateMessage {
  id: number;
  zone: string;
  prerequisites?: readonly Prerequisite[];
  updates: readonly UpdateOperation[];
}

/** The parts of a received message this package uses. */
export interface DecodedMessage {
  id: number;
  opcode: number;
  rcode: number;
  /** TC: truncated over UDP, retry over TCP. */
  truncated: boolean;
  authoritative: boolean;
  /** Answer records of the modelled types (others are skipped). */
  answers: DnsRecord[];
}

interface RDataCodec {
  encode(data: unknown): Buffer;
}
// dns-packet exports per-type RDATA codecs at runtime; its typings do not declare them.
const rdataCodec = (dnsPacket as unknown as { record(type: string): RDataCodec }).record;

/** Uncompressed wire form of a name (already normalised, so also canonical for TSIG). */
export function encodeName(name: string): Buffer {
  if (name === '' || name === '.') return Buffer.from([0]);
  const parts: Buffer[] = [];
  for (const label of name.split('.')) {
    const bytes = Buffer.from(label, 'ascii');
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  return Buffer.concat(parts);
}

function rdataFor(record: DnsRecord): unknown {
  switch (record.type) {
    case 'A':
    case 'AAAA':
      return record.address;
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return record.target;
    case 'TXT':
      return record.text.map((t) => Buffer.from(t, 'utf8')); // fresh: dns-packet mutates the array
    case 'CAA':
      return { flags: record.flags, tag: record.tag, value: record.value };
    default: {
      const { name: _name, ttl: _ttl, type: _type, ...data } = record;
      return data;
    }
  }
}

/** RDATA of a record, with its 2-byte length prefix. */
function encodeRData(record: DnsRecord): Buffer {
  return rdataCodec(record.type).encode(rdataFor(record));
}

const EMPTY_RDATA = Buffer.from([0, 0]);

function encodeRR(name: string, type: number, klass: number, ttl: number, rdata: Buffer): Buffer {
  const fixed = Buffer.alloc(8);
  fixed.writeUInt16BE(type, 0);
  fixed.writeUInt16BE(klass, 2);
  fixed.writeUInt32BE(ttl, 4);
  return Buffer.concat([encodeName(name), fixed, rdata]);
}

const IN = DNS_CLASSES.byName.IN;
const NONE = DNS_CLASSES.byName.NONE;
const ANY_CLASS = DNS_CLASSES.byName.ANY;
const ANY_TYPE = RR_TYPES.byName.ANY;

function encodePrerequisite(p: Prerequisite): Buffer {
  switch (p.kind) {
    case 'nameInUse':
      return encodeRR(normalizeName(p.name), ANY_TYPE, ANY_CLASS, 0, EMPTY_RDATA);
    case 'nameNotInUse':
      return encodeRR(normalizeName(p.name), ANY_TYPE, NONE, 0, EMPTY_RDATA);
    case 'rrsetExists':
      return encodeRR(normalizeName(p.name), RR_TYPES.byName[p.type], ANY_CLASS, 0, EMPTY_RDATA);
    case 'rrsetNotExists':
      return encodeRR(normalizeName(p.name), RR_TYPES.byName[p.type], NONE, 0, EMPTY_RDATA);
    case 'recordExists':
      return encodeRR(p.record.name, RR_TYPES.byName[p.record.type], IN, 0, encodeRData(p.record));
  }
}

function encodeOperation(u: UpdateOperation): Buffer {
  switch (u.op) {
    case 'add':
      return encodeRR(u.record.name, RR_TYPES.byName[u.record.type], IN, u.record.ttl, encodeRData(u.record));
    case 'deleteRecord':
      return encodeRR(u.record.name, RR_TYPES.byName[u.record.type], NONE, 0, encodeRData(u.record));
    case 'deleteRRset':
      return encodeRR(normalizeName(u.name), RR_TYPES.byName[u.type], ANY_CLASS, 0, EMPTY_RDATA);
    case 'deleteName':
      return encodeRR(normalizeName(u.name), ANY_TYPE, ANY_CLASS, 0, EMPTY_RDATA);
  }
}

function header(id: number, flags: number, counts: [number, number, number, number]): Buffer {
  const h = Buffer.alloc(12);
  h.writeUInt16BE(id, 0);
  h.writeUInt16BE(flags, 2);
  counts.forEach((c, i) => {
    h.writeUInt16BE(c, 4 + i * 2);
  });
  return h;
}

/**
 * Encodes an RFC 2136 UPDATE (opcode 5): zone section (SOA/IN), prerequisites, updates.
 *
 * @param message id, zone, prerequisites and updates (records validated)
 * @returns the unsigned message; sign it with {@link signMessage}
 * @example encodeUpdate({ id: 1, zone: 'dyn.invis.test', updates: [{ op: 'deleteRRset', name: 'gw.dyn.invis.test', type: 'A' }] })
 */
export function encodeUpdate(message: UpdateMessage): Buffer {
  const prerequisites = (message.prerequisites ?? []).map(encodePrerequisite);
  const updates = message.updates.map(encodeOperation);
  const zone = Buffer.alloc(4);
  zone.writeUInt16BE(RR_TYPES.byName.SOA, 0);
  zone.writeUInt16BE(IN, 2);
  return Buffer.concat([
    header(message.id, OPCODES.byName.UPDATE << 11, [1, prerequisites.length, updates.length, 0]),
    encodeName(normalizeName(message.zone)),
    zone,
    ...prerequisites,
    ...updates,
  ]);
}

/**
 * Encodes a standard query (opcode 0, no recursion desired) for one name and type.
 *
 * @param id message id
 * @param name owner name
 * @param type record type or `ANY`
 */
export function encodeQuery(id: number, name: string, type: RecordType | 'ANY' | 'AXFR'): Buffer {
  const q = Buffer.alloc(4);
  q.writeUInt16BE(RR_TYPES.byName[type], 0);
  q.writeUInt16BE(IN, 2);
  return Buffer.concat([header(id, 0, [1, 0, 0, 0]), encodeName(normalizeName(name)), q]);
}

function wireError(message: string, cause?: unknown): DnsZoneError {
  return new DnsZoneError('DNS_WIRE_INVALID', message, { cause });
}

/** Reads a possibly compressed name starting at `offset`; returns the name and the offset after it. */
export function readName(buf: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let pos = offset;
  let next = -1;
  for (let jumps = 0; ; ) {
    if (pos >= buf.length) throw wireError('name runs past the end of the message');
    const len = buf[pos] as number;
    if (len === 0) {
      if (next === -1) next = pos + 1;
      break;
    }
    if ((len & 0xc0) === 0xc0) {
      if (pos + 1 >= buf.length) throw wireError('truncated compression pointer');
      if (next === -1) next = pos + 2;
      if (++jumps > 64) throw wireError('compression pointer loop');
      pos = ((len & 0x3f) << 8) | (buf[pos + 1] as number);
      continue;
    }
    if (len > 63) throw wireError(`invalid label length ${len}`);
    if (pos + 1 + len > buf.length) throw wireError('label runs past the end of the message');
    labels.push(buf.toString('latin1', pos + 1, pos + 1 + len).toLowerCase());
    pos += 1 + len;
  }
  return { name: labels.join('.'), next };
}

/** Offsets of every RR in the answer/authority/additional sections (after the questions). */
export function walkMessage(buf: Buffer): { rrOffsets: number[]; counts: [number, number, number, number] } {
  if (buf.length < 12) throw wireError(`message of ${buf.length} bytes is shorter than a DNS header`);
  const counts: [number, number, number, number] = [
    buf.readUInt16BE(4),
    buf.readUInt16BE(6),
    buf.readUInt16BE(8),
    buf.readUInt16BE(10),
  ];
  let offset = 12;
  for (let i = 0; i < counts[0]; i++) {
    offset = readName(buf, offset).next + 4;
    if (offset > buf.length) throw wireError('question runs past the end of the message');
  }
  const rrOffsets: number[] = [];
  for (let i = 0; i < counts[1] + counts[2] + counts[3]; i++) {
    rrOffsets.push(offset);
    const after = readName(buf, offset).next;
    if (after + 10 > buf.length) throw wireError('resource record header runs past the end of the message');
    offset = after + 10 + buf.readUInt16BE(after + 8);
    if (offset > buf.length) throw wireError('RDATA runs past the end of the message');
  }
  if (offset !== buf.length) throw wireError(`${buf.length - offset} trailing bytes after the last record`);
  return { rrOffsets, counts };
}

function toRecord(answer: { name: string; type: string; ttl?: number; data?: unknown }): DnsRecord | undefined {
  const base = { name: answer.name, ttl: answer.ttl ?? 0 };
  const d = answer.data as string;
  const o = answer.data as Record<string, unknown>;
  switch (answer.type) {
    case 'A':
    case 'AAAA':
      return normalizeRecord({ ...base, type: answer.type, address: d });
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return normalizeRecord({ ...base, type: answer.type, target: d });
    case 'TXT':
      return normalizeRecord({ ...base, type: 'TXT', text: (answer.data as Buffer[]).map((b) => b.toString('utf8')) });
    case 'MX':
    case 'SRV':
    case 'SOA':
      return normalizeRecord({ ...base, type: answer.type, ...o } as never);
    case 'CAA':
      return normalizeRecord({
        ...base,
        type: 'CAA',
        flags: o.flags as number,
        tag: o.tag as string,
        value: o.value as string,
      });
    default:
      return undefined;
  }
}

/**
 * Decodes a DNS message (query response or UPDATE response).
 *
 * @param buf the message
 * @returns header fields and the answer records of the modelled types
 * @throws {DnsZoneError} `DNS_WIRE_INVALID` for truncated or garbage input
 */
export function decodeMessage(buf: Buffer): DecodedMessage {
  walkMessage(buf); // bounds-checks every section before dns-packet sees it
  let packet: dnsPacket.DecodedPacket;
  try {
    packet = dnsPacket.decode(buf);
  } catch (error) {
    throw wireError('undecodable DNS message', error);
  }
  const flags = buf.readUInt16BE(2);
  const answers: DnsRecord[] = [];
  for (const a of packet.answers ?? []) {
    if (a.type === 'OPT') continue;
    let record: DnsRecord | undefined;
    try {
      record = toRecord(a as never);
    } catch (error) {
      throw wireError(`invalid ${a.type} record in answer`, error);
    }
    if (record) answers.push(record);
  }
  return {
    id: buf.readUInt16BE(0),
    opcode: (flags >> 11) & 0xf,
    rcode: flags & 0xf,
    truncated: (flags & 0x200) !== 0,
    authoritative: (flags & 0x400) !== 0,
    answers,
  };
}

/** Name of an rcode for messages (`NOERROR`, `REFUSED`, … or the number). */
export function rcodeName(rcode: number): string {
  return RCODES.name(rcode) ?? String(rcode);
}

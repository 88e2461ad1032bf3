// TSIG (RFC 8945): HMAC-SHA256/512 signing of requests and verification of responses.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { DNS_CLASSES, RCODES, RR_TYPES } from './constants';
import { DnsZoneError } from './errors';
import { normalizeName } from './names';
import { encodeName, readName, walkMessage } from './wire';

/** A shared TSIG key as in a BIND `key {}` clause. */
export interface TsigKey {
  name: string;
  algorithm: 'hmac-sha256' | 'hmac-sha512';
  /** Base64 secret; never logged. */
  secret: string;
}

/** Default fudge (allowed clock skew) in seconds, as BIND and nsupdate use. */
export const TSIG_FUDGE = 300;

const HASH = { 'hmac-sha256': 'sha256', 'hmac-sha512': 'sha512' } as const;

/** What {@link signMessage} returns: the signed message and its MAC (needed to verify the response). */
export interface SignedMessage {
  message: Buffer;
  mac: Buffer;
}

/** A parsed TSIG record and where it starts. */
interface TsigRecord {
  offset: number;
  keyName: string;
  algorithm: string;
  timeSigned: number;
  fudge: number;
  mac: Buffer;
  originalId: number;
  error: number;
  other: Buffer;
}

function u48(value: number): Buffer {
  const b = Buffer.alloc(6);
  b.writeUInt16BE(Math.floor(value / 2 ** 32), 0);
  b.writeUInt32BE(value >>> 0, 2);
  return b;
}

function u16(value: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(value);
  return b;
}

/** RFC 8945 §4.3.3 "TSIG Variables". */
function variables(
  keyName: string,
  algorithm: string,
  time: number,
  fudge: number,
  error: number,
  other: Buffer,
): Buffer {
  const classTtl = Buffer.alloc(6);
  classTtl.writeUInt16BE(DNS_CLASSES.byName.ANY, 0);
  return Buffer.concat([
    encodeName(keyName),
    classTtl,
    encodeName(algorithm),
    u48(time),
    u16(fudge),
    u16(error),
    u16(other.length),
    other,
  ]);
}

function hmac(key: TsigKey, parts: Buffer[]): Buffer {
  const h = createHmac(HASH[key.algorithm], Buffer.from(key.secret, 'base64'));
  for (const p of parts) h.update(p);
  return h.digest();
}

function priorMac(mac: Buffer | undefined): Buffer[] {
  return mac ? [u16(mac.length), mac] : [];
}

/**
 * Signs a message with TSIG: appends the TSIG RR and increments ARCOUNT.
 *
 * @param message unsigned wire message (e.g. from `encodeUpdate`)
 * @param key shared key
 * @param nowMs current time in ms (injected clock)
 * @param requestMac when signing a response: the request's MAC
 * @returns the signed message and the MAC
 * @example const { message, mac } = signMessage(encodeUpdate(update), key, Date.now())
 */
export function signMessage(message: Buffer, key: TsigKey, nowMs: number, requestMac?: Buffer): SignedMessage {
  const keyName = normalizeName(key.name);
  const time = Math.floor(nowMs / 1000);
  const mac = hmac(key, [
    ...priorMac(requestMac),
    message,
    variables(keyName, key.algorithm, time, TSIG_FUDGE, 0, Buffer.alloc(0)),
  ]);
  const rdata = Buffer.concat([
    encodeName(key.algorithm),
    u48(time),
    u16(TSIG_FUDGE),
    u16(mac.length),
    mac,
    message.subarray(0, 2), // original id
    u16(0),
    u16(0),
  ]);
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(RR_TYPES.byName.TSIG, 0);
  fixed.writeUInt16BE(DNS_CLASSES.byName.ANY, 2);
  fixed.writeUInt16BE(rdata.length, 8);
  const signed = Buffer.concat([message, encodeName(keyName), fixed, rdata]);
  signed.writeUInt16BE(message.readUInt16BE(10) + 1, 10);
  return { message: signed, mac };
}

function invalid(message: string, cause?: unknown): DnsZoneError {
  return new DnsZoneError('DNS_TSIG_INVALID', message, { cause });
}

/** The last additional record if it is a TSIG, else undefined. */
function findTsig(buf: Buffer): TsigRecord | undefined {
  const { rrOffsets, counts } = walkMessage(buf);
  const offset = rrOffsets.at(-1);
  if (counts[3] === 0 || offset === undefined) return undefined;
  const owner = readName(buf, offset);
  if (buf.readUInt16BE(owner.next) !== RR_TYPES.byName.TSIG) return undefined;
  // Class and TTL are not covered by the MAC; RFC 8945 fixes them to ANY and 0.
  if (buf.readUInt16BE(owner.next + 2) !== DNS_CLASSES.byName.ANY || buf.readUInt32BE(owner.next + 4) !== 0) {
    throw invalid('TSIG record must have class ANY and TTL 0');
  }
  const rdEnd = owner.next + 10 + buf.readUInt16BE(owner.next + 8);
  const alg = readName(buf, owner.next + 10);
  let p = alg.next;
  const need = (n: number): void => {
    if (p + n > rdEnd) throw invalid('truncated TSIG record');
  };
  need(10);
  const timeSigned = buf.readUInt16BE(p) * 2 ** 32 + buf.readUInt32BE(p + 2);
  const fudge = buf.readUInt16BE(p + 6);
  const macSize = buf.readUInt16BE(p + 8);
  p += 10;
  need(macSize + 6);
  const mac = buf.subarray(p, p + macSize);
  p += macSize;
  const originalId = buf.readUInt16BE(p);
  const error = buf.readUInt16BE(p + 2);
  const otherLen = buf.readUInt16BE(p + 4);
  p += 6;
  need(otherLen);
  const other = buf.subarray(p, p + otherLen);
  if (p + otherLen !== rdEnd) throw invalid('trailing bytes in TSIG record');
  return { offset, keyName: owner.name, algorithm: alg.name, timeSigned, fudge, mac, originalId, error, other };
}

/** Result of verifying a signed message. */
export interface TsigVerification {
  /** The MAC of the verified message (a response to it must be verified against this). */
  mac: Buffer;
  /** Server-reported TSIG error (0 when none). */
  error: number;
}

/**
 * Verifies the TSIG of a message (a response when `requestMac` is given): key name and
 * algorithm, TSIG error field (BADKEY/BADSIG/BADTIME from the server), HMAC over the message
 * with the original id and ARCOUNT − 1, and the time window (|now − signed| ≤ fudge).
 *
 * @param message received wire message
 * @param key the shared key
 * @param nowMs current time in ms (injected clock)
 * @param requestMac MAC of our request when verifying a response (or of the previous message)
 * @param options for the second and later messages of a zone transfer (RFC 8945 §5.3.1): `timersOnly`,
 *   and the unsigned messages received since the last signed one (`preceding`)
 * @returns the verified MAC
 * @throws {DnsZoneError} `DNS_TSIG_UNSIGNED`, `DNS_TSIG_BADKEY`, `DNS_TSIG_BADSIG`, `DNS_TSIG_BADTIME`,
 *   `DNS_TSIG_INVALID` (MAC mismatch, malformed), `DNS_WIRE_INVALID`
 */
export function verifyMessage(
  message: Buffer,
  key: TsigKey,
  nowMs: number,
  requestMac?: Buffer,
  options: { timersOnly?: boolean; preceding?: readonly Buffer[] } = {},
): TsigVerification {
  const tsig = findTsig(message);
  if (!tsig) {
    const rcode = message.length >= 4 ? message.readUInt16BE(2) & 0xf : -1;
    throw new DnsZoneError('DNS_TSIG_UNSIGNED', `message is not TSIG-signed (rcode ${RCODES.name(rcode) ?? rcode})`, {
      details: { rcode },
    });
  }
  const keyName = normalizeName(key.name);
  if (tsig.error === RCODES.byName.BADKEY || tsig.keyName !== keyName || tsig.algorithm !== key.algorithm) {
    throw new DnsZoneError(
      'DNS_TSIG_BADKEY',
      `TSIG key "${tsig.keyName}" (${tsig.algorithm}) is not known to the other side`,
      {
        details: { keyName: tsig.keyName, algorithm: tsig.algorithm },
      },
    );
  }
  if (tsig.error === RCODES.byName.BADSIG) {
    throw new DnsZoneError('DNS_TSIG_BADSIG', 'the server rejected the TSIG signature (wrong secret?)', {
      details: { keyName },
    });
  }
  if (tsig.error === RCODES.byName.BADTIME) {
    const serverTime =
      tsig.other.length === 6 ? tsig.other.readUInt16BE(0) * 2 ** 32 + tsig.other.readUInt32BE(2) : undefined;
    throw new DnsZoneError('DNS_TSIG_BADTIME', 'the server rejected the TSIG time (clock skew larger than the fudge)', {
      details: serverTime === undefined ? {} : { serverTime, skewSeconds: Math.floor(nowMs / 1000) - serverTime },
    });
  }
  const unsigned = Buffer.from(message.subarray(0, tsig.offset));
  unsigned.writeUInt16BE(tsig.originalId, 0);
  unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10);
  // Later messages of a multi-message answer (zone transfer) cover only the TSIG timers.
  const covered = options.timersOnly
    ? Buffer.concat([u48(tsig.timeSigned), u16(tsig.fudge)])
    : variables(tsig.keyName, tsig.algorithm, tsig.timeSigned, tsig.fudge, tsig.error, tsig.other);
  const expected = hmac(key, [...priorMac(requestMac), ...(options.preceding ?? []), unsigned, covered]);
  if (tsig.mac.length !== expected.length || !timingSafeEqual(tsig.mac, expected)) {
    throw invalid('TSIG MAC does not verify: the message was altered or signed with another secret');
  }
  const skew = Math.floor(nowMs / 1000) - tsig.timeSigned;
  if (Math.abs(skew) > tsig.fudge) {
    throw new DnsZoneError('DNS_TSIG_BADTIME', `TSIG time is ${skew} s off (fudge ${tsig.fudge} s)`, {
      details: { skewSeconds: skew },
    });
  }
  return { mac: Buffer.from(tsig.mac), error: tsig.error };
}

// The few DER (X.690) encodings a leaf certificate needs, written directly: building a
// certificate through a generic ASN.1 schema library costs ≈2 ms of CPU per certificate (most
// of an issue's CPU), these take microseconds. Parsing stays with the libraries, apart from
// finding one element (readTlv).

/** A complete TLV with the given tag byte and contents (definite length, shortest form). */
export function tlv(tag: number, ...contents: readonly Uint8Array[]): Buffer {
  const body = Buffer.concat(contents);
  const n = body.length;
  let header: number[];
  if (n < 0x80) header = [tag, n];
  else if (n < 0x100) header = [tag, 0x81, n];
  else if (n < 0x10000) header = [tag, 0x82, n >> 8, n & 0xff];
  else header = [tag, 0x83, n >> 16, (n >> 8) & 0xff, n & 0xff];
  return Buffer.concat([Buffer.from(header), body]);
}

/** SEQUENCE of the given encodings. */
export const sequence = (...items: readonly Uint8Array[]): Buffer => tlv(0x30, ...items);

/** SET of the given encodings (the caller orders them; a certificate's sets here hold one item). */
export const set = (...items: readonly Uint8Array[]): Buffer => tlv(0x31, ...items);

/** `[n]` EXPLICIT (constructed context tag) around one encoding. */
export const explicit = (n: number, item: Uint8Array): Buffer => tlv(0xa0 | n, item);

/** OCTET STRING. */
export const octetString = (bytes: Uint8Array): Buffer => tlv(0x04, bytes);

/** NULL. */
export const NULL: Buffer = Buffer.from([0x05, 0x00]);

/** BIT STRING of whole bytes (no unused bits). */
export const bitString = (bytes: Uint8Array): Buffer => tlv(0x03, Buffer.from([0]), bytes);

/**
 * INTEGER of a non-negative number given in hex (a certificate serial): leading zero octets
 * dropped, one added when the top bit is set so it stays positive.
 */
export function unsignedInteger(hex: string): Buffer {
  let bytes = Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex');
  let start = 0;
  while (start < bytes.length - 1 && bytes[start] === 0) start++;
  bytes = bytes.subarray(start);
  if (bytes.length === 0) bytes = Buffer.from([0]);
  return tlv(0x02, (bytes[0] ?? 0) & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes);
}

/** OBJECT IDENTIFIER from its dotted form. */
export function oid(dotted: string): Buffer {
  const [first = 0, second = 0, ...rest] = dotted.split('.').map(Number);
  const out: number[] = [];
  for (const arc of [first * 40 + second, ...rest]) {
    const base128: number[] = [];
    let v = arc;
    do {
      base128.unshift(v % 128);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < base128.length - 1; i++) base128[i] = (base128[i] ?? 0) | 0x80;
    out.push(...base128);
  }
  return tlv(0x06, Buffer.from(out));
}

/**
 * A directory string the way X.509 tools write it: PrintableString when every character is
 * allowed there, UTF8String otherwise (e.g. `_`, `@`, letters beyond ASCII).
 */
export function directoryString(text: string): Buffer {
  return tlv(/^[A-Za-z0-9 '()+,\-./:=?]*$/.test(text) ? 0x13 : 0x0c, Buffer.from(text, 'utf8'));
}

/**
 * RFC 5280 §4.1.2.5 Time, to the second: UTCTime for the years 1950–2049, GeneralizedTime from 2050.
 */
export function time(date: Date): Buffer {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(0x17, Buffer.from(digits.slice(2), 'ascii'));
  return tlv(0x18, Buffer.from(digits, 'ascii'));
}

/** One TLV found in DER input: its tag and where its contents lie. */
export interface Tlv {
  tag: number;
  /** Offset of the first content octet. */
  start: number;
  /** Offset after the last content octet. */
  end: number;
}

/**
 * Reads the TLV at `offset` (definite lengths only, as DER requires).
 * @throws Error when the input ends early or uses a length form DER forbids
 */
export function readTlv(der: Uint8Array, offset: number): Tlv {
  const tag = der[offset];
  let length = der[offset + 1];
  if (tag === undefined || length === undefined) throw new Error('DER input ends inside a header');
  let start = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    if (octets === 0 || octets > 3) throw new Error('unsupported DER length');
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + (der[start + i] ?? 0);
    start += octets;
  }
  if (start + length > der.length) throw new Error('DER contents run past the input');
  return { tag, start, end: start + length };
}

// Search result entries decoded straight from the wire into AdEntry. ldapts decodes every value
// with a fatal TextDecoder (about 2 µs a value) and copies each page into plain objects once it
// is complete; listing 5,000 users spent more CPU there than in everything else of ours. This
// decoder reads the SearchResultEntry (RFC 4511 §4.5.2) in one pass, decodes text with
// Buffer#toString and checks UTF-8 validity only when the decoded text holds U+FFFD.
import { isUtf8 } from 'node:buffer';
import {
  type BerReader,
  type Client,
  type Control,
  type Entry,
  InvalidAsn1Error,
  ProtocolOperation,
  SearchEntry,
} from 'ldapts';
import { AdEntry, BINARY_ATTRIBUTES, DECODED_ENTRY, type DecodedEntry } from './entry';

const OCTET_STRING = 0x04;
const SEQUENCE = 0x30;
const SET = 0x31;

/** Minimal BER cursor over one message: tag, definite length, bounds checked. */
class Cursor {
  constructor(
    readonly buf: Buffer,
    public pos: number,
    readonly end: number,
  ) {}

  /** Reads a tag and length; returns the content's end offset, leaves `pos` at its start. */
  open(tag: number): number {
    const { buf } = this;
    if (this.pos + 2 > this.end) throw new InvalidAsn1Error('Search entry truncated');
    const found = buf[this.pos] as number;
    if (found !== tag) throw new InvalidAsn1Error(`Expected 0x${tag.toString(16)}: got 0x${found.toString(16)}`);
    let len = buf[this.pos + 1] as number;
    this.pos += 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n === 0 || n > 4 || this.pos + n > this.end) throw new InvalidAsn1Error('Invalid BER length');
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + (buf[this.pos++] as number);
    }
    const contentEnd = this.pos + len;
    if (contentEnd > this.end) throw new InvalidAsn1Error('Search entry truncated');
    return contentEnd;
  }
}

/** Text of bytes that are valid UTF-8, otherwise undefined. */
function utf8(buf: Buffer, start: number, end: number): string | undefined {
  const text = buf.toString('utf8', start, end);
  // U+FFFD appears either as itself in the data (valid) or as the replacement for invalid bytes
  return text.includes('\uFFFD') && !isUtf8(buf.subarray(start, end)) ? undefined : text;
}

/**
 * A SearchResultEntry that decodes itself into an {@link AdEntry}: text attributes as strings,
 * attributes in the binary set (and text that is not valid UTF-8) as Buffers, empty attributes
 * left out — exactly what `normalizeEntry` makes of ldapts' own decoding.
 */
export class WireSearchEntry extends SearchEntry {
  readonly #binary: ReadonlySet<string>;
  #decoded: AdEntry | undefined;

  constructor(messageId: number, binary: ReadonlySet<string>) {
    super({ messageId });
    this.#binary = binary;
  }

  override parseMessage(reader: BerReader): void {
    const c = new Cursor(reader.buffer, reader.offset, reader.offset + reader.remain);
    const dnEnd = c.open(OCTET_STRING);
    const dn = c.buf.toString('utf8', c.pos, dnEnd);
    c.pos = dnEnd;
    const listEnd = c.open(SEQUENCE);
    const attributes: Record<string, string[]> = {};
    const buffers: Record<string, Buffer[]> = {};
    while (c.pos < listEnd) {
      const attrEnd = c.open(SEQUENCE);
      const typeEnd = c.open(OCTET_STRING);
      const type = c.buf.toString('utf8', c.pos, typeEnd);
      c.pos = typeEnd;
      const valuesEnd = c.open(SET);
      const binary = this.#binary.has(type.toLowerCase());
      const valuesStart = c.pos;
      const texts: string[] = [];
      let invalidText = false;
      while (c.pos < valuesEnd) {
        const valueEnd = c.open(OCTET_STRING);
        if (!binary) {
          const text = utf8(c.buf, c.pos, valueEnd);
          if (text === undefined) invalidText = true;
          texts.push(text ?? c.buf.toString('utf8', c.pos, valueEnd));
        }
        c.pos = valueEnd;
      }
      c.pos = attrEnd;
      if (binary || invalidText) {
        // bytes only where they are needed: a second walk over the same values
        const bytes: Buffer[] = [];
        for (const v = new Cursor(c.buf, valuesStart, valuesEnd); v.pos < valuesEnd; ) {
          const valueEnd = v.open(OCTET_STRING);
          bytes.push(c.buf.subarray(v.pos, valueEnd));
          v.pos = valueEnd;
        }
        if (bytes.length) buffers[type] = bytes;
      }
      if (texts.length) attributes[type] = texts;
    }
    reader.offset = listEnd;
    this.name = dn;
    this.#decoded = new AdEntry(dn, attributes, buffers);
  }

  /** The ldapts shape (for any other consumer) with the decoded entry attached. */
  override toObject(): Entry {
    const entry = this.#decoded as AdEntry;
    const out: DecodedEntry = { dn: entry.dn, ...entry.attributes, ...entry.buffers };
    Object.defineProperty(out, DECODED_ENTRY, { value: entry, enumerable: false });
    return out;
  }
}

type ParseMessage = (messageId: number, operation: number, reader: BerReader, request?: unknown) => unknown;

type ParserHook = { _getMessageFromProtocolOperation?: ParseMessage };

/**
 * Makes a client decode search entries with {@link WireSearchEntry}. Uses the message parser's
 * factory method of ldapts 8 (not public API; a unit test fails when an ldapts update removes
 * it): when it is missing the client is left as it is and ldapts' own decoding (normalised by
 * `normalizeEntry`) is used.
 * @returns whether the decoder was installed
 */
export function installWireDecoder(client: Client): boolean {
  const parser = (client as unknown as { messageParser?: ParserHook }).messageParser;
  return parser ? installOnParser(parser) : false;
}

/** {@link installWireDecoder} for one ldapts `MessageParser`. */
export function installOnParser(parser: ParserHook): boolean {
  const original = parser._getMessageFromProtocolOperation;
  if (typeof original !== 'function') return false;
  const binaryFor = new WeakMap<object, ReadonlySet<string>>();
  parser._getMessageFromProtocolOperation = (messageId, operation, reader, request) => {
    if (operation !== ProtocolOperation.LDAP_RES_SEARCH_ENTRY)
      return original.call(parser, messageId, operation, reader, request);
    const search = request as { explicitBufferAttributes?: readonly string[]; controls?: Control[] } | undefined;
    const explicit = search?.explicitBufferAttributes;
    let binary: ReadonlySet<string> = BINARY_ATTRIBUTES;
    if (search && explicit?.length) {
      binary = binaryFor.get(search) ?? new Set([...BINARY_ATTRIBUTES, ...explicit.map((a) => a.toLowerCase())]);
      binaryFor.set(search, binary);
    }
    const entry = new WireSearchEntry(messageId, binary);
    entry.parse(reader, search?.controls ?? []);
    return entry;
  };
  return true;
}

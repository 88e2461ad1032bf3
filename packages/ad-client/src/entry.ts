// Normalised search entries: every attribute is an array (ldapts returns a string for one value
// and an array for several), names are looked up case-insensitively, binary attributes are Buffers.
import type { Entry } from 'ldapts';

/** Attributes whose values are bytes, not text (compared case-insensitively). */
export const BINARY_ATTRIBUTES: ReadonlySet<string> = new Set(
  [
    'objectGUID',
    'objectSid',
    'sIDHistory',
    'tokenGroups',
    'tokenGroupsGlobalAndUniversal',
    'nTSecurityDescriptor',
    'msDS-GenerationId',
    'mS-DS-ConsistencyGuid',
    'schemaIDGUID',
    'attributeSecurityGUID',
    'invocationId',
    'thumbnailPhoto',
    'jpegPhoto',
    'userCertificate',
    'cACertificate',
    'logonHours',
    'dnsRecord',
    'dNSProperty',
    'unicodePwd',
    'iscDhcpRelayAgentInfo',
    'iscDhcpHashBucketAssignment',
    'iscDhcpKeySecret',
  ].map((a) => a.toLowerCase()),
);

/** Where an entry decoded from the wire (wire-entry.ts) hangs on the object ldapts hands out. */
export const DECODED_ENTRY: unique symbol = Symbol('invis.decodedEntry');

/** An ldapts entry object that already carries its normalised {@link AdEntry}. */
export type DecodedEntry = Entry & { [DECODED_ENTRY]?: AdEntry };

/** A directory entry with normalised values. */
export class AdEntry {
  /** The entry's DN exactly as the server returned it. */
  readonly dn: string;
  /** Text attributes: name as the server spelled it → values (always an array, never empty). */
  readonly attributes: Readonly<Record<string, readonly string[]>>;
  /** Binary attributes (objectGUID, objectSid, …): name → byte values. */
  readonly buffers: Readonly<Record<string, readonly Buffer[]>>;
  /** Lower-cased name → name as spelled; built on the first lookup that needs it. */
  #lower: Map<string, string> | undefined;

  constructor(
    dn: string,
    attributes: Record<string, readonly string[]>,
    buffers: Record<string, readonly Buffer[]> = {},
  ) {
    this.dn = dn;
    this.attributes = attributes;
    this.buffers = buffers;
  }

  #key(name: string): string | undefined {
    // the server usually spells a name as it was asked for: try that before lower-casing
    if (Object.hasOwn(this.attributes, name) || Object.hasOwn(this.buffers, name)) return name;
    if (!this.#lower) {
      this.#lower = new Map();
      for (const k in this.attributes) this.#lower.set(k.toLowerCase(), k);
      for (const k in this.buffers) this.#lower.set(k.toLowerCase(), k);
    }
    return this.#lower.get(name.toLowerCase());
  }

  /** First text value of an attribute (case-insensitive name), or undefined. */
  get(name: string): string | undefined {
    const k = this.#key(name);
    if (k === undefined) return undefined;
    const text = this.attributes[k];
    if (text) return text[0];
    return this.buffers[k]?.[0]?.toString('utf8');
  }

  /** All text values of an attribute (empty array when absent). */
  getAll(name: string): string[] {
    const k = this.#key(name);
    if (k === undefined) return [];
    const text = this.attributes[k];
    if (text) return [...text];
    return (this.buffers[k] ?? []).map((b) => b.toString('utf8'));
  }

  /** First value as a number (NaN-safe: undefined when absent or not numeric). */
  getNumber(name: string): number | undefined {
    const v = this.get(name);
    if (v === undefined || v.trim() === '') return undefined;
    const n = Number(v);
    return Number.isFinite(n) ? n : undefined;
  }

  /** First value as a bigint (for 64-bit FILETIME values such as pwdLastSet). */
  getBigInt(name: string): bigint | undefined {
    const v = this.get(name);
    if (v === undefined || !/^-?\d+$/.test(v)) return undefined;
    return BigInt(v);
  }

  /** First value of an LDAP boolean (`TRUE`/`FALSE`), or undefined. */
  getBoolean(name: string): boolean | undefined {
    const v = this.get(name);
    if (v === undefined) return undefined;
    return v.toUpperCase() === 'TRUE';
  }

  /** First binary value (objectGUID, objectSid, …) or undefined. */
  getBuffer(name: string): Buffer | undefined {
    const k = this.#key(name);
    if (k === undefined) return undefined;
    const bin = this.buffers[k];
    if (bin) return bin[0];
    const text = this.attributes[k]?.[0];
    return text === undefined ? undefined : Buffer.from(text, 'utf8');
  }

  /** All values as bytes (text attributes are UTF-8 encoded). */
  getBuffers(name: string): Buffer[] {
    const k = this.#key(name);
    if (k === undefined) return [];
    const bin = this.buffers[k];
    if (bin) return [...bin];
    return (this.attributes[k] ?? []).map((s) => Buffer.from(s, 'utf8'));
  }

  /** Whether the attribute is present with at least one value. */
  has(name: string): boolean {
    return this.#key(name) !== undefined;
  }

  /** Plain data: dn, text attributes, binary attributes as base64. */
  toJSON(): { dn: string; attributes: Record<string, readonly string[]>; buffers: Record<string, string[]> } {
    return {
      dn: this.dn,
      attributes: { ...this.attributes },
      buffers: Object.fromEntries(
        Object.entries(this.buffers).map(([k, v]) => [k, v.map((b) => b.toString('base64'))]),
      ),
    };
  }
}

/**
 * Converts an ldapts entry: string-vs-array values become arrays, empty attributes are dropped,
 * binary attributes become Buffers (also when ldapts decoded them as text because the bytes
 * happened to be valid UTF-8), text that is not valid UTF-8 is kept as bytes in `buffers`.
 */
export function normalizeEntry(raw: Entry, binary: ReadonlySet<string> = BINARY_ATTRIBUTES): AdEntry {
  // decoded from the wire with the same binary set the search asked for (see wire-entry.ts)
  const decoded = (raw as DecodedEntry)[DECODED_ENTRY];
  if (decoded) return decoded;
  const attributes: Record<string, string[]> = {};
  const buffers: Record<string, Buffer[]> = {};
  for (const name in raw) {
    if (name === 'dn') continue;
    const value = raw[name] as string | Buffer | (string | Buffer)[];
    const values = Array.isArray(value) ? value : [value];
    if (values.length === 0) continue;
    const isBinary = binary.has(name.toLowerCase());
    let hasBuffer = isBinary;
    if (!hasBuffer)
      for (const v of values)
        if (typeof v !== 'string') {
          hasBuffer = true;
          break;
        }
    if (!hasBuffer) {
      attributes[name] = values as string[];
      continue;
    }
    const bufs = values.map((v) => (typeof v === 'string' ? Buffer.from(v, 'utf8') : v));
    buffers[name] = bufs;
    if (!isBinary) attributes[name] = bufs.map((b) => b.toString('utf8'));
  }
  return new AdEntry(raw.dn, attributes, buffers);
}

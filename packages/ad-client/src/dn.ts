// RFC 4514 distinguished names: escaping, parsing, building and comparing. User input never
// goes into a DN by string concatenation; use `childDn(parent, value)` or `formatDn(rdns)`.
import { AdError } from './errors';

/** One attribute-value pair of an RDN, value unescaped (`{ type: 'CN', value: 'Doe, Jane' }`). */
export interface DnAttribute {
  type: string;
  value: string;
}

/** A relative distinguished name: usually one pair, several for multi-valued RDNs (`CN=a+UID=b`). */
export type Rdn = DnAttribute[];

const HEX = '0123456789ABCDEF';
const hexByte = (b: number): string => `\\${HEX[b >> 4]}${HEX[b & 15]}`;

/**
 * Escapes one attribute value for use in a DN (RFC 4514 §2.4): `, + " \ < > ; =` are
 * backslash-escaped (the backslash itself as `\5C`), control characters as `\XX`,
 * a leading `#` or space and a trailing space too. Non-ASCII stays as UTF-8. NUL is refused
 * (Samba stores it but then matches the DN only up to the NUL).
 * @throws AdError `AD_INVALID_DN` for a value containing NUL
 * @param value the raw value, e.g. `Doe, Jane`
 * @returns the escaped value, e.g. `Doe\, Jane`
 * @example childDn('CN=Users,DC=invis,DC=test', 'Doe, Jane') // 'CN=Doe\\, Jane,CN=Users,...'
 */
export function escapeDnValue(value: string): string {
  // Samba stores a \00 in an RDN but then matches DNs only up to it: refuse instead of escaping.
  if (value.includes('\0'))
    throw new AdError('AD_INVALID_DN', 'A name in a DN must not contain a NUL character.', {
      details: { value: value.replace(/\0/g, '\\0') },
    });
  let out = '';
  const chars = Array.from(value);
  chars.forEach((ch, i) => {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\5C';
    else if (',+"<>;='.includes(ch)) out += `\\${ch}`;
    else if (code < 0x20 || code === 0x7f) out += hexByte(code);
    else if (i === 0 && (ch === '#' || ch === ' ')) out += `\\${ch}`;
    else if (i === chars.length - 1 && ch === ' ') out += '\\ ';
    else out += ch;
  });
  return out;
}

const TYPE_RE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/;

/** True for a valid attribute type in a DN or filter (`cn`, `sAMAccountName`, `2.5.4.3`). */
export function isValidAttributeType(type: string): boolean {
  return TYPE_RE.test(type);
}

function invalid(dn: string, why: string): AdError {
  return new AdError('AD_INVALID_DN', `Not a valid distinguished name (${why}): ${JSON.stringify(dn)}`, {
    details: { dn },
  });
}

/**
 * Parses an RFC 4514 DN (also the escapes Samba emits: `\3D`, `\\`, `\00`, `\#`) into RDNs.
 * The empty string is the root DN (no RDNs).
 * @throws AdError `AD_INVALID_DN`
 * @example parseDn('CN=Doe\\, Jane,DC=x') // [[{type:'CN',value:'Doe, Jane'}],[{type:'DC',value:'x'}]]
 */
export function parseDn(dn: string): Rdn[] {
  if (typeof dn !== 'string') throw invalid(String(dn), `not a string but ${dn === null ? 'null' : typeof dn}`);
  const rdns: Rdn[] = [];
  if (dn.trim() === '') return rdns;
  let i = 0;
  let rdn: Rdn = [];
  const n = dn.length;
  while (i <= n) {
    while (i < n && dn[i] === ' ') i++;
    const eq = dn.indexOf('=', i);
    if (eq < 0) throw invalid(dn, 'missing "="');
    const type = dn.slice(i, eq).trim();
    if (!isValidAttributeType(type)) throw invalid(dn, `bad attribute type ${JSON.stringify(type)}`);
    i = eq + 1;
    while (i < n && dn[i] === ' ') i++;
    const bytes: number[] = [];
    let lastNonSpace = 0; // bytes length up to the last escaped or non-space char
    if (dn[i] === '#') {
      // hex-encoded BER value: keep it literally
      const m = /^#[0-9A-Fa-f]+/.exec(dn.slice(i));
      if (!m) throw invalid(dn, 'bad #hex value');
      bytes.push(...Buffer.from(m[0], 'utf8'));
      lastNonSpace = bytes.length;
      i += m[0].length;
    } else {
      while (i < n) {
        const ch = dn[i] as string;
        if (ch === ',' || ch === '+' || ch === ';') break;
        if (ch === '\\') {
          const next = dn[i + 1];
          if (next === undefined) throw invalid(dn, 'trailing backslash');
          const pair = dn.slice(i + 1, i + 3);
          if (/^[0-9A-Fa-f]{2}$/.test(pair)) {
            bytes.push(Number.parseInt(pair, 16));
            i += 3;
          } else {
            bytes.push(...Buffer.from(next, 'utf8'));
            i += 2;
          }
          lastNonSpace = bytes.length;
          continue;
        }
        if (ch === '"' || ch === '<' || ch === '>' || ch === '=') throw invalid(dn, `unescaped ${ch}`);
        const cp = dn.codePointAt(i) ?? 0;
        const s = String.fromCodePoint(cp);
        bytes.push(...Buffer.from(s, 'utf8'));
        if (ch !== ' ') lastNonSpace = bytes.length;
        i += s.length;
      }
    }
    const value = Buffer.from(bytes.slice(0, lastNonSpace)).toString('utf8');
    if (value === '') throw invalid(dn, `empty value for ${type}`);
    rdn.push({ type, value });
    if (i >= n) {
      rdns.push(rdn);
      break;
    }
    const sep = dn[i];
    i++;
    if (sep === '+') continue;
    rdns.push(rdn);
    rdn = [];
    if (i >= n) throw invalid(dn, 'trailing separator');
  }
  return rdns;
}

/**
 * Formats RDNs as a DN string with canonical escaping.
 * @example formatDn([[{ type: 'CN', value: 'a,b' }]]) // 'CN=a\\,b'
 */
export function formatDn(rdns: readonly Rdn[]): string {
  return rdns
    .map((rdn) =>
      rdn
        .map(({ type, value }) => {
          if (!isValidAttributeType(type)) throw invalid(type, `bad attribute type ${JSON.stringify(type)}`);
          if (value === '') throw invalid(type, 'empty value');
          return `${type}=${escapeDnValue(value)}`;
        })
        .join('+'),
    )
    .join(',');
}

/**
 * Builds the DN of a child: `<type>=<escaped value>,<parent>`.
 * @param parent the parent DN (already a DN, not escaped again)
 * @param value the raw RDN value (escaped here)
 * @param type RDN attribute type, default `CN`
 * @throws AdError `AD_INVALID_DN` for an empty value or bad type
 * @example childDn('CN=Users,DC=invis,DC=test', 'Doe, Jane') // 'CN=Doe\\, Jane,CN=Users,DC=invis,DC=test'
 */
export function childDn(parent: string, value: string, type = 'CN'): string {
  const rdn = formatDn([[{ type, value }]]);
  return parent ? `${rdn},${parent}` : rdn;
}

/** The unescaped value of the first RDN (`CN=Doe\, Jane,CN=Users,…` → `Doe, Jane`). */
export function rdnValue(dn: string): string {
  const first = parseDn(dn)[0]?.[0];
  if (!first) throw invalid(dn, 'root DN has no RDN');
  return first.value;
}

/** The parent DN (`CN=a,CN=Users,DC=x` → `CN=Users,DC=x`), canonically escaped. */
export function parentDn(dn: string): string {
  return formatDn(parseDn(dn).slice(1));
}

/** A canonical comparable form: types and values lower-cased, canonical escaping. */
export function normalizeDn(dn: string): string {
  return formatDn(
    parseDn(dn).map((rdn) =>
      rdn
        .map((a) => ({ type: a.type.toLowerCase(), value: a.value.toLowerCase() }))
        .sort((x, y) => (x.type < y.type ? -1 : 1)),
    ),
  );
}

/** Case- and escaping-insensitive DN equality (AD compares DNs case-insensitively). */
export function dnEquals(a: string, b: string): boolean {
  return normalizeDn(a) === normalizeDn(b);
}

/** True when `dn` is `ancestor` or lies below it. */
export function isDnWithin(dn: string, ancestor: string): boolean {
  const d = normalizeDn(dn);
  const a = normalizeDn(ancestor);
  return a === '' || d === a || d.endsWith(`,${a}`);
}

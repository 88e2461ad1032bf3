// RFC 1035 §5 master files: pure render and parse (no I/O).
import { generatedMarker } from '@invis/host';
import { DnsZoneError } from './errors';
import { DEFAULT_TTL, type DnsRecord, type DnsRecordInput, type DnsZone, normalizeRecord, validateZone } from './model';
import { normalizeName, relativeName } from './names';

// ---------- render ----------

function renderName(name: string, origin: string): string {
  if (name === origin) return '@';
  if (name.endsWith(`.${origin}`)) return relativeName(name, origin);
  return `${name}.`;
}

const PLAIN = /^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/;

/** A character string in double quotes; `"` and `\` escaped, other non-printables as `\DDD`. */
export function quoteString(value: string): string {
  if (PLAIN.test(value)) return `"${value}"`;
  let out = '"';
  for (const byte of Buffer.from(value, 'utf8')) {
    if (byte === 0x22 || byte === 0x5c) out += `\\${String.fromCharCode(byte)}`;
    else if (byte < 0x20 || byte > 0x7e) out += `\\${String(byte).padStart(3, '0')}`;
    else out += String.fromCharCode(byte);
  }
  return `${out}"`;
}

function renderRdata(r: DnsRecord, origin: string): string {
  switch (r.type) {
    case 'A':
    case 'AAAA':
      return r.address;
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return renderName(r.target, origin);
    case 'MX':
      return `${r.preference} ${renderName(r.exchange, origin)}`;
    case 'TXT':
      return r.text.map(quoteString).join(' ');
    case 'SRV':
      return `${r.priority} ${r.weight} ${r.port} ${renderName(r.target, origin)}`;
    case 'CAA':
      return `${r.flags} ${r.tag} ${quoteString(r.value)}`;
    case 'SOA':
      return `${renderName(r.mname, origin)} ${renderName(r.rname, origin)} (\n\t\t${r.serial} ; serial\n\t\t${r.refresh} ; refresh\n\t\t${r.retry} ; retry\n\t\t${r.expire} ; expire\n\t\t${r.minimum} ) ; minimum`;
  }
}

/**
 * Renders a zone as an RFC 1035 master file: marker line, `$ORIGIN`, `$TTL`, SOA first
 * (multi-line), names relative to the origin, TXT quoted. Deterministic: same zone, same text.
 *
 * @param zone a validated zone
 * @returns the file text (ends with a newline)
 * @throws {DnsZoneError} the codes of {@link validateZone}
 * @example renderZone({ origin: 'invis.test', ttl: 3600, records: [...] })
 */
export function renderZone(zone: DnsZone): string {
  validateZone(zone);
  const origin = zone.origin;
  const lines = [generatedMarker('@invis/dns-zone', 'semicolon'), `$ORIGIN ${origin}.`, `$TTL ${zone.ttl}`];
  const ordered = [...zone.records.filter((r) => r.type === 'SOA'), ...zone.records.filter((r) => r.type !== 'SOA')];
  for (const r of ordered) {
    lines.push(`${renderName(r.name, origin)}\t${r.ttl}\tIN\t${r.type}\t${renderRdata(r, origin)}`);
  }
  return `${lines.join('\n')}\n`;
}

// ---------- parse ----------

interface Token {
  text: string;
  quoted: boolean;
}
interface Entry {
  line: number;
  indented: boolean;
  tokens: Token[];
}

function parseError(line: number, message: string, cause?: unknown): DnsZoneError {
  return new DnsZoneError('DNS_PARSE_ERROR', `line ${line}: ${message}`, { cause, details: { line } });
}

const DECIMAL_ESCAPE = /\\\d/;

function unescapeText(raw: string, line: number): string {
  if (!raw.includes('\\')) return raw;
  if (!DECIMAL_ESCAPE.test(raw)) {
    // only \X escapes: no byte arithmetic needed
    if (/(^|[^\\])(\\\\)*\\$/.test(raw)) throw parseError(line, 'dangling backslash');
    return raw.replace(/\\(.)/gs, '$1');
  }
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i] as string;
    if (c !== '\\') {
      const code = raw.codePointAt(i) as number;
      if (code < 0x80) {
        bytes.push(code);
      } else {
        const char = String.fromCodePoint(code);
        bytes.push(...Buffer.from(char, 'utf8'));
        i += char.length - 1;
      }
      continue;
    }
    const digits = raw.slice(i + 1, i + 4);
    if (/^\d{3}$/.test(digits)) {
      const value = Number(digits);
      if (value > 255) throw parseError(line, `escape \\${digits} is out of range`);
      bytes.push(value);
      i += 3;
    } else if (i + 1 < raw.length) {
      bytes.push(...Buffer.from(raw[i + 1] as string, 'utf8'));
      i += 1;
    } else {
      throw parseError(line, 'dangling backslash');
    }
  }
  return Buffer.from(bytes).toString('utf8');
}

const isSpace = (c: number): boolean => c === 0x20 || c === 0x09 || c === 0x0d;
const SPECIAL = /["();\\]/;
const BLANKS = /[ \t\r]+/;

/** Tokenises one line into `tokens`; returns the parenthesis depth after it. */
function tokenizeLine(text: string, line: number, startDepth: number, tokens: Token[]): number {
  let depth = startDepth;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (isSpace(c)) {
      i++;
    } else if (c === 0x3b) {
      break; // comment to end of line
    } else if (c === 0x28) {
      depth++;
      i++;
    } else if (c === 0x29) {
      if (depth === 0) throw parseError(line, 'unbalanced ")"');
      depth--;
      i++;
    } else if (c === 0x22) {
      let j = i + 1;
      while (j < n && text.charCodeAt(j) !== 0x22) j += text.charCodeAt(j) === 0x5c ? 2 : 1;
      if (j >= n) throw parseError(line, 'unterminated quoted string');
      tokens.push({ text: unescapeText(text.slice(i + 1, j), line), quoted: true });
      i = j + 1;
    } else {
      let j = i;
      while (j < n) {
        const d = text.charCodeAt(j);
        if (isSpace(d) || d === 0x3b || d === 0x28 || d === 0x29 || d === 0x22) break;
        j += d === 0x5c ? 2 : 1;
      }
      tokens.push({ text: unescapeText(text.slice(i, Math.min(j, n)), line), quoted: false });
      i = j;
    }
  }
  return depth;
}

/** Splits master-file text into logical entries (parentheses joined, comments dropped). */
function* entries(text: string): Generator<Entry> {
  const lines = text.split('\n');
  let pending: Entry | undefined;
  let depth = 0;
  for (let index = 0; index < lines.length; index++) {
    const raw = lines[index] as string;
    const line = index + 1;
    if (depth === 0) {
      const indented = isSpace(raw.charCodeAt(0));
      if (!SPECIAL.test(raw)) {
        // fast path: nothing but blank-separated words (nearly every line of a big zone)
        const words = raw.split(BLANKS);
        const tokens: Token[] = [];
        for (const w of words) if (w !== '') tokens.push({ text: w, quoted: false });
        if (tokens.length > 0) yield { line, indented, tokens };
        continue;
      }
      pending = { line, indented, tokens: [] };
    }
    const entry = pending as Entry;
    depth = tokenizeLine(raw, line, depth, entry.tokens);
    if (depth === 0 && entry.tokens.length > 0) yield entry;
  }
  if (depth !== 0) throw parseError(pending?.line ?? lines.length, 'unbalanced "(" (not closed before end of file)');
}

const TTL_PATTERN = /^(?:\d+|(?:\d+[smhdw])+)$/i;
const UNIT: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

function parseTtl(text: string, line: number): number {
  if (!TTL_PATTERN.test(text)) throw parseError(line, `invalid TTL "${text}"`);
  let value = 0;
  if (/^\d+$/.test(text)) value = Number(text);
  else
    for (const m of text.matchAll(/(\d+)([smhdw])/gi))
      value += Number(m[1]) * (UNIT[(m[2] as string).toLowerCase()] ?? 0);
  if (value > 0x7fffffff) throw parseError(line, `TTL ${text} exceeds 2147483647`);
  return value;
}

function parseNumber(text: string | undefined, line: number, what: string, max: number): number {
  if (text === undefined || !/^\d+$/.test(text) || Number(text) > max) {
    throw parseError(line, `invalid ${what} "${text ?? ''}"`);
  }
  return Number(text);
}

function need(rd: readonly string[], count: number, type: string, line: number): void {
  if (rd.length !== count) throw parseError(line, `${type} needs ${count} data field(s), got ${rd.length}`);
}

/** Resolves `@` and relative names against the current origin. */
function absolute(origin: string | undefined, line: number, name: string): string {
  if (name === '@') {
    if (!origin) throw parseError(line, '"@" used before $ORIGIN');
    return origin;
  }
  if (name.endsWith('.')) return name;
  if (!origin) throw parseError(line, `relative name "${name}" used before $ORIGIN`);
  return `${name}.${origin}`;
}

/** Options for {@link parseZone}. */
export interface ParseZoneOptions {
  /** Origin to use until a `$ORIGIN` line (needed when the file has none). */
  origin?: string;
  /** Run {@link validateZone} (default true). */
  validate?: boolean;
}

/**
 * Parses an RFC 1035 master file: `$ORIGIN`, `$TTL`, `@`, relative names, blank owners
 * (previous owner), TTL/class in either order, TTL units (`1h30m`), parentheses, comments,
 * quoted strings with `\"` and `\DDD` escapes. Class IN only; `$INCLUDE`/`$GENERATE` rejected.
 * Each record gets the TTL in effect where it stands; the zone's `ttl` is the first `$TTL`.
 *
 * @param text file content
 * @param options origin and validation switch
 * @returns the zone (absolute, normalised names)
 * @throws {DnsZoneError} `DNS_PARSE_ERROR` with `data.line`, or a validation code
 * @example parseZone('$ORIGIN invis.test.\n@ 3600 IN SOA ns1 hostmaster 1 2 3 4 5\n')
 */
export function parseZone(text: string, options: ParseZoneOptions = {}): DnsZone {
  let origin = options.origin === undefined ? undefined : normalizeName(options.origin);
  // `$TTL` sets the TTL for the records after it; the zone's default is the first one, as the
  // origin is the first `$ORIGIN` (a later `$TTL 60` for a dynamic part does not change it).
  let defaultTtl: number | undefined;
  let zoneTtl: number | undefined;
  let firstOrigin = origin;
  let owner: string | undefined;
  const records: DnsRecord[] = [];
  for (const entry of entries(text)) {
    const { line, tokens } = entry;
    try {
      const first = tokens[0] as Token;
      if (!entry.indented && !first.quoted && first.text.startsWith('$')) {
        const directive = first.text.toUpperCase();
        if (directive === '$ORIGIN' && tokens.length === 2) {
          const value = (tokens[1] as Token).text;
          origin = normalizeName(value.endsWith('.') || !origin ? value : `${value}.${origin}`);
          firstOrigin ??= origin;
        } else if (directive === '$TTL' && tokens.length === 2) {
          defaultTtl = parseTtl((tokens[1] as Token).text, line);
          zoneTtl ??= defaultTtl;
        } else {
          throw parseError(line, `unsupported directive ${first.text}`);
        }
        continue;
      }
      let k = 0;
      if (!entry.indented) owner = absolute(origin, line, (tokens[k++] as Token).text);
      if (owner === undefined) throw parseError(line, 'record without owner name');
      let ttl: number | undefined;
      let sawClass = false;
      for (;;) {
        const t = tokens[k]?.text;
        if (t === undefined) break;
        if (ttl === undefined && TTL_PATTERN.test(t)) ttl = parseTtl(t, line);
        else if (!sawClass && t.toUpperCase() === 'IN') sawClass = true;
        else if (!sawClass && /^(CH|HS|CS)$/i.test(t)) throw parseError(line, `class ${t} is not supported`);
        else break;
        k++;
      }
      const type = tokens[k++]?.text.toUpperCase();
      const rd = tokens.slice(k).map((t) => t.text);
      let input: DnsRecordInput;
      const name = owner;
      switch (type) {
        case 'A':
        case 'AAAA':
          need(rd, 1, type, line);
          input = { name, type, address: rd[0] as string };
          break;
        case 'CNAME':
        case 'PTR':
        case 'NS':
          need(rd, 1, type, line);
          input = { name, type, target: absolute(origin, line, rd[0] as string) };
          break;
        case 'MX':
          need(rd, 2, type, line);
          input = {
            name,
            type,
            preference: parseNumber(rd[0], line, 'preference', 0xffff),
            exchange: absolute(origin, line, rd[1] as string),
          };
          break;
        case 'TXT':
          if (rd.length === 0) throw parseError(line, 'TXT needs at least one string');
          input = { name, type, text: rd };
          break;
        case 'SRV':
          need(rd, 4, type, line);
          input = {
            name,
            type,
            priority: parseNumber(rd[0], line, 'priority', 0xffff),
            weight: parseNumber(rd[1], line, 'weight', 0xffff),
            port: parseNumber(rd[2], line, 'port', 0xffff),
            target: absolute(origin, line, rd[3] as string),
          };
          break;
        case 'SOA':
          need(rd, 7, type, line);
          input = {
            name,
            type,
            mname: absolute(origin, line, rd[0] as string),
            rname: absolute(origin, line, rd[1] as string),
            serial: parseNumber(rd[2], line, 'serial', 0xffffffff),
            refresh: parseTtl(rd[3] as string, line),
            retry: parseTtl(rd[4] as string, line),
            expire: parseTtl(rd[5] as string, line),
            minimum: parseTtl(rd[6] as string, line),
          };
          break;
        case 'CAA':
          need(rd, 3, type, line);
          input = {
            name,
            type,
            flags: parseNumber(rd[0], line, 'flags', 255),
            tag: rd[1] as string,
            value: rd[2] as string,
          };
          break;
        default:
          throw parseError(line, type === undefined ? 'missing record type' : `unsupported record type ${type}`);
      }
      records.push(normalizeRecord({ ...input, ttl: ttl ?? defaultTtl ?? DEFAULT_TTL } as DnsRecordInput));
    } catch (error) {
      if (error instanceof DnsZoneError && error.code !== 'DNS_PARSE_ERROR') {
        throw new DnsZoneError(error.code, `line ${line}: ${error.message}`, {
          cause: error,
          details: { ...error.details, line },
        });
      }
      throw error instanceof DnsZoneError ? error : parseError(line, String(error), error);
    }
  }
  if (!firstOrigin)
    throw new DnsZoneError('DNS_PARSE_ERROR', 'zone has no $ORIGIN and no origin was given', { details: { line: 0 } });
  const zone: DnsZone = { origin: firstOrigin, ttl: zoneTtl ?? DEFAULT_TTL, records };
  if (options.validate !== false) validateZone(zone);
  return zone;
}

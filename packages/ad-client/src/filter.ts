// RFC 4515 search filters. Searches take an `LdapFilter`, never a plain string, so user input
// can only enter a filter escaped: through the `ldapFilter` tagged template or the `f` builder.
// Our own parser turns the text into ldapts filter objects (ldapts' string parser decodes
// `\c3\a4` byte by byte into Latin-1 and cannot carry binary values such as an objectGUID).
import {
  AndFilter,
  ApproximateFilter,
  EqualityFilter,
  ExtensibleFilter,
  type Filter,
  GreaterThanEqualsFilter,
  LessThanEqualsFilter,
  NotFilter,
  OrFilter,
  PresenceFilter,
  SubstringFilter,
} from 'ldapts';
import { AdError } from './errors';

/** A value that may be placed into a filter; it is always escaped. */
export type FilterValue = string | number | bigint | boolean | Uint8Array;

/**
 * Escapes a value for an RFC 4515 filter: `*` `(` `)` `\` and NUL become `\2a` `\28` `\29` `\5c`
 * `\00`; bytes (Buffer/Uint8Array, e.g. an objectGUID) are fully hex-escaped. Non-ASCII text
 * stays UTF-8.
 * @example escapeFilterValue('*)(objectClass=*') // '\\2a\\29\\28objectClass=\\2a'
 */
export function escapeFilterValue(value: FilterValue): string {
  if (value instanceof Uint8Array) return Array.from(value, (b) => `\\${b.toString(16).padStart(2, '0')}`).join('');
  const s = typeof value === 'boolean' ? (value ? 'TRUE' : 'FALSE') : String(value);
  return s.replace(/[*()\\\0]/g, (c) => `\\${(c.codePointAt(0) ?? 0).toString(16).padStart(2, '0')}`);
}

/** Handed only to the constructor by this module's builders: outside code cannot make a filter. */
const BUILT: unique symbol = Symbol('LdapFilter');

/**
 * A syntactically valid RFC 4515 filter. Build with `ldapFilter`…``, `f.*` or `parseFilter`; the
 * constructor is not for outside use. Every function that takes a filter checks the brand at run
 * time, so JavaScript callers cannot pass concatenated text or a look-alike `{ text }` object.
 */
export class LdapFilter {
  readonly #brand = 'LdapFilter';
  /** The RFC 4515 text, e.g. `(&(objectClass=user)(sAMAccountName=jdoe))`. */
  readonly text: string;
  /** @internal use the builders */
  constructor(token: typeof BUILT, text: string) {
    if (token !== BUILT) throw notAFilter(text);
    this.text = text;
  }
  /** True for a filter built by this package (brand check, not structural). */
  static is(x: unknown): x is LdapFilter {
    return typeof x === 'object' && x !== null && #brand in x;
  }
  toString(): string {
    return this.text;
  }
  toJSON(): string {
    return this.text;
  }
}

const ATTR_RE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)(?:;[A-Za-z0-9-]+)*$/;
const RULE_RE = /^(?:[A-Za-z][A-Za-z0-9-]*|\d+(?:\.\d+)+)$/;

function badFilter(text: string, why: string): AdError {
  return new AdError('AD_INVALID_FILTER', `Invalid LDAP filter (${why}): ${text}`, { details: { filter: text } });
}

/** The error for a value that is not an `LdapFilter` (its text is not echoed: it may be hostile). */
function notAFilter(x: unknown): AdError {
  const given = x === null ? 'null' : typeof x;
  return new AdError(
    'AD_INVALID_FILTER',
    `Expected an LdapFilter built with ldapFilter\`…\`, f.* or parseFilter, got ${given === 'object' ? 'another object' : `a ${given}`}; filter text with input concatenated in is never run.`,
    { details: { given } },
  );
}

/**
 * The filter itself when it was built by this package.
 * @throws AdError `AD_INVALID_FILTER` for anything else (a string, a look-alike object)
 */
export function checkFilter(x: unknown): LdapFilter {
  if (!LdapFilter.is(x)) throw notAFilter(x);
  return x;
}

function checkAttr(attr: string): string {
  if (!ATTR_RE.test(attr)) throw badFilter(attr, `bad attribute name ${JSON.stringify(attr)}`);
  return attr;
}

/**
 * Tagged template for filters: every `${value}` is escaped, nested `LdapFilter`s are inserted
 * as they are. The result is syntax-checked.
 * @throws AdError `AD_INVALID_FILTER` when the literal parts do not form a valid filter
 * @example ldapFilter`(&(objectClass=user)(sAMAccountName=${input}))`
 */
export function ldapFilter(strings: TemplateStringsArray, ...values: (FilterValue | LdapFilter)[]): LdapFilter {
  let text = strings[0] ?? '';
  values.forEach((v, i) => {
    if (LdapFilter.is(v)) text += v.text;
    else if (
      typeof v === 'string' ||
      typeof v === 'number' ||
      typeof v === 'bigint' ||
      typeof v === 'boolean' ||
      v instanceof Uint8Array
    )
      text += escapeFilterValue(v);
    else throw badFilter(String(v), 'unsupported interpolated value');
    text += strings[i + 1] ?? '';
  });
  return checked(text);
}

/**
 * Validates trusted filter text (a constant or configuration) and wraps it.
 * Never build the text by concatenating user input; use `ldapFilter` or `f`.
 * @throws AdError `AD_INVALID_FILTER`
 */
export function parseFilter(text: string): LdapFilter {
  if (typeof text !== 'string') throw notAFilter(text);
  return checked(text.startsWith('(') ? text : `(${text})`);
}

/** Wraps text that the builders produced from checked names and escaped values. */
const made = (text: string): LdapFilter => new LdapFilter(BUILT, text);
/** Wraps text after a full syntax check. */
const checked = (text: string): LdapFilter => {
  parseText(text);
  return made(text);
};
// Only false/null/undefined are dropped: anything else that is not a filter (a string) would
// otherwise vanish from the AND and widen the search.
const list = (op: '&' | '|', filters: (LdapFilter | false | null | undefined)[]): LdapFilter =>
  made(
    `(${op}${filters
      .filter((x) => x !== false && x !== null && x !== undefined)
      .map((x) => checkFilter(x).text)
      .join('')})`,
  );

/** AD matching rule OIDs. */
export const MATCHING_RULES = {
  /** bitwise AND: all bits set */
  bitAnd: '1.2.840.113556.1.4.803',
  /** bitwise OR: any bit set */
  bitOr: '1.2.840.113556.1.4.804',
  /** LDAP_MATCHING_RULE_IN_CHAIN: transitive membership / ancestry */
  inChain: '1.2.840.113556.1.4.1941',
} as const;

/**
 * Filter builder; every value is escaped, attribute names are checked.
 * `false`/`null`/`undefined` members of `and`/`or` are dropped (handy for optional criteria).
 * @example f.and(f.eq('objectClass', 'user'), f.startsWith('sAMAccountName', prefix), f.not(f.bitAnd('userAccountControl', 2)))
 */
export const f: {
  eq(attr: string, value: FilterValue): LdapFilter;
  ge(attr: string, value: FilterValue): LdapFilter;
  le(attr: string, value: FilterValue): LdapFilter;
  approx(attr: string, value: FilterValue): LdapFilter;
  present(attr: string): LdapFilter;
  startsWith(attr: string, value: string): LdapFilter;
  endsWith(attr: string, value: string): LdapFilter;
  contains(attr: string, value: string): LdapFilter;
  and(...filters: (LdapFilter | false | null | undefined)[]): LdapFilter;
  or(...filters: (LdapFilter | false | null | undefined)[]): LdapFilter;
  not(filter: LdapFilter): LdapFilter;
  bitAnd(attr: string, bits: number): LdapFilter;
  bitOr(attr: string, bits: number): LdapFilter;
  inChain(attr: string, dn: string): LdapFilter;
  anyOf(attr: string, values: readonly FilterValue[]): LdapFilter;
} = {
  eq: (attr, value) => made(`(${checkAttr(attr)}=${escapeFilterValue(value)})`),
  ge: (attr, value) => made(`(${checkAttr(attr)}>=${escapeFilterValue(value)})`),
  le: (attr, value) => made(`(${checkAttr(attr)}<=${escapeFilterValue(value)})`),
  approx: (attr, value) => made(`(${checkAttr(attr)}~=${escapeFilterValue(value)})`),
  present: (attr) => made(`(${checkAttr(attr)}=*)`),
  startsWith: (attr, value) => made(`(${checkAttr(attr)}=${escapeFilterValue(value)}*)`),
  endsWith: (attr, value) => made(`(${checkAttr(attr)}=*${escapeFilterValue(value)})`),
  contains: (attr, value) => made(`(${checkAttr(attr)}=*${escapeFilterValue(value)}*)`),
  and: (...filters) => list('&', filters),
  or: (...filters) => list('|', filters),
  not: (filter) => made(`(!${checkFilter(filter).text})`),
  bitAnd: (attr, bits) => made(`(${checkAttr(attr)}:${MATCHING_RULES.bitAnd}:=${Math.trunc(bits) >>> 0})`),
  bitOr: (attr, bits) => made(`(${checkAttr(attr)}:${MATCHING_RULES.bitOr}:=${Math.trunc(bits) >>> 0})`),
  inChain: (attr, dn) => made(`(${checkAttr(attr)}:${MATCHING_RULES.inChain}:=${escapeFilterValue(dn)})`),
  anyOf: (attr, values) =>
    list(
      '|',
      values.map((v) => f.eq(attr, v)),
    ),
};

// ---- parser: RFC 4515 text → ldapts Filter objects -------------------------------------------

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes an assertion value (with `\XX` escapes) into bytes. */
function decodeValue(raw: string, whole: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < raw.length; ) {
    const ch = raw[i] as string;
    if (ch === '\\') {
      const pair = raw.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(pair)) throw badFilter(whole, `bad escape \\${pair}`);
      out.push(Number.parseInt(pair, 16));
      i += 3;
    } else if (ch === '(' || ch === ')' || ch === '\0') {
      throw badFilter(whole, `unescaped ${JSON.stringify(ch)} in value`);
    } else {
      const cp = raw.codePointAt(i) ?? 0;
      const s = String.fromCodePoint(cp);
      out.push(...Buffer.from(s, 'utf8'));
      i += s.length;
    }
  }
  return Buffer.from(out);
}

function asText(bytes: Buffer, whole: string): string {
  try {
    return utf8.decode(bytes);
  } catch {
    throw badFilter(whole, 'binary value is only allowed in an equality match');
  }
}

function parseItem(item: string, whole: string): Filter {
  const m = /^([^=~<>:]*)(:dn)?(?::([^:=]+))?(:?=|~=|>=|<=)(.*)$/s.exec(item);
  if (!m) throw badFilter(whole, `bad item ${JSON.stringify(item)}`);
  const [, attr = '', dnFlag, rule, op, raw = ''] = m;
  if (op === ':=') {
    if (attr && !ATTR_RE.test(attr)) throw badFilter(whole, `bad attribute ${JSON.stringify(attr)}`);
    if (rule && !RULE_RE.test(rule)) throw badFilter(whole, `bad matching rule ${JSON.stringify(rule)}`);
    if (!attr && !rule) throw badFilter(whole, 'extensible match needs an attribute or a rule');
    return new ExtensibleFilter({
      ...(attr ? { matchType: attr } : {}),
      ...(rule ? { rule } : {}),
      dnAttributes: Boolean(dnFlag),
      value: asText(decodeValue(raw, whole), whole),
    });
  }
  if (dnFlag || rule) throw badFilter(whole, `bad item ${JSON.stringify(item)}`);
  if (!ATTR_RE.test(attr)) throw badFilter(whole, `bad attribute ${JSON.stringify(attr)}`);
  if (op === '=') {
    if (raw === '*') return new PresenceFilter({ attribute: attr });
    if (raw.includes('*')) {
      const parts = raw.split('*').map((p) => asText(decodeValue(p, whole), whole));
      const initial = parts.shift() ?? '';
      const final = parts.pop() ?? '';
      return new SubstringFilter({ attribute: attr, initial, any: parts.filter((p) => p !== ''), final });
    }
    const bytes = decodeValue(raw, whole);
    let value: string | Buffer;
    try {
      value = utf8.decode(bytes);
    } catch {
      value = bytes;
    }
    return new EqualityFilter({ attribute: attr, value });
  }
  const value = asText(decodeValue(raw, whole), whole);
  if (op === '>=') return new GreaterThanEqualsFilter({ attribute: attr, value });
  if (op === '<=') return new LessThanEqualsFilter({ attribute: attr, value });
  return new ApproximateFilter({ attribute: attr, value });
}

function parseAt(text: string, start: number): { filter: Filter; end: number } {
  if (text[start] !== '(') throw badFilter(text, `expected "(" at ${start}`);
  let i = start + 1;
  const op = text[i];
  if (op === '&' || op === '|') {
    i++;
    const children: Filter[] = [];
    while (text[i] === '(') {
      const child = parseAt(text, i);
      children.push(child.filter);
      i = child.end;
    }
    if (text[i] !== ')') throw badFilter(text, `expected ")" at ${i}`);
    return {
      filter: op === '&' ? new AndFilter({ filters: children }) : new OrFilter({ filters: children }),
      end: i + 1,
    };
  }
  if (op === '!') {
    const child = parseAt(text, i + 1);
    if (text[child.end] !== ')') throw badFilter(text, `expected ")" at ${child.end}`);
    return { filter: new NotFilter({ filter: child.filter }), end: child.end + 1 };
  }
  const close = text.indexOf(')', i);
  if (close < 0) throw badFilter(text, 'unbalanced parentheses');
  const item = text.slice(i, close);
  if (item.includes('(')) throw badFilter(text, 'unescaped "(" in value');
  return { filter: parseItem(item, text), end: close + 1 };
}

/** Parses filter text into an ldapts filter object. @throws AdError `AD_INVALID_FILTER` */
function parseText(text: string): Filter {
  if (!text) throw badFilter(text, 'empty');
  const { filter: parsed, end } = parseAt(text, 0);
  if (end !== text.length) throw badFilter(text, `unexpected text after position ${end}`);
  return parsed;
}

/**
 * The ldapts filter object for a filter built by this package (used for every search).
 * @throws AdError `AD_INVALID_FILTER` for anything that is not an `LdapFilter`, e.g. a string
 */
export function toLdaptsFilter(filter: LdapFilter): Filter {
  return parseText(checkFilter(filter).text);
}

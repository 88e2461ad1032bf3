// BIND key files as `tsig-keygen` writes them and named.conf includes them:
//   key "ddns-key" { algorithm hmac-sha256; secret "base64"; };
// Pure parse and render; the secret never appears in an error message.
import { DnsZoneError } from './errors';
import { normalizeName } from './names';
import type { TsigKey } from './tsig';

type TokenKind = 'word' | 'string' | '{' | '}' | ';';
interface Token {
  kind: TokenKind;
  text: string;
  line: number;
}

const SUPPORTED = ['hmac-sha256', 'hmac-sha512'] as const;
// Algorithms BIND knows but TSIG signing here does not implement.
const KNOWN_UNSUPPORTED = /^hmac-(md5(\.sig-alg\.reg\.int)?|sha1|sha224|sha384)(-\d+)?$|^hmac-sha(256|512)-\d+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

function keyFileError(line: number, message: string): DnsZoneError {
  return new DnsZoneError('DNS_PARSE_ERROR', `key file line ${line}: ${message}`, { details: { line } });
}

/** named.conf tokens: words, quoted strings, braces and semicolons; `#`, `//` and C comments skipped. */
function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#' || text.startsWith('//', i)) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (text.startsWith('/*', i)) {
      const end = text.indexOf('*/', i + 2);
      if (end < 0) throw keyFileError(line, 'comment not closed');
      for (let j = i; j < end; j++) if (text[j] === '\n') line++;
      i = end + 2;
    } else if (c === '"') {
      const start = line;
      let value = '';
      i++;
      for (;;) {
        const d = text[i];
        if (d === undefined || d === '\n') throw keyFileError(start, 'quoted string not closed');
        i++;
        if (d === '"') break;
        if (d === '\\') {
          const next = text[i];
          if (next === undefined || next === '\n') throw keyFileError(start, 'quoted string not closed');
          value += next;
          i++;
        } else value += d;
      }
      tokens.push({ kind: 'string', text: value, line: start });
    } else if (c === '{' || c === '}' || c === ';') {
      tokens.push({ kind: c, text: c, line });
      i++;
    } else {
      let j = i;
      while (j < text.length && !/[\s{};"#]/.test(text[j] as string) && !text.startsWith('//', j)) j++;
      tokens.push({ kind: 'word', text: text.slice(i, j), line });
      i = j;
    }
  }
  return tokens;
}

/** Reads the `key` statements of a file; every other statement is an error. */
function parseKeys(text: string): TsigKey[] {
  const tokens = tokenize(text);
  let k = 0;
  const lastLine = (): number => tokens[tokens.length - 1]?.line ?? 1;
  const next = (what: string): Token => {
    const t = tokens[k++];
    if (!t) throw keyFileError(lastLine(), `expected ${what}, found the end of the file`);
    return t;
  };
  const expect = (kind: TokenKind, what: string): Token => {
    const t = next(what);
    // Tokens are not quoted back: a misplaced one may be the secret.
    if (t.kind !== kind) throw keyFileError(t.line, `expected ${what}`);
    return t;
  };
  const keys: TsigKey[] = [];
  while (k < tokens.length) {
    const start = next('"key"');
    if (start.kind !== 'word' || start.text.toLowerCase() !== 'key')
      throw keyFileError(start.line, 'expected a "key" statement (a key file holds nothing else)');
    const nameToken = next('the key name');
    if (nameToken.kind !== 'word' && nameToken.kind !== 'string')
      throw keyFileError(nameToken.line, 'expected the key name');
    let name: string;
    try {
      name = normalizeName(nameToken.text);
    } catch {
      // Not quoted back, and the name error is not kept as cause (it quotes the name and would
      // be nested into toJSON()): a broken file may have the secret in this place.
      throw keyFileError(nameToken.line, `invalid key name (a domain name: ASCII letters, digits, "-", "_", dots)`);
    }
    expect('{', '"{" after the key name');
    let algorithm: TsigKey['algorithm'] | undefined;
    let secret: string | undefined;
    for (;;) {
      const clause = next('"algorithm", "secret" or "}"');
      if (clause.kind === '}') break;
      const keyword = clause.kind === 'word' ? clause.text.toLowerCase() : '';
      if (keyword === 'algorithm') {
        if (algorithm) throw keyFileError(clause.line, `key "${name}" has two algorithm clauses`);
        const value = expect('word', 'an algorithm name');
        const lower = value.text.toLowerCase();
        if ((SUPPORTED as readonly string[]).includes(lower)) algorithm = lower as TsigKey['algorithm'];
        else if (KNOWN_UNSUPPORTED.test(lower))
          throw new DnsZoneError(
            'DNS_UNSUPPORTED',
            `key file line ${value.line}: TSIG algorithm ${lower} of key "${name}" is not supported (use hmac-sha256 or hmac-sha512)`,
            { details: { line: value.line } },
          );
        else
          throw keyFileError(
            value.line,
            `unknown TSIG algorithm${/^hmac-[a-z0-9.-]{1,30}$/.test(lower) ? ` "${lower}"` : ''} (use hmac-sha256 or hmac-sha512)`,
          );
      } else if (keyword === 'secret') {
        if (secret !== undefined) throw keyFileError(clause.line, `key "${name}" has two secret clauses`);
        const value = next('the secret');
        if ((value.kind !== 'string' && value.kind !== 'word') || value.text === '' || !BASE64.test(value.text))
          throw keyFileError(value.line, `the secret of key "${name}" is not base64`);
        secret = value.text;
      } else {
        throw keyFileError(clause.line, `expected "algorithm", "secret" or "}" in key "${name}"`);
      }
      expect(';', '";" after the clause');
    }
    expect(';', '";" after "}"');
    if (!algorithm || secret === undefined)
      throw keyFileError(start.line, `key "${name}" lacks ${algorithm ? 'a secret' : 'an algorithm'}`);
    if (keys.some((other) => other.name === name)) throw keyFileError(start.line, `key "${name}" is defined twice`);
    keys.push({ name, algorithm, secret });
  }
  return keys;
}

/**
 * Reads a BIND key file as `tsig-keygen` writes it (and `named.conf` includes it):
 * `key "name" { algorithm hmac-sha256; secret "…"; };`. Comments (`#`, `//`, C) and any
 * layout are accepted; the file must hold nothing but `key` statements.
 *
 * @param text file content
 * @param options `name`: the key to take when the file holds several (default: the only one)
 * @returns the key (name normalised: lower case, no trailing dot)
 * @throws {DnsZoneError} `DNS_PARSE_ERROR` (syntax, not base64, no/several keys, `data.line`),
 *   `DNS_UNSUPPORTED` (an algorithm other than hmac-sha256/512). Messages never contain the secret.
 * @example
 * const key = parseTsigKeyFile(await readFile('/etc/invis/ddns.key', 'utf8'));
 * createRfc2136Backend({ server: '192.168.220.10', key, zones: ['dyn.invis.test'] });
 */
export function parseTsigKeyFile(text: string, options: { name?: string } = {}): TsigKey {
  const keys = parseKeys(text);
  if (options.name !== undefined) {
    const wanted = normalizeName(options.name);
    const found = keys.find((key) => key.name === wanted);
    if (!found)
      throw new DnsZoneError('DNS_PARSE_ERROR', `key file has no key "${wanted}"`, { details: { name: wanted } });
    return found;
  }
  if (keys.length !== 1) {
    throw new DnsZoneError(
      'DNS_PARSE_ERROR',
      keys.length === 0
        ? 'key file holds no key statement'
        : `key file holds ${keys.length} keys (${keys.map((k) => k.name).join(', ')}): pass the name of one`,
      { details: { line: 0 } },
    );
  }
  return keys[0] as TsigKey;
}

/**
 * Renders a key in the layout `tsig-keygen` writes, for `include` in `named.conf` or
 * `nsupdate -k`. Write the result with mode 0600: it holds the secret.
 *
 * @param key the key
 * @returns the key statement, ending with a newline
 * @throws {DnsZoneError} `DNS_INVALID_NAME` for a bad key name, `DNS_PARSE_ERROR` for a secret that is not base64
 * @example await writeFile('/etc/bind/ddns.key', renderTsigKeyFile(key), { mode: 0o600 });
 */
export function renderTsigKeyFile(key: TsigKey): string {
  const name = normalizeName(key.name);
  if (!(SUPPORTED as readonly string[]).includes(key.algorithm))
    throw new DnsZoneError('DNS_UNSUPPORTED', `TSIG algorithm ${key.algorithm} is not supported`);
  if (key.secret === '' || !BASE64.test(key.secret))
    throw new DnsZoneError('DNS_PARSE_ERROR', `the secret of key "${name}" is not base64`);
  return `key "${name}" {\n\talgorithm ${key.algorithm};\n\tsecret "${key.secret}";\n};\n`;
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { label } from '../test/arbitraries';
import { DnsZoneError } from './errors';
import { parseTsigKeyFile, renderTsigKeyFile } from './key-file';
import type { TsigKey } from './tsig';

// Written by `tsig-keygen -a hmac-sha256 ddns-key` (BIND 9.18).
const KEYGEN = `key "ddns-key" {
\talgorithm hmac-sha256;
\tsecret "TjVbLRG5VRk5a6vRNAxa9/moBD/ExnfS8QCFh7VPHDM=";
};
`;
const SECRET = 'TjVbLRG5VRk5a6vRNAxa9/moBD/ExnfS8QCFh7VPHDM=';

const keyArb: fc.Arbitrary<TsigKey> = fc.record({
  name: fc.array(label, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('.')),
  algorithm: fc.constantFrom('hmac-sha256' as const, 'hmac-sha512' as const),
  secret: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b).toString('base64')),
});

/** The same key in another layout BIND accepts: comments, line breaks, order, quoting, case. */
const relayout = (key: TsigKey, style: { comments: boolean; swap: boolean; bareName: boolean; upper: boolean }) => {
  const c = style.comments ? ' /* c */ ' : ' ';
  const algorithm = `algorithm${c}${style.upper ? key.algorithm.toUpperCase() : key.algorithm};`;
  const secret = `secret "${key.secret}"${c};`;
  const name = style.bareName ? key.name : `"${key.name}."`;
  const clauses = style.swap ? [secret, algorithm] : [algorithm, secret];
  return `${style.comments ? '# made by hand\n// twice\n' : ''}key ${name}\n{${clauses.join('\n')}}${c};\n`;
};

describe('parseTsigKeyFile', () => {
  it('reads what tsig-keygen writes', () => {
    expect(parseTsigKeyFile(KEYGEN)).toEqual({ name: 'ddns-key', algorithm: 'hmac-sha256', secret: SECRET });
  });

  it('renders byte for byte what tsig-keygen writes', () => {
    expect(renderTsigKeyFile(parseTsigKeyFile(KEYGEN))).toBe(KEYGEN);
  });

  it('picks one key by name from a file with several', () => {
    const two = `${KEYGEN}key "Other.Example." { algorithm hmac-sha512; secret "${SECRET}"; };\n`;
    expect(parseTsigKeyFile(two, { name: 'other.example' })).toMatchObject({
      name: 'other.example',
      algorithm: 'hmac-sha512',
    });
    expect(() => parseTsigKeyFile(two)).toThrow(/holds 2 keys \(ddns-key, other\.example\): pass the name/);
    expect(() => parseTsigKeyFile(two, { name: 'third' })).toThrow(/no key "third"/);
  });

  it('rejects what is not a usable key, with the line and never the secret', () => {
    const cases: Array<[string, RegExp, string?]> = [
      ['', /no key statement/],
      ['options { directory "/tmp"; };', /line 1: expected a "key" statement/],
      [`key "k" {\n algorithm hmac-sha256;\n};`, /line 1: key "k" lacks a secret/],
      [`key "k" {\n secret "${SECRET}";\n};`, /line 1: key "k" lacks an algorithm/],
      [
        `key "k" {\n algorithm hmac-md5;\n secret "${SECRET}";\n};`,
        /line 2: TSIG algorithm hmac-md5 .*not supported/,
        'DNS_UNSUPPORTED',
      ],
      [`key "k" { algorithm rot13; secret "${SECRET}"; };`, /unknown TSIG algorithm \(use hmac-sha256/],
      [`key "k" { algorithm hmac-sha3; secret "${SECRET}"; };`, /unknown TSIG algorithm "hmac-sha3"/],
      [`key ${SECRET} { algorithm hmac-sha256; secret "${SECRET}"; };`, /line 1: invalid key name \(a domain name/],
      [`key "k" {\n algorithm hmac-sha256;\n secret "${SECRET}!";\n};`, /line 3: the secret of key "k" is not base64/],
      [`key "k" { algorithm hmac-sha256; secret "${SECRET}" "${SECRET}"; };`, /expected ";" after the clause/],
      [`key "k" { algorithm hmac-sha256; secret "${SECRET}"; }`, /expected ";" after "}", found the end/],
      [`key "k" { algorithm hmac-sha256; ${SECRET}; };`, /expected "algorithm", "secret" or "}"/],
      [`key "k" { algorithm hmac-sha256; secret "${SECRET}; };`, /quoted string not closed/],
      [`key "bad name" { algorithm hmac-sha256; secret "${SECRET}"; };`, /invalid key name \(a domain name/],
      [
        `key "k" { algorithm hmac-sha256; secret "${SECRET}"; };\nkey "K" { algorithm hmac-sha256; secret "${SECRET}"; };`,
        /line 2: key "k" is defined twice/,
      ],
      [`/* key "k" { algorithm hmac-sha256; secret "${SECRET}"; };`, /comment not closed/],
    ];
    for (const [text, message, code = 'DNS_PARSE_ERROR'] of cases) {
      let error: unknown;
      try {
        parseTsigKeyFile(text);
      } catch (e) {
        error = e;
      }
      expect(error, text).toBeInstanceOf(DnsZoneError);
      expect((error as DnsZoneError).code, text).toBe(code);
      expect((error as DnsZoneError).message, text).toMatch(message);
      expect(JSON.stringify(error), text).not.toContain(SECRET.slice(0, 12));
    }
  });

  it('random keys survive render → parse, in any layout BIND accepts', () => {
    fc.assert(
      fc.property(
        keyArb,
        fc.record({ comments: fc.boolean(), swap: fc.boolean(), bareName: fc.boolean(), upper: fc.boolean() }),
        (key, style) => {
          const text = renderTsigKeyFile(key);
          expect(parseTsigKeyFile(text)).toEqual(key);
          expect(renderTsigKeyFile(parseTsigKeyFile(text))).toBe(text);
          expect(parseTsigKeyFile(relayout(key, style))).toEqual(key);
        },
      ),
    );
  });

  it('random junk gives a DnsZoneError, never a crash, and never echoes the secret', () => {
    const pieces = fc.constantFrom(
      'key',
      '"ddns-key"',
      'ddns-key',
      '{',
      '}',
      ';',
      'algorithm',
      'hmac-sha256',
      'hmac-sha1',
      'secret',
      `"${SECRET}"`,
      SECRET,
      '"',
      '\\',
      '#',
      '//',
      '/*',
      '*/',
      '\n',
      ' ',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(fc.oneof(pieces, fc.string({ maxLength: 4 })), { maxLength: 30 }).map((p) => p.join(' ')),
          fc.tuple(fc.nat(KEYGEN.length), fc.nat(KEYGEN.length)).map(([a, b]) => KEYGEN.slice(0, a) + KEYGEN.slice(b)),
        ),
        (junk) => {
          try {
            const key = parseTsigKeyFile(junk);
            expect(['hmac-sha256', 'hmac-sha512']).toContain(key.algorithm);
          } catch (e) {
            expect(e).toBeInstanceOf(DnsZoneError);
            expect((e as DnsZoneError).message).not.toContain(SECRET.slice(0, 12));
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

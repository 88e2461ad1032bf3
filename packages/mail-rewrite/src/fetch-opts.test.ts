import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MailRewriteError } from './errors';
import { formatFetchOpts, parseFetchOpts } from './fetch-opts';

describe('fspMailFetchOpts', () => {
  it("reads the original's one value and the old one-keyword-per-value form alike", () => {
    expect(parseFetchOpts(['here ssl fetchall'])).toEqual({ keywords: ['here', 'ssl', 'fetchall'], invis: [] });
    expect(parseFetchOpts(['here', "sslproto 'TLS1.2+'", 'invis:folder=Bestellungen 2026'])).toEqual({
      keywords: ['here', "sslproto 'TLS1.2+'"],
      invis: [['folder', 'Bestellungen 2026']],
    });
  });

  it('keeps a keyword with its argument together and reads the settings behind #', () => {
    expect(parseFetchOpts(["here sslproto '' folder keep # invis:folder=A%20%23B invis:port=1110 note"])).toEqual({
      keywords: ['here', "sslproto ''", 'folder keep'],
      invis: [
        ['folder', 'A #B'],
        ['port', '1110'],
      ],
    });
  });

  it('writes one value: keywords, then the settings behind # (a comment to fetchmail)', () => {
    expect(formatFetchOpts({ keywords: ['here', 'ssl', 'fetchall'], invis: [] })).toBe('here ssl fetchall');
    expect(
      formatFetchOpts({
        keywords: ['here', 'fetchall'],
        invis: [
          ['folder', 'Bestellungen 2026'],
          ['folder', 'Büro'],
        ],
      }),
    ).toBe('here fetchall # invis:folder=Bestellungen%202026 invis:folder=B%C3%BCro');
  });

  it('a malformed encoded setting is a typed error', () => {
    expect(() => parseFetchOpts(['here # invis:folder=%E0%A4%A'])).toThrow(MailRewriteError);
  });

  it('any settings survive format → parse, in one ASCII line', () => {
    const keyword = fc.constantFrom(
      'here',
      'ssl',
      'fetchall',
      'keep',
      "sslproto 'TLS1.2+'",
      "sslproto ''",
      'limit 100',
    );
    const setting = fc.tuple(
      fc.constantFrom('port', 'folder', 'provider', 'smtp', 'tlsname'),
      fc.string({ unit: 'grapheme' }),
    );
    fc.assert(
      fc.property(fc.array(keyword), fc.array(setting), (keywords, invis) => {
        const value = formatFetchOpts({ keywords, invis });
        expect(value).toMatch(/^[\x20-\x7e]*$/);
        expect(parseFetchOpts([value])).toEqual({ keywords, invis });
      }),
    );
  });
});

import fc from 'fast-check';
import type { EqualityFilter, SubstringFilter } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { AdError } from './errors';
import { escapeFilterValue, f, LdapFilter, ldapFilter, parseFilter, toLdaptsFilter } from './filter';

describe('escapeFilterValue (RFC 4515)', () => {
  it('escapes the five specials and keeps UTF-8', () => {
    expect(escapeFilterValue('*)(objectClass=*')).toBe('\\2a\\29\\28objectClass=\\2a');
    expect(escapeFilterValue('a\\b\0c')).toBe('a\\5cb\\00c');
    expect(escapeFilterValue('Müller, Jörg')).toBe('Müller, Jörg');
    expect(escapeFilterValue(Buffer.from([0, 0xff, 0x2a]))).toBe('\\00\\ff\\2a');
    expect(escapeFilterValue(true)).toBe('TRUE');
    expect(escapeFilterValue(42)).toBe('42');
  });
});

describe('ldapFilter template and f builder', () => {
  it('an injection attempt stays one equality assertion', () => {
    const evil = '*)(objectClass=*';
    const flt = ldapFilter`(&(objectClass=user)(sAMAccountName=${evil}))`;
    expect(flt.text).toBe('(&(objectClass=user)(sAMAccountName=\\2a\\29\\28objectClass=\\2a))');
    const parsed = toLdaptsFilter(flt) as unknown as { filters: EqualityFilter[] };
    expect(parsed.filters).toHaveLength(2);
    expect(parsed.filters[1]?.value).toBe(evil);
  });

  it('nests filters without escaping them', () => {
    const inner = f.or(f.eq('cn', 'a'), f.eq('cn', 'b'));
    expect(ldapFilter`(&(objectClass=group)${inner})`.text).toBe('(&(objectClass=group)(|(cn=a)(cn=b)))');
  });

  it('builds matching-rule filters', () => {
    expect(f.bitAnd('userAccountControl', 2).text).toBe('(userAccountControl:1.2.840.113556.1.4.803:=2)');
    expect(f.inChain('memberOf', 'CN=a\\,b,DC=x').text).toBe('(memberOf:1.2.840.113556.1.4.1941:=CN=a\\5c,b,DC=x)');
    expect(f.and(f.present('cn'), false, undefined).text).toBe('(&(cn=*))');
  });

  it('substring builders escape the value', () => {
    const s = toLdaptsFilter(f.startsWith('cn', 'a*b')) as SubstringFilter;
    expect(s.initial).toBe('a*b');
  });

  it('rejects bad attribute names and bad filter text with AD_INVALID_FILTER', () => {
    expect(() => f.eq('cn)(x', 'a')).toThrow(AdError);
    expect(() => parseFilter('(cn=a')).toThrow(expect.objectContaining({ code: 'AD_INVALID_FILTER' }));
    expect(() => parseFilter('(cn=a(b)')).toThrow(expect.objectContaining({ code: 'AD_INVALID_FILTER' }));
    expect(() => parseFilter('(cn=\\zz)')).toThrow(expect.objectContaining({ code: 'AD_INVALID_FILTER' }));
    expect(() => parseFilter('(&(cn=a))x')).toThrow(expect.objectContaining({ code: 'AD_INVALID_FILTER' }));
    expect(() => ldapFilter`(cn=${{} as unknown as string})`).toThrow(
      expect.objectContaining({ code: 'AD_INVALID_FILTER' }),
    );
  });

  it('decodes escaped UTF-8 and binary values correctly (unlike a byte-wise Latin-1 decode)', () => {
    expect((toLdaptsFilter(parseFilter('(cn=\\c3\\a4)')) as EqualityFilter).value).toBe('ä');
    const bin = (toLdaptsFilter(parseFilter('(objectGUID=\\ff\\fe)')) as EqualityFilter).value;
    expect(Buffer.isBuffer(bin) && [...bin]).toEqual([0xff, 0xfe]);
  });

  it('only filters built here pass: strings, look-alikes and outside construction are AD_INVALID_FILTER', () => {
    const refused = expect.objectContaining({ code: 'AD_INVALID_FILTER' });
    const string = '(&(objectClass=user)(sAMAccountName=*)(objectClass=*))' as unknown as LdapFilter;
    const lookalike = { text: '(objectClass=*)' } as unknown as LdapFilter;
    for (const x of [string, lookalike]) {
      expect(() => toLdaptsFilter(x)).toThrow(refused);
      expect(() => f.and(f.present('cn'), x)).toThrow(refused);
      expect(() => f.or(x)).toThrow(refused);
      expect(() => f.not(x)).toThrow(refused);
    }
    expect(() => toLdaptsFilter(null as unknown as LdapFilter)).toThrow(refused);
    // the refused text is not echoed back
    expect(() => toLdaptsFilter(string)).toThrow(
      expect.not.objectContaining({ message: expect.stringContaining('sAMAccountName') }),
    );
    const Ctor = LdapFilter as unknown as new (token: symbol, text: string) => LdapFilter;
    expect(() => new Ctor(Symbol('LdapFilter'), '(objectClass=*)')).toThrow(refused);
    expect(() => parseFilter(42 as unknown as string)).toThrow(refused);
    // false/null/undefined members of and/or are dropped on purpose (optional criteria)
    expect(f.and(f.present('cn'), false, undefined).text).toBe('(&(cn=*))');
  });

  it('property: any string survives escape → parse as the same equality value', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        const parsed = toLdaptsFilter(f.eq('cn', s)) as EqualityFilter;
        expect(parsed.value).toBe(s);
      }),
    );
  });

  it('property: random text either parses or gives AD_INVALID_FILTER, never another crash', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        try {
          expect(parseFilter(s)).toBeInstanceOf(LdapFilter);
        } catch (e) {
          expect(e).toMatchObject({ code: 'AD_INVALID_FILTER' });
        }
      }),
    );
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { childDn, dnEquals, escapeDnValue, formatDn, isDnWithin, parentDn, parseDn, rdnValue } from './dn';

describe('RFC 4514 DNs', () => {
  it('escapes specials, leading #/space and trailing space', () => {
    expect(escapeDnValue('Doe, Jane')).toBe('Doe\\, Jane');
    expect(escapeDnValue('a+b="c"<d>;e\\')).toBe('a\\+b\\=\\"c\\"\\<d\\>\\;e\\5C');
    expect(escapeDnValue('#x ')).toBe('\\#x\\ ');
    expect(escapeDnValue(' x')).toBe('\\ x');
    expect(escapeDnValue('Jörg')).toBe('Jörg');
  });

  it('refuses NUL with AD_INVALID_DN', () => {
    expect(() => escapeDnValue('a\0b')).toThrow(expect.objectContaining({ code: 'AD_INVALID_DN' }));
  });

  it("parses Samba's escaping (\\3D, \\\\, \\#, \\00)", () => {
    const dn = 'CN=a\\,b\\+c\\3Dd\\<\\>\\3B\\"\\#\\\\ x,CN=Users,DC=invis,DC=test';
    expect(rdnValue(dn)).toBe('a,b+c=d<>;"#\\ x');
    expect(parentDn(dn)).toBe('CN=Users,DC=invis,DC=test');
    expect(parseDn('cn=a+uid=b,dc=x')).toEqual([
      [
        { type: 'cn', value: 'a' },
        { type: 'uid', value: 'b' },
      ],
      [{ type: 'dc', value: 'x' }],
    ]);
  });

  it('compares case- and escaping-insensitively', () => {
    expect(dnEquals('CN=A\\3Db,DC=X', 'cn=a\\=B,dc=x')).toBe(true);
    expect(isDnWithin('CN=a,CN=Users,DC=x', 'cn=users,dc=x')).toBe(true);
    expect(isDnWithin('CN=a,CN=Usersx,DC=x', 'cn=users,dc=x')).toBe(false);
  });

  it('rejects malformed DNs with AD_INVALID_DN', () => {
    for (const bad of ['CN', 'CN=', 'CN=a,', '=a', 'CN=a\\', 'C N=a', 'CN=a"b'])
      expect(() => parseDn(bad), bad).toThrow(expect.objectContaining({ code: 'AD_INVALID_DN' }));
  });

  it('property: childDn → rdnValue round-trips any value without NUL', () => {
    fc.assert(
      fc.property(
        fc.string({ minLength: 1 }).filter((s) => !s.includes('\0') && s.trim() === s && s.length > 0),
        (v) => {
          const dn = childDn('CN=Users,DC=invis,DC=test', v);
          expect(rdnValue(dn)).toBe(v);
          expect(formatDn(parseDn(dn))).toBe(dn);
        },
      ),
    );
  });
});

/**
 * Whether `s` holds a character that could end or corrupt a config line: C0 and C1 controls,
 * DEL and the Unicode line/paragraph separators. Characters in `allow` (e.g. `\n\t`) pass.
 */
export function hasControlCharacters(s: string, allow = ''): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    const control = c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029;
    if (control && !allow.includes(ch)) return true;
  }
  return false;
}

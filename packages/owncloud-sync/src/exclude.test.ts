import { describe, expect, it } from 'vitest';
import { createExcludeMatcher, DEFAULT_EXCLUDES, parseExcludeFile } from './exclude';

describe('excludes', () => {
  const m = createExcludeMatcher([
    ...DEFAULT_EXCLUDES,
    ...parseExcludeFile('# c\n\nbuild/\n/top.txt\ndocs/**/*.bak\n'),
  ]);
  it('matches the default temp and lock files anywhere', () => {
    for (const p of ['a/~$report.docx', '.~lock.x.odt#', 'x.swp', 'a/.x.swo', 'f.part', 'a/Thumbs.db', '.invis-sync']) {
      expect(m(p, false)).toBe(true);
    }
    expect(m('report.docx', false)).toBe(false);
  });
  it('anchors patterns with a slash and limits trailing-slash ones to folders', () => {
    expect(m('top.txt', false)).toBe(true);
    expect(m('a/top.txt', false)).toBe(false);
    expect(m('a/build', true)).toBe(true);
    expect(m('a/build', false)).toBe(false);
    expect(m('docs/x/y/z.bak', false)).toBe(true);
    expect(m('docs/z.bak', false)).toBe(true);
    expect(m('other/z.bak', false)).toBe(false);
  });
});

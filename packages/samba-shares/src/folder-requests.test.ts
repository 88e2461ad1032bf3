import { describe, expect, it } from 'vitest';
import { isPlainFolderName, parseFolderRequests, renderFolderRequests } from './folder-requests';

describe('folder requests', () => {
  it('round-trips group folders with and without a template', () => {
    const requests = new Map<string, string | null>([
      ['Vertrieb Nord', 'Projekt'],
      ['team1', null],
    ]);
    const text = renderFolderRequests(requests);
    expect(parseFolderRequests(text)).toEqual(requests);
    expect(renderFolderRequests(parseFolderRequests(text))).toBe(text);
  });

  it('accepts only plain folder names', () => {
    for (const bad of ['', '.', '..', '../etc', 'a/b', 'a\\b', '-rf', 'x\u0000', 'x\n', 'alt.archiv', 'a'.repeat(65)])
      expect(isPlainFolderName(bad)).toBe(false);
    for (const good of ['team1', 'Vertrieb Nord', 'Büro', 'a.b_c-d']) expect(isPlainFolderName(good)).toBe(true);
  });

  it('refuses a hostile file whole, without repeating its content', () => {
    const cases = [
      'root:x:0:0:root:/root:/bin/bash',
      JSON.stringify({ version: 1, groups: { '../../etc': { template: null } } }),
      JSON.stringify({ version: 1, groups: { team: { template: '../../root' } } }),
      JSON.stringify({ version: 2, groups: {} }),
      JSON.stringify({ version: 1, groups: { team: { template: null, owner: 0 } } }),
      JSON.stringify({ version: 1, groups: {}, run: 'rm' }),
    ];
    for (const text of cases) {
      const error = (() => {
        try {
          parseFolderRequests(text);
        } catch (e) {
          return e as { code: string; message: string };
        }
      })();
      expect(error?.code).toBe('SHARES_PARSE_ERROR');
      expect(error?.message).not.toContain('root:x');
    }
    expect(() => renderFolderRequests(new Map([['../x', null]]))).toThrow(/plain folder name/);
  });
});

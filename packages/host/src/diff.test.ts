import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from './diff';

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a\n', 'a\n')).toBe('');
    expect(unifiedDiff(undefined, undefined)).toBe('');
  });

  it('writes the standard ---/+++/@@ format with context', () => {
    const before = `${['1', '2', '3', '4', '5', '6', '7', '8'].join('\n')}\n`;
    const after = before.replace('5\n', 'five\n');
    expect(unifiedDiff(before, after, { path: 'etc/x.conf' })).toBe(
      [
        '--- a/etc/x.conf',
        '+++ b/etc/x.conf',
        '@@ -2,7 +2,7 @@',
        ' 2',
        ' 3',
        ' 4',
        '-5',
        '+five',
        ' 6',
        ' 7',
        ' 8',
        '',
      ].join('\n'),
    );
  });

  it('names a new or removed file /dev/null', () => {
    expect(unifiedDiff(undefined, 'x\n', { path: 'new' }).split('\n').slice(0, 2)).toEqual([
      '--- /dev/null',
      '+++ b/new',
    ]);
    expect(unifiedDiff('x\n', undefined, { path: 'old' }).split('\n').slice(0, 2)).toEqual([
      '--- a/old',
      '+++ /dev/null',
    ]);
  });

  it('is read by GNU patch back into the new text', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'invis-diff-'));
    try {
      const line = fc.constantFrom('a', 'b', 'c', 'option x;', '', '  indented');
      await fc.assert(
        fc.asyncProperty(fc.array(line, { maxLength: 30 }), fc.array(line, { maxLength: 30 }), async (a, b) => {
          const before = a.map((l) => `${l}\n`).join('');
          const after = b.map((l) => `${l}\n`).join('');
          const diff = unifiedDiff(before, after, { path: 'f' });
          if (diff === '') {
            expect(before).toBe(after);
            return;
          }
          await writeFile(join(dir, 'f'), before);
          await writeFile(join(dir, 'p'), diff);
          const result = await execa('patch', ['-s', '-p1', '-i', join(dir, 'p')], { cwd: dir, reject: false });
          expect(result.exitCode).toBe(0);
          expect(await readFile(join(dir, 'f'), 'utf8')).toBe(after);
        }),
        { numRuns: 40 },
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

// One unified-diff format for every plan and report (`---`/`+++`/`@@` with context), on the
// maintained `diff` library.
import { createTwoFilesPatch } from 'diff';

/** Options of {@link unifiedDiff}. */
export interface UnifiedDiffOptions {
  /** File name in the headers (`--- a/<path>` / `+++ b/<path>`). */
  path?: string;
  /** Lines of context around each change; default 3. */
  context?: number;
}

/**
 * Unified diff of two versions of a text file, '' when they are equal.
 * `undefined` stands for a missing file (`/dev/null` in the header).
 * @param before the current content, undefined when the file does not exist
 * @param after the new content, undefined when the file will be removed
 * @param options header path and context size
 * @returns the diff text
 * @example unifiedDiff('a\nb\n', 'a\nc\n', { path: 'etc/x.conf' })
 */
export function unifiedDiff(
  before: string | undefined,
  after: string | undefined,
  options: UnifiedDiffOptions = {},
): string {
  if (before === after) return '';
  const path = options.path ?? 'file';
  const patch = createTwoFilesPatch(
    before === undefined ? '/dev/null' : `a/${path}`,
    after === undefined ? '/dev/null' : `b/${path}`,
    before ?? '',
    after ?? '',
    undefined,
    undefined,
    { context: options.context ?? 3 },
  );
  // The library starts with an `Index:`/`===` preamble; the standard format starts at `---`.
  const start = patch.indexOf('--- ');
  return start > 0 ? patch.slice(start) : patch;
}

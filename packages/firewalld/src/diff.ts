// Changed/unchanged report: which managed files differ between two file sets, with a line diff.
import type { ConfigFiles } from './files';

/** One file that apply() adds, changes or removes. */
export interface FileChange {
  /** Path relative to the config directory, e.g. `zones/external.xml`. */
  path: string;
  kind: 'added' | 'changed' | 'removed';
  /** Line diff: `-` old, `+` new, ` ` context (unchanged lines are all kept; files are small). */
  diff: string;
}

/**
 * Line diff of two texts (longest common subsequence; fine for config files of a few hundred lines).
 * @param before old text
 * @param after new text
 * @returns lines prefixed with `-`, `+` or a space, joined by newlines
 * @example diffLines('a\nb\n', 'a\nc\n') // ' a\n-b\n+c\n '
 */
export function diffLines(before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  // lcs[i][j] = length of the LCS of a[i..] and b[j..]
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    const row = lcs[i] as number[];
    const next = lcs[i + 1] as number[];
    for (let j = b.length - 1; j >= 0; j--) {
      row[j] = a[i] === b[j] ? (next[j + 1] as number) + 1 : Math.max(next[j] as number, row[j + 1] as number);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      out.push(` ${a[i++]}`);
      j++;
    } else if (i < a.length && (j >= b.length || (lcs[i + 1]?.[j] ?? 0) >= (lcs[i]?.[j + 1] ?? 0))) {
      out.push(`-${a[i++]}`);
    } else {
      out.push(`+${b[j++]}`);
    }
  }
  return out.join('\n');
}

/**
 * Compares two file sets (e.g. the files on disk and the rendered model).
 * @param before current files
 * @param after desired files
 * @returns one entry per file that differs, sorted by path; empty when nothing changes
 */
export function diffFiles(before: ConfigFiles, after: ConfigFiles): FileChange[] {
  const paths = [...new Set([...before.keys(), ...after.keys()])].sort();
  const changes: FileChange[] = [];
  for (const path of paths) {
    const old = before.get(path);
    const now = after.get(path);
    if (old === now) continue;
    const kind = old === undefined ? 'added' : now === undefined ? 'removed' : 'changed';
    changes.push({ path, kind, diff: diffLines(old ?? '', now ?? '') });
  }
  return changes;
}

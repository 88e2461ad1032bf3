// A small line diff for apply reports: common prefix/suffix trimmed, LCS on the middle.

const MAX_CELLS = 4_000_000;

/**
 * Line diff of two texts: `@@ line N @@` headers, `-`/`+` lines, no context.
 * @param before old text ('' for a new file)
 * @param after new text
 * @returns the diff, '' when equal
 */
export function lineDiff(before: string, after: string): string {
  if (before === after) return '';
  const a = before === '' ? [] : before.replace(/\n$/, '').split('\n');
  const b = after === '' ? [] : after.replace(/\n$/, '').split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const ops: Array<[' ' | '-' | '+', string]> = [];
  if (midA.length * midB.length > MAX_CELLS) {
    // Too large for a table: report the block as replaced.
    for (const l of midA) ops.push(['-', l]);
    for (const l of midB) ops.push(['+', l]);
  } else {
    const n = midA.length;
    const m = midB.length;
    const lcs = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i * (m + 1) + j] =
          midA[i] === midB[j]
            ? (lcs[(i + 1) * (m + 1) + j + 1] as number) + 1
            : Math.max(lcs[(i + 1) * (m + 1) + j] as number, lcs[i * (m + 1) + j + 1] as number);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        ops.push([' ', midA[i] as string]);
        i++;
        j++;
      } else if (i < n && (j === m || (lcs[(i + 1) * (m + 1) + j] as number) >= (lcs[i * (m + 1) + j + 1] as number))) {
        ops.push(['-', midA[i] as string]);
        i++;
      } else {
        ops.push(['+', midB[j] as string]);
        j++;
      }
    }
  }
  const out: string[] = [];
  let line = start + 1;
  let inHunk = false;
  for (const [op, text] of ops) {
    if (op === ' ') {
      inHunk = false;
      line++;
      continue;
    }
    if (!inHunk) out.push(`@@ line ${line} @@`);
    inHunk = true;
    out.push(`${op}${text}`);
    if (op === '+') line++;
  }
  return `${out.join('\n')}\n`;
}

// Pure exclude matching (ownCloud-style sync-exclude.lst globs).

/** Temp, lock and system files that are never synced, plus our own state and part files. */
export const DEFAULT_EXCLUDES: readonly string[] = [
  '.invis-sync',
  '.~sync-*.part',
  '*~',
  '*.part',
  '*.tmp',
  '~$*',
  '.~lock.*#',
  '*.swp',
  '.*.sw?',
  '.DS_Store',
  'Thumbs.db',
  'desktop.ini',
  '.owncloudsync.log',
  '._sync_*.db*',
];

/** Decides whether a path (relative, `/`-separated) is excluded. */
export type ExcludeMatcher = (path: string, isDir: boolean) => boolean;

/** Parses an exclude file: one glob per line, `#` comments and blank lines ignored. */
export function parseExcludeFile(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
}

function globToRegExp(glob: string): string {
  let out = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      if (glob[i + 1] === '*') {
        out += '.*';
        i++;
        if (glob[i + 1] === '/') i++;
      } else out += '[^/]*';
    } else if (c === '?') out += '[^/]';
    else if (c === '[') {
      const end = glob.indexOf(']', i + 1);
      if (end < 0) out += '\\[';
      else {
        out += `[${glob
          .slice(i + 1, end)
          .replace(/^!/, '^')
          .replace(/\\/g, '\\\\')}]`;
        i = end;
      }
    } else out += c.replace(/[.+^${}()|\\/]/g, '\\$&');
  }
  return out;
}

/**
 * Compiles globs into a matcher. A pattern without `/` matches the base name anywhere; one with
 * `/` matches the whole path from the sync root; a trailing `/` matches directories only;
 * `*` stays within a segment, `**` crosses segments.
 *
 * @example
 * const excluded = createExcludeMatcher([...DEFAULT_EXCLUDES, 'build/']);
 * excluded('a/~$report.docx', false); // true
 */
export function createExcludeMatcher(patterns: readonly string[]): ExcludeMatcher {
  const rules = patterns.map((raw) => {
    const dirOnly = raw.endsWith('/');
    const p = dirOnly ? raw.slice(0, -1) : raw;
    const anchored = p.includes('/');
    return { dirOnly, anchored, source: globToRegExp(anchored ? p.replace(/^\//, '') : p) };
  });
  // One alternation per kind of rule: a path costs at most four regex tests, however many globs.
  const join = (dirOnly: boolean, anchored: boolean): RegExp | undefined => {
    const sources = rules.filter((r) => r.dirOnly === dirOnly && r.anchored === anchored).map((r) => r.source);
    return sources.length === 0 ? undefined : new RegExp(`^(?:${sources.join('|')})$`, 's');
  };
  const [base, baseDir, full, fullDir] = [join(false, false), join(true, false), join(false, true), join(true, true)];
  return (path, isDir) => {
    const name = path.slice(path.lastIndexOf('/') + 1);
    return (
      base?.test(name) === true ||
      full?.test(path) === true ||
      (isDir && (baseDir?.test(name) === true || fullDir?.test(path) === true))
    );
  };
}

// The invis Major-Minor-Build policy as checks over plain data (see docs/versioning.md).

/** A workspace package as far as the policy cares. */
export interface PackageInfo {
  name: string;
  version: string;
  /** `apps/…` packages are deployable and carry their major in the name. */
  isApp: boolean;
}

/** One changeset file: the bumps it declares. */
export interface Changeset {
  file: string;
  bumps: Record<string, 'major' | 'minor' | 'patch'>;
}

/** Parses the front matter of a changeset (`"pkg": major`). Throws on a malformed file. */
export function parseChangeset(file: string, text: string): Changeset {
  const match = /^---\r?\n([\s\S]*?)\r?\n---/.exec(text);
  if (!match) throw new Error(`${file}: no front matter`);
  const bumps: Changeset['bumps'] = {};
  for (const line of (match[1] ?? '').split(/\r?\n/)) {
    if (!line.trim()) continue;
    const m = /^\s*["']?([^"':]+)["']?\s*:\s*(major|minor|patch)\s*$/.exec(line);
    if (!m) throw new Error(`${file}: cannot read "${line}"`);
    bumps[m[1] as string] = m[2] as 'major' | 'minor' | 'patch';
  }
  return { file, bumps };
}

/**
 * Returns every policy violation: an app whose name does not end in `-<major>`, a changeset
 * naming an unknown package, and an app major bump without `docs/upgrade/<next major>.md`.
 */
export function checkVersioning(packages: PackageInfo[], changesets: Changeset[], upgradeNotes: Set<string>): string[] {
  const problems: string[] = [];
  const byName = new Map(packages.map((p) => [p.name, p]));
  for (const p of packages) {
    const major = Number(p.version.split('.')[0]);
    if (p.isApp && !p.name.endsWith(`-${major}`)) {
      problems.push(
        `${p.name}@${p.version}: a deployable app carries its major in the name (expected suffix -${major})`,
      );
    }
  }
  for (const c of changesets) {
    for (const [name, bump] of Object.entries(c.bumps)) {
      const p = byName.get(name);
      if (!p) {
        problems.push(`${c.file}: unknown package ${name}`);
        continue;
      }
      if (p.isApp && bump === 'major') {
        const next = Number(p.version.split('.')[0]) + 1;
        if (!upgradeNotes.has(`${next}.md`)) {
          problems.push(`${c.file}: major bump of ${name} needs the manual upgrade steps in docs/upgrade/${next}.md`);
        }
      }
    }
  }
  return problems;
}

/**
 * Returns a problem for every package that changed since its last release (the last commit of
 * its CHANGELOG.md) without a pending changeset naming it — the `changeset status --since`
 * rule, with each package's own release as the base.
 * @param changed package name → files changed since its release (tests already left out)
 * @param changesets the pending changesets
 */
export function checkUnreleasedChanges(changed: Map<string, string[]>, changesets: Changeset[]): string[] {
  const named = new Set(changesets.flatMap((c) => Object.keys(c.bumps)));
  const problems: string[] = [];
  for (const [name, files] of changed) {
    if (files.length > 0 && !named.has(name)) {
      problems.push(
        `${name} changed since its last release (${files.slice(0, 3).join(', ')}${files.length > 3 ? ', …' : ''}) but no changeset names it: run pnpm changeset`,
      );
    }
  }
  return problems;
}

/** Whether a changed file ships (tests and the changelog itself do not need a changeset). */
export function isShippedChange(file: string): boolean {
  return !/(^|\/)test\/|\.test\.ts$|(^|\/)CHANGELOG\.md$/.test(file);
}

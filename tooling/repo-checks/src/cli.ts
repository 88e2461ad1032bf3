// `pnpm check:versioning`: applies the versioning policy to the workspace and its changesets.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  checkUnreleasedChanges,
  checkVersioning,
  isShippedChange,
  type PackageInfo,
  parseChangeset,
} from './versioning';

const root = join(import.meta.dirname, '..', '..', '..');
const packages: PackageInfo[] = [];
const dirs = new Map<string, string>();
for (const group of ['packages', 'apps']) {
  for (const dir of readdirSync(join(root, group))) {
    const file = join(root, group, dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name: string; version: string };
    packages.push({ name: pkg.name, version: pkg.version, isApp: group === 'apps' });
    dirs.set(pkg.name, `${group}/${dir}`);
  }
}
// Tooling packages (private, unpublished) may carry changesets too; they need no release check.
for (const dir of readdirSync(join(root, 'tooling'))) {
  const file = join(root, 'tooling', dir, 'package.json');
  if (!existsSync(file)) continue;
  const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name: string; version: string };
  packages.push({ name: pkg.name, version: pkg.version, isApp: false });
}
const git = (...args: string[]): string => execFileSync('git', args, { cwd: root, encoding: 'utf8' }).trim();

/** Files of a package changed since its last release (the last commit of its CHANGELOG.md), working tree included. */
function changedSinceRelease(dir: string): string[] | string {
  const release = git('log', '-1', '--format=%H', '--', `${dir}/CHANGELOG.md`);
  if (!release) return `${dir} has no released CHANGELOG.md (run pnpm changeset version)`;
  const tracked = git('diff', '--name-only', release, '--', dir).split('\n');
  const untracked = git('ls-files', '--others', '--exclude-standard', '--', dir).split('\n');
  return [...tracked, ...untracked].filter((f) => f !== '' && isShippedChange(f.slice(dir.length + 1)));
}
const changesetDir = join(root, '.changeset');
const changesets = readdirSync(changesetDir)
  .filter((f) => f.endsWith('.md') && f !== 'README.md')
  .map((f) => parseChangeset(f, readFileSync(join(changesetDir, f), 'utf8')));
const notesDir = join(root, 'docs', 'upgrade');
const notes = new Set(existsSync(notesDir) ? readdirSync(notesDir) : []);
const problems = checkVersioning(packages, changesets, notes);
const changed = new Map<string, string[]>();
for (const [name, dir] of dirs) {
  const files = changedSinceRelease(dir);
  if (typeof files === 'string') problems.push(files);
  else changed.set(name, files);
}
problems.push(...checkUnreleasedChanges(changed, changesets));
for (const p of problems) console.error(`versioning: ${p}`);
console.log(`versioning: ${packages.length} packages, ${changesets.length} changesets, ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);

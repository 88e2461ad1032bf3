// `pnpm check:versioning`: applies the versioning policy to the workspace and its changesets.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkVersioning, type PackageInfo, parseChangeset } from './versioning';

const root = join(import.meta.dirname, '..', '..', '..');
const packages: PackageInfo[] = [];
for (const group of ['packages', 'apps']) {
  for (const dir of readdirSync(join(root, group))) {
    const file = join(root, group, dir, 'package.json');
    if (!existsSync(file)) continue;
    const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name: string; version: string };
    packages.push({ name: pkg.name, version: pkg.version, isApp: group === 'apps' });
  }
}
const changesetDir = join(root, '.changeset');
const changesets = readdirSync(changesetDir)
  .filter((f) => f.endsWith('.md') && f !== 'README.md')
  .map((f) => parseChangeset(f, readFileSync(join(changesetDir, f), 'utf8')));
const notesDir = join(root, 'docs', 'upgrade');
const notes = new Set(existsSync(notesDir) ? readdirSync(notesDir) : []);
const problems = checkVersioning(packages, changesets, notes);
for (const p of problems) console.error(`versioning: ${p}`);
console.log(`versioning: ${packages.length} packages, ${changesets.length} changesets, ${problems.length} problems`);
process.exit(problems.length ? 1 : 0);

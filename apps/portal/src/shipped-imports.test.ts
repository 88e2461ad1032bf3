// A shipped portal must not pull in test tooling: the testbed starts servers and seeds demo
// accounts with a known password. This guards src/ (what tsup builds) and the dependency list.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = import.meta.dirname;
const TEST_ONLY = [/^@invis\/testbed/, /^@invis\/test-utils/, /^vitest/, /^playwright/, /^@seriousme\//];

/** Every module specifier a shipped source file imports or re-exports (static and dynamic). */
function shippedImports(): { file: string; specifier: string }[] {
  const found: { file: string; specifier: string }[] = [];
  for (const entry of readdirSync(SRC, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.tsx?$/.test(entry.name) || /\.test\.tsx?$/.test(entry.name)) continue;
    const path = join(entry.parentPath, entry.name);
    const text = readFileSync(path, 'utf8');
    for (const m of text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)) {
      found.push({ file: relative(SRC, path), specifier: m[1] as string });
    }
  }
  return found;
}

describe('what the portal ships', () => {
  it('imports no test tooling and nothing outside src/ from its source files', () => {
    const imports = shippedImports();
    expect(imports.length).toBeGreaterThan(50);
    const bad = imports.filter(({ file, specifier }) => {
      if (TEST_ONLY.some((re) => re.test(specifier))) return true;
      if (!specifier.startsWith('.')) return false;
      return relative(SRC, resolve(SRC, file, '..', specifier)).startsWith('..');
    });
    expect(bad).toEqual([]);
  });

  it('lists test tooling as devDependencies only', () => {
    const pkg = JSON.parse(readFileSync(join(SRC, '../package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies).filter((name) => TEST_ONLY.some((re) => re.test(name)))).toEqual([]);
  });
});

// A shipped portal must not pull in test tooling: the testbed starts servers and seeds demo
// accounts with a known password. This guards src/ (what tsup builds) and the dependency list,
// and that only env.ts reads the environment.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = import.meta.dirname;
const TEST_ONLY = [/^@invis\/testbed/, /^@invis\/test-utils/, /^vitest/, /^playwright/, /^@seriousme\//];

/** The shipped source files (tests excluded), relative to src/, with their text. */
function shippedSources(): { file: string; text: string }[] {
  return readdirSync(SRC, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name) && !/\.test\.tsx?$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .map((path) => ({ file: relative(SRC, path), text: readFileSync(path, 'utf8') }));
}

/** Every module specifier a shipped source file imports or re-exports (static and dynamic). */
function shippedImports(): { file: string; specifier: string }[] {
  return shippedSources().flatMap(({ file, text }) =>
    [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map((m) => ({
      file,
      specifier: m[1] as string,
    })),
  );
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

  it('reads the environment in env.ts only (the house rule: validated once)', () => {
    const readers = shippedSources().filter(({ text }) => /\bprocess\.env\b/.test(text));
    expect(readers.map((r) => r.file)).toEqual(['env.ts']);
  });

  it('lists test tooling as devDependencies only', () => {
    const pkg = JSON.parse(readFileSync(join(SRC, '../package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
    };
    expect(Object.keys(pkg.dependencies).filter((name) => TEST_ONLY.some((re) => re.test(name)))).toEqual([]);
  });
});

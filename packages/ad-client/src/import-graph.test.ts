// The modules import each other without a circle, type-only imports included: the feature
// modules depend on the narrow `LdapOperations` of ./ldap, never on ./client that composes them.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const dir = import.meta.dirname;
const modules = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts'));

/** Local modules a file imports or re-exports (`import type` and `export … from` count too). */
function importsOf(file: string): string[] {
  const text = readFileSync(join(dir, file), 'utf8');
  return [...text.matchAll(/^(?:import|export)\b[^;]*?\bfrom '\.\/([\w-]+)';/gms)].map((m) => `${m[1]}.ts`);
}

describe('module graph', () => {
  it('has no import circle', () => {
    const graph = new Map(modules.map((m) => [m, importsOf(m)]));
    expect(graph.get('users.ts')).toContain('ldap.ts'); // the parser sees imports at all
    const circles: string[] = [];
    const done = new Set<string>();
    const visit = (m: string, path: string[]): void => {
      if (path.includes(m)) {
        circles.push([...path.slice(path.indexOf(m)), m].join(' > '));
        return;
      }
      if (done.has(m)) return;
      for (const next of graph.get(m) ?? []) visit(next, [...path, m]);
      done.add(m);
    };
    for (const m of modules) visit(m, []);
    expect(circles).toEqual([]);
  });
});

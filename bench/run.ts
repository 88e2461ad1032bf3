// `pnpm bench [name…] [--quick] [--json]`: runs the named benchmarks (all without names) and
// prints each one's table. Benchmarks live in bench/<name>.bench.ts and export `benchmark`.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { type Benchmark, formatTable } from './lib';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const json = args.includes('--json');
const names = args.filter((a) => !a.startsWith('--'));
const files = readdirSync(import.meta.dirname).filter((f) => f.endsWith('.bench.ts'));
const available = new Map<string, string>(
  files.map((f) => [f.replace(/\.bench\.ts$/, ''), join(import.meta.dirname, f)]),
);
const selected = names.length ? names : [...available.keys()];
const unknown = selected.filter((n) => !available.has(n));
if (unknown.length) {
  console.error(`unknown benchmark: ${unknown.join(', ')}; available: ${[...available.keys()].join(', ')}`);
  process.exit(2);
}
const results: Record<string, unknown> = {};
for (const name of selected) {
  const { benchmark } = (await import(available.get(name) as string)) as { benchmark: Benchmark };
  if (!json) console.log(`\n## ${benchmark.name}: ${benchmark.description}\n`);
  const rows = await benchmark.run({ quick });
  results[name] = rows;
  if (!json) console.log(formatTable(rows));
}
if (json) console.log(JSON.stringify(results, null, 2));

import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig, type TestProjectConfiguration } from 'vitest/config';

// One run over every package: each package's vitest.config.ts (from @invis/vitest-config)
// defines `<name>:unit` and `<name>:integration`; this collects them.
const dirs = ['packages', 'apps', 'tooling'].flatMap((group) =>
  readdirSync(join(import.meta.dirname, group))
    .map((d) => join(import.meta.dirname, group, d, 'vitest.config.ts'))
    .filter((f) => existsSync(f)),
);
const projects: TestProjectConfiguration[] = [];
for (const file of dirs) {
  const config = (await import(file)).default as { test?: { projects?: TestProjectConfiguration[] } };
  projects.push(...(config.test?.projects ?? []));
}

export default defineConfig({ test: { projects } });

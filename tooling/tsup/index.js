// Shared tsup base: ESM only, declarations, Node 22 target, one entry per public module.
import { defineConfig } from 'tsup';

/**
 * @param {{ entry?: string[] | Record<string, string>, banner?: string }} [options]
 */
export function defineLibraryConfig(options = {}) {
  return defineConfig({
    entry: options.entry ?? ['src/index.ts'],
    format: ['esm'],
    target: 'node22',
    platform: 'node',
    dts: true,
    sourcemap: true,
    clean: true,
    splitting: false,
    treeshake: true,
    // tsup strips `node:` by default, but some built-ins (`node:sqlite`, `node:test`) exist only
    // with the prefix: a shipped `import 'sqlite'` dies at start.
    removeNodeProtocol: false,
    ...(options.banner ? { banner: { js: options.banner } } : {}),
  });
}

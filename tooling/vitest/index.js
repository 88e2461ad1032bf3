// Shared vitest projects for one package: `<name>:unit` (src/**/*.test.ts, no servers) and
// `<name>:integration` (test/integration/**, real servers started by @invis/testbed in a
// globalSetup). The root vitest.config.ts collects every package's projects into one run.
import { defineConfig } from 'vitest/config';

const conditions = ['@invis/source'];

/**
 * @param {string} root the package directory (import.meta.dirname)
 * @param {string} name package folder name, used as the project prefix
 * @param {{ integrationSetup?: string[], integrationTimeout?: number }} [options]
 */
export function definePackageConfig(root, name, options = {}) {
  const base = { root, resolve: { conditions }, ssr: { resolve: { conditions } } };
  return defineConfig({
    ...base,
    test: {
      projects: [
        { ...base, test: { name: `${name}:unit`, include: ['src/**/*.test.ts'], environment: 'node' } },
        {
          ...base,
          test: {
            name: `${name}:integration`,
            include: ['test/integration/**/*.test.ts'],
            environment: 'node',
            testTimeout: options.integrationTimeout ?? 60_000,
            hookTimeout: 180_000,
            globalSetup: options.integrationSetup ?? [],
            // Files of one package share its servers and use unique object names.
            fileParallelism: false,
          },
        },
      ],
    },
  });
}

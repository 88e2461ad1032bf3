// One-off scaffolder kept for new packages: node scripts/new-package.mjs <packages|apps> <name> "<purpose>"
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [kind, name, purpose] = process.argv.slice(2);
if (!kind || !name || !purpose || !['packages', 'apps'].includes(kind)) {
  console.error('usage: node scripts/new-package.mjs <packages|apps> <name> "<purpose>"');
  process.exit(2);
}
const dir = join(kind, name);
if (existsSync(dir)) {
  console.error(`${dir} exists`);
  process.exit(1);
}
const isApp = kind === 'apps';
// Deployable apps carry their major in the name so an ordinary update never crosses a major.
const pkgName = isApp ? `@invis/${name}-1` : `@invis/${name}`;
mkdirSync(join(dir, 'src'), { recursive: true });
mkdirSync(join(dir, 'test', 'integration'), { recursive: true });
const pkg = {
  name: pkgName,
  version: isApp ? '1.0.0' : '0.1.0',
  description: purpose,
  ...(isApp ? { private: true } : {}),
  license: 'GPL-3.0-or-later',
  repository: { type: 'git', url: 'git+https://github.com/invisserver/invis.git', directory: dir },
  homepage: `https://github.com/invisserver/invis/tree/main/${dir}#readme`,
  bugs: { url: 'https://github.com/invisserver/invis/issues' },
  type: 'module',
  sideEffects: false,
  // One Node floor everywhere (undici 8 and unflagged node:sqlite need 22.19).
  engines: { node: '>=22.19' },
  exports: {
    '.': {
      '@invis/source': './src/index.ts',
      types: './dist/index.d.ts',
      default: './dist/index.js',
    },
  },
  ...(isApp
    ? {}
    : {
        publishConfig: {
          access: 'public',
          exports: { '.': { types: './dist/index.d.ts', default: './dist/index.js' } },
        },
      }),
  files: ['dist'],
  scripts: {
    build: 'tsup',
    typecheck: 'tsc -p tsconfig.json',
    test: 'vitest run',
    ...(isApp ? {} : { prepack: 'tsup' }),
  },
  dependencies: { '@invis/host': 'workspace:^' },
  devDependencies: {
    '@invis/test-utils': 'workspace:*',
    '@invis/testbed': 'workspace:*',
    '@invis/tsconfig': 'workspace:*',
    '@invis/tsup-config': 'workspace:*',
    '@invis/vitest-config': 'workspace:*',
  },
};
const w = (f, s) => writeFileSync(join(dir, f), s);
w('package.json', `${JSON.stringify(pkg, null, 2)}\n`);
w(
  'tsconfig.json',
  `${JSON.stringify(
    {
      extends: `@invis/tsconfig/${isApp ? 'base' : 'library'}.json`,
      include: ['src', 'test', '*.config.ts'],
    },
    null,
    2,
  )}\n`,
);
w(
  'tsup.config.ts',
  `import { defineLibraryConfig } from '@invis/tsup-config';\n\nexport default defineLibraryConfig();\n`,
);
w(
  'vitest.config.ts',
  `import { definePackageConfig } from '@invis/vitest-config';\n\nexport default definePackageConfig(import.meta.dirname, '${name}');\n`,
);
w(
  'src/index.ts',
  `// ${pkgName}: ${purpose}\n// Public API: every exported symbol is listed here by name.\nexport {};\n`,
);
// Published libraries ship the licence text in their tarball.
if (!isApp) copyFileSync('LICENSE', join(dir, 'LICENSE'));
console.log(`created ${dir}`);

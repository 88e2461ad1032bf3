import { defineLibraryConfig } from '@invis/tsup-config';
import type { Options } from 'tsup';

const library = defineLibraryConfig({ entry: ['src/index.ts'] }) as Options;

// The `invis-sync` executable is one file with what it uses of its dependencies (zod/mini and
// @invis/host, tree-shaken): cron starts it every few minutes, and resolving and compiling
// dozens of modules took longer than an unchanged run itself.
export default [
  { ...library, clean: ['index.*'] },
  { ...library, entry: ['src/bin.ts'], dts: false, clean: ['bin.*'], noExternal: [/.*/] },
] satisfies Options[];

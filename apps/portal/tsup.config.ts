import { defineLibraryConfig } from '@invis/tsup-config';

// index: the composable pieces; main: the server entry (`node dist/main.js`).
export default defineLibraryConfig({ entry: ['src/index.ts', 'src/main.ts'] });

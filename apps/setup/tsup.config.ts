import { defineLibraryConfig } from '@invis/tsup-config';

export default defineLibraryConfig({ entry: ['src/index.ts', 'src/bin.ts', 'src/backup-bin.ts'] });

import { defineLibraryConfig } from '@invis/tsup-config';
import type { Options } from 'tsup';

// tsup strips `node:` by default, but `sqlite` exists only as `node:sqlite`.
export default {
  ...(defineLibraryConfig({ entry: ['src/index.ts', 'src/bin.ts'] }) as Options),
  removeNodeProtocol: false,
};

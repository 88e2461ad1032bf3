import { defineLibraryConfig } from '@invis/tsup-config';

export default defineLibraryConfig();

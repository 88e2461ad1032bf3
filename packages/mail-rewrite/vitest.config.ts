import { definePackageConfig } from '@invis/vitest-config';

export default definePackageConfig(import.meta.dirname, 'mail-rewrite', {
  integrationSetup: ['./test/integration/setup.ts'],
});

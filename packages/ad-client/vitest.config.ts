import { definePackageConfig } from '@invis/vitest-config';

export default definePackageConfig(import.meta.dirname, 'ad-client', {
  integrationSetup: ['./test/integration/setup.ts'],
});

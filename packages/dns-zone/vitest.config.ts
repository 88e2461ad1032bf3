import { definePackageConfig } from '@invis/vitest-config';

export default definePackageConfig(import.meta.dirname, 'dns-zone', {
  integrationSetup: ['./test/integration/setup.ts'],
});

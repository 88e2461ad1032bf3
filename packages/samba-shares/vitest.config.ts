import { definePackageConfig } from '@invis/vitest-config';

export default definePackageConfig(import.meta.dirname, 'samba-shares');

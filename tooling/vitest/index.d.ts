import type { UserConfig } from 'vitest/config';

/** `<name>:unit` and `<name>:integration` vitest projects for the package at `root`. */
export declare function definePackageConfig(
  root: string,
  name: string,
  options?: { integrationSetup?: string[]; integrationTimeout?: number },
): UserConfig;

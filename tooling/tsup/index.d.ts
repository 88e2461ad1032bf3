import type { Options } from 'tsup';

/** Shared tsup base for invis packages: ESM, declarations, node22 target. */
export declare function defineLibraryConfig(options?: {
  entry?: string[] | Record<string, string>;
  banner?: string;
}): Options | Options[] | ((overrideOptions: Options) => Options | Options[] | Promise<Options | Options[]>);

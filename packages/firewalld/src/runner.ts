// The injected collaborators of the apply layer: a command runner (execa, argument arrays only)
// and a small fs facade, so tests and other platforms can swap them.
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { FirewalldError } from './errors';

/** Outcome of one program run; a non-zero exit is a result, not an exception. */
export interface CommandResult {
  exitCode: number;
  /** stdout and stderr interleaved (firewalld prints errors on either). */
  output: string;
}

/** Runs `command args` (never through a shell) with extra environment variables. */
export type CommandRunner = (
  command: string,
  args: readonly string[],
  options?: { env?: Readonly<Record<string, string>> },
) => Promise<CommandResult>;

/**
 * The default runner (execa). Rejects only when the program cannot run at all.
 * @returns a {@link CommandRunner}
 * @throws FirewalldError `FW_COMMAND_FAILED` (program missing or killed)
 * @example const run = createExecaRunner(); await run('firewall-offline-cmd', ['--version']);
 */
export function createExecaRunner(): CommandRunner {
  return async (command, args, options = {}) => {
    const result = await execa(command, args, {
      ...(options.env ? { env: options.env } : {}),
      reject: false,
      all: true,
      stdin: 'ignore',
    });
    if (result.exitCode === undefined) {
      throw new FirewalldError('FW_COMMAND_FAILED', `${command} could not run: ${result.shortMessage}`, {
        data: { command },
        cause: result,
      });
    }
    return { exitCode: result.exitCode, output: result.all ?? '' };
  };
}

/** The file operations apply() needs; defaults to node:fs/promises. */
export interface FirewalldFs {
  readFile(path: string): Promise<string>;
  writeFile(path: string, data: string, mode: number): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  rm(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  /** Names in a directory; empty when it does not exist. */
  readdir(path: string): Promise<string[]>;
  mkdtemp(prefix: string): Promise<string>;
  /** Recursive copy of a directory. */
  copyDir(from: string, to: string): Promise<void>;
}

/** {@link FirewalldFs} on node:fs/promises. */
export const nodeFs: FirewalldFs = {
  readFile: (path) => readFile(path, 'utf8'),
  writeFile: (path, data, mode) => writeFile(path, data, { mode }),
  rename,
  rm: (path) => rm(path, { recursive: true, force: true }),
  mkdir: async (path) => {
    await mkdir(path, { recursive: true });
  },
  readdir: async (path) => {
    try {
      return await readdir(path);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
  },
  mkdtemp,
  copyDir: (from, to) => cp(from, to, { recursive: true }),
};

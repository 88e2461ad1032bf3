import { execa } from 'execa';
import type { CommandRunner } from './services';

/**
 * The production command runner: execa with an argument array, no shell, a timeout, and a
 * thrown error when the program cannot be started (so callers report "unknown").
 */
export const execaRunner: CommandRunner = async (file, args) => {
  const result = await execa(file, args, { reject: false, timeout: 30_000, stdin: 'ignore' });
  if (result.exitCode === undefined) throw new Error(`${file} could not be run`, { cause: result });
  return { exitCode: result.exitCode, stdout: String(result.stdout) };
};

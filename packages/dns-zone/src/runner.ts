import { execa } from 'execa';

/** Result of a finished command. */
export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Runs a program with an argument array (never a shell); resolves even on a non-zero exit. */
export type CommandRunner = (command: string, args: readonly string[]) => Promise<CommandResult>;

/** Default {@link CommandRunner} on execa. */
export const execaRunner: CommandRunner = async (command, args) => {
  const result = await execa(command, args, { reject: false });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
};

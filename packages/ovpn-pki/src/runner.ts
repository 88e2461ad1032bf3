// The one way this package runs programs (openvpn --genkey, the config check): an injected
// runner with argument arrays, never a shell string.
import { execa } from 'execa';
import { OvpnPkiError } from './errors';

/** Result of one program run. */
export interface CommandResult {
  stdout: string;
  stderr: string;
  exitCode: number;
}

/** Runs a program with an argument array; resolves also on a non-zero exit (the caller decides). */
export interface CommandRunner {
  run(command: string, args: readonly string[], options?: { cwd?: string }): Promise<CommandResult>;
}

/**
 * The real runner (execa, no shell). A missing program becomes OVPN_COMMAND_FAILED.
 * @returns a {@link CommandRunner}
 */
export function createExecaRunner(): CommandRunner {
  return {
    async run(command, args, options = {}) {
      const result = await execa(command, args, { ...options, reject: false, stdin: 'ignore' });
      if (result.exitCode === undefined) {
        throw new OvpnPkiError('OVPN_COMMAND_FAILED', `${command} could not be started: ${result.shortMessage}`, {
          cause: result,
          data: { command },
        });
      }
      return { stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode };
    },
  };
}

/** Runs and throws OVPN_COMMAND_FAILED (with stderr's last line) on a non-zero exit. */
export async function runChecked(
  runner: CommandRunner,
  command: string,
  args: readonly string[],
  options?: { cwd?: string },
): Promise<string> {
  const result = await runner.run(command, args, options);
  if (result.exitCode !== 0) {
    const last = `${result.stderr}\n${result.stdout}`.trim().split('\n').filter(Boolean).at(-1) ?? '';
    throw new OvpnPkiError(
      'OVPN_COMMAND_FAILED',
      `${command} ${args[0] ?? ''} failed (exit ${result.exitCode}): ${last}`,
      {
        data: { command, exitCode: result.exitCode },
      },
    );
  }
  return result.stdout;
}

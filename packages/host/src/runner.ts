// The one way invis runs programs: argument arrays (never a shell string), a result for every
// exit code, and one typed error when the program cannot run at all.
import { HostError } from './errors';

/** Options of one program run. */
export interface RunOptions {
  /** Working directory. */
  cwd?: string;
  /** Extra environment variables (added to the runner's environment). */
  env?: Readonly<Record<string, string>>;
  /** Written to the program's stdin, then stdin is closed. The place for secrets: never argv. */
  input?: string | Uint8Array;
  /** Kill the program after this many milliseconds (HOST_COMMAND_TIMEOUT). */
  timeoutMs?: number;
}

/** Outcome of a program that ran; a non-zero exit is a result, not an exception. */
export interface CommandResult {
  command: string;
  args: readonly string[];
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved as the program wrote them (some programs report errors on either). */
  output: string;
}

/**
 * Runs programs. Resolves for every exit code; rejects with a {@link HostError} only when the
 * program could not run: `HOST_COMMAND_NOT_FOUND` (missing), `HOST_COMMAND_TIMEOUT`,
 * `HOST_COMMAND_FAILED` (killed by a signal, could not start).
 */
export interface CommandRunner {
  run(command: string, args: readonly string[], options?: RunOptions): Promise<CommandResult>;
}

// execa and what it pulls in take about 0.1 s to load: loaded with the first program run, so a
// command that runs none (a sync with nothing to run, `--help`) does not wait for it.
let execaModule: Promise<typeof import('execa')> | undefined;
const loadExeca = (): Promise<typeof import('execa')> => {
  execaModule ??= import('execa');
  return execaModule;
};

/**
 * The real runner on execa: no shell, stdin closed unless `input` is given.
 * @returns a {@link CommandRunner}
 * @example
 * const runner = createExecaRunner();
 * const { exitCode, stdout } = await runner.run('named-checkconf', ['/etc/bind/named.conf']);
 */
export function createExecaRunner(): CommandRunner {
  return {
    async run(command, args, options = {}) {
      const { execa } = await loadExeca();
      const result = await execa(command, args, {
        reject: false,
        all: true,
        ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
        ...(options.env === undefined ? {} : { env: options.env }),
        ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
        ...(options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs }),
      });
      if (result.exitCode === undefined) {
        const details = { command, ...(result.signal ? { signal: result.signal } : {}) };
        if ((result as { code?: string }).code === 'ENOENT') {
          throw new HostError('HOST_COMMAND_NOT_FOUND', `${command} is not installed or not on PATH`, {
            cause: result,
            details,
          });
        }
        if (result.timedOut) {
          throw new HostError('HOST_COMMAND_TIMEOUT', `${command} did not finish within ${options.timeoutMs} ms`, {
            cause: result,
            details,
          });
        }
        throw new HostError('HOST_COMMAND_FAILED', `${command} could not run: ${result.shortMessage}`, {
          cause: result,
          details,
        });
      }
      return {
        command,
        args: [...args],
        exitCode: result.exitCode,
        stdout: String(result.stdout ?? ''),
        stderr: String(result.stderr ?? ''),
        output: String(result.all ?? ''),
      };
    },
  };
}

/**
 * The last non-empty line a program printed (from stderr when it printed there): what an error message should quote.
 * @param result a finished run
 * @returns that line, or '' when the program printed nothing
 */
export function lastOutputLine(result: CommandResult): string {
  const text = `${result.stdout}\n${result.stderr}`.trim();
  return (
    text
      .split('\n')
      .filter((line) => line.trim() !== '')
      .at(-1) ?? ''
  );
}

/**
 * Runs a program and rejects with `HOST_COMMAND_FAILED` when it exits non-zero; the message
 * quotes its last output line, `details` hold the exit code.
 * @param runner the injected runner
 * @param command program name or path
 * @param args argument array
 * @param options see {@link RunOptions}
 * @returns the successful result
 * @throws HostError `HOST_COMMAND_FAILED`, or any error of {@link CommandRunner.run}
 */
export async function runChecked(
  runner: CommandRunner,
  command: string,
  args: readonly string[],
  options?: RunOptions,
): Promise<CommandResult> {
  const result = await runner.run(command, args, options);
  if (result.exitCode !== 0) {
    throw new HostError(
      'HOST_COMMAND_FAILED',
      `${command} failed (exit ${result.exitCode}): ${lastOutputLine(result)}`,
      {
        details: { command, exitCode: result.exitCode },
      },
    );
  }
  return result;
}

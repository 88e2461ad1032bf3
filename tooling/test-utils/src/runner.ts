// A CommandRunner for unit tests of logic around programs: records every call and answers
// from a script. Never a stand-in for the real program in an integration test.
import { type CommandResult, type CommandRunner, HostError, type RunOptions } from '@invis/host';

/** One recorded call. */
export interface RecordedCall {
  command: string;
  args: string[];
  options: RunOptions;
}

/** What the script answers: a partial result (exit 0 and empty output by default), or an error to throw. */
export type ScriptedAnswer = Partial<Pick<CommandResult, 'exitCode' | 'stdout' | 'stderr'>> | Error;

/** Answers by program name; a function answers per call. */
export type RunnerScript = Record<string, ScriptedAnswer | ((call: RecordedCall) => ScriptedAnswer)>;

/** A scripted runner and what it was asked. */
export interface ScriptedRunner extends CommandRunner {
  readonly calls: RecordedCall[];
}

/**
 * A runner that answers from `script`; a program the script does not name is missing
 * (`HOST_COMMAND_NOT_FOUND`, as the real runner says).
 * @param script answers per program name
 * @returns the runner with its `calls`
 * @example
 * const runner = createScriptedRunner({ 'kea-dhcp4': { exitCode: 1, stderr: 'syntax error' } });
 */
export function createScriptedRunner(script: RunnerScript = {}): ScriptedRunner {
  const calls: RecordedCall[] = [];
  return {
    calls,
    async run(command, args, options = {}) {
      const call = { command, args: [...args], options };
      calls.push(call);
      const entry = script[command];
      if (entry === undefined) {
        throw new HostError('HOST_COMMAND_NOT_FOUND', `${command} is not installed or not on PATH`, {
          details: { command },
        });
      }
      const answer = typeof entry === 'function' ? entry(call) : entry;
      if (answer instanceof Error) throw answer;
      const stdout = answer.stdout ?? '';
      const stderr = answer.stderr ?? '';
      return {
        command,
        args: [...args],
        exitCode: answer.exitCode ?? 0,
        stdout,
        stderr,
        output: [stdout, stderr].filter(Boolean).join('\n'),
      };
    },
  };
}

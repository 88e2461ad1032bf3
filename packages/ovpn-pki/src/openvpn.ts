// openvpn runs through the injected host runner. A program that cannot run at all (not
// installed, killed, timed out) stays this package's OVPN_COMMAND_FAILED, with the host error
// (`HOST_COMMAND_NOT_FOUND`, …) as `cause`, so callers keep switching on one error type.
import { type CommandResult, type CommandRunner, isHostError, lastOutputLine } from '@invis/host';
import { OvpnPkiError } from './errors';

/**
 * Runs `openvpn` with an argument array; resolves for every exit code.
 * @param runner the injected runner
 * @param args arguments
 * @returns the result
 * @throws {OvpnPkiError} OVPN_COMMAND_FAILED when openvpn cannot run (`cause`: the host error)
 */
export async function runOpenVpn(runner: CommandRunner, args: readonly string[]): Promise<CommandResult> {
  try {
    return await runner.run('openvpn', args);
  } catch (cause) {
    if (!isHostError(cause)) throw cause;
    throw new OvpnPkiError('OVPN_COMMAND_FAILED', `openvpn could not run: ${cause.message}`, {
      cause,
      details: { command: 'openvpn' },
    });
  }
}

/**
 * Runs `openvpn` and fails on a non-zero exit, quoting its last output line.
 * @param runner the injected runner
 * @param args arguments
 * @returns stdout
 * @throws {OvpnPkiError} OVPN_COMMAND_FAILED (`details.exitCode` when it ran)
 */
export async function runOpenVpnChecked(runner: CommandRunner, args: readonly string[]): Promise<string> {
  const result = await runOpenVpn(runner, args);
  if (result.exitCode !== 0) {
    throw new OvpnPkiError(
      'OVPN_COMMAND_FAILED',
      `openvpn ${args[0] ?? ''} failed (exit ${result.exitCode}): ${lastOutputLine(result)}`,
      { details: { command: 'openvpn', exitCode: result.exitCode } },
    );
  }
  return result.stdout;
}

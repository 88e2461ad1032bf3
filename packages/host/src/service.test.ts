import { describe, expect, it } from 'vitest';
import { isHostError } from './errors';
import type { CommandResult, CommandRunner } from './runner';
import { createSystemdServiceManager } from './service';

function recordingRunner(exitCode: number): { runner: CommandRunner; calls: string[][] } {
  const calls: string[][] = [];
  const runner: CommandRunner = {
    async run(command, args): Promise<CommandResult> {
      calls.push([command, ...args]);
      return { command, args, exitCode, stdout: '', stderr: exitCode ? 'Unit x.service not found.' : '', output: '' };
    },
  };
  return { runner, calls };
}

describe('createSystemdServiceManager', () => {
  it('runs systemctl with the unit after --', async () => {
    const { runner, calls } = recordingRunner(0);
    const services = createSystemdServiceManager({ runner });
    await services.reload('kea-dhcp4-server');
    await services.reloadOrRestart('named');
    expect(await services.isActive('postfix@-')).toBe(true);
    expect(calls).toEqual([
      ['systemctl', 'reload', '--', 'kea-dhcp4-server'],
      ['systemctl', 'reload-or-restart', '--', 'named'],
      ['systemctl', 'is-active', '--quiet', '--', 'postfix@-'],
    ]);
  });

  it('turns a failure into HOST_SERVICE_FAILED with the unit and systemctl message', async () => {
    const services = createSystemdServiceManager(recordingRunner(5));
    const error = await services.restart('x').catch((e: unknown) => e);
    expect(isHostError(error) && error.toJSON()).toEqual({
      code: 'HOST_SERVICE_FAILED',
      message: 'systemctl restart x failed: Unit x.service not found.',
      details: { unit: 'x', action: 'restart', exitCode: 5 },
    });
    expect(await services.isActive('x')).toBe(false);
  });

  it('refuses option-like or malformed unit names before running anything', async () => {
    const { runner, calls } = recordingRunner(0);
    const services = createSystemdServiceManager({ runner });
    for (const unit of ['--now', 'a b', '', 'x;y']) {
      const error = await services.stop(unit).catch((e: unknown) => e);
      expect(isHostError(error) && error.code).toBe('HOST_SERVICE_FAILED');
    }
    expect(calls).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { PortalError } from './errors';
import { type CommandRunner, createServiceControl, type ServiceAction, type ServiceName } from './services';

function recorder(exitCode = 0, stdout = 'active\n') {
  const calls: [string, readonly string[]][] = [];
  const runner: CommandRunner = async (file, args) => {
    calls.push([file, args]);
    return { exitCode, stdout };
  };
  return { calls, runner };
}

describe('service control', () => {
  it('runs systemctl with an argument array from the allow-list', async () => {
    const { calls, runner } = recorder();
    await createServiceControl(runner).run('dhcp', 'restart');
    expect(calls).toEqual([['systemctl', ['restart', '--', 'kea-dhcp4-server']]]);
  });

  it('refuses names and actions outside the allow-list', async () => {
    const { calls, runner } = recorder();
    const control = createServiceControl(runner);
    await expect(control.run('samba; rm -rf /' as ServiceName, 'start')).rejects.toThrow(PortalError);
    await expect(control.run('toString' as ServiceName, 'start')).rejects.toThrow(PortalError);
    await expect(control.run('samba', 'kill' as ServiceAction)).rejects.toThrow(PortalError);
    expect(calls).toEqual([]);
  });

  it('reports a failing action with its exit code', async () => {
    const { runner } = recorder(5);
    await expect(createServiceControl(runner).run('smtp', 'reload')).rejects.toMatchObject({
      code: 'PORTAL_SERVICE_ACTION_FAILED',
      data: { exitCode: 5 },
    });
  });

  it('maps states and says unknown when systemctl is missing', async () => {
    const { runner } = recorder(3, 'inactive\n');
    const states = await createServiceControl(runner).states();
    expect(states.find((s) => s.name === 'smtp')).toEqual({ name: 'smtp', unit: 'postfix', state: 'inactive' });
    const missing = await createServiceControl(async () => {
      throw new Error('ENOENT');
    }).states();
    expect(missing.every((s) => s.state === 'unknown')).toBe(true);
  });
});

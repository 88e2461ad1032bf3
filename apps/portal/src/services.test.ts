import { createRecordingServiceManager, createScriptedRunner } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { isPortalError } from './errors';
import { createServiceControl, type ServiceAction, type ServiceName } from './services';

describe('service control', () => {
  it('runs systemctl with an argument array from the allow-list, with a timeout', async () => {
    const runner = createScriptedRunner({ systemctl: { exitCode: 0 } });
    await createServiceControl({ runner }).run('dhcp', 'restart');
    expect(runner.calls.map((c) => [c.command, c.args, c.options.timeoutMs])).toEqual([
      ['systemctl', ['restart', '--', 'kea-dhcp4-server'], 30_000],
    ]);
  });

  it('hands actions to the given service manager', async () => {
    const services = createRecordingServiceManager();
    await createServiceControl({ runner: createScriptedRunner(), services }).run('vpn', 'reload');
    expect(services.actions).toEqual(['reload openvpn-server@invis']);
  });

  it('refuses names and actions outside the allow-list', async () => {
    const runner = createScriptedRunner({ systemctl: { exitCode: 0 } });
    const control = createServiceControl({ runner });
    for (const [name, action] of [
      ['samba; rm -rf /', 'start'],
      ['toString', 'start'],
      ['samba', 'kill'],
    ]) {
      const error = await control.run(name as ServiceName, action as ServiceAction).catch((e: unknown) => e);
      expect(isPortalError(error)).toBe(true);
    }
    expect(runner.calls).toEqual([]);
  });

  it('reports a failing action with its exit code, the host error as cause', async () => {
    const runner = createScriptedRunner({ systemctl: { exitCode: 5, stderr: 'Unit postfix.service not loaded.' } });
    const error = await createServiceControl({ runner })
      .run('smtp', 'reload')
      .catch((e: unknown) => e);
    expect(isPortalError(error) && error.toJSON()).toEqual({
      code: 'PORTAL_SERVICE_ACTION_FAILED',
      message: 'reload smtp failed (exit 5)',
      details: { name: 'smtp', action: 'reload', exitCode: 5 },
    });
  });

  it('maps states and says unknown when systemctl is missing', async () => {
    const runner = createScriptedRunner({ systemctl: { exitCode: 3, stdout: 'inactive\n' } });
    const states = await createServiceControl({ runner }).states();
    expect(states.find((s) => s.name === 'smtp')).toEqual({ name: 'smtp', unit: 'postfix', state: 'inactive' });
    const missing = await createServiceControl({ runner: createScriptedRunner() }).states();
    expect(missing.every((s) => s.state === 'unknown')).toBe(true);
  });
});

import { readdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { createRecordingServiceManager, createScriptedRunner, useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { createDhcpdApplier, createKeaApplier } from './apply';
import type { KeaControl } from './kea-control';
import type { DhcpConfigInput } from './model';

const model = (ip: string): DhcpConfigInput => ({
  interfaces: ['eth1'],
  subnets: [{ cidr: '10.0.0.0/24', pools: [{ start: '10.0.0.200', end: '10.0.0.220' }] }],
  reservations: [{ mac: '02:00:00:00:00:01', ip, hostname: 'pc1' }],
});

function control(fail = 0): KeaControl & { commands: string[] } {
  const commands: string[] = [];
  let failures = fail;
  return {
    commands,
    async command(name) {
      commands.push(name);
      if (failures-- > 0) throw new Error('Kea said no');
      return { result: 0 };
    },
  };
}

const settings = { controlSocket: '/run/kea/sock' };
const dir = useTempDir('invis-dhcp-apply-');

describe('createKeaApplier', () => {
  it('writes, checks in the namespace, backs up, reloads and reports a unified diff', async () => {
    const configPath = join(dir(), 'kea-dhcp4.conf');
    const runner = createScriptedRunner({ ip: {} });
    const ctl = control();
    const kea = createKeaApplier({
      configPath,
      settings,
      runner,
      control: ctl,
      checkCommandPrefix: ['ip', 'netns', 'exec', 'srv'],
    });
    const first = await kea.apply(model('10.0.0.5'));
    expect(first).toMatchObject({ changed: true, files: [{ path: configPath, action: 'create' }], services: [] });
    expect(first.backup).toBeUndefined();
    expect(Object.keys(first.timings).sort()).toEqual(['check', 'reload']);
    const call = runner.calls[0];
    expect([call?.command, ...(call?.args.slice(0, 5) ?? [])]).toEqual([
      'ip',
      'netns',
      'exec',
      'srv',
      'kea-dhcp4',
      '-t',
    ]);
    // The checker reads a temp copy beside the target.
    expect(dirname(call?.args[5] ?? '')).toBe(dir());
    expect(basename(call?.args[5] ?? '')).toMatch(/^\.kea-dhcp4\.conf\.[0-9a-f]{8}\.tmp$/);
    expect(first.commands).toEqual([{ command: 'ip', args: call?.args, reason: 'check the new file' }]);
    expect(ctl.commands).toEqual(['config-reload']);

    const second = await kea.apply(model('10.0.0.6'));
    expect(second.backup).toBe(`${configPath}.bak`);
    expect(second.files).toHaveLength(1);
    expect(second.files[0]?.action).toBe('update');
    expect(second.files[0]?.diff).toMatch(
      /^--- a\/.*kea-dhcp4\.conf\n\+\+\+ b\/.*kea-dhcp4\.conf\n@@ -\d+,7 \+\d+,7 @@\n(?: .*\n){3}-.*"ip-address": "10.0.0.5",\n\+.*"ip-address": "10.0.0.6",\n(?: .*\n){3}$/,
    );
    expect(await readFile(`${configPath}.bak`, 'utf8')).toContain('10.0.0.5');
    expect(await readFile(configPath, 'utf8')).toContain('10.0.0.6');
    expect((await readdir(dir())).sort()).toEqual(['kea-dhcp4.conf', 'kea-dhcp4.conf.bak']);

    const third = await kea.apply(model('10.0.0.6'));
    expect(third).toEqual({
      changed: false,
      files: [{ path: configPath, action: 'unchanged', diff: '' }],
      services: [],
      commands: [],
      timings: {},
    });
    expect(ctl.commands).toHaveLength(2);
    expect(runner.calls).toHaveLength(2);
  });

  it('leaves everything as it was when the checker rejects the file', async () => {
    const configPath = join(dir(), 'k.conf');
    await writeFile(configPath, 'old');
    const ctl = control();
    const runner = createScriptedRunner({
      'kea-dhcp4': (call) => ({
        exitCode: 1,
        stderr: `banner\nsubnet configuration failed: bad (${call.args[1]}:3:1)`,
      }),
    });
    const kea = createKeaApplier({ configPath, settings, runner, control: ctl });
    const error = await kea.apply(model('10.0.0.5')).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'DHCP_CHECK_FAILED',
      details: {
        exitCode: 1,
        command: 'kea-dhcp4',
        output: `banner\nsubnet configuration failed: bad (${configPath}:3:1)`,
      },
    });
    expect(await readdir(dir())).toEqual(['k.conf']);
    expect(await readFile(configPath, 'utf8')).toBe('old');
    expect(ctl.commands).toEqual([]);
  });

  it('restores the old file and reloads it when the reload fails', async () => {
    const configPath = join(dir(), 'k.conf');
    await writeFile(configPath, 'old');
    const ctl = control(1);
    const kea = createKeaApplier({
      configPath,
      settings,
      runner: createScriptedRunner({ 'kea-dhcp4': {} }),
      control: ctl,
    });
    const error = await kea.apply(model('10.0.0.5')).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DHCP_RELOAD_FAILED', details: { restored: true } });
    expect((error as { toJSON(): unknown }).toJSON()).toEqual({
      code: 'DHCP_RELOAD_FAILED',
      message: (error as Error).message,
      details: { restored: true },
    });
    expect(await readFile(configPath, 'utf8')).toBe('old');
    expect(ctl.commands).toEqual(['config-reload', 'config-reload']);
  });

  it('rejects conflicting models before touching anything', async () => {
    const runner = createScriptedRunner({ 'kea-dhcp4': {} });
    const kea = createKeaApplier({ configPath: join(dir(), 'k.conf'), settings, runner, control: control() });
    await expect(kea.apply(model('10.0.0.210'))).rejects.toMatchObject({ code: 'DHCP_CONFLICT' });
    expect(await readdir(dir())).toEqual([]);
    expect(runner.calls).toEqual([]);
  });
});

describe('default runner and file system', () => {
  it('writes for real, and reports a checker that cannot run as DHCP_CHECK_FAILED without leftovers', async () => {
    const configPath = join(dir(), 'kea.conf');
    const ok = createKeaApplier({ configPath, settings, control: control(), keaCommand: 'true' });
    expect((await ok.apply(model('10.0.0.5'))).changed).toBe(true);
    expect(await readFile(configPath, 'utf8')).toContain('"ip-address": "10.0.0.5"');
    const missing = createKeaApplier({
      configPath,
      settings,
      control: control(),
      keaCommand: join(dir(), 'no-such-kea'),
    });
    const error = await missing.apply(model('10.0.0.6')).catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: 'DHCP_CHECK_FAILED',
      message: expect.stringContaining('could not be run'),
      cause: { code: 'HOST_COMMAND_NOT_FOUND' },
    });
    expect((error as { toJSON(): { cause?: unknown } }).toJSON().cause).toMatchObject({
      code: 'HOST_COMMAND_NOT_FOUND',
    });
    expect(await readdir(dir())).toEqual(['kea.conf']);
  });
});

describe('createDhcpdApplier', () => {
  it('checks with dhcpd -t and restarts the service; rolls back when the restart fails', async () => {
    const configPath = join(dir(), 'd.conf');
    await writeFile(configPath, 'old');
    const runner = createScriptedRunner({ dhcpd: {} });
    const services = createRecordingServiceManager({ failing: ['restart isc-dhcp-server'] });
    const failing = createDhcpdApplier({ configPath, runner, services });
    await expect(failing.apply(model('10.0.0.5'))).rejects.toMatchObject({
      code: 'DHCP_RELOAD_FAILED',
      details: { restored: false },
      cause: { code: 'HOST_SERVICE_FAILED' },
    });
    expect(await readFile(configPath, 'utf8')).toBe('old');
    expect(services.actions).toEqual(['restart isc-dhcp-server', 'restart isc-dhcp-server']);
    expect([runner.calls[0]?.command, ...(runner.calls[0]?.args.slice(0, 4) ?? [])]).toEqual([
      'dhcpd',
      '-t',
      '-q',
      '-4',
      '-cf',
    ]);

    const working = createRecordingServiceManager();
    const ok = await createDhcpdApplier({ configPath, runner, services: working, serviceName: 'dhcpd' }).apply(
      model('10.0.0.5'),
    );
    expect(ok).toMatchObject({
      changed: true,
      backup: `${configPath}.bak`,
      services: [{ unit: 'dhcpd', action: 'restart' }],
    });
    expect(working.actions).toEqual(['restart dhcpd']);
    expect(await readFile(configPath, 'utf8')).toContain('fixed-address 10.0.0.5;');
  });

  it('restarts through systemctl on the given runner by default', async () => {
    const configPath = join(dir(), 'd.conf');
    const runner = createScriptedRunner({ dhcpd: {}, systemctl: {} });
    await createDhcpdApplier({ configPath, runner }).apply(model('10.0.0.5'));
    expect(runner.calls.map((c) => [c.command, ...c.args]).at(-1)).toEqual([
      'systemctl',
      'restart',
      '--',
      'isc-dhcp-server',
    ]);
  });
});

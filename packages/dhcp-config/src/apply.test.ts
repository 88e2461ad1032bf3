import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type ApplyFs, type CommandRunner, createDhcpdApplier, createKeaApplier } from './apply';
import { lineDiff } from './diff';
import type { KeaControl } from './kea-control';
import type { DhcpConfigInput } from './model';

function memoryFs(initial: Record<string, string> = {}): ApplyFs & { files: Map<string, string> } {
  const files = new Map(Object.entries(initial));
  return {
    files,
    readFile: async (p) => files.get(p),
    writeFile: async (p, d) => {
      files.set(p, d);
    },
    rename: async (a, b) => {
      files.set(b, files.get(a) as string);
      files.delete(a);
    },
    remove: async (p) => {
      files.delete(p);
    },
  };
}

const model = (ip: string): DhcpConfigInput => ({
  interfaces: ['eth1'],
  subnets: [{ cidr: '10.0.0.0/24', pools: [{ start: '10.0.0.200', end: '10.0.0.220' }] }],
  reservations: [{ mac: '02:00:00:00:00:01', ip, hostname: 'pc1' }],
});

function recorder(exitCode = 0, stderr = ''): CommandRunner & { calls: string[][] } {
  const calls: string[][] = [];
  const run = (async (command: string, args: readonly string[]) => {
    calls.push([command, ...args]);
    return { exitCode, stdout: '', stderr };
  }) as CommandRunner & { calls: string[][] };
  run.calls = calls;
  return run;
}

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

describe('createKeaApplier', () => {
  it('writes, checks in the namespace, backs up, reloads and reports a diff', async () => {
    const fs = memoryFs();
    const run = recorder();
    const ctl = control();
    const kea = createKeaApplier({
      configPath: '/etc/kea/kea-dhcp4.conf',
      settings,
      fs,
      run,
      control: ctl,
      checkCommandPrefix: ['ip', 'netns', 'exec', 'srv'],
    });
    const first = await kea.apply(model('10.0.0.5'));
    expect(first).toMatchObject({ changed: true, path: '/etc/kea/kea-dhcp4.conf' });
    expect(first.backupPath).toBeUndefined();
    expect(run.calls[0]?.slice(0, 6)).toEqual(['ip', 'netns', 'exec', 'srv', 'kea-dhcp4', '-t']);
    expect(run.calls[0]?.[6]).toMatch(/^\/etc\/kea\/\.kea-dhcp4\.conf\.[0-9a-f]{8}\.tmp$/);
    expect(ctl.commands).toEqual(['config-reload']);

    const second = await kea.apply(model('10.0.0.6'));
    expect(second.backupPath).toBe('/etc/kea/kea-dhcp4.conf.bak');
    expect(second.diff).toMatch(/^@@ line \d+ @@\n-.*"ip-address": "10.0.0.5",\n\+.*"ip-address": "10.0.0.6",\n$/);
    expect(fs.files.get('/etc/kea/kea-dhcp4.conf.bak')).toContain('10.0.0.5');
    expect([...fs.files.keys()].sort()).toEqual(['/etc/kea/kea-dhcp4.conf', '/etc/kea/kea-dhcp4.conf.bak']);

    expect(await kea.apply(model('10.0.0.6'))).toEqual({ changed: false, path: '/etc/kea/kea-dhcp4.conf', diff: '' });
    expect(ctl.commands).toHaveLength(2);
  });

  it('leaves everything as it was when the checker rejects the file', async () => {
    const fs = memoryFs({ '/k.conf': 'old' });
    const ctl = control();
    const kea = createKeaApplier({
      configPath: '/k.conf',
      settings,
      fs,
      run: recorder(1, 'banner\nsubnet configuration failed: bad (/x.tmp:3:1)'),
      control: ctl,
    });
    await expect(kea.apply(model('10.0.0.5'))).rejects.toMatchObject({
      code: 'DHCP_CHECK_FAILED',
      data: { exitCode: 1, command: 'kea-dhcp4' },
    });
    expect([...fs.files.entries()]).toEqual([['/k.conf', 'old']]);
    expect(ctl.commands).toEqual([]);
  });

  it('restores the old file and reloads it when the reload fails', async () => {
    const fs = memoryFs({ '/k.conf': 'old' });
    const ctl = control(1);
    const kea = createKeaApplier({ configPath: '/k.conf', settings, fs, run: recorder(), control: ctl });
    const error = await kea.apply(model('10.0.0.5')).catch((e) => e);
    expect(error).toMatchObject({ code: 'DHCP_RELOAD_FAILED', data: { restored: true } });
    expect(error.toJSON()).toEqual({ code: 'DHCP_RELOAD_FAILED', message: error.message, restored: true });
    expect(fs.files.get('/k.conf')).toBe('old');
    expect(ctl.commands).toEqual(['config-reload', 'config-reload']);
  });

  it('rejects conflicting models before touching anything', async () => {
    const fs = memoryFs();
    const kea = createKeaApplier({ configPath: '/k.conf', settings, fs, run: recorder(), control: control() });
    await expect(kea.apply(model('10.0.0.210'))).rejects.toMatchObject({ code: 'DHCP_CONFLICT' });
    expect(fs.files.size).toBe(0);
  });
});

describe('default runner and file system', () => {
  it('writes for real, and reports a checker that cannot run as DHCP_CHECK_FAILED without leftovers', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'invis-dhcp-apply-'));
    try {
      const configPath = join(dir, 'kea.conf');
      const ok = createKeaApplier({ configPath, settings, control: control(), keaCommand: 'true' });
      expect((await ok.apply(model('10.0.0.5'))).changed).toBe(true);
      expect(await readFile(configPath, 'utf8')).toContain('"ip-address": "10.0.0.5"');
      const missing = createKeaApplier({
        configPath,
        settings,
        control: control(),
        keaCommand: join(dir, 'no-such-kea'),
      });
      await expect(missing.apply(model('10.0.0.6'))).rejects.toMatchObject({
        code: 'DHCP_CHECK_FAILED',
        message: expect.stringContaining('could not be run'),
      });
      expect(await readdir(dir)).toEqual(['kea.conf']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('createDhcpdApplier', () => {
  it('checks with dhcpd -t and restarts the service; rolls back when the restart fails', async () => {
    const fs = memoryFs({ '/d.conf': 'old' });
    const run = recorder();
    const restarts: string[] = [];
    let fail = true;
    const dhcpd = createDhcpdApplier({
      configPath: '/d.conf',
      fs,
      run,
      service: {
        async restart(name) {
          restarts.push(name);
          if (fail) {
            fail = false;
            throw new Error('exit 1');
          }
        },
      },
    });
    await expect(dhcpd.apply(model('10.0.0.5'))).rejects.toMatchObject({ code: 'DHCP_RELOAD_FAILED' });
    expect(fs.files.get('/d.conf')).toBe('old');
    expect(restarts).toEqual(['isc-dhcp-server', 'isc-dhcp-server']);
    expect(run.calls[0]?.slice(0, 5)).toEqual(['dhcpd', '-t', '-q', '-4', '-cf']);
    const ok = await dhcpd.apply(model('10.0.0.5'));
    expect(ok.changed).toBe(true);
    expect(fs.files.get('/d.conf')).toContain('fixed-address 10.0.0.5;');
  });
});

describe('lineDiff', () => {
  it('shows changed lines with their line numbers', () => {
    expect(lineDiff('a\nb\nc\nd\n', 'a\nB\nc\nd\ne\n')).toBe('@@ line 2 @@\n-b\n+B\n@@ line 5 @@\n+e\n');
    expect(lineDiff('', 'x\n')).toBe('@@ line 1 @@\n+x\n');
    expect(lineDiff('same', 'same')).toBe('');
  });
});

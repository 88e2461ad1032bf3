import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import type { ApplyReport, FileChange } from '@invis/host';
import { createScriptedRunner, type ScriptedRunner, useTempDir } from '@invis/test-utils';
import { beforeEach, describe, expect, it } from 'vitest';
import { checkerError, createFirewalld } from './apply';

const config = { defaultZone: 'lan', zones: [{ name: 'lan', services: ['ssh'] }] };
let dir: string;
let calls: string[];

/** Fake firewalld programs: exit codes scripted per sub-command. */
function fakeRunner(exit: { check?: number[]; reload?: number[]; state?: number } = {}): ScriptedRunner {
  const checks = [...(exit.check ?? [])];
  const reloads = [...(exit.reload ?? [])];
  const record = (command: string, args: string[]): void => {
    calls.push(`${command} ${args.filter((a) => a.startsWith('--') && a !== '--system-config').join(' ')}`);
  };
  return createScriptedRunner({
    'firewall-offline-cmd': ({ command, args }) => {
      record(command, args);
      const code = checks.shift() ?? 0;
      return code ? { exitCode: code, stderr: 'ERROR: Failed\nConfiguration error: INVALID_SERVICE: nope' } : {};
    },
    'firewall-cmd': ({ command, args }) => {
      record(command, args);
      if (args.includes('--reload')) return { exitCode: reloads.shift() ?? 0 };
      return { exitCode: exit.state ?? 0, stdout: 'running' };
    },
  });
}

/** `action path` (path relative to the config dir) of every file a plan or report names. */
const summary = (files: FileChange[]): string[] => files.map((f) => `${f.action} ${relative(dir, f.path)}`);

// The config dir one level down, so that its `.invis-backup` sibling lies in the temp folder too.
const root = useTempDir('invis-fw-unit-');
beforeEach(async () => {
  dir = join(root(), 'firewalld');
  await mkdir(dir);
  await writeFile(join(dir, 'firewalld.conf'), 'DefaultZone=public\n');
  calls = [];
});

describe('createFirewalld (fake programs, real temp dir)', () => {
  it('validates in a copy, writes, reloads once; a second apply changes nothing', async () => {
    const fw = createFirewalld({ driver: 'daemon', configDir: dir, runner: fakeRunner() });
    const plan = await fw.plan(config);
    expect(summary(plan.files)).toEqual(['update firewalld.conf', 'create zones/lan.xml']);
    expect(plan.commands).toEqual([
      { command: 'firewall-cmd', args: ['--reload'], reason: 'activate the new permanent configuration' },
    ]);
    expect(calls).toEqual([]);
    const report: ApplyReport = await fw.apply(config);
    expect(report.changed).toBe(true);
    expect(summary(report.files)).toEqual(['update firewalld.conf', 'create zones/lan.xml']);
    expect(report.files[0]?.diff).toContain('-DefaultZone=public\n+DefaultZone=lan\n+LogDenied=off\n');
    expect(report.commands).toEqual(plan.commands);
    expect(Object.keys(report.timings)).toEqual(['validate', 'write', 'activate']);
    expect(report.backup?.startsWith(`${dir}.invis-backup/`)).toBe(true);
    expect(calls).toEqual(['firewall-offline-cmd --check-config', 'firewall-cmd --reload']);
    expect(await readFile(join(dir, 'firewalld.conf'), 'utf8')).toBe('DefaultZone=lan\nLogDenied=off\n');
    expect(await readdir(join(dir, 'zones'))).toEqual(['lan.xml']);
    expect((await stat(join(dir, 'zones/lan.xml'))).mode & 0o777).toBe(0o640);
    expect((await fw.read()).zones.map((z) => z.name)).toEqual(['lan']);
    expect(await fw.apply(config)).toEqual({ changed: false, files: [], services: [], commands: [], timings: {} });
    expect(await fw.plan(config)).toEqual({ files: [], services: [], commands: [] });
  });

  it('keeps only the newest backups', async () => {
    let t = Date.parse('2026-01-01T00:00:00Z');
    const fw = createFirewalld({
      driver: 'offline',
      configDir: dir,
      runner: fakeRunner(),
      keepBackups: 2,
      clock: {
        now: () => {
          t += 1000;
          return new Date(t);
        },
      },
    });
    for (const service of ['ssh', 'http', 'https', 'imap']) {
      await fw.apply({ defaultZone: 'lan', zones: [{ name: 'lan', services: [service] }] });
    }
    const backups = await readdir(`${dir}.invis-backup`);
    expect(backups).toEqual(['2026-01-01T00-00-03-000Z', '2026-01-01T00-00-04-000Z']);
    // the newest backup holds the state before the last apply
    expect(await readFile(join(`${dir}.invis-backup`, backups[1] ?? '', 'zones/lan.xml'), 'utf8')).toContain('https');
  });

  it('never writes when validation fails', async () => {
    const fw = createFirewalld({ driver: 'offline', configDir: dir, runner: fakeRunner({ check: [101] }) });
    await expect(fw.apply(config)).rejects.toMatchObject({
      code: 'FW_INVALID_SERVICE',
      message: 'INVALID_SERVICE: nope',
    });
    expect(await readdir(join(dir, 'zones')).catch(() => [])).toEqual([]);
  });

  it('restores the previous files when the reload or the safety probe fails', async () => {
    const ok = createFirewalld({ driver: 'daemon', configDir: dir, runner: fakeRunner() });
    await ok.apply(config);
    const next = { defaultZone: 'lan', zones: [{ name: 'lan', services: ['http'] }] };
    const failing = createFirewalld({ driver: 'daemon', configDir: dir, runner: fakeRunner({ reload: [13] }) });
    await expect(failing.apply(next)).rejects.toMatchObject({ code: 'FW_RELOAD_FAILED' });
    expect((await ok.read()).zones[0]?.services).toEqual(['ssh']);
    calls = [];
    await expect(ok.apply(next, { safetyProbe: async () => false })).rejects.toMatchObject({
      code: 'FW_SAFETY_PROBE_FAILED',
    });
    expect(calls.filter((c) => c.endsWith('--reload'))).toHaveLength(2);
    expect((await ok.read()).zones[0]?.services).toEqual(['ssh']);
  });

  it('reports a stopped daemon as FW_DAEMON_STATE and leaves the files as they were', async () => {
    const fw = createFirewalld({
      driver: 'daemon',
      configDir: dir,
      runner: fakeRunner({ reload: [252, 252], state: 252 }),
    });
    await expect(fw.apply(config)).rejects.toMatchObject({ code: 'FW_DAEMON_STATE' });
    expect(await fw.isRunning()).toBe(false);
    expect(await readdir(join(dir, 'zones'))).toEqual([]);
  });

  it('reports a missing program as FW_COMMAND_FAILED with the host error as cause, and writes nothing', async () => {
    const fw = createFirewalld({ driver: 'offline', configDir: dir, runner: createScriptedRunner({}) });
    const error = await fw.apply(config).catch((e: unknown) => e);
    expect(JSON.parse(JSON.stringify(error))).toEqual({
      code: 'FW_COMMAND_FAILED',
      message: 'firewall-offline-cmd is not installed or not on PATH',
      details: { command: 'firewall-offline-cmd' },
      cause: {
        code: 'HOST_COMMAND_NOT_FOUND',
        message: 'firewall-offline-cmd is not installed or not on PATH',
        details: { command: 'firewall-offline-cmd' },
      },
    });
    expect(await readdir(join(dir, 'zones')).catch(() => [])).toEqual([]);
    await expect(fw.isRunning()).rejects.toMatchObject({ code: 'FW_COMMAND_FAILED' });
  });

  it('offline driver plans the in-place check as its activating command', async () => {
    const fw = createFirewalld({ driver: 'offline', configDir: dir, runner: fakeRunner() });
    expect((await fw.plan(config)).commands).toEqual([
      {
        command: 'firewall-offline-cmd',
        args: ['--system-config', dir, '--check-config'],
        reason: 'check the written configuration in place',
      },
    ]);
  });

  it('offline driver re-checks in place and rolls back when that fails', async () => {
    const fw = createFirewalld({ driver: 'offline', configDir: dir, runner: fakeRunner({ check: [0, 28] }) });
    await expect(fw.apply(config)).rejects.toMatchObject({ code: 'FW_PARSE_ERROR' });
    expect(await readdir(join(dir, 'zones'))).toEqual([]);
    expect(await readFile(join(dir, 'firewalld.conf'), 'utf8')).toBe('DefaultZone=public\n');
  });
});

describe('checkerError', () => {
  it.each([
    [102, "Configuration error: INVALID_PORT: port number in '99999' is too big", 'FW_INVALID_PORT'],
    [28, 'ERROR: Failed to load\nConfiguration error: PARSE_ERROR: Unexpected element bogus', 'FW_PARSE_ERROR'],
    [1, 'Error: INVALID_ZONE: bad', 'FW_INVALID_ZONE'],
    [1, 'something else', 'FW_UNKNOWN_ERROR'],
  ])('exit %i %j → %s', (exitCode, output, code) => {
    const e = checkerError({ exitCode, output });
    expect(e.code).toBe(code);
    expect(e.toJSON().details).toMatchObject({ exitCode });
  });
});

import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createRecordingServiceManager, createScriptedRunner, useTempDir } from '@invis/test-utils';
import { beforeEach, describe, expect, it } from 'vitest';
import { applyServerDeployment, type ServerDeployment } from './apply';
import { isOvpnPkiError } from './errors';

const tmp = useTempDir('ovpn-apply-');
const UNIT = 'openvpn-server@invis';
let configValid = true;
// A scripted openvpn: the real one is exercised by the integration tests.
const runner = createScriptedRunner({
  openvpn: () =>
    configValid
      ? {}
      : { exitCode: 1, stderr: 'Options error: Unrecognized option or missing parameter(s) in x.conf:3: bogus' },
});
// Restart fails while `failing` names it, once: the rollback's restart then succeeds.
const failing: string[] = [];
const recording = createRecordingServiceManager({ failing });
const services = {
  ...recording,
  async restart(unit: string) {
    try {
      await recording.restart(unit);
    } finally {
      failing.length = 0;
    }
  },
};

beforeEach(() => {
  runner.calls.length = 0;
  recording.actions.length = 0;
  recording.active.clear();
  configValid = true;
});

function deployment(config: string, crl = 'CRL1', key = 'KEY1'): ServerDeployment {
  return {
    configPath: join(tmp(), 'server', 'invis.conf'),
    config,
    files: [
      { path: join(tmp(), 'keys', 'server.key'), content: key, mode: 0o600, effect: 'restart' },
      { path: join(tmp(), 'keys', 'crl.pem'), content: crl, mode: 0o644, effect: 'live' },
    ],
  };
}

const changedPaths = (report: { files: { path: string; action: string }[] }): string[] =>
  report.files.filter((f) => f.action !== 'unchanged').map((f) => f.path);

describe('applyServerDeployment', () => {
  it('writes everything, checks the config with openvpn, restarts once; then is idempotent', async () => {
    const first = await applyServerDeployment(deployment('port 1\n'), { runner, services });
    expect(first).toMatchObject({
      changed: true,
      restartNeeded: true,
      restarted: true,
      services: [{ unit: UNIT, action: 'restart' }],
    });
    expect(first.files.map((f) => [f.path, f.action])).toEqual([
      [join(tmp(), 'keys', 'server.key'), 'create'],
      [join(tmp(), 'keys', 'crl.pem'), 'create'],
      [join(tmp(), 'server', 'invis.conf'), 'create'],
    ]);
    // The key is secret: its diff is withheld; the config's diff is a unified diff.
    expect(first.files[0]).toMatchObject({ secret: true, diff: '' });
    expect(first.files[1]?.diff).toContain('+CRL1');
    expect(first.files[2]?.diff).toMatch(/^--- \/dev\/null\n\+\+\+ b\/.*invis\.conf\n@@ -0,0 \+1(,1)? @@\n\+port 1\n$/);
    expect(runner.calls[0]?.command).toBe('openvpn');
    expect(runner.calls[0]?.args.slice(0, 4)).toEqual([
      '--cd',
      join(tmp(), 'server'),
      '--config',
      join(tmp(), 'server', 'invis.conf.new'),
    ]);
    expect((await stat(join(tmp(), 'keys', 'server.key'))).mode & 0o777).toBe(0o600);
    const again = await applyServerDeployment(deployment('port 1\n'), { runner, services });
    expect(again).toMatchObject({ changed: false, services: [], restartNeeded: false, restarted: false });
    expect(changedPaths(again)).toEqual([]);
    expect(recording.actions).toEqual([`restart ${UNIT}`]);
  });

  it('updates the CRL without a restart', async () => {
    await applyServerDeployment(deployment('port 1\n'), { runner, services });
    const report = await applyServerDeployment(deployment('port 1\n', 'CRL2'), { runner, services });
    expect(report).toMatchObject({ changed: true, restartNeeded: false, restarted: false });
    expect(changedPaths(report)).toEqual([join(tmp(), 'keys', 'crl.pem')]);
    expect(await readFile(join(tmp(), 'keys', 'crl.pem'), 'utf8')).toBe('CRL2');
    expect(recording.actions).toEqual([`restart ${UNIT}`]);
  });

  it('writes nothing when openvpn rejects the new config', async () => {
    await applyServerDeployment(deployment('port 1\n'), { runner, services });
    configValid = false;
    const error = await applyServerDeployment(deployment('port 2\nbogus\n', 'CRL2', 'KEY2'), {
      runner,
      services,
    }).catch((e: unknown) => e);
    expect(isOvpnPkiError(error) && error.code === 'OVPN_CONFIG_INVALID').toBe(true);
    expect((error as Error).message).toContain('Unrecognized option');
    expect(await readFile(join(tmp(), 'server', 'invis.conf'), 'utf8')).toBe('port 1\n');
    expect(await readFile(join(tmp(), 'keys', 'server.key'), 'utf8')).toBe('KEY1');
    expect(await readFile(join(tmp(), 'keys', 'crl.pem'), 'utf8')).toBe('CRL1');
    await expect(stat(join(tmp(), 'server', 'invis.conf.new'))).rejects.toThrow();
  });

  it('rolls back config and key when the restart fails', async () => {
    await applyServerDeployment(deployment('port 1\n'), { runner, services });
    failing.push(`restart ${UNIT}`);
    const error = await applyServerDeployment(deployment('port 2\n', 'CRL1', 'KEY2'), { runner, services }).catch(
      (e: unknown) => e,
    );
    expect(isOvpnPkiError(error) && error.toJSON()).toMatchObject({
      code: 'OVPN_RELOAD_FAILED',
      details: { unit: UNIT },
      cause: { code: 'HOST_SERVICE_FAILED' },
    });
    expect(await readFile(join(tmp(), 'server', 'invis.conf'), 'utf8')).toBe('port 1\n');
    expect(await readFile(join(tmp(), 'keys', 'server.key'), 'utf8')).toBe('KEY1');
    expect(await readFile(join(tmp(), 'server', 'invis.conf.bak'), 'utf8')).toBe('port 1\n');
    expect(recording.actions).toEqual([`restart ${UNIT}`, `restart ${UNIT}`, `restart ${UNIT}`]);
    expect(recording.active.has(UNIT)).toBe(true);
  });

  it('reports a restart as needed when no service manager is given, and names the backup', async () => {
    await applyServerDeployment(deployment('port 1\n'), { runner });
    const report = await applyServerDeployment(deployment('port 2\n'), { runner, unit: 'openvpn@other' });
    expect(report).toMatchObject({
      restartNeeded: true,
      restarted: false,
      services: [],
      backup: join(tmp(), 'server', 'invis.conf.bak'),
    });
    expect(report.files[2]?.diff).toContain('-port 1\n+port 2\n');
    expect(recording.actions).toEqual([]);
  });

  it('restarts the unit it is told to', async () => {
    await applyServerDeployment(deployment('port 1\n'), { runner, services, unit: 'openvpn@branch' });
    expect(recording.actions).toEqual(['restart openvpn@branch']);
  });

  it('gives every file its own mode whatever the umask (OpenVPN as nobody re-reads the CRL)', async () => {
    const previous = process.umask(0o077);
    try {
      await applyServerDeployment(deployment('port 1\n'), { runner });
    } finally {
      process.umask(previous);
    }
    const mode = async (...parts: string[]) => (await stat(join(tmp(), ...parts))).mode & 0o777;
    expect([
      await mode('keys', 'crl.pem'),
      await mode('server', 'invis.conf'),
      await mode('keys', 'server.key'),
    ]).toEqual([0o644, 0o644, 0o600]);
  });
});

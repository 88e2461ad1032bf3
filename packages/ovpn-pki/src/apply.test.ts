import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { applyServerDeployment, diffLines, type ServerDeployment } from './apply';
import { isOvpnPkiError } from './errors';
import type { CommandRunner } from './runner';

let dir: string;
const calls: string[][] = [];
let configValid = true;
// A fake openvpn: the real one is exercised by the integration tests.
const runner: CommandRunner = {
  async run(command, args) {
    calls.push([command, ...args]);
    return configValid
      ? { stdout: '', stderr: '', exitCode: 0 }
      : {
          stdout: '',
          stderr: 'Options error: Unrecognized option or missing parameter(s) in x.conf:3: bogus',
          exitCode: 1,
        };
  },
};
let restarts = 0;
let failRestart = false;
const service = {
  async restart() {
    restarts++;
    if (failRestart) {
      failRestart = false;
      throw new Error('openvpn exited');
    }
  },
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'ovpn-apply-'));
  calls.length = 0;
  restarts = 0;
  configValid = true;
});
afterEach(() => rm(dir, { recursive: true, force: true }));

function deployment(config: string, crl = 'CRL1', key = 'KEY1'): ServerDeployment {
  return {
    configPath: join(dir, 'server', 'invis.conf'),
    config,
    files: [
      { path: join(dir, 'keys', 'server.key'), content: key, mode: 0o600, effect: 'restart' },
      { path: join(dir, 'keys', 'crl.pem'), content: crl, mode: 0o644, effect: 'live' },
    ],
  };
}

describe('applyServerDeployment', () => {
  it('writes everything, checks the config with openvpn, restarts once; then is idempotent', async () => {
    const first = await applyServerDeployment(deployment('port 1\n'), { runner, service });
    expect(first).toMatchObject({ restartNeeded: true, restarted: true, configDiff: '+port 1\n' });
    expect(first.changed).toHaveLength(3);
    expect(calls[0]?.slice(0, 5)).toEqual([
      'openvpn',
      '--cd',
      join(dir, 'server'),
      '--config',
      join(dir, 'server', 'invis.conf.new'),
    ]);
    expect((await stat(join(dir, 'keys', 'server.key'))).mode & 0o777).toBe(0o600);
    const again = await applyServerDeployment(deployment('port 1\n'), { runner, service });
    expect(again).toMatchObject({ changed: [], restartNeeded: false, restarted: false });
    expect(restarts).toBe(1);
  });

  it('updates the CRL without a restart', async () => {
    await applyServerDeployment(deployment('port 1\n'), { runner, service });
    const report = await applyServerDeployment(deployment('port 1\n', 'CRL2'), { runner, service });
    expect(report).toMatchObject({ changed: [join(dir, 'keys', 'crl.pem')], restartNeeded: false, restarted: false });
    expect(await readFile(join(dir, 'keys', 'crl.pem'), 'utf8')).toBe('CRL2');
    expect(restarts).toBe(1);
  });

  it('writes nothing when openvpn rejects the new config', async () => {
    await applyServerDeployment(deployment('port 1\n'), { runner, service });
    configValid = false;
    const error = await applyServerDeployment(deployment('port 2\nbogus\n', 'CRL2', 'KEY2'), { runner, service }).catch(
      (e: unknown) => e,
    );
    expect(isOvpnPkiError(error, 'OVPN_CONFIG_INVALID')).toBe(true);
    expect((error as Error).message).toContain('Unrecognized option');
    expect(await readFile(join(dir, 'server', 'invis.conf'), 'utf8')).toBe('port 1\n');
    expect(await readFile(join(dir, 'keys', 'server.key'), 'utf8')).toBe('KEY1');
    expect(await readFile(join(dir, 'keys', 'crl.pem'), 'utf8')).toBe('CRL1');
    await expect(stat(join(dir, 'server', 'invis.conf.new'))).rejects.toThrow();
  });

  it('rolls back config and key when the restart fails', async () => {
    await applyServerDeployment(deployment('port 1\n'), { runner, service });
    failRestart = true;
    const error = await applyServerDeployment(deployment('port 2\n', 'CRL1', 'KEY2'), { runner, service }).catch(
      (e: unknown) => e,
    );
    expect(isOvpnPkiError(error, 'OVPN_RELOAD_FAILED')).toBe(true);
    expect(await readFile(join(dir, 'server', 'invis.conf'), 'utf8')).toBe('port 1\n');
    expect(await readFile(join(dir, 'keys', 'server.key'), 'utf8')).toBe('KEY1');
    expect(await readFile(join(dir, 'server', 'invis.conf.bak'), 'utf8')).toBe('port 1\n');
    expect(restarts).toBe(3);
  });

  it('reports a restart as needed when no service is given', async () => {
    await writeFile(join(dir, 'x'), '');
    expect(await applyServerDeployment(deployment('port 1\n'), { runner })).toMatchObject({
      restartNeeded: true,
      restarted: false,
    });
  });
});

describe('diffLines', () => {
  it('shows removed and added lines', () => {
    expect(diffLines('a\nb\nc\n', 'a\nc\nd\n')).toBe('-b\n+d\n');
    expect(diffLines('same\n', 'same\n')).toBe('');
  });
});

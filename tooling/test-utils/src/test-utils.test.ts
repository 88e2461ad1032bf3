import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isHostError } from '@invis/host';
import { describe, expect, it } from 'vitest';
import { createRecordingServiceManager, createScriptedRunner, useTempDir, withTempDir } from './index';

describe('useTempDir', () => {
  const dir = useTempDir('invis-test-utils-');
  const seen: string[] = [];
  it('gives each test its own folder', async () => {
    await writeFile(join(dir(), 'a'), 'x');
    seen.push(dir());
  });
  it('and removes the previous one', () => {
    expect(dir()).not.toBe(seen[0]);
    expect(existsSync(seen[0] as string)).toBe(false);
  });
});

const sharedSeen: string[] = [];
describe('useTempDir shared', () => {
  const dir = useTempDir('invis-test-utils-', { shared: true });
  it('gives the tests of a describe one folder', async () => {
    await writeFile(join(dir(), 'a'), 'x');
    sharedSeen.push(dir());
  });
  it('and keeps it between them', () => {
    expect(dir()).toBe(sharedSeen[0]);
    expect(existsSync(join(dir(), 'a'))).toBe(true);
  });
});

describe('useTempDir shared, after its describe', () => {
  it('has removed the folder', () => {
    expect(sharedSeen).toHaveLength(1);
    expect(existsSync(sharedSeen[0] as string)).toBe(false);
  });
});

describe('withTempDir', () => {
  it('removes the folder also when the work fails', async () => {
    let kept = '';
    await expect(
      withTempDir('invis-test-utils-', async (d) => {
        kept = d;
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(existsSync(kept)).toBe(false);
  });
});

describe('createScriptedRunner', () => {
  it('answers from the script and records calls', async () => {
    const runner = createScriptedRunner({
      'kea-dhcp4': { exitCode: 1, stderr: 'syntax error' },
      echo: (call) => ({ stdout: call.args.join(' ') }),
    });
    expect(await runner.run('kea-dhcp4', ['-t', 'x'])).toMatchObject({ exitCode: 1, stderr: 'syntax error' });
    expect((await runner.run('echo', ['a', 'b'])).stdout).toBe('a b');
    expect(runner.calls.map((c) => c.command)).toEqual(['kea-dhcp4', 'echo']);
  });

  it('treats an unscripted program as missing, like the real runner', async () => {
    const error = await createScriptedRunner()
      .run('named', [])
      .catch((e: unknown) => e);
    expect(isHostError(error) && error.code).toBe('HOST_COMMAND_NOT_FOUND');
  });
});

describe('createRecordingServiceManager', () => {
  it('records actions and fails the named ones', async () => {
    const services = createRecordingServiceManager({ failing: ['reload named'] });
    await services.start('kea');
    await expect(services.reload('named')).rejects.toMatchObject({ code: 'HOST_SERVICE_FAILED' });
    expect(await services.isActive('kea')).toBe(true);
    expect(services.actions).toEqual(['start kea', 'reload named']);
  });
});

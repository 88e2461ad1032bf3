import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { groupHasLiveMembers, spawnDaemon, TestbedError, waitUntilReady } from '../../src/index';

describe('daemon processes', () => {
  it('stops the whole process group, including children that ignore SIGTERM', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'invis-proc-'));
    const d = spawnDaemon('sleeper', 'sh', ['-c', "trap '' TERM; sleep 300 & sleep 300"], join(dir, 'log'));
    expect(groupHasLiveMembers(d.pid)).toBe(true);
    await d.stop(300);
    expect(groupHasLiveMembers(d.pid)).toBe(false);
    await rm(dir, { recursive: true, force: true });
  });

  it('fails fast with the log tail when the daemon dies during start-up', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'invis-proc-'));
    const d = spawnDaemon('crasher', 'sh', ['-c', 'echo boom-marker; exit 3'], join(dir, 'log'));
    const error = await waitUntilReady(d, async () => false, 5000).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TestbedError);
    expect((error as TestbedError).code).toBe('TESTBED_DIED');
    expect((error as TestbedError).message).toContain('boom-marker');
    await rm(dir, { recursive: true, force: true });
  });

  it('reports a missing program as TESTBED_NOT_INSTALLED', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'invis-proc-'));
    expect(() => spawnDaemon('nope', 'definitely-not-installed-xyz', [], join(dir, 'log'))).toThrow(TestbedError);
    await rm(dir, { recursive: true, force: true });
  });
});

import { mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { isHostError } from './errors';
import { createNodeFs } from './fs';
import { parseJobState, readJobState, readJobStates, recordJobRun } from './jobs';

const fs = createNodeFs();
const run = (result: 'ok' | 'warning' | 'failed', finishedAt: string) => ({
  name: 'backup',
  startedAt: '2026-12-06T02:00:00.000Z',
  finishedAt,
  result,
  message: result === 'ok' ? 'done' : 'target full',
});

describe('job state', () => {
  const temp = { path: '' };
  beforeEach(async () => {
    temp.path = await mkdtemp(join(tmpdir(), 'invis-jobs-'));
  });
  afterEach(async () => {
    await rm(temp.path, { recursive: true, force: true });
  });

  it('records a run readable by everyone and keeps the last success across a failed run', async () => {
    const dir = join(temp.path, 'jobs');
    await recordJobRun(fs, dir, run('ok', '2026-12-06T02:10:00.000Z'));
    const failed = await recordJobRun(fs, dir, {
      ...run('failed', '2026-12-07T02:03:00.000Z'),
      details: { bytes: 12 },
    });
    expect(failed.lastSuccessAt).toBe('2026-12-06T02:10:00.000Z');
    expect(await readJobState(fs, dir, 'backup')).toEqual(failed);
    expect((await stat(join(dir, 'backup.json'))).mode & 0o777).toBe(0o644);
  });

  it('leaves out files that are not job states instead of reporting them as fine', async () => {
    const dir = temp.path;
    await recordJobRun(fs, dir, { ...run('ok', '2026-12-06T02:10:00.000Z'), name: 'ddns' });
    await writeFile(join(dir, 'broken.json'), '{"name":"broken","result":"ok"');
    await writeFile(join(dir, 'other.json'), JSON.stringify({ ...run('ok', 'yesterday'), name: 'other' }));
    await writeFile(join(dir, 'renamed.json'), JSON.stringify({ ...run('ok', '2026-12-06T02:10:00Z'), name: 'ddns' }));
    expect((await readJobStates(fs, dir)).map((s) => s.name)).toEqual(['ddns']);
  });

  it('refuses a job name that could leave the folder and a state file that is a link', async () => {
    const error = await recordJobRun(fs, temp.path, { ...run('ok', '2026-12-06T02:10:00Z'), name: '../x' }).catch(
      (e: unknown) => e,
    );
    expect(isHostError(error) && error.code).toBe('HOST_UNSAFE_PATH');
    await symlink('/etc/passwd', join(temp.path, 'linked.json'));
    await expect(
      recordJobRun(fs, temp.path, { ...run('ok', '2026-12-06T02:10:00Z'), name: 'linked' }),
    ).rejects.toThrow();
  });

  it('accepts only plain values in details', () => {
    const base = run('ok', '2026-12-06T02:10:00Z');
    expect(parseJobState({ ...base, details: { files: 3, ok: true, note: null } })).toBeDefined();
    expect(parseJobState({ ...base, details: { nested: { a: 1 } } })).toBeUndefined();
    expect(parseJobState({ ...base, result: 'fine' })).toBeUndefined();
  });
});

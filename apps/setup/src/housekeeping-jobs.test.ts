import { mkdir, readdir, readFile, symlink, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fixedClock } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { validateAnswers } from './answers';
import { housekeepingFolders, runHousekeeping } from './housekeeping-jobs';
import { type PlatformProfile, PROFILES } from './profiles';
import { createRootedFs } from './rooted-fs';

const dir = useTempDir('setup-housekeeping-jobs-');
const profile = PROFILES['debian-12'] as PlatformProfile;
const NOW = new Date('2026-12-06T05:00:00.000Z');
const DAY = 86_400_000;
const base = {
  hostname: 'invis',
  domain: 'firma.loc',
  interfaces: { intern: 'lan0', extern: 'wan0' },
  lan: { address: '10.20.30.40/16' },
  ssh: { port: 55022 },
};

async function context(housekeeping: Record<string, unknown> = {}) {
  const fs = await createRootedFs(dir());
  return { answers: validateAnswers({ ...base, housekeeping }, 'en'), profile, fs, clock: fixedClock(NOW) };
}

/** A file below the root, `days` old (atime and mtime, as `touch -d`). */
async function old(path: string, days: number): Promise<void> {
  const real = join(dir(), path);
  await mkdir(real.slice(0, real.lastIndexOf('/')), { recursive: true });
  await writeFile(real, 'x');
  const when = new Date(NOW.getTime() - days * DAY);
  await utimes(real, when, when);
}

const jobState = async (name: string) =>
  JSON.parse(await readFile(join(dir(), '/var/lib/invis/jobs', `${name}.json`), 'utf8'));

describe('housekeeping jobs', () => {
  it('transfer: removes what is older than the answers’ days and records the job state', async () => {
    await old('srv/shares/transfer/alt.txt', 22);
    await old('srv/shares/transfer/neu.txt', 20);
    const report = await runHousekeeping(await context(), 'transfer');
    expect(report).toMatchObject({ job: 'transfer', result: 'ok' });
    expect(await readdir(join(dir(), 'srv/shares/transfer'))).toEqual(['neu.txt']);
    expect(await jobState('housekeeping-transfer')).toEqual({
      name: 'housekeeping-transfer',
      startedAt: NOW.toISOString(),
      finishedAt: NOW.toISOString(),
      lastSuccessAt: NOW.toISOString(),
      result: 'ok',
      message: '1 files (1 bytes) and 0 folders older than 21 days removed from 1 folder(s)',
      details: {
        enabled: true,
        days: 21,
        folders: 1,
        removedFiles: 1,
        removedDirs: 0,
        freedBytes: 1,
        links: 0,
        skippedMounts: 0,
        problems: 0,
      },
    });
  });

  it('recycle: every share’s, group’s and home’s bin; a bin that is a link fails the run and is not followed', async () => {
    await old('srv/shares/aktuell/.recycle/alt.doc', 31);
    await old('srv/shares/gruppen/technik/.recycle/a/b/alt.dwg', 40);
    await old('srv/shares/gruppen/technik/.recycle/neu.dwg', 3);
    await old('home/alice/.recycle/alt.txt', 31);
    // A share file outside any bin stays, however old.
    await old('srv/shares/aktuell/vertrag.pdf', 400);
    // bob swaps his bin for a link to a folder he may not clean.
    await old('srv/shares/verwaltung/geheim.xls', 400);
    await mkdir(join(dir(), 'home/bob'), { recursive: true });
    await symlink(join(dir(), 'srv/shares/verwaltung'), join(dir(), 'home/bob/.recycle'));

    const ctx = await context({ recycle: { days: 30 } });
    expect(await housekeepingFolders(ctx, 'recycle')).toEqual(
      expect.arrayContaining([
        '/srv/shares/aktuell/.recycle',
        '/srv/shares/gruppen/technik/.recycle',
        '/home/alice/.recycle',
        '/home/bob/.recycle',
      ]),
    );
    const report = await runHousekeeping(ctx, 'recycle');

    expect(await readdir(join(dir(), 'srv/shares/aktuell/.recycle'))).toEqual([]);
    expect(await readdir(join(dir(), 'srv/shares/gruppen/technik/.recycle'))).toEqual(['neu.dwg']);
    expect(await readdir(join(dir(), 'home/alice/.recycle'))).toEqual([]);
    expect(await readdir(join(dir(), 'srv/shares/aktuell'))).toEqual(['.recycle', 'vertrag.pdf']);
    expect(await readdir(join(dir(), 'srv/shares/verwaltung'))).toEqual(['geheim.xls']);
    expect(report.result).toBe('failed');
    expect(report.message).toContain('/home/bob/.recycle: ');
    expect(report.message).toContain('symbolic link');
    const state = await jobState('housekeeping-recycle');
    expect(state).toMatchObject({ result: 'failed', details: { removedFiles: 3, removedDirs: 2, days: 30 } });
    expect(state.lastSuccessAt).toBeUndefined();
  });

  it('a job switched off removes nothing and says so', async () => {
    await old('srv/shares/transfer/alt.txt', 100);
    const report = await runHousekeeping(await context({ transfer: { enabled: false } }), 'transfer');
    expect(report).toMatchObject({ result: 'ok', message: 'switched off in the answers', folders: [] });
    expect(await readdir(join(dir(), 'srv/shares/transfer'))).toEqual(['alt.txt']);
    expect(await jobState('housekeeping-transfer')).toMatchObject({ details: { enabled: false } });
  });
});

import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createRecordingServiceManager, createScriptedRunner, useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { validateAnswers } from './answers';
import { parseClamVersion, runSignatureUpdate } from './mailfilter-signatures';
import type { ModuleContext } from './module';
import { type PlatformProfile, PROFILES } from './profiles';
import { createLiveFs } from './rooted-fs';
import { createSecretStore } from './secrets';

const base = PROFILES['debian-12'] as PlatformProfile;

describe('parseClamVersion', () => {
  it('reads engine, daily version and build date; engine only before the first download', () => {
    expect(parseClamVersion('ClamAV 1.4.6/27485/Sat Dec  5 09:25:02 2026\n')).toEqual({
      engine: '1.4.6',
      daily: 27485,
      built: 'Sat Dec 5 09:25:02 2026',
    });
    expect(parseClamVersion('ClamAV 1.4.6\n')).toEqual({ engine: '1.4.6' });
    expect(parseClamVersion('freshclam: command not found')).toBeUndefined();
  });
});

describe('runSignatureUpdate (job state logic)', () => {
  const dir = useTempDir('setup-signatures-');
  const at = new Date('2026-12-06T10:00:00.000Z');

  async function context(freshclam: { exitCode: number; version: string }, files: string[]) {
    const db = join(dir(), `clamav-${files.join('-')}`);
    await mkdir(db, { recursive: true });
    for (const f of files) await writeFile(join(db, f), 'x');
    const profile: PlatformProfile = {
      ...base,
      jobsDir: join(dir(), 'jobs'),
      mailfilter: { ...base.mailfilter, clamav: { ...base.mailfilter.clamav, databaseDir: db } },
    };
    const runner = createScriptedRunner({
      '/usr/bin/freshclam': (call) =>
        call.args.includes('--version')
          ? { stdout: freshclam.version }
          : { exitCode: freshclam.exitCode, stdout: 'ERROR: Update failed.' },
    });
    const fs = createLiveFs();
    const ctx: ModuleContext = {
      answers: validateAnswers(
        {
          hostname: 'invis',
          domain: 'firma.loc',
          interfaces: { intern: 'intern', extern: 'extern' },
          lan: { address: '192.168.220.10/24' },
          ssh: { port: 55022 },
        },
        'en',
      ),
      secrets: createSecretStore(fs),
      fs,
      runner,
      services: createRecordingServiceManager(),
      profile,
      clock: { now: () => at },
      progress: () => undefined,
      staging: false,
      lang: 'en',
    };
    return { ctx, runner, jobs: profile.jobsDir };
  }

  it('ok after a successful update, with the daily version for the status page', async () => {
    const { ctx, runner, jobs } = await context(
      { exitCode: 0, version: 'ClamAV 1.4.6/27485/Sat Dec  5 09:25:02 2026' },
      ['main.cvd', 'daily.cld', 'bytecode.cvd'],
    );
    const state = await runSignatureUpdate(ctx);
    expect(state).toMatchObject({
      name: 'signatures',
      result: 'ok',
      message: 'signatures up to date: daily 27485 of Sat Dec 5 09:25:02 2026',
      lastSuccessAt: at.toISOString(),
      nextRunAt: '2026-12-06T12:00:00.000Z',
      details: { freshclamExit: 0, daily: 27485, databases: 3 },
    });
    expect(runner.calls[0]?.args).toEqual(['--config-file=/etc/clamav/freshclam.conf', '--foreground', '--stdout']);
    expect(JSON.parse(await readFile(join(jobs, 'signatures.json'), 'utf8'))).toEqual(state);
  });

  it('warning when the update fails but signatures are there; failed when there are none', async () => {
    const offline = await context({ exitCode: 11, version: 'ClamAV 1.4.6' }, ['invis-test.ndb']);
    expect(await runSignatureUpdate(offline.ctx)).toMatchObject({
      result: 'warning',
      message:
        'update failed (freshclam exit 11: ERROR: Update failed.); scanning with 1 signature files (invis-test.ndb)',
    });
    const empty = await context({ exitCode: 11, version: 'ClamAV 1.4.6' }, ['freshclam.dat']);
    expect(await runSignatureUpdate(empty.ctx)).toMatchObject({
      result: 'failed',
      message:
        'update failed (freshclam exit 11: ERROR: Update failed.); no signatures: the virus scanner cannot start',
    });
  });
});

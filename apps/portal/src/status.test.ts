import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createNodeFs, recordJobRun } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { cachedStatus, collectStatus, parseMdstat } from './status';

const dir = useTempDir('portal-status-', { shared: true });

const services = { states: async () => [], run: async () => undefined };

describe('parseMdstat', () => {
  it('reads arrays and their member state', () => {
    const text = `Personalities : [raid1]
md0 : active raid1 sdb1[1] sda1[0]
      976630336 blocks super 1.2 [2/2] [UU]
md1 : active raid1 sdb2[1]
      1000 blocks super 1.2 [2/1] [_U]
unused devices: <none>`;
    expect(parseMdstat(text)).toEqual([
      { name: 'md0', status: 'UU' },
      { name: 'md1', status: '_U' },
    ]);
  });
});

describe('collectStatus', () => {
  it('reads real sources and says unknown for missing ones', async () => {
    const mdstat = join(dir(), 'mdstat');
    writeFileSync(mdstat, 'md0 : active raid1 sda1[0]\n      1 blocks [2/1] [U_]\n');
    const inet = join(dir(), 'inetcheck');
    writeFileSync(inet, 'online 198.51.100.4\n');
    const jobsDir = join(dir(), 'jobs');
    const at = '2026-12-06T02:00:00.000Z';
    await recordJobRun(createNodeFs(), jobsDir, {
      name: 'backup',
      startedAt: at,
      finishedAt: at,
      result: 'failed',
      message: 'target full',
      nextRunAt: '2026-12-07T02:00:00.000Z',
    });
    writeFileSync(join(jobsDir, 'ddns.json'), '{"name":"ddns","result":"ok"}');
    const status = await collectStatus({
      watchDirs: [dir(), join(dir(), 'missing')],
      mdstatFile: mdstat,
      certificates: [{ name: 'ldap', file: join(dir(), 'none.pem') }],
      backupStampFile: join(dir(), 'none'),
      internetStateFile: inet,
      jobsDir,
      services,
    });
    expect(status.disks[0]).toMatchObject({ path: dir(), state: 'ok' });
    expect(status.disks[1]).toEqual({ path: join(dir(), 'missing'), state: 'unknown' });
    expect(status.raid).toMatchObject({ state: 'degraded' });
    expect(status.certificates).toEqual([{ name: 'ldap', state: 'unknown' }]);
    expect(status.backup).toEqual({ state: 'unknown' });
    expect(status.internet).toMatchObject({ state: 'ok', text: 'online 198.51.100.4' });
    expect(status.uptimeSeconds).toBeGreaterThan(0);
    // A job file that is not a job state is left out, not shown as fine.
    expect(status.jobs).toEqual([
      expect.objectContaining({ name: 'backup', result: 'failed', nextRunAt: '2026-12-07T02:00:00.000Z' }),
    ]);
  });
});

describe('cachedStatus', () => {
  it('collects once per TTL and serves the last snapshot while refreshing', async () => {
    let calls = 0;
    const counting = {
      states: async () => {
        calls++;
        return [];
      },
      run: async () => undefined,
    };
    const src = {
      watchDirs: [],
      mdstatFile: '/nonexistent',
      certificates: [],
      backupStampFile: '/nonexistent',
      internetStateFile: '/nonexistent',
      jobsDir: '/nonexistent',
      services: counting,
    };
    const status = cachedStatus(src, 20);
    const first = await Promise.all([status(), status(), status()]);
    expect(calls).toBe(1);
    await new Promise((r) => setTimeout(r, 30));
    expect(await status()).toBe(first[0]);
    expect(calls).toBe(2);
    await new Promise((r) => setTimeout(r, 5));
    expect(await status()).not.toBe(first[0]);
  });
});

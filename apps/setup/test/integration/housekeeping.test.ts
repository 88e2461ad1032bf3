// The `housekeeping` module staged: both services and timers pass the real `systemd-analyze
// verify`, a second apply changes nothing, and the CLI's `housekeeping run` cleans a staged
// transfer folder and writes the job state the portal reads.
import { mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { collectStatus } from '@invis/portal-1';
import { createRecordingServiceManager, useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli';
import { housekeepingModule } from '../../src/modules/housekeeping';
import { moduleContext } from './context';

const dir = useTempDir('setup-housekeeping-');

describe('housekeeping module', () => {
  it('renders daily timers and hardened services that systemd-analyze accepts; a second apply changes nothing', async () => {
    const root = dir();
    const ctx = await moduleContext(root);
    const report = await housekeepingModule.apply(ctx);
    expect(report.files.map((f) => f.path)).toEqual([
      '/etc/systemd/system/invis-housekeeping-transfer.service',
      '/etc/systemd/system/invis-housekeeping-transfer.timer',
      '/etc/systemd/system/invis-housekeeping-recycle.service',
      '/etc/systemd/system/invis-housekeeping-recycle.timer',
    ]);
    const unit = (name: string) => readFile(join(root, 'etc/systemd/system', name), 'utf8');
    const transfer = await unit('invis-housekeeping-transfer.service');
    expect(transfer).toContain('ExecStart=/usr/bin/invis-setup housekeeping run transfer\n');
    expect(transfer).toContain('ReadWritePaths=-/srv/shares/transfer /var/lib/invis/jobs\n');
    expect(transfer).toContain('ProtectHome=yes\n');
    const recycle = await unit('invis-housekeeping-recycle.service');
    expect(recycle).toContain('ReadWritePaths=-/srv/shares -/home /var/lib/invis/jobs\n');
    expect(recycle).not.toContain('ProtectHome');
    expect(await unit('invis-housekeeping-recycle.timer')).toContain('OnCalendar=*-*-* 04:45:00\nPersistent=true\n');
    expect((await housekeepingModule.apply(ctx)).changed).toBe(false);
    expect((await housekeepingModule.verify(ctx)).filter((c) => !c.ok)).toEqual([]);
  });

  it('live: starts both timers, also after an apply that stopped before the start', async () => {
    const root = dir();
    // The units are in place (a staged apply; live, systemd-analyze would want invis-setup installed).
    await housekeepingModule.apply(await moduleContext(root));
    const services = createRecordingServiceManager({ failing: ['start invis-housekeeping-recycle.timer'] });
    const live = await moduleContext(root, { staging: false, services });
    await expect(housekeepingModule.apply(live)).rejects.toMatchObject({ code: 'HOST_SERVICE_FAILED' });
    const retry = createRecordingServiceManager({ active: ['invis-housekeeping-transfer.timer'] });
    await housekeepingModule.apply({ ...live, services: retry });
    expect(retry.actions).toEqual(['start invis-housekeeping-recycle.timer']);
    expect((await housekeepingModule.verify({ ...live, services: retry })).filter((c) => !c.ok)).toEqual([]);
  });

  it('invis-setup housekeeping run transfer --root: old files go, new stay, the portal shows the job', async () => {
    const root = dir();
    const ctx = await moduleContext(root);
    await mkdir(join(root, 'etc/invis/setup'), { recursive: true });
    await writeFile(
      join(root, 'etc/invis/setup/answers.yaml'),
      `hostname: invis\ndomain: invis-net.loc\ninterfaces: {intern: intern, extern: extern}\nlan: {address: 192.168.220.10/24}\nssh: {port: 55022}\nhousekeeping: {transfer: {days: 7}}\n`,
    );
    const transfer = join(root, ctx.profile.shares.transfer);
    await mkdir(transfer, { recursive: true });
    await writeFile(join(transfer, 'alt.zip'), 'old');
    await writeFile(join(transfer, 'neu.zip'), 'new');
    const eightDays = new Date(Date.now() - 8 * 86_400_000);
    await utimes(join(transfer, 'alt.zip'), eightDays, eightDays);

    let stdout = '';
    const code = await runCli(['housekeeping', 'run', 'transfer', '--root', root, '--json'], {
      stdout: (t) => {
        stdout += t;
      },
      stderr: () => undefined,
      env: {},
      isTty: false,
    });
    expect(code, stdout).toBe(0);
    expect(JSON.parse(stdout)).toMatchObject({ ok: true, report: { result: 'ok', job: 'transfer' } });
    const status = await collectStatus({
      watchDirs: [],
      mdstatFile: join(root, 'none'),
      certificates: [],
      backupStampFile: join(root, 'none'),
      internetStateFile: join(root, 'none'),
      jobsDir: join(root, ctx.profile.jobsDir),
      services: { states: async () => [], run: async () => undefined },
    });
    expect(JSON.stringify(status)).toContain('housekeeping-transfer');
    expect(JSON.stringify(status)).toContain('1 files (3 bytes)');

    const usage = await runCli(['housekeeping', 'run', 'everything', '--root', root], {
      stdout: () => undefined,
      stderr: () => undefined,
      env: {},
      isTty: false,
    });
    expect(usage).toBe(2);
  });
});

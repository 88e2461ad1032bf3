// invis-backup with the real restic on a staged server (a rooted temp folder): the module's units
// pass systemd-analyze, a run makes an encrypted snapshot whose password never reaches argv, the
// portal's status page shows the stamp and the job, the portal database is saved with its rows
// while it is open, a deleted share file comes back with owner and mode, a second run adds
// (almost) nothing, and a wrong password fails without making a new repository. The AD part
// (samba-tool offline backup, restore --full) is proven by whole-backup.test.ts on a real DC.
import { chmod, chown, lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type CommandRunner, createExecaRunner, readJobState } from '@invis/host';
import { collectStatus, openAuditLog } from '@invis/portal-1';
import { createRecordingServiceManager, useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { BACKUP_SECRET, runBackup, staged } from '../../src/backup';
import { restoreFull, restorePath } from '../../src/backup-restore';
import { backupModule } from '../../src/modules/backup';
import { moduleContext } from './module-context';

const dir = useTempDir('setup-backup-');

/** The real runner, recording every argv. */
function recordingRunner(): CommandRunner & { argvs: string[][] } {
  const real = createExecaRunner();
  const argvs: string[][] = [];
  return {
    argvs,
    run(command, args, options) {
      argvs.push([command, ...args]);
      return real.run(command, args, options);
    },
  };
}

describe('backup module and invis-backup (restic, staged server)', () => {
  it('backs up, shows the stamp and job, restores a share file with owner and mode, and fails closed on a wrong password', async () => {
    const root = join(dir(), 'root');
    const runner = recordingRunner();
    const ctx = await moduleContext(root, { runner, answers: { backup: { target: '/mnt/usb/invis' } } });
    const host = (p: string) => join(root, p);

    // What the server holds: a share file with its owner and mode, the portal database (open,
    // as the running portal keeps it) with audit rows, a config file.
    const file = '/srv/shares/aktuell/angebot-17.txt';
    await mkdir(host('/srv/shares/aktuell'), { recursive: true });
    await writeFile(host(file), 'Angebot Tischlerei\n');
    await chown(host(file), 12345, 23456);
    await chmod(host(file), 0o640);
    await mkdir(host('/etc/samba'), { recursive: true });
    await writeFile(host('/etc/samba/smb.conf'), '[global]\n');
    const audit = openAuditLog(host('/var/lib/invis/portal/portal.db'));
    audit.append({ actor: 'anna', address: '192.168.220.50', action: 'user.create', target: 'bob', outcome: 'ok' });
    audit.append({ actor: 'anna', address: '192.168.220.50', action: 'group.create', target: 'bau', outcome: 'ok' });

    // The module: a 0600 password, units that systemd-analyze accepts; a second apply changes nothing.
    const report = await backupModule.apply(ctx);
    expect(report.changed).toBe(true);
    const secretFile = host(ctx.secrets.pathOf(BACKUP_SECRET));
    expect((await stat(secretFile)).mode & 0o777).toBe(0o600);
    const service = await readFile(host('/etc/systemd/system/invis-backup.service'), 'utf8');
    expect(service).toContain('ExecStart=/usr/bin/invis-backup run');
    expect(await readFile(host('/etc/systemd/system/invis-backup.timer'), 'utf8')).toContain(
      'OnCalendar=*-*-* 01:30:00',
    );
    expect((await backupModule.plan(ctx)).files.every((f) => f.action === 'unchanged')).toBe(true);
    expect((await backupModule.verify(ctx)).filter((c) => !c.ok)).toEqual([]);

    const first = await runBackup(ctx);
    audit.close();
    expect(first).toMatchObject({ result: 'ok', repositoryCreated: true, staged: { domain: false, portalDb: true } });
    expect(first.summary.files_new).toBeGreaterThanOrEqual(4);
    // The repository is restic's and encrypted: the file's text is nowhere in it.
    const grep = await createExecaRunner().run('grep', ['-r', '-l', 'Angebot Tischlerei', host('/mnt/usb/invis')]);
    expect(grep.exitCode).toBe(1);
    // The password never reached argv.
    const password = (await ctx.secrets.get(BACKUP_SECRET)) as string;
    expect(runner.argvs.some((argv) => argv.some((a) => a.includes(password)))).toBe(false);
    expect(runner.argvs.filter((a) => a[0] === ctx.profile.backup.restic).length).toBeGreaterThanOrEqual(3);

    // The portal's status page: the stamp as "last backup", the job with its numbers.
    const status = await collectStatus({
      watchDirs: [],
      mdstatFile: join(root, 'none'),
      certificates: [],
      backupStampFile: host(ctx.profile.backup.stampFile),
      internetStateFile: join(root, 'none'),
      jobsDir: host(ctx.profile.jobsDir),
      services: { states: async () => [], run: async () => undefined },
    });
    expect(status.backup).toMatchObject({ state: 'ok' });
    expect(status.jobs).toEqual([
      expect.objectContaining({
        name: 'backup',
        result: 'ok',
        details: expect.objectContaining({ snapshot: first.snapshot }),
      }),
    ]);

    // A deleted share file comes back with owner, mode and content.
    await rm(host(file));
    const restored = await restorePath(ctx, { path: file });
    // restic 0.14 names the new snapshot by its short id in the summary.
    expect(restored.snapshot.startsWith(first.snapshot)).toBe(true);
    const back = await stat(host(file));
    expect({ uid: back.uid, gid: back.gid, mode: back.mode & 0o777 }).toEqual({ uid: 12345, gid: 23456, mode: 0o640 });
    expect(await readFile(host(file), 'utf8')).toBe('Angebot Tischlerei\n');

    // The portal database of the snapshot, restored elsewhere, has its audit rows.
    const elsewhere = join(dir(), 'elsewhere');
    await restorePath(ctx, { path: staged(ctx.profile).portalDb, to: elsewhere });
    const copy = openAuditLog(join(elsewhere, host(staged(ctx.profile).portalDb)));
    expect(copy.list({ offset: 0, limit: 10 }).items.map((e) => e.action)).toEqual(['group.create', 'user.create']);
    copy.close();

    // Outside the backup: refused, nothing written.
    await expect(restorePath(ctx, { path: '/opt/other' })).rejects.toMatchObject({ code: 'SETUP_RESTORE_FAILED' });
    await expect(restorePath(ctx, { path: '/srv/shares/../../etc/shadow' })).rejects.toMatchObject({
      code: 'SETUP_USAGE',
    });

    // Second run: deduplicated — the share file is unmodified, little data added.
    const second = await runBackup(ctx);
    expect(second.summary.files_unmodified).toBeGreaterThanOrEqual(2);
    expect(second.summary.files_new).toBeLessThanOrEqual(2);

    // A wrong password: the run fails, no second repository, the job says failed and keeps the last success.
    await writeFile(secretFile, 'not-the-password\n', { mode: 0o600 });
    await expect(runBackup(ctx)).rejects.toMatchObject({ code: 'SETUP_BACKUP_FAILED' });
    const job = await readJobState(ctx.fs, ctx.profile.jobsDir, 'backup');
    expect(job).toMatchObject({ result: 'failed' });
    expect(job?.lastSuccessAt).toBeDefined();
    // …and verify names it.
    expect((await backupModule.verify(ctx)).filter((c) => !c.ok)).toEqual([
      expect.objectContaining({
        name: 'last backup',
        problem: expect.stringContaining('cannot open the backup repository'),
      }),
    ]);
  }, 180_000);
});

describe('restore --path into folders users write (hostile)', () => {
  it('never writes through a symbolic link a user put in place of a folder of the restored path', async () => {
    const root = join(dir(), 'root');
    const ctx = await moduleContext(root, { answers: { backup: { target: '/mnt/usb/invis' } } });
    const host = (p: string) => join(root, p);
    // At backup time: a project folder with a subfolder `cron.d` holding a file the user wrote.
    await mkdir(host('/srv/shares/gruppen/bau/projekt/cron.d'), { recursive: true });
    await writeFile(host('/srv/shares/gruppen/bau/projekt/cron.d/job'), '* * * * * root id\n');
    await backupModule.apply(ctx);
    await runBackup(ctx);
    // Afterwards the user swaps folders for links to a place only root may write.
    const outside = join(dir(), 'outside-etc');
    await mkdir(outside);
    await rm(host('/srv/shares/gruppen/bau/projekt'), { recursive: true });
    await symlink(outside, host('/srv/shares/gruppen/bau/projekt'));
    // The link on the way to the restored file: refused, nothing written outside.
    await expect(restorePath(ctx, { path: '/srv/shares/gruppen/bau/projekt/cron.d/job' })).rejects.toMatchObject({
      code: 'SETUP_RESTORE_FAILED',
    });
    // The link is the restored folder itself: the link is moved aside, the folder restored as a folder.
    await restorePath(ctx, { path: '/srv/shares/gruppen/bau/projekt' });
    expect(await readdir(outside)).toEqual([]);
    expect((await lstat(host('/srv/shares/gruppen/bau/projekt'))).isDirectory()).toBe(true);
    expect(await readFile(host('/srv/shares/gruppen/bau/projekt/cron.d/job'), 'utf8')).toBe('* * * * * root id\n');
    // A link inside an existing restored folder: the folder is moved aside first, the link never followed.
    await rm(host('/srv/shares/gruppen/bau/projekt/cron.d'), { recursive: true });
    await symlink(outside, host('/srv/shares/gruppen/bau/projekt/cron.d'));
    await restorePath(ctx, { path: '/srv/shares/gruppen/bau/projekt' });
    expect(await readdir(outside)).toEqual([]);
    expect(await readFile(host('/srv/shares/gruppen/bau/projekt/cron.d/job'), 'utf8')).toBe('* * * * * root id\n');
  }, 180_000);
});

describe('restore --full with links users put in shares and homes', () => {
  it('never writes through them: the current contents of the user-writable roots are moved aside first', async () => {
    const root = join(dir(), 'root');
    const services = createRecordingServiceManager({ active: ['invis-portal'] });
    const ctx = await moduleContext(root, { services, answers: { backup: { target: '/mnt/usb/invis' } } });
    const host = (p: string) => join(root, p);
    await mkdir(host('/srv/shares/aktuell/projekt'), { recursive: true });
    await writeFile(host('/srv/shares/aktuell/projekt/job'), '* * * * * root id\n');
    await mkdir(host('/home/bert/notizen'), { recursive: true });
    await writeFile(host('/home/bert/notizen/a.txt'), 'a\n');
    await backupModule.apply(ctx);
    await runBackup(ctx);
    // After the backup, users swap folders for links to places only root may write.
    const outside = join(dir(), 'outside-etc');
    await mkdir(outside);
    await rm(host('/srv/shares/aktuell/projekt'), { recursive: true });
    await symlink(outside, host('/srv/shares/aktuell/projekt'));
    await rm(host('/home/bert/notizen'), { recursive: true });
    await symlink(outside, host('/home/bert/notizen'));
    await writeFile(host('/home/bert/neu.txt'), 'after the backup\n');

    const result = await restoreFull(ctx);
    expect(await readdir(outside)).toEqual([]);
    expect(await readFile(host('/srv/shares/aktuell/projekt/job'), 'utf8')).toBe('* * * * * root id\n');
    expect(await readFile(host('/home/bert/notizen/a.txt'), 'utf8')).toBe('a\n');
    // What was there is kept for the admin, root only.
    const aside = (await readdir(host('/home'))).find((n) => n.startsWith('.before-restore-')) as string;
    expect(aside).toBeDefined();
    expect(await readFile(host(`/home/${aside}/bert/neu.txt`), 'utf8')).toBe('after the backup\n');
    expect((await stat(host(`/home/${aside}`))).mode & 0o777).toBe(0o700);
    expect(result.services).toEqual(['samba-ad-dc', 'named', 'invis-portal']);
  }, 180_000);
});

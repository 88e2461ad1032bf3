import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sftpTargetParts } from './answers';
import { backupSources, configPaths, parseBackupSummary, sftpOptions } from './backup';
import { runBackupCli } from './backup-cli';
import { restoreErrors } from './backup-restore';
import { type PlatformProfile, PROFILES } from './profiles';

const debian12 = PROFILES['debian-12'] as PlatformProfile;

describe('what a backup saves', () => {
  it('takes the /etc folder of every daemon the profile names, files directly in /etc, and /etc/invis', () => {
    const paths = configPaths(debian12);
    for (const p of [
      '/etc/invis',
      '/etc/samba',
      '/etc/bind',
      '/etc/kea',
      '/etc/ssh',
      '/etc/firewalld',
      '/etc/systemd',
    ]) {
      expect(paths).toContain(p);
    }
    // A file right in /etc is saved alone, never /etc as a whole.
    expect(paths).toContain('/etc/resolv.conf');
    expect(paths).not.toContain('/etc');
    expect(paths.every((p) => /^\/etc\/[^/]+$/.test(p))).toBe(true);
  });

  it('picks up a path a new module adds to the profile', () => {
    const extended = { ...debian12, newModule: { config: '/etc/newdaemon/conf.d/newdaemon.conf' } } as PlatformProfile;
    expect(configPaths(extended)).toContain('/etc/newdaemon');
  });

  it('saves state, shares, homes and Maildirs; skips the live databases and a local repository inside', () => {
    const sources = backupSources(debian12, '/srv/shares/sicherung/restic/');
    for (const p of ['/var/lib/invis', '/srv/shares', '/home', '/var/vmail', '/var/lib/fetchmail']) {
      expect(sources.paths).toContain(p);
    }
    expect(sources.exclude).toContain('/var/lib/invis/portal/portal.db');
    expect(sources.exclude).toContain('/var/lib/invis/portal/portal.db-wal');
    expect(sources.exclude).toContain('/var/lib/samba/bind-dns/dns');
    expect(sources.exclude).toContain('/srv/shares/sicherung/restic');
    // The live AD databases are never read by restic: the offline backup in the staging folder is.
    expect(sources.paths.some((p) => debian12.samba.dirs.private.startsWith(p))).toBe(false);
    expect(backupSources(debian12, 'sftp:backup@nas:/invis').exclude).not.toContain('sftp:backup@nas:/invis');
  });
});

describe('sftp targets', () => {
  it("reads restic's two forms; odd user or host names and other schemes are no sftp target", () => {
    expect(sftpTargetParts('sftp:backup@nas.muster.loc:/srv/invis')).toEqual({
      user: 'backup',
      host: 'nas.muster.loc',
      port: 22,
      path: '/srv/invis',
    });
    expect(sftpTargetParts('sftp://backup@198.51.100.1:2222//srv/invis')).toEqual({
      user: 'backup',
      host: '198.51.100.1',
      port: 2222,
      path: '/srv/invis',
    });
    for (const bad of [
      'sftp:nas:/srv/invis', // no user: ssh would pick root's name
      'sftp:-oProxyCommand@nas:/srv', // a user or host word must not become an ssh option
      'sftp://backup@-p2:22//srv',
      'sftp:backup@nas:/srv/in vis',
      "sftp:backup@nas:/srv/'x'",
      'sftp://backup@nas:0//srv',
      'sftp://backup@nas:70000//srv',
      'sftp:backup@nas:relative',
      '/srv/invis',
    ]) {
      expect(sftpTargetParts(bad), bad).toBeUndefined();
    }
  });

  it("gives restic an ssh with the server's own key only, no prompt, the host key pinned", () => {
    const options = sftpOptions(debian12, 'sftp://backup@nas:2222//srv/invis', (p) => `/root-of-test${p}`);
    expect(options[0]).toBe('-o');
    expect(options[1]).toBe(
      'sftp.command=/usr/bin/ssh -i /root-of-test/etc/invis/backup/id_ed25519 -o IdentitiesOnly=yes -o BatchMode=yes ' +
        '-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile=/root-of-test/etc/invis/backup/known_hosts ' +
        '-p 2222 backup@nas -s sftp',
    );
    expect(sftpOptions(debian12, '/var/backups/invis', (p) => p)).toEqual([]);
  });
});

describe('parseBackupSummary', () => {
  const summary = {
    message_type: 'summary',
    files_new: 3,
    files_changed: 1,
    files_unmodified: 9,
    dirs_new: 1,
    data_added: 1234,
    total_files_processed: 13,
    total_bytes_processed: 99999,
    total_duration: 1.5,
    snapshot_id: 'a1b2c3d4e5f6a7b8a1b2c3d4e5f6a7b8a1b2c3d4e5f6a7b8a1b2c3d4e5f6a7b8',
  };

  it('reads the summary after the status lines', () => {
    const out = `{"message_type":"status","percent_done":0.5}\n${JSON.stringify(summary)}\n`;
    expect(parseBackupSummary(out)).toMatchObject({ files_new: 3, snapshot_id: summary.snapshot_id });
  });

  it('refuses output without a summary, a broken one or a bad snapshot id', () => {
    for (const out of [
      '',
      '{"message_type":"status"}',
      '{"message_type":"summary", broken',
      JSON.stringify({ ...summary, snapshot_id: '../x' }),
    ]) {
      expect(() => parseBackupSummary(out)).toThrow(expect.objectContaining({ code: 'SETUP_BACKUP_FAILED' }));
    }
  });
});

describe('invis-backup usage', () => {
  const cli = async (argv: string[]) => {
    let stdout = '';
    let stderr = '';
    const code = await runBackupCli(argv, {
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
      env: { LANG: 'en_US.UTF-8' },
    });
    return { code, stdout, stderr };
  };

  it('refuses restore without exactly one of --full and --path, and stray options', async () => {
    for (const argv of [
      ['restore'],
      ['restore', '--full', '--path', '/srv/shares/x'],
      ['run', '--path', '/x'],
      ['restore', '--full', '--to', '/tmp/x'],
      ['run', '--snapshot', 'abcdef12'],
      ['frobnicate'],
      ['run', 'extra'],
    ]) {
      const result = await cli([...argv, '--json']);
      expect(result.code, argv.join(' ')).toBe(2);
      expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, error: { code: 'SETUP_USAGE' } });
    }
  });

  it('prints help and version', async () => {
    expect((await cli(['--help'])).stdout).toContain('restore --path PATH');
    expect((await cli(['--version', '--json'])).stdout).toMatch(/"version":"\d+\.\d+\.\d+"/);
  });
});

describe('restoreErrors', () => {
  it('drops a link restic could not write when the same link is there; keeps every other error', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'setup-restore-errors-'));
    try {
      await symlink('../sites-available/a.conf', join(dir, 'same'));
      await symlink('/elsewhere', join(dir, 'other'));
      const line = (p: string, target: string) =>
        `ignoring error for ${join(dir, p)}: Symlink: symlink ${target} ${join(dir, p)}: file exists`;
      const output = [
        line('same', '../sites-available/a.conf'),
        line('other', '../sites-available/b.conf'),
        line('missing', 'x'),
        `ignoring error for ${join(dir, 'f')}: Lchown: operation not permitted`,
        'Fatal: There were 4 errors',
      ].join('\n');
      expect(await restoreErrors(output)).toEqual([
        line('other', '../sites-available/b.conf'),
        line('missing', 'x'),
        `ignoring error for ${join(dir, 'f')}: Lchown: operation not permitted`,
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

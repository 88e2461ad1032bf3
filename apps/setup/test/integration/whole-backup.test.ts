// Whole-server backup test (issue 17): invis-setup applies the `backup` and `dns` modules (and
// what they depend on: the DC, the portal, …) in the testbed's server sandbox; `invis-backup run`
// saves the server with restic; then the server is damaged — Samba stopped and its private folder
// (the AD databases) deleted, a share file deleted, the portal database deleted — and
// `invis-backup restore --full` brings it back: a user made before the backup logs in with kinit,
// the share file is back with owner and mode, the portal database has its audit rows. A single
// file comes back with `restore --path`.
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Daemon, run, type ServerSandbox, spawnDaemon, waitUntilReady } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must, setupCli, startWholeServer, type WholeServer } from '../../demo/whole-server';

const ANSWERS = join(import.meta.dirname, 'whole-backup.yaml');
const SERVER = '192.168.220.10';
/** The WAN peer's address in the sandbox (startServerSandbox's default). */
const WAN_PEER = '198.51.100.1';
const DOMAIN = 'invis-net.loc';
const REALM = DOMAIN.toUpperCase();
const USER = 'bert';
const USER_PASSWORD = 'Backup-Test-Bert-17';
const SHARE_FILE = '/srv/shares/aktuell/angebot-2026.txt';
const PORTAL_DB = '/var/lib/invis/portal/portal.db';
/** The audit rows of the portal database, read inside the sandbox with node:sqlite. */
const AUDIT_ROWS = `const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(process.argv[1], { readOnly: true });
console.log(JSON.stringify(db.prepare('SELECT action, target, outcome FROM audit ORDER BY id').all()));`;

/** invis-backup inside the sandbox with --json: exit code, the document and stderr (progress). */
async function backupCli(sandbox: ServerSandbox, argv: string[]) {
  const result = await sandbox.runner.run('/usr/bin/invis-backup', [...argv, '--json', '--lang', 'en'], {
    timeoutMs: 600_000,
  });
  let doc: Record<string, unknown>;
  try {
    doc = JSON.parse(result.stdout) as Record<string, unknown>;
  } catch {
    throw new Error(`invis-backup ${argv.join(' ')} exited ${result.exitCode} without JSON: ${result.output}`);
  }
  return { code: result.exitCode, doc, stderr: result.stderr };
}

describe('backup and restore of the whole server in the sandbox', () => {
  let whole: WholeServer;
  let sandbox: ServerSandbox;
  let dir: string;
  const cli = (argv: string[]) => setupCli(sandbox, argv);
  const inside = (command: string, args: string[], options: { input?: string; env?: Record<string, string> } = {}) =>
    must(sandbox.runner, command, args, options);

  /** kinit as the user from the LAN, the password on stdin. */
  const kinit = async () => {
    const krb5 = join(dir, 'krb5.conf');
    await writeFile(
      krb5,
      `[libdefaults]\n default_realm = ${REALM}\n dns_lookup_kdc = false\n[realms]\n ${REALM} = {\n  kdc = ${SERVER}\n }\n`,
    );
    return sandbox.lan.runner.run('kinit', [`${USER}@${REALM}`], {
      input: `${USER_PASSWORD}\n`,
      env: { KRB5_CONFIG: krb5, KRB5CCNAME: `FILE:${join(dir, 'krb5cc')}` },
    });
  };
  const auditRows = async () =>
    JSON.parse(await inside('/usr/bin/node', ['-e', AUDIT_ROWS, PORTAL_DB])) as {
      action: string;
      target: string;
      outcome: string;
    }[];
  const shareFileMeta = async () => (await inside('stat', ['-c', '%u %g %a', SHARE_FILE])).trim();

  beforeAll(async () => {
    whole = await startWholeServer('setup-backup-');
    ({ sandbox, dir } = whole);
    // A PC of the LAN with a fixed address (the DHCP lease is the whole-server test's subject).
    await must(sandbox.lan.runner, 'ip', ['addr', 'add', '192.168.220.50/24', 'dev', sandbox.info.lan.ifname]);
  }, 180_000);
  afterAll(async () => {
    await whole?.stop();
  });

  it('applies the backup module: the password 0600, the timer running; a second apply changes nothing', async () => {
    const init = await cli(['init', '--answers', ANSWERS]);
    expect(init.doc, JSON.stringify(init.doc)).toMatchObject({ ok: true });
    const apply = await cli(['apply', 'dns', 'backup']);
    expect(apply.doc, JSON.stringify(apply.doc)).toMatchObject({ ok: true, changed: true });
    expect(apply.doc.modules).toContainEqual(expect.objectContaining({ module: 'backup', changed: true }));
    expect((await inside('stat', ['-c', '%a %U', '/etc/invis/secrets/backup-restic'])).trim()).toBe('600 root');
    expect(sandbox.services.pid('invis-backup.timer')).toBeDefined();
    const again = await cli(['apply', 'dns', 'backup']);
    expect(again.doc, JSON.stringify(again.doc)).toMatchObject({ ok: true });
    expect(again.doc.modules).toContainEqual(expect.objectContaining({ module: 'backup', changed: false }));
    const verify = await cli(['verify', 'dns', 'backup']);
    expect(verify.code, JSON.stringify(verify.doc)).toBe(0);
  }, 400_000);

  it("backs up; after Samba's private folder, a share file and the portal database are gone, restore --full brings them back", async () => {
    // What the server holds before the backup: a user, a share file with owner and mode, an audit row.
    const admin = { PASSWD: (await cli(['secrets', 'show', 'ad-administrator'])).doc.value as string };
    await inside(
      'samba-tool',
      ['user', 'create', USER, USER_PASSWORD, '-H', 'ldap://127.0.0.1', '-U', 'Administrator'],
      {
        env: admin,
      },
    );
    const first = await kinit();
    expect(first.exitCode, first.output).toBe(0);
    await inside('mkdir', ['-p', '/srv/shares/aktuell']);
    await sandbox.writeFile(SHARE_FILE, 'Angebot Küche Müller\n', { mode: '0640' });
    await inside('chown', ['10017:10000', SHARE_FILE]);
    // A portal login from the LAN (CSRF token and cookie, as a browser does): the portal audits it.
    const jar = join(dir, 'cookies');
    const curl = (args: string[]) =>
      must(sandbox.lan.runner, 'curl', ['-sS', '--cacert', join(dir, 'ca.crt'), '-b', jar, '-c', jar, ...args]);
    await writeFile(join(dir, 'ca.crt'), await sandbox.readFile('/etc/invis/certs/ca.crt'));
    const session = JSON.parse(await curl([`https://${SERVER}:56443/api/session`])) as { csrfToken: string };
    const body = join(dir, 'login.json');
    await writeFile(body, JSON.stringify({ username: USER, password: USER_PASSWORD }), { mode: 0o600 });
    const login = await curl([
      '-H',
      'content-type: application/json',
      '-H',
      `x-csrf-token: ${session.csrfToken}`,
      '--data-binary',
      `@${body}`,
      `https://${SERVER}:56443/api/session`,
    ]);
    expect(JSON.parse(login)).toMatchObject({ authenticated: true });
    const before = await auditRows();
    expect(before).toContainEqual({ action: 'session.login', target: USER, outcome: 'ok' });

    const run = await backupCli(sandbox, ['run']);
    expect(run.doc, `${JSON.stringify(run.doc)}\n${run.stderr}`).toMatchObject({
      ok: true,
      result: 'ok',
      repositoryCreated: true,
      staged: { domain: true, portalDb: true },
    });
    expect(run.stderr).toContain('samba-tool domain backup offline');
    // The portal's stamp and the job state.
    expect(await sandbox.readFile('/var/spool/results/backup/last')).toContain(run.doc.snapshot as string);
    expect(JSON.parse(await sandbox.readFile('/var/lib/invis/jobs/backup.json'))).toMatchObject({
      name: 'backup',
      result: 'ok',
    });
    // The staged AD backup carries secrets: the staging folder is root's only.
    expect((await inside('stat', ['-c', '%a', '/var/lib/invis/backup'])).trim()).toBe('700');

    // Destroy: the DC stopped and its databases deleted, the share file deleted, the portal database deleted.
    await sandbox.services.stop('samba-ad-dc');
    await inside('rm', ['-rf', '/var/lib/samba/private']);
    await inside('rm', ['-f', SHARE_FILE]);
    await sandbox.services.stop('invis-portal');
    await inside('rm', ['-f', PORTAL_DB, `${PORTAL_DB}-wal`, `${PORTAL_DB}-shm`]);
    expect((await kinit()).exitCode).not.toBe(0);

    const restore = await backupCli(sandbox, ['restore', '--full']);
    expect(
      restore.doc,
      `${JSON.stringify(restore.doc)}\n${restore.stderr}\n${sandbox.services.logTail('samba-ad-dc')}`,
    ).toMatchObject({
      ok: true,
      domain: true,
      portalDb: true,
    });
    expect(restore.doc.services).toEqual(expect.arrayContaining(['samba-ad-dc', 'named', 'invis-portal']));

    // The user made before the backup logs in; DNS (BIND with the DLZ links made again) answers.
    const login2 = await kinit();
    expect(login2.exitCode, login2.output).toBe(0);
    const dig = await must(sandbox.lan.runner, 'dig', ['+short', `@${SERVER}`, `invis.${DOMAIN}`, 'A']);
    expect(dig.trim()).toBe(SERVER);
    // The share file with its owner and mode; the portal database with its audit rows, the portal up.
    expect(await sandbox.readFile(SHARE_FILE)).toBe('Angebot Küche Müller\n');
    expect(await shareFileMeta()).toBe('10017 10000 640');
    expect(await auditRows()).toEqual(before);
    // 0600 for the portal's user (the owner of its data folder; by number: NSS may name it from AD).
    const dataOwner = (await inside('stat', ['-c', '%u', '/var/lib/invis/portal'])).trim();
    expect((await inside('stat', ['-c', '%a %u', PORTAL_DB])).trim()).toBe(`600 ${dataOwner}`);
    expect(dataOwner).not.toBe('0');
    const page = await curl(['-o', '/dev/null', '-w', '%{http_code}', `https://${SERVER}:56443/login`]);
    expect(page).toBe('200');
  }, 900_000);

  it('restores a single file in place with restore --path', async () => {
    await inside('rm', ['-f', SHARE_FILE]);
    const restore = await backupCli(sandbox, ['restore', '--path', SHARE_FILE]);
    expect(restore.doc, `${JSON.stringify(restore.doc)}\n${restore.stderr}`).toMatchObject({
      ok: true,
      paths: [SHARE_FILE],
    });
    expect(await shareFileMeta()).toBe('10017 10000 640');
    const outside = await backupCli(sandbox, ['restore', '--path', '/opt/nothing']);
    expect(outside.doc).toMatchObject({ ok: false, error: { code: 'SETUP_RESTORE_FAILED' } });
    const snapshots = await backupCli(sandbox, ['snapshots']);
    expect(snapshots.doc.snapshots).toEqual([
      expect.objectContaining({ paths: expect.arrayContaining(['/etc/invis', '/srv/shares', '/var/lib/invis']) }),
    ]);
    // The restored server passes setup's own checks (DC over LDAPS with setup's secrets, BIND, the timer).
    const verify = await cli(['verify', 'dns', 'backup']);
    expect(verify.code, JSON.stringify(verify.doc)).toBe(0);
  }, 300_000);

  it("a remote sftp target (an sshd on the WAN side): the server's own key, the host key pinned, backup and restore; a changed host key is refused", async () => {
    // The far side: root's sshd in the WAN namespace, a repository folder in this test's temp dir.
    const remote = join(dir, 'remote');
    await mkdir(join(remote, 'repo'), { recursive: true });
    await mkdir('/run/sshd', { recursive: true });
    const sshdConfig = join(remote, 'sshd_config');
    const hostKey = join(remote, 'host_ed25519');
    const authorized = join(remote, 'authorized_keys');
    await writeFile(authorized, '');
    await writeFile(
      sshdConfig,
      [
        `ListenAddress ${WAN_PEER}:2222`,
        `HostKey ${hostKey}`,
        `AuthorizedKeysFile ${authorized}`,
        `PidFile ${join(remote, 'sshd.pid')}`,
        'PermitRootLogin prohibit-password',
        'PasswordAuthentication no',
        'KbdInteractiveAuthentication no',
        'UsePAM no',
        'StrictModes no',
        'Subsystem sftp internal-sftp',
        '',
      ].join('\n'),
    );
    let sshd: Daemon | undefined;
    const startSshd = async () => {
      await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
      const log = join(remote, 'sshd.log');
      sshd = spawnDaemon('sshd', '/usr/sbin/sshd', ['-D', '-e', '-f', sshdConfig], log, {
        netns: sandbox.info.wan.netns,
      });
      await waitUntilReady(sshd, async () => (await readFile(log, 'utf8')).includes('Server listening on'), 20_000);
    };
    try {
      await startSshd();
      // The answers name the target; the sandbox reads them through this process's root.
      const answers = join(dir, 'whole-backup-sftp.yaml');
      const target = `sftp://root@${WAN_PEER}:2222/${join(remote, 'repo')}`;
      await writeFile(
        answers,
        (await readFile(ANSWERS, 'utf8')).replace('target: /var/backups/invis', `target: ${target}`),
      );
      const apply = await cli(['apply', 'backup', '--answers', `/proc/${process.pid}/root${answers}`]);
      expect(apply.doc, `${JSON.stringify(apply.doc)}\n${apply.stderr}`).toMatchObject({ ok: true });
      // What the admin adds to the target's authorized_keys (apply prints it without --json).
      const pub = (await inside('cat', ['/etc/invis/backup/id_ed25519.pub'])).trim();
      expect(pub).toMatch(/^ssh-ed25519 \S+ invis-backup@invis\.invis-net\.loc$/);
      expect((await inside('stat', ['-c', '%a %U', '/etc/invis/backup/id_ed25519'])).trim()).toBe('600 root');
      // Before the key is authorized the run fails and says so; it never asks for a password.
      const refused = await backupCli(sandbox, ['run']);
      expect(refused.doc).toMatchObject({ ok: false, error: { code: 'SETUP_BACKUP_FAILED' } });
      await writeFile(authorized, `${pub}\n`);

      const saved = await backupCli(sandbox, ['run']);
      expect(saved.doc, `${JSON.stringify(saved.doc)}\n${saved.stderr}`).toMatchObject({ ok: true });
      expect(await readdir(join(remote, 'repo'))).toEqual(expect.arrayContaining(['config', 'snapshots', 'data']));
      expect(await inside('cat', ['/etc/invis/backup/known_hosts'])).toContain(
        (await readFile(`${hostKey}.pub`, 'utf8')).split(' ')[1],
      );
      await inside('rm', ['-f', SHARE_FILE]);
      const restore = await backupCli(sandbox, ['restore', '--path', SHARE_FILE]);
      expect(restore.doc, `${JSON.stringify(restore.doc)}\n${restore.stderr}`).toMatchObject({ ok: true });
      expect(await shareFileMeta()).toBe('10017 10000 640');

      // Someone else answers at the target's address: the pinned host key refuses it.
      await sshd?.stop();
      await run('rm', ['-f', hostKey, `${hostKey}.pub`]);
      await startSshd();
      const spoofed = await backupCli(sandbox, ['run']);
      expect(spoofed.doc).toMatchObject({ ok: false, error: { code: 'SETUP_BACKUP_FAILED' } });
    } finally {
      await sshd?.stop();
    }
  }, 600_000);
});

// The file server in the whole-server sandbox (issue 17): `invis-setup init --answers
// whole-files.yaml` and `apply fileserver` (with the DC it depends on) inside the sandbox, then
// smbclient from the LAN client as AD users: their home and their group's folder are writable;
// a group folder they are not in and Verwaltung (not in `verwaltung`) are refused; a deleted file
// lands in the recycle bin; the netlogon share serves the logon script with the original's drive
// letters; a Windows profile folder is writable by its user only and nobody else creates names there.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerSandbox } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must, setupCli, startWholeServer, type WholeServer } from '../../demo/whole-server';

const ANSWERS = join(import.meta.dirname, 'whole-files.yaml');
const SERVER = '192.168.220.10';
const WORKGROUP = 'INVIS-NET';
const PASSWORD = 'Files-Test-Pass-1';
const LAN_CLIENT = '192.168.220.61';

describe('file server of the whole server in the sandbox', () => {
  let whole: WholeServer;
  let sandbox: ServerSandbox;
  let dir: string;
  const cli = (argv: string[]) => setupCli(sandbox, argv);
  const tool = async (args: string[]) => {
    const admin = { PASSWD: (await cli(['secrets', 'show', 'ad-administrator'])).doc.value as string };
    return must(sandbox.runner, 'samba-tool', [...args, '-H', 'ldap://127.0.0.1', '-U', 'Administrator'], {
      env: admin,
    });
  };
  /** smbclient from the LAN client as `user`; the result, whatever the exit code. */
  const smb = async (user: string, share: string, commands: string) => {
    const auth = join(dir, `${user}.auth`);
    await writeFile(auth, `username = ${user}\npassword = ${PASSWORD}\ndomain = ${WORKGROUP}\n`, { mode: 0o600 });
    return sandbox.lan.runner.run('smbclient', [`//${SERVER}/${share}`, '-A', auth, '-m', 'SMB3', '-c', commands]);
  };
  const ok = async (user: string, share: string, commands: string) => {
    const result = await smb(user, share, commands);
    expect(result.exitCode, `${user} ${share} ${commands}: ${result.output}`).toBe(0);
    expect(result.output).not.toMatch(/NT_STATUS_/);
    return result.stdout;
  };
  const refused = async (user: string, share: string, commands: string) => {
    const result = await smb(user, share, commands);
    expect(result.output, `${user} ${share} ${commands}`).toMatch(/NT_STATUS_ACCESS_DENIED|NT_STATUS_BAD_NETWORK_NAME/);
  };
  const uid = { anna: 30001, bob: 30002 };
  let domainUsersGid = 0;

  beforeAll(async () => {
    whole = await startWholeServer('setup-files-');
    ({ sandbox, dir } = whole);
    await writeFile(join(dir, 'hello.txt'), 'hello from the LAN\n');
    await must(sandbox.lan.runner, 'ip', ['addr', 'add', `${LAN_CLIENT}/24`, 'dev', sandbox.info.lan.ifname]);
  }, 120_000);
  afterAll(async () => {
    await whole?.stop();
  });

  it('apply lays out /srv/shares, smb.shares.conf and the logon scripts; a second apply changes nothing', async () => {
    const init = await cli(['init', '--answers', ANSWERS]);
    expect(init.doc, JSON.stringify(init.doc)).toMatchObject({ ok: true });
    const apply = await cli(['apply', 'fileserver', 'firewall']);
    expect(apply.doc, JSON.stringify(apply.doc)).toMatchObject({ ok: true, changed: true });
    const again = await cli(['apply', 'fileserver', 'firewall']);
    expect(again.doc, JSON.stringify(again.doc)).toMatchObject({ ok: true, changed: false });
    const verify = await cli(['verify', 'fileserver']);
    expect(verify.code, JSON.stringify(verify.doc)).toBe(0);
    // Owner root:verwaltung (gid from the directory), setgid, default ACL for the group.
    const gid = (await must(sandbox.runner, 'stat', ['-c', '%a %u %g', '/srv/shares/verwaltung'])).trim().split(' ');
    expect(gid.slice(0, 2)).toEqual(['2770', '0']);
    const acl = await must(sandbox.runner, 'getfacl', ['-n', '/srv/shares/verwaltung']);
    expect(acl).toContain(`default:group:${gid[2]}:rwx`);
    domainUsersGid = Number((await must(sandbox.runner, 'stat', ['-c', '%g', '/srv/shares/aktuell'])).trim());
    expect(domainUsersGid).toBe(20513);
  }, 400_000);

  it('users: anna (verwaltung, team1) and bob (neither), with homes and profile folders', async () => {
    // The test runs the sync itself: the one-minute timer must not run it in between.
    await sandbox.services.stop('invis-homes-sync.timer');
    for (const [name, id] of Object.entries(uid)) {
      await tool([
        'user',
        'create',
        name,
        PASSWORD,
        '--nis-domain=invis-net',
        `--unix-home=/home/${name}`,
        `--uid-number=${id}`,
        `--gid-number=${domainUsersGid}`,
        '--login-shell=/bin/bash',
      ]);
    }
    // The fileserver module's timer runs this every minute: the accounts get their folders.
    const sync = await cli(['sync', 'homes']);
    expect(sync.code, JSON.stringify(sync.doc)).toBe(0);
    expect([...(sync.doc.created as string[])].sort()).toEqual([
      '/home/anna',
      '/home/bob',
      '/srv/shares/profiles/anna.V6',
      '/srv/shares/profiles/bob.V6',
    ]);
    for (const [name, id] of Object.entries(uid)) {
      for (const path of [`/home/${name}`, `/srv/shares/profiles/${name}.V6`]) {
        expect(await must(sandbox.runner, 'stat', ['-c', '%u %g %a', path])).toBe(`${id} ${domainUsersGid} 700`);
      }
    }
    await tool(['group', 'addmembers', 'verwaltung', 'anna']);
    await tool(['group', 'add', 'team1', '--nis-domain=invis-net', '--gid-number=30100']);
    await tool(['group', 'addmembers', 'team1', 'anna']);
    // What the portal's createGroupShare does.
    await must(sandbox.runner, 'install', ['-d', '-o', '0', '-g', '30100', '-m', '2770', '/srv/shares/gruppen/team1']);
    await must(sandbox.runner, 'setfacl', ['-m', 'd:g:30100:rwx', '/srv/shares/gruppen/team1']);
  }, 120_000);

  it('anna writes to her home, her group folder and Verwaltung; bob is refused on both and on her home', async () => {
    await ok('anna', 'anna', `lcd ${dir}; put hello.txt`);
    expect(await must(sandbox.runner, 'stat', ['-c', '%u', '/home/anna/hello.txt'])).toBe(String(uid.anna));
    await ok('anna', 'gruppen', `lcd ${dir}; cd team1; put hello.txt`);
    await ok('anna', 'verwaltung', `lcd ${dir}; put hello.txt`);
    // The share's group and mode, as over WebDAV and NFS (not `770` with Domain Users' rwx).
    const verwaltungGid = (await must(sandbox.runner, 'stat', ['-c', '%g', '/srv/shares/verwaltung'])).trim();
    expect(await must(sandbox.runner, 'stat', ['-c', '%a %u %g', '/srv/shares/verwaltung/hello.txt'])).toBe(
      `660 ${uid.anna} ${verwaltungGid}`,
    );
    expect(await must(sandbox.runner, 'stat', ['-c', '%a %g', '/srv/shares/gruppen/team1/hello.txt'])).toBe(
      '660 30100',
    );
    await refused('bob', 'verwaltung', 'ls');
    await refused('bob', 'gruppen', `lcd ${dir}; cd team1; put hello.txt`);
    await refused('bob', 'anna', 'ls');
    await ok('bob', 'bob', `lcd ${dir}; put hello.txt`);
  });

  it('a file deleted over SMB is in the recycle bin', async () => {
    await ok('anna', 'aktuell', `lcd ${dir}; put hello.txt gone.txt; rm gone.txt`);
    expect(await sandbox.readFile('/srv/shares/aktuell/.recycle/gone.txt')).toBe('hello from the LAN\n');
  });

  it('netlogon serves the logon script with the original drive letters', async () => {
    const script = await ok('anna', 'netlogon', 'get user.cmd -');
    for (const [letter, share] of [
      ['O', 'archiv'],
      ['P', 'projekte'],
      ['V', 'aktuell'],
      ['T', 'transfer'],
      ['M', 'media'],
      ['Q', 'gruppen'],
      ['R', 'portal'],
    ]) {
      expect(script).toContain(`net use ${letter}: \\\\INVIS\\${share} /persistent:no >nul 2>&1\r\n`);
    }
    expect(script).toContain('net use U: /home /persistent:no');
  });

  it('the profile folder is writable by its user only; nobody creates other names in profiles', async () => {
    await ok('anna', 'profiles', 'mkdir anna.V6\\AppData');
    await refused('bob', 'profiles', 'mkdir anna.V6\\evil');
    await refused('bob', 'profiles', 'mkdir anna.V2');
    await refused('anna', 'profiles', 'mkdir bob.V2');
  });

  it("deleting bob and team1 in the directory: the sync archives bob's home and profile and team1's folder, anna's stay", async () => {
    await tool(['user', 'delete', 'bob']);
    await tool(['group', 'delete', 'team1']);
    const sync = await cli(['sync', 'homes']);
    expect(sync.code, JSON.stringify(sync.doc)).toBe(0);
    expect(sync.doc.archived).toEqual([
      { from: '/home/bob', to: '/home/bob.archiv' },
      { from: '/srv/shares/profiles/bob.V6', to: '/srv/shares/profiles/bob.V6.archiv' },
      { from: '/srv/shares/gruppen/team1', to: '/srv/shares/gruppen/team1.archiv' },
    ]);
    // The archive keeps what was there, with its owner; anna's folders stay where they are.
    expect(await must(sandbox.runner, 'stat', ['-c', '%u', '/home/bob.archiv/hello.txt'])).toBe(String(uid.bob));
    expect(await must(sandbox.runner, 'stat', ['-c', '%g', '/srv/shares/gruppen/team1.archiv/hello.txt'])).toBe(
      '30100',
    );
    expect(await must(sandbox.runner, 'ls', ['/home', '/srv/shares/profiles'])).toMatch(/anna\n[\s\S]*anna\.V6/);
    expect((await cli(['sync', 'homes'])).doc.archived).toEqual([]);
  });
});

// WebDAV and NFSv4 of the whole server in the sandbox (issue 17): `invis-setup init --answers
// whole-dav.yaml`, then `apply` of webdav, nfs and the firewall (with the DC and the file server
// they depend on) inside the sandbox. From the LAN client: @invis/owncloud-sync (its CLI) syncs
// Verwaltung over WebDAV as a member and is refused (403, a typed error) as a non-member; files
// written over WebDAV get the share's group and mode; a Content-Range PUT resumes a file. A group
// created after apply (ad-client, folder as the portal makes it) is served to its members once
// `invis-setup sync homes` ran, refused to others; portal is read-only for everyone. NFSv4:
// nfs-ganesha serves the export model (sec=sys here: no Kerberos NFS client in the
// sandbox), read with libnfs's nfs-cat as a user's uid — their own file, not another user's; the
// keytab holds nfs/<fqdn>.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ServerSandbox } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must, REPO, setupCli, startWholeServer, TSX, type WholeServer } from '../../demo/whole-server';
import { exportsModel, parseExports } from '../../src/nfs-exports';

const ANSWERS = join(import.meta.dirname, 'whole-dav.yaml');
const SERVER = '192.168.220.10';
const CLIENT = '192.168.220.50';
const DAV = `https://${SERVER}:8444/dav`;
const WORKGROUP = 'INVIS-NET';
const PASSWORD = 'Dav-Test-Pass-1';
const SYNC = join(REPO, 'packages/owncloud-sync/src/bin.ts');
const GROUP_SCRIPT = join(import.meta.dirname, 'whole-dav-group.ts');
/** A group made after apply; the dot proves the site's rule matches the name, not a pattern. */
const TEAM = 'team.nord';
const uid = { anna: 30001, bob: 30002 };
const DOMAIN_USERS = 20513;

/** Polls `check` until it returns a value (no sleeps in the test's logic: the condition decides). */
async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

describe('WebDAV and NFSv4 of the whole server in the sandbox', () => {
  let whole: WholeServer;
  let sandbox: ServerSandbox;
  let dir: string;
  let caFile: string;
  const cli = (argv: string[]) => setupCli(sandbox, argv);
  const tool = async (args: string[]) => {
    const admin = { PASSWD: (await cli(['secrets', 'show', 'ad-administrator'])).doc.value as string };
    return must(sandbox.runner, 'samba-tool', [...args, '-H', 'ldap://127.0.0.1', '-U', 'Administrator'], {
      env: admin,
    });
  };
  const stat = async (path: string) => (await must(sandbox.runner, 'stat', ['-c', '%a %u %g', path])).trim();
  /** The owncloud-sync CLI on the LAN client, trusting only the server's CA. */
  const sync = async (user: string, args: string[]) => {
    const result = await sandbox.lan.runner.run(
      process.execPath,
      ['--conditions=@invis/source', '--import', TSX, SYNC, ...args, '--state-root', join(dir, `state-${user}`)],
      { env: { NODE_EXTRA_CA_CERTS: caFile, PATH: process.env.PATH ?? '/usr/bin:/bin' }, timeoutMs: 120_000 },
    );
    return result;
  };
  /** The HTTP status of one curl request to the WebDAV endpoint as `user`. */
  const davStatus = async (user: string, args: string[]) => {
    const config = join(dir, `curl-${user}`);
    await writeFile(config, `user = "${user}:${PASSWORD}"\n`, { mode: 0o600 });
    return (
      await must(sandbox.lan.runner, 'curl', [
        '-sS',
        '--cacert',
        caFile,
        '-K',
        config,
        '-o',
        '/dev/null',
        '-w',
        '%{http_code}',
        ...args,
      ])
    ).trim();
  };
  const syncFolder = async (user: string, share: string) => {
    const local = join(dir, `${user}-${share}`);
    await mkdir(local, { recursive: true });
    const passwordFile = join(dir, `${user}.pw`);
    await writeFile(passwordFile, PASSWORD, { mode: 0o600 });
    await mkdir(join(dir, `state-${user}`), { recursive: true, mode: 0o700 });
    const init = await sync(user, [
      'init',
      local,
      '--url',
      `${DAV}/${share}/`,
      '--user',
      user,
      '--password-file',
      passwordFile,
    ]);
    expect(init.exitCode, init.output).toBe(0);
    return local;
  };

  beforeAll(async () => {
    whole = await startWholeServer('setup-dav-');
    ({ sandbox, dir } = whole);
    // nfs-ganesha exports through file handles, which the sandbox's overlays over /srv and /home
    // do not offer; the shares and homes get a file system of their own, as on a real disk.
    for (const path of ['/srv/shares', '/home']) {
      await must(sandbox.runner, 'mkdir', ['-p', path]);
      await must(sandbox.runner, 'mount', ['-t', 'tmpfs', '-o', 'mode=0755', 'invis-data', path]);
    }
    await must(sandbox.lan.runner, 'ip', ['addr', 'add', `${CLIENT}/24`, 'dev', sandbox.info.lan.ifname]);
  }, 180_000);
  afterAll(async () => {
    await whole?.stop();
  });

  it('apply webdav, nfs and firewall; a second apply changes nothing; verify is clean', async () => {
    const init = await cli(['init', '--answers', ANSWERS]);
    expect(init.doc, JSON.stringify(init.doc)).toMatchObject({ ok: true });
    for (const module of ['webdav', 'nfs', 'firewall']) {
      const apply = await cli(['apply', module]);
      expect(apply.doc, `${module}: ${JSON.stringify(apply.doc)}`).toMatchObject({ ok: true });
    }
    for (const module of ['webdav', 'nfs', 'firewall']) {
      const again = await cli(['apply', module]);
      expect(again.doc, `${module}: ${JSON.stringify(again.doc)}`).toMatchObject({ ok: true, changed: false });
      const verify = await cli(['verify', module]);
      expect(verify.code, JSON.stringify(verify.doc)).toBe(0);
    }
    // Apache's ACL entry removed behind setup's back: verify names it, apply puts it back.
    await must(sandbox.runner, 'setfacl', ['-x', 'u:www-data', '/srv/shares/aktuell']);
    const broken = await cli(['verify', 'webdav']);
    expect(broken.code, JSON.stringify(broken.doc)).toBe(3);
    expect(JSON.stringify(broken.doc)).toContain('acl /srv/shares/aktuell');
    const repaired = await cli(['apply', 'webdav']);
    expect(repaired.doc, JSON.stringify(repaired.doc)).toMatchObject({ ok: true, changed: true });
    expect((await cli(['verify', 'webdav'])).code).toBe(0);
    caFile = join(dir, 'ca.crt');
    await writeFile(caFile, await sandbox.readFile('/etc/invis/certs/ca.crt'));
  }, 600_000);

  it('users: anna in verwaltung, bob not; each with a home holding a private file', async () => {
    for (const [name, id] of Object.entries(uid)) {
      await tool([
        'user',
        'create',
        name,
        PASSWORD,
        '--nis-domain=invis-net',
        `--unix-home=/home/${name}`,
        `--uid-number=${id}`,
        `--gid-number=${DOMAIN_USERS}`,
        '--login-shell=/bin/bash',
      ]);
      await must(sandbox.runner, 'install', [
        '-d',
        '-o',
        String(id),
        '-g',
        String(DOMAIN_USERS),
        '-m',
        '0700',
        `/home/${name}`,
      ]);
      await sandbox.writeFile(`/home/${name}/private.txt`, `${name}'s own\n`, { mode: '0600' });
      await must(sandbox.runner, 'chown', [`${id}:${DOMAIN_USERS}`, `/home/${name}/private.txt`]);
    }
    await tool(['group', 'addmembers', 'verwaltung', 'anna']);
  }, 120_000);

  it('owncloud-sync syncs Verwaltung over WebDAV as anna (also a file put over SMB); bob is refused with 403; WebDAV files get the share’s group and mode', async () => {
    const verwaltungGid = (await stat('/srv/shares/verwaltung')).split(' ')[2];
    const local = await syncFolder('anna', 'verwaltung');
    await writeFile(join(local, 'brief.txt'), 'Sehr geehrte Damen und Herren\n');
    await mkdir(join(local, 'akten'));
    await writeFile(join(local, 'akten', 'a1.txt'), 'Akte 1\n');
    const first = await sync('anna', ['run', local, '--json']);
    expect(first.exitCode, first.output).toBe(0);
    expect(JSON.parse(first.stdout)).toMatchObject({ uploaded: 2 });
    expect(await sandbox.readFile('/srv/shares/verwaltung/akten/a1.txt')).toBe('Akte 1\n');
    // Apache writes as www-data; the folder's setgid and default ACL give the share's group and modes.
    const wwwData = (await must(sandbox.runner, 'id', ['-u', 'www-data'])).trim();
    expect(await stat('/srv/shares/verwaltung/brief.txt')).toBe(`660 ${wwwData} ${verwaltungGid}`);
    expect(await stat('/srv/shares/verwaltung/akten')).toBe(`2770 ${wwwData} ${verwaltungGid}`);

    // The same share over SMB: a file put there syncs down.
    const auth = join(dir, 'anna.auth');
    await writeFile(auth, `username = anna\npassword = ${PASSWORD}\ndomain = ${WORKGROUP}\n`, { mode: 0o600 });
    await writeFile(join(dir, 'smb.txt'), 'over SMB\n');
    await must(sandbox.lan.runner, 'smbclient', [
      `//${SERVER}/verwaltung`,
      '-A',
      auth,
      '-m',
      'SMB3',
      '-c',
      `lcd ${dir}; put smb.txt`,
    ]);
    // Owner anna; the share's group and mode, as the WebDAV files (force group, NT ACLs kept apart).
    expect(await stat('/srv/shares/verwaltung/smb.txt')).toBe(`660 ${uid.anna} ${verwaltungGid}`);
    const second = await sync('anna', ['run', local, '--json']);
    expect(second.exitCode, second.output).toBe(0);
    expect(await readFile(join(local, 'smb.txt'), 'utf8')).toBe('over SMB\n');

    // bob's password is right, Verwaltung is not his: 403, reported as a typed error.
    const bobLocal = await syncFolder('bob', 'verwaltung');
    const refused = await sync('bob', ['run', bobLocal, '--json']);
    expect(refused.exitCode).toBe(2);
    expect(JSON.parse(refused.stdout)).toMatchObject({ error: { code: 'DAV_HTTP', details: { status: 403 } } });
    // A wrong password is the other typed error.
    await writeFile(join(dir, 'bob.pw'), 'wrong-password', { mode: 0o600 });
    const wrong = await sync('bob', ['run', bobLocal, '--json']);
    expect(JSON.parse(wrong.stdout)).toMatchObject({ error: { code: 'DAV_UNAUTHORIZED' } });
    // …while a share of every domain user is his.
    await writeFile(join(dir, 'bob.pw'), PASSWORD, { mode: 0o600 });
    const aktuell = await syncFolder('bob', 'aktuell');
    const ok = await sync('bob', ['run', aktuell, '--json']);
    expect(ok.exitCode, ok.output).toBe(0);
  }, 300_000);

  it('a Content-Range PUT writes into the middle of a file (resumable uploads); a read-only share refuses writes', async () => {
    const file = join(dir, 'body.txt');
    const put = async (body: string, range?: string) => {
      await writeFile(file, body);
      return davStatus('anna', [
        '-T',
        file,
        ...(range ? ['-H', `Content-Range: bytes ${range}`] : []),
        `${DAV}/verwaltung/range.txt`,
      ]);
    };
    expect(await put('hello world')).toBe('201');
    expect(await put('WORLD', '6-10/11')).toBe('204');
    expect(await sandbox.readFile('/srv/shares/verwaltung/range.txt')).toBe('hello WORLD');
    // `service` is read-only for every domain user outside diradmins: bob lists it, may not write.
    expect(await davStatus('bob', ['-X', 'PROPFIND', '-H', 'Depth: 1', `${DAV}/service/`])).toBe('207');
    expect(await davStatus('bob', ['-T', file, `${DAV}/service/bob.txt`])).toBe('403');
    expect(await davStatus('bob', ['-X', 'MKCOL', `${DAV}/service/bob/`])).toBe('403');
  }, 120_000);

  it('gruppen: a group made after apply is served to its members once `sync homes` ran; others get 403; files get the group and mode', async () => {
    const team = `/srv/shares/gruppen/${TEAM}`;
    const url = `${DAV}/gruppen/${TEAM}/`;
    // The test runs the sync itself: the one-minute timer must not run it in between.
    await sandbox.services.stop('invis-homes-sync.timer');
    // The group as the portal creates it (ad-client), anna a member; its folder as the portal's
    // createGroupShare makes it (root:<gid> 2770) with a template's folder and file inside.
    const admin = (await cli(['secrets', 'show', 'ad-administrator'])).doc.value as string;
    const created = await must(
      sandbox.runner,
      process.execPath,
      ['--conditions=@invis/source', '--import', TSX, GROUP_SCRIPT],
      {
        input: JSON.stringify({
          url: `ldaps://${SERVER}:636`,
          caFile: '/etc/invis/certs/ca.crt',
          upn: 'administrator@invis-net.loc',
          password: admin,
          name: TEAM,
          members: ['anna'],
        }),
      },
    );
    const gid = String((JSON.parse(created) as { gid: number }).gid);
    await must(sandbox.runner, 'install', ['-d', '-o', '0', '-g', gid, '-m', '2770', team, `${team}/vorlage`]);
    await sandbox.writeFile(`${team}/vorlage/liste.txt`, 'aus der Vorlage\n', { mode: '0660' });
    await must(sandbox.runner, 'chown', [`0:${gid}`, `${team}/vorlage/liste.txt`]);
    // A link in the way (to Verwaltung) is never served.
    await must(sandbox.runner, 'ln', ['-s', '/srv/shares/verwaltung', '/srv/shares/gruppen/link']);
    await must(sandbox.runner, 'install', ['-d', '-m', '0755', '/srv/shares/gruppen/teamXnord']);

    // Before the sync the new folder has no rule: refused, also to its member.
    expect(await davStatus('anna', ['-X', 'PROPFIND', '-H', 'Depth: 1', url])).toBe('403');
    const synced = await cli(['sync', 'homes']);
    expect(synced.code, JSON.stringify(synced.doc)).toBe(0);
    expect(synced.doc).toMatchObject({ dav: { changed: true, served: [TEAM], skipped: ['link', 'teamXnord'] } });
    const again = await cli(['sync', 'homes']);
    expect(again.doc).toMatchObject({ dav: { changed: false, served: [TEAM] } });
    expect((await cli(['verify', 'webdav'])).code).toBe(0);

    // anna syncs the group folder: the template's file comes down, hers go up with the group and mode.
    const local = await syncFolder('anna', `gruppen/${TEAM}`);
    await writeFile(join(local, 'plan.txt'), 'Plan Nord\n');
    await mkdir(join(local, 'fotos'));
    await writeFile(join(local, 'fotos', 'f1.txt'), 'Foto 1\n');
    const run = await sync('anna', ['run', local, '--json']);
    expect(run.exitCode, run.output).toBe(0);
    expect(await readFile(join(local, 'vorlage', 'liste.txt'), 'utf8')).toBe('aus der Vorlage\n');
    const wwwData = (await must(sandbox.runner, 'id', ['-u', 'www-data'])).trim();
    expect(await stat(`${team}/plan.txt`)).toBe(`660 ${wwwData} ${gid}`);
    expect(await stat(`${team}/fotos`)).toBe(`2770 ${wwwData} ${gid}`);
    expect(await stat(`${team}/fotos/f1.txt`)).toBe(`660 ${wwwData} ${gid}`);
    // …and into the template's folder too (its tree got Apache's entries on the first sync).
    await writeFile(join(dir, 'neu.txt'), 'neu\n');
    expect(await davStatus('anna', ['-T', join(dir, 'neu.txt'), `${url}vorlage/neu.txt`])).toBe('201');
    expect(await stat(`${team}/vorlage/neu.txt`)).toBe(`660 ${wwwData} ${gid}`);

    // bob is no member: 403 for reading and writing, also through MOVE from a share of his.
    expect(await davStatus('bob', ['-X', 'PROPFIND', '-H', 'Depth: 1', url])).toBe('403');
    expect(await davStatus('bob', [`${url}plan.txt`])).toBe('403');
    expect(await davStatus('bob', ['-T', join(dir, 'neu.txt'), `${url}bob.txt`])).toBe('403');
    expect(await davStatus('bob', ['-T', join(dir, 'neu.txt'), `${DAV}/aktuell/bob.txt`])).toBe('201');
    expect(await davStatus('bob', ['-X', 'MOVE', '-H', `Destination: ${url}bob.txt`, `${DAV}/aktuell/bob.txt`])).toBe(
      '403',
    );
    // The root lists no group's folder (not even to members); the link is refused, not followed.
    expect(await davStatus('anna', ['-X', 'PROPFIND', '-H', 'Depth: 1', `${DAV}/gruppen/`])).toBe('403');
    expect(await davStatus('anna', ['-X', 'PROPFIND', '-H', 'Depth: 1', `${DAV}/gruppen/link/`])).toBe('403');
    // A folder whose name only matches the group's as a pattern (`.` as any character), open to
    // Apache on disk: its own rule would be needed, the group's does not reach it.
    expect(await davStatus('anna', ['-X', 'PROPFIND', '-H', 'Depth: 1', `${DAV}/gruppen/teamXnord/`])).toBe('403');

    // The group deleted and its folder archived (as the portal does): refused after the next sync.
    await tool(['group', 'delete', TEAM]);
    await must(sandbox.runner, 'mv', [team, `${team}.archiv`]);
    const removed = await cli(['sync', 'homes']);
    expect(removed.doc).toMatchObject({ dav: { changed: true, served: [] } });
    expect(await davStatus('anna', ['-X', 'PROPFIND', '-H', 'Depth: 1', `${DAV}/gruppen/${TEAM}.archiv/`])).toBe('403');
  }, 300_000);

  it('folder templates (media/portal/verzeichnisvorlagen): diradmins write over WebDAV, other users only read', async () => {
    await tool(['group', 'addmembers', 'diradmins', 'anna']);
    const template = `${DAV}/media/portal/verzeichnisvorlagen/Projekt/`;
    expect(await davStatus('anna', ['-X', 'MKCOL', template])).toBe('201');
    await writeFile(join(dir, 'vorlage.txt'), 'Gliederung\n');
    expect(await davStatus('anna', ['-T', join(dir, 'vorlage.txt'), `${template}gliederung.txt`])).toBe('201');
    const diradmins = (await stat('/srv/shares/media/portal/verzeichnisvorlagen')).split(' ')[2];
    const wwwData = (await must(sandbox.runner, 'id', ['-u', 'www-data'])).trim();
    expect(await stat('/srv/shares/media/portal/verzeichnisvorlagen/Projekt')).toBe(`2770 ${wwwData} ${diradmins}`);
    expect(await davStatus('bob', [`${template}gliederung.txt`])).toBe('200');
    expect(await davStatus('bob', ['-T', join(dir, 'vorlage.txt'), `${template}bob.txt`])).toBe('403');
    expect(await davStatus('bob', ['-X', 'DELETE', `${template}gliederung.txt`])).toBe('403');
    // The rest of media stays every user's.
    expect(await davStatus('bob', ['-T', join(dir, 'vorlage.txt'), `${DAV}/media/bob.txt`])).toBe('201');
  }, 120_000);

  it('portal: every user reads downloads and uploads (as over SMB, read-only); nobody writes', async () => {
    await sandbox.writeFile('/srv/shares/portal/downloads/info.txt', 'zum Herunterladen\n', { mode: '0644' });
    expect(await davStatus('bob', [`${DAV}/portal/downloads/info.txt`])).toBe('200');
    expect(await davStatus('bob', ['-X', 'PROPFIND', '-H', 'Depth: 1', `${DAV}/portal/uploads/`])).toBe('207');
    await writeFile(join(dir, 'up.txt'), 'hoch\n');
    expect(await davStatus('bob', ['-T', join(dir, 'up.txt'), `${DAV}/portal/uploads/up.txt`])).toBe('403');
    expect(await davStatus('anna', ['-X', 'DELETE', `${DAV}/portal/downloads/info.txt`])).toBe('403');
  }, 120_000);

  it('NFSv4 through nfs-ganesha: a user reads their own file as their uid, not another user’s; root is squashed', async () => {
    const url = (path: string, id: number) => `nfs://${SERVER}${path}?version=4&uid=${id}&gid=${DOMAIN_USERS}`;
    // Until ganesha's grace period after its start is over, opens are refused (NFS4ERR_GRACE).
    const own = await until(
      'nfs-cat of anna’s file',
      async () => {
        const r = await sandbox.lan.runner.run('nfs-cat', [url('/home/anna/private.txt', uid.anna)]);
        return r.exitCode === 0 ? r.stdout : undefined;
      },
      150_000,
    );
    expect(own).toBe("anna's own");
    const other = await sandbox.lan.runner.run('nfs-cat', [url('/home/bob/private.txt', uid.anna)]);
    expect(other.exitCode).not.toBe(0);
    expect(other.output).toMatch(/NFS4ERR_ACCESS/);
    const root = await sandbox.lan.runner.run('nfs-cat', [url('/home/bob/private.txt', 0)]);
    expect(root.exitCode).not.toBe(0);
    const shares = await must(sandbox.lan.runner, 'nfs-ls', [url('/shares', uid.anna)]);
    expect(shares).toMatch(/verwaltung/);
    // A share's group decides over NFS too: the file anna synced into Verwaltung (group verwaltung,
    // 0660) is read with that group, refused to a user outside it.
    const gid = (await stat('/srv/shares/verwaltung')).split(' ')[2];
    const asGroup = (id: number, group: string) =>
      sandbox.lan.runner.run('nfs-cat', [
        `nfs://${SERVER}/shares/verwaltung/brief.txt?version=4&uid=${id}&gid=${group}`,
      ]);
    const member = await asGroup(uid.anna, gid as string);
    expect(member.exitCode, member.output).toBe(0);
    expect(member.stdout).toBe('Sehr geehrte Damen und Herren');
    expect((await asGroup(uid.bob, String(DOMAIN_USERS))).exitCode).not.toBe(0);
    // The same for a file put over SMB (the share's group, 660; the folder keeps outsiders out too).
    const smbFile = (id: number, group: string) =>
      sandbox.lan.runner.run('nfs-cat', [`nfs://${SERVER}/shares/verwaltung/smb.txt?version=4&uid=${id}&gid=${group}`]);
    expect((await smbFile(uid.anna, gid as string)).exitCode).toBe(0);
    const outsider = await smbFile(uid.bob, String(DOMAIN_USERS));
    expect(outsider.exitCode, outsider.output).not.toBe(0);
  }, 240_000);

  it('the keytab holds nfs/<fqdn>; /etc/exports parses back to the export model (sec=sys as answered)', async () => {
    const keys = await must(sandbox.runner, 'klist', ['-k', '/etc/krb5.keytab']);
    expect(keys).toContain('nfs/invis.invis-net.loc@INVIS-NET.LOC');
    expect(await stat('/etc/krb5.keytab')).toBe('600 0 0');
    const spns = await must(sandbox.runner, 'samba-tool', ['spn', 'list', 'INVIS$']);
    expect(spns).toContain('nfs/invis.invis-net.loc');
    const model = exportsModel(parseExports(await sandbox.readFile('/etc/exports')));
    expect(model).toMatchObject({ root: '/srv/nfs4_base', clients: ['192.168.220.0/24'], security: 'sys' });
    expect(model.exports.map((e) => e.name)).toEqual(['home', 'shares']);
  }, 60_000);
});

// `invis-setup sync homes` on a staging root as root: folders are created with the account's
// owner and mode 0700, existing ones are left as they are, links in the way are never followed;
// folders of accounts and groups that are gone are archived, the server's own never.
import { chown, lstat, mkdir, readdir, readlink, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AdGroup, AdUser } from '@invis/ad-client';
import { FOLDER_REQUESTS_FILE, renderFolderRequests } from '@invis/samba-shares';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { syncHomes } from '../../src/homes';
import { moduleContext } from './module-context';

const dir = useTempDir('setup-homes-');
const user = (sAMAccountName: string, ids?: [number, number]): AdUser =>
  ({ sAMAccountName, ...(ids ? { uidNumber: ids[0], gidNumber: ids[1] } : {}) }) as AdUser;
const group = (name: string, gidNumber: number): AdGroup => ({ name, gidNumber }) as AdGroup;

describe('sync homes', () => {
  it('creates home and profile folders owned by each account, once, and never follows a link', async () => {
    const root = dir();
    await mkdir(join(root, 'home'), { recursive: true });
    await mkdir(join(root, 'srv/shares/profiles'), { recursive: true });
    await mkdir(join(root, 'elsewhere'));
    // bob's home name is taken by a link to a folder outside: it is reported and left alone.
    await symlink(join(root, 'elsewhere'), join(root, 'home/bob'));
    const ctx = await moduleContext(root, { staging: false });
    const users = [
      user('anna', [20001, 20513]),
      user('bob', [20002, 20513]),
      user('Administrator'),
      user('invis-portal', [20003, 20513]),
      user('../etc', [0, 0]),
    ];
    const report = await syncHomes(ctx, { users, groups: [] });
    expect(report.created).toEqual(['/home/anna', '/srv/shares/profiles/anna.V6', '/srv/shares/profiles/bob.V6']);
    expect(report.problems).toEqual(['/home/bob']);
    for (const path of ['home/anna', 'srv/shares/profiles/anna.V6']) {
      const s = await stat(join(root, path));
      expect([s.uid, s.gid, s.mode & 0o7777]).toEqual([20001, 20513, 0o700]);
    }
    expect((await lstat(join(root, 'home/bob'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(root, 'home/bob'))).toBe(join(root, 'elsewhere'));
    expect((await stat(join(root, 'elsewhere'))).uid).toBe(0);
    expect((await syncHomes(ctx, { users, groups: [] })).created).toEqual([]);
  });

  it("archives the folders of accounts and groups that are gone; the server's own, links and files stay", async () => {
    const root = dir();
    for (const d of ['home', 'srv/shares/profiles', 'srv/shares/gruppen', 'etc']) {
      await mkdir(join(root, d), { recursive: true });
    }
    await writeFile(
      join(root, 'etc/passwd'),
      'root:x:0:0::/root:/bin/bash\nadmin:x:1000:1000::/home/admin:/bin/bash\n',
    );
    await writeFile(join(root, 'etc/group'), 'root:x:0:\nadmin:x:1000:\n');
    const owned = async (path: string, uid: number, gid: number) => {
      await mkdir(join(root, path));
      await chown(join(root, path), uid, gid);
    };
    await owned('home/admin', 1000, 1000); // the server's local admin
    await owned('home/anna', 20001, 20513);
    await owned('home/bob', 20002, 20513); // bob's account is gone
    await owned('home/bob.archiv', 20099, 20513); // an older archive stays as it is
    await owned('home/dora', 3000005, 20513); // dora has no RFC2307 ids: the DC's idmap gave her this uid
    await owned('srv/shares/profiles/bob.V6', 20002, 20513);
    await owned('srv/shares/gruppen/team1', 0, 21001);
    await owned('srv/shares/gruppen/alt', 0, 21002); // its group is gone
    await symlink('/etc', join(root, 'home/carl'));
    await writeFile(join(root, 'home/notes.txt'), 'x');
    const ctx = await moduleContext(root, { staging: false });
    const directory = { users: [user('anna', [20001, 20513]), user('dora')], groups: [group('team1', 21001)] };
    const report = await syncHomes(ctx, directory);
    const day = ctx.clock.now().toISOString().slice(0, 10).replaceAll('-', '');
    expect(report.archived).toEqual([
      { from: '/home/bob', to: `/home/bob-${day}.archiv` },
      { from: '/srv/shares/profiles/bob.V6', to: '/srv/shares/profiles/bob.V6.archiv' },
      { from: '/srv/shares/gruppen/alt', to: '/srv/shares/gruppen/alt.archiv' },
    ]);
    expect((await readdir(join(root, 'home'))).sort()).toEqual(
      ['admin', 'anna', `bob-${day}.archiv`, 'bob.archiv', 'carl', 'dora', 'notes.txt'].sort(),
    );
    expect((await stat(join(root, `home/bob-${day}.archiv`))).uid).toBe(20002);
    expect((await syncHomes(ctx, directory)).archived).toEqual([]);
    // A directory that answers with no account at all is not believed.
    expect((await syncHomes(ctx, { users: [], groups: [] })).archived).toEqual([]);
    expect((await readdir(join(root, 'home'))).includes('anna')).toBe(true);
  });

  it('makes the group folders the portal asked for, from their templates, and believes no hostile requests file', async () => {
    const root = dir();
    const portalData = join(root, 'var/lib/invis/portal');
    const templates = join(root, 'srv/shares/media/portal/verzeichnisvorlagen');
    for (const d of [
      portalData,
      join(templates, 'Projekt/Angebote'),
      join(root, 'srv/shares/gruppen'),
      join(root, 'home'),
      join(root, 'srv/shares/profiles'),
    ]) {
      await mkdir(d, { recursive: true });
    }
    await writeFile(join(templates, 'Projekt/Angebote/liesmich.txt'), 'hallo');
    await symlink('/etc', join(templates, 'Boese'));
    const PORTAL_UID = 997;
    await chown(portalData, PORTAL_UID, PORTAL_UID);
    const requestsFile = join(portalData, FOLDER_REQUESTS_FILE);
    const request = async (groups: Map<string, string | null>, uid = PORTAL_UID) => {
      await rm(requestsFile, { force: true });
      await writeFile(requestsFile, renderFolderRequests(groups));
      await chown(requestsFile, uid, uid);
    };
    await request(
      new Map([
        ['Vertrieb', 'Projekt'],
        ['team2', null],
        ['spaeter', null], // not in the directory yet: waits
        ['boese', 'Boese'], // a template that is a link
      ]),
    );
    const ctx = await moduleContext(root, { staging: false });
    const directory = {
      users: [user('anna', [20001, 20513])],
      groups: [group('Vertrieb', 21001), group('team2', 21002), group('boese', 21003)],
    };
    const report = await syncHomes(ctx, directory);
    expect(report.created).toEqual(
      expect.arrayContaining(['/srv/shares/gruppen/Vertrieb', '/srv/shares/gruppen/team2']),
    );
    expect(report.problems).toEqual(['/srv/shares/gruppen/boese']);
    const made = await stat(join(root, 'srv/shares/gruppen/Vertrieb/Angebote/liesmich.txt'));
    expect([made.uid, made.gid, made.mode & 0o7777]).toEqual([0, 21001, 0o660]);
    const team = await stat(join(root, 'srv/shares/gruppen/team2'));
    expect([team.uid, team.gid, team.mode & 0o7777]).toEqual([0, 21002, 0o2770]);
    expect(await readdir(join(root, 'srv/shares/gruppen'))).not.toContain('spaeter');
    // Once made, a folder is the group's: the next sync leaves it (and what members put there) alone.
    await writeFile(join(root, 'srv/shares/gruppen/team2/neu.txt'), 'x');
    expect((await syncHomes(ctx, directory)).created).not.toContain('/srv/shares/gruppen/team2');

    // A requests file that root owns, a link in its place, or a malformed one: nothing of it is believed.
    await request(new Map([['team3', null]]), 0);
    const team3 = { ...directory, groups: [...directory.groups, group('team3', 21004)] };
    expect((await syncHomes(ctx, team3)).problems).toContain('/var/lib/invis/portal/group-shares.json');
    await rm(requestsFile);
    await writeFile(join(root, 'elsewhere.json'), renderFolderRequests(new Map([['team3', null]])));
    await chown(join(root, 'elsewhere.json'), PORTAL_UID, PORTAL_UID);
    await symlink(join(root, 'elsewhere.json'), requestsFile);
    expect((await syncHomes(ctx, team3)).problems).toContain('/var/lib/invis/portal/group-shares.json');
    await rm(requestsFile);
    await writeFile(requestsFile, JSON.stringify({ version: 1, groups: { '../../etc': { template: null } } }));
    await chown(requestsFile, PORTAL_UID, PORTAL_UID);
    expect((await syncHomes(ctx, team3)).problems).toContain('/var/lib/invis/portal/group-shares.json');
    expect(await readdir(join(root, 'srv/shares/gruppen'))).not.toContain('team3');
    expect((await stat('/etc')).gid).toBe(0);
  });
});

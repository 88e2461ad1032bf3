// `invis-setup sync homes` on a staging root as root: folders are created with the account's
// owner and mode 0700, existing ones are left as they are, links in the way are never followed;
// folders of accounts and groups that are gone are archived, the server's own never.
import { chown, lstat, mkdir, readdir, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { AdGroup, AdUser } from '@invis/ad-client';
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
});

// `invis-setup sync homes` on a staging root as root: folders are created with the account's
// owner and mode 0700, existing ones are left as they are, links in the way are never followed.
import { lstat, mkdir, readlink, stat, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { AdUser } from '@invis/ad-client';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { syncHomes } from '../../src/homes';
import { moduleContext } from './module-context';

const dir = useTempDir('setup-homes-');
const user = (sAMAccountName: string, ids?: [number, number]): AdUser =>
  ({ sAMAccountName, ...(ids ? { uidNumber: ids[0], gidNumber: ids[1] } : {}) }) as AdUser;

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
    const report = await syncHomes(ctx, users);
    expect(report.created).toEqual(['/home/anna', '/srv/shares/profiles/anna.V6', '/srv/shares/profiles/bob.V6']);
    expect(report.problems).toEqual(['/home/bob']);
    for (const path of ['home/anna', 'srv/shares/profiles/anna.V6']) {
      const s = await stat(join(root, path));
      expect([s.uid, s.gid, s.mode & 0o7777]).toEqual([20001, 20513, 0o700]);
    }
    expect((await lstat(join(root, 'home/bob'))).isSymbolicLink()).toBe(true);
    expect(await readlink(join(root, 'home/bob'))).toBe(join(root, 'elsewhere'));
    expect((await stat(join(root, 'elsewhere'))).uid).toBe(0);
    expect((await syncHomes(ctx, users)).created).toEqual([]);
  });
});

// Security: the CLI runs as root on a branch server, the synced folder is written by the users of
// the share. Nothing they put there may choose the server or the password file, and the CLI's own
// state and config must be files nobody else can change.
import { chmod, chown, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { runCliCaptured } from '../run-cli';
import { type HostileDav, startHostileDav } from './hostile';

const SHARE_USER = 65534; // nobody: a user of the share, not the sync's owner
const SECRET = 'ROOT SSH KEY';

let dav: HostileDav;
const work = useTempDir('invis-sync-trust-');
beforeAll(async () => {
  dav = await startHostileDav();
});
afterAll(async () => {
  await dav?.stop();
});
afterEach(async () => {
  dav.requests.length = 0;
});

const cli = (...argv: string[]) => runCliCaptured(argv, 'branch');

/** `<tmp>/share` (the synced folder), `<tmp>/root-only/id_rsa` (a 0600 secret), `<tmp>/state`. */
async function setup(): Promise<{ dir: string; secretFile: string; stateRoot: string }> {
  const dir = join(work(), 'share');
  await mkdir(dir);
  await mkdir(join(work(), 'root-only'), { mode: 0o700 });
  const secretFile = join(work(), 'root-only', 'id_rsa');
  await writeFile(secretFile, SECRET, { mode: 0o600 });
  return { dir, secretFile, stateRoot: join(work(), 'state') };
}

const leaked = (): boolean =>
  dav.requests.some((r) => Buffer.from((r.authorization ?? '').replace(/^Basic /, ''), 'base64').includes(SECRET));

describe('config planted in the synced folder', () => {
  it('is never read: no request, no password sent, SYNC_LEGACY_STATE names the fix', async () => {
    const { dir, secretFile, stateRoot } = await setup();
    // What a user of the share can write: the old in-tree config, pointing at their server and a root-only file.
    const planted = join(dir, '.invis-sync');
    await mkdir(planted);
    await writeFile(
      join(planted, 'config.json'),
      JSON.stringify({ url: dav.url, user: 'x', passwordFile: secretFile }),
    );
    await chown(planted, SHARE_USER, SHARE_USER);
    await chown(join(planted, 'config.json'), SHARE_USER, SHARE_USER);
    // The default state root (nothing is created there: a missing config is found by reading).
    const byDefault = await cli('run', dir);
    const withRoot = await cli('run', dir, '--state-root', stateRoot, '--json');
    expect(leaked()).toBe(false);
    expect(dav.requests).toEqual([]);
    expect(byDefault.code).toBe(2);
    expect(byDefault.err).toMatch(/SYNC_LEGACY_STATE/);
    expect(byDefault.err).toMatch(/invis-sync init /);
    expect(withRoot.code).toBe(2);
    expect(JSON.parse(withRoot.out)).toMatchObject({ error: { code: 'SYNC_LEGACY_STATE' } });
  });
});

describe('state and config outside the synced folder, owner-checked', () => {
  it('init writes nothing into the folder; run refuses state, config and password files others control', async () => {
    const { dir, stateRoot } = await setup();
    const pw = join(work(), 'root-only', 'sync.pw');
    await writeFile(pw, 'p\n', { mode: 0o600 });
    const init = await cli(
      'init',
      dir,
      '--url',
      dav.url,
      '--user',
      'u',
      '--password-file',
      pw,
      '--state-root',
      stateRoot,
    );
    expect(init.code).toBe(0);
    expect(await readdir(dir)).toEqual([]);
    const status = await cli('status', dir, '--state-root', stateRoot, '--json');
    const { stateDir } = JSON.parse(status.out) as { stateDir: string };
    expect(stateDir.startsWith(`${stateRoot}/`)).toBe(true);
    const run = (): Promise<{ code: number; out: string; err: string }> =>
      cli('run', dir, '--state-root', stateRoot, '--json');
    expect((await run()).code).toBe(0);
    const config = join(stateDir, 'config.json');

    const refusedWith = async (change: () => Promise<void>, undo: () => Promise<void>, message: RegExp) => {
      await change();
      dav.requests.length = 0;
      const r = await run();
      await undo();
      expect(r.code).toBe(2);
      expect(JSON.parse(r.out).error).toMatchObject({ code: 'SYNC_UNTRUSTED_FILE' });
      expect(JSON.parse(r.out).error.message).toMatch(message);
      expect(dav.requests).toEqual([]);
    };
    await refusedWith(
      () => chmod(config, 0o620),
      () => chmod(config, 0o600),
      /writable by group or others/,
    );
    await refusedWith(
      () => chown(config, SHARE_USER, 0),
      () => chown(config, 0, 0),
      /must be owned by uid 0/,
    );
    await refusedWith(
      () => chmod(stateDir, 0o777),
      () => chmod(stateDir, 0o700),
      /writable by group or others/,
    );
    await refusedWith(
      () => chmod(pw, 0o640),
      () => chmod(pw, 0o600),
      /chmod 600/,
    );
    await refusedWith(
      () => chown(pw, SHARE_USER, 0),
      () => chown(pw, 0, 0),
      /must be owned by uid 0/,
    );
    const moved = `${config}.real`;
    await refusedWith(
      async () => {
        await rm(moved, { force: true });
        await writeFile(moved, await import('node:fs/promises').then((f) => f.readFile(config)), { mode: 0o600 });
        await rm(config);
        await symlink(moved, config);
      },
      async () => {
        await rm(config);
        await import('node:fs/promises').then((f) => f.rename(moved, config));
      },
      /symlink/,
    );
    expect((await run()).code).toBe(0);
    expect(await readdir(dir)).toEqual([]);
  });
});

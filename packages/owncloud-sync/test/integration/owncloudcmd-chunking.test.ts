// The shim's chunked upload checked by an independent client: the real owncloudcmd 2.11.
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createExecaRunner, runChecked } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSyncEngine } from '../../src/index';
import { type Fixture, startFixture } from './workspace';

const sha = (buf: Buffer): string => createHash('sha256').update(buf).digest('hex');

describe('chunked upload on the ownCloud shim, spoken by owncloudcmd', () => {
  let fx: Fixture;
  const work = useTempDir('invis-sync-occ-', { shared: true });
  beforeAll(async () => {
    fx = await startFixture('owncloud-shim');
    await writeFile(join(work(), 'exclude.lst'), '*~\n');
  });
  afterAll(async () => {
    await fx?.stop();
  });

  /** One owncloudcmd sync of `dir` with the remote folder `name`; returns its debug log. */
  const owncloudcmd = async (dir: string, name: string): Promise<string> => {
    const { info } = fx.server;
    // The password on the command line is owncloudcmd's interface; acceptable only in a test.
    const args = ['--non-interactive', '--logdebug', '--exclude', join(work(), 'exclude.lst')];
    const auth = ['-u', info.username, '-p', info.password];
    const url = `${info.origin}/remote.php/webdav/${name}`;
    const res = await runChecked(createExecaRunner(), 'owncloudcmd', [...args, ...auth, dir, url], {
      env: { HOME: work() },
    });
    return res.output;
  };

  it('owncloudcmd uploads a 25 MiB file in chunks; our engine downloads it intact', async () => {
    const folder = await fx.folder();
    const name = folder.remoteDir.slice(fx.server.info.dataDir.length + 1);
    const occDir = join(work(), 'occ-up');
    await mkdir(occDir);
    const big = randomBytes(25 * 1024 * 1024);
    await writeFile(join(occDir, 'big.bin'), big);
    const log = await owncloudcmd(occDir, name);
    // The client's own log: MKCOL of the upload collection, offset-named chunks, MOVE of .file.
    const uploads = `${fx.server.info.origin}/remote.php/dav/uploads/alice/`;
    expect(log).toMatch(new RegExp(`MKCOL of QUrl\\("${uploads}\\d+"\\)`));
    const chunks = new Set(log.match(new RegExp(`PUT of "${uploads}\\d+/(\\d{16})"`, 'g')));
    expect(chunks.size).toBeGreaterThanOrEqual(2);
    expect(log).toMatch(new RegExp(`MOVE of QUrl\\("${uploads}\\d+/\\.file"\\)`));
    expect(sha(await readFile(join(folder.remoteDir, 'big.bin')))).toBe(sha(big));
    const ours = await folder.replica('hostA');
    const report = await ours.engine.run();
    expect(report.downloaded).toBe(1);
    expect(sha(await readFile(join(ours.dir, 'big.bin')))).toBe(sha(big));
  });

  it('our chunked upload (new file, then a change with If) is what owncloudcmd downloads', async () => {
    const folder = await fx.folder();
    const name = folder.remoteDir.slice(fx.server.info.dataDir.length + 1);
    const ours = await folder.replica('hostA');
    const v1 = randomBytes(12 * 1024 * 1024 + 5);
    await ours.write('sub/big.bin', v1);
    const up = createSyncEngine({
      localDir: ours.dir,
      stateDir: ours.stateDir,
      client: folder.client,
      hostname: 'hostA',
      chunkSize: 4 << 20,
    });
    const first = await up.run();
    expect(first.server.chunkedUpload).toBe(true);
    expect(first.errors).toEqual([]);
    expect(sha(await readFile(join(folder.remoteDir, 'sub/big.bin')))).toBe(sha(v1));
    const v2 = randomBytes(9 * 1024 * 1024);
    await ours.write('sub/big.bin', v2);
    const second = await up.run();
    expect(second.errors).toEqual([]);
    expect(second.uploaded).toBe(1);
    const occDir = join(work(), 'occ-down');
    await mkdir(occDir);
    await owncloudcmd(occDir, name);
    expect(sha(await readFile(join(occDir, 'sub/big.bin')))).toBe(sha(v2));
  });
});

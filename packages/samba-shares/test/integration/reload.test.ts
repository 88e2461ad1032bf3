// Against a real smbd (a standalone file server on its own loopback address): the applier
// writes the included shares file, reloads the running smbd with smbcontrol, and smbclient sees
// the share; a reload that fails puts the previous file back. (The AD DC case, where smbd runs
// under the `samba` process, is proven by invis-setup's whole-server file test.)
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Daemon,
  type LoopbackAddress,
  processesWithArgument,
  reserveLoopbackAddress,
  run,
  spawnDaemon,
  terminateProcesses,
  waitUntilReady,
} from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSharesApplier, isSharesError, renderSharesConf, type ShareInput } from '../../src/index';

let dir: string;
let loopback: LoopbackAddress;
let smbd: Daemon;
let mainConf: string;
let sharesFile: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'invis-shares-smbd-'));
  loopback = await reserveLoopbackAddress();
  for (const d of ['run', 'lock', 'private', 'log', 'shares/aktuell', 'shares/transfer']) {
    await mkdir(join(dir, d), { recursive: true });
  }
  sharesFile = join(dir, 'smb.shares.conf');
  mainConf = join(dir, 'smb.conf');
  await writeFile(
    mainConf,
    [
      '[global]',
      '\tserver role = standalone server',
      `\tinterfaces = ${loopback.address}`,
      '\tbind interfaces only = yes',
      `\tpid directory = ${dir}/run`,
      `\tlock directory = ${dir}/lock`,
      `\tstate directory = ${dir}/lock`,
      `\tcache directory = ${dir}/lock`,
      `\tprivate dir = ${dir}/private`,
      `\tncalrpc dir = ${dir}/run/ncalrpc`,
      `\tlog file = ${dir}/log/log.%m`,
      `\tinclude = ${sharesFile}`,
      '',
    ].join('\n'),
  );
  smbd = spawnDaemon(
    'smbd',
    'smbd',
    ['--foreground', '--no-process-group', '-s', mainConf],
    join(dir, 'log', 'stdout'),
  );
  await waitUntilReady(
    smbd,
    async () => (await readFile(join(dir, 'run', 'smbd.pid'), 'utf8').catch(() => '')) !== '',
    30_000,
  );
}, 60_000);

afterAll(async () => {
  await smbd?.stop();
  // smbd starts samba-dcerpcd for share listings in its own session; it carries the conf path.
  await terminateProcesses(processesWithArgument(mainConf));
  await loopback?.release();
  await rm(dir, { recursive: true, force: true });
});

/** Share names an anonymous `smbclient -L` lists. */
async function listedShares(): Promise<string[]> {
  const out = await run('smbclient', ['-L', `//${loopback.address}`, '-N', '-g']).catch((e: Error) => e.message);
  return out
    .split('\n')
    .filter((l) => l.startsWith('Disk|'))
    .map((l) => l.split('|')[1] ?? '');
}

const share = (name: string): ShareInput => ({ name, path: join(dir, 'shares', name), recycle: {} });

describe('createSharesApplier on a running smbd', () => {
  it('writes, reloads with `smbcontrol smbd reload-config`, and the new shares are served', async () => {
    const applier = createSharesApplier({ configPath: sharesFile, mainConfig: mainConf, reloadTargets: ['smbd'] });
    const first = await applier.apply([share('aktuell')]);
    expect(first.commands.map((c) => c.args.join(' '))).toEqual(['smbd reload-config']);
    await expect.poll(listedShares, { timeout: 30_000, interval: 500 }).toContain('aktuell');
    await applier.apply([share('aktuell'), share('transfer')]);
    await expect.poll(listedShares, { timeout: 30_000, interval: 500 }).toContain('transfer');
  });

  it('a reload that fails (no such daemon) puts the previous file back', async () => {
    const before = await readFile(sharesFile, 'utf8');
    expect(before).toBe(renderSharesConf([share('aktuell'), share('transfer')]));
    const applier = createSharesApplier({ configPath: sharesFile, mainConfig: mainConf, reloadTargets: ['nmbd'] });
    let caught: unknown;
    try {
      await applier.apply([share('aktuell')]);
    } catch (e) {
      caught = e;
    }
    expect(isSharesError(caught) && caught.code).toBe('SHARES_RELOAD_FAILED');
    expect((caught as Error).message).toMatch(/nmbd.*previous file restored, reloading it failed too/);
    expect(await readFile(sharesFile, 'utf8')).toBe(before);
  });
});

import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { checkSharesConf, createSharesApplier } from './apply';
import { isSharesError } from './errors';
import type { ShareInput } from './model';
import { renderSharesConf } from './render';

const dir = useTempDir('invis-shares-apply-');
const aktuell: ShareInput = { name: 'aktuell', path: '/srv/shares/aktuell', recycle: {} };

/** A main smb.conf with its own pid and lock folders, where no daemon runs: smbcontrol finds no one. */
async function mainConf(sharesFile: string): Promise<string> {
  for (const d of ['run', 'lock']) await mkdir(join(dir(), d));
  const main = join(dir(), 'smb.conf');
  await writeFile(
    main,
    `[global]\n\tpid directory = ${dir()}/run\n\tlock directory = ${dir()}/lock\n\tstate directory = ${dir()}/lock\n` +
      `\tcache directory = ${dir()}/lock\n\tinclude = ${sharesFile}\n`,
  );
  return main;
}

async function caught(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error('expected a rejection');
}

describe('createSharesApplier (real testparm and smbcontrol)', () => {
  it('writes a checked file, reports the diff, backs up the old one and skips an unchanged one', async () => {
    const configPath = join(dir(), 'smb.shares.conf');
    const applier = createSharesApplier({ configPath, reloadTargets: [] });
    const first = await applier.apply([aktuell]);
    expect(first.files[0]?.action).toBe('create');
    expect(await readFile(configPath, 'utf8')).toBe(renderSharesConf([aktuell]));
    const second = await applier.apply([aktuell, { name: 'transfer', path: '/srv/shares/transfer', guestOk: true }]);
    expect(second.files[0]?.action).toBe('update');
    expect(second.files[0]?.diff).toContain('+[transfer]');
    expect(second.backup).toBe(`${configPath}.bak`);
    expect(await readFile(`${configPath}.bak`, 'utf8')).toBe(renderSharesConf([aktuell]));
    const third = await applier.apply([aktuell, { name: 'transfer', path: '/srv/shares/transfer', guestOk: true }]);
    expect(third.files[0]?.action).toBe('unchanged');
  });

  it('refuses a parameter testparm does not know (exit 0, but "Unknown parameter") and keeps the old file', async () => {
    const configPath = join(dir(), 'smb.shares.conf');
    const applier = createSharesApplier({ configPath, reloadTargets: [] });
    await applier.apply([aktuell]);
    const error = await caught(applier.apply([{ ...aktuell, options: { 'no such parameter': 'yes' } }]));
    expect(isSharesError(error) && error.code).toBe('SHARES_CHECK_FAILED');
    expect((error as Error).message).toMatch(/no such parameter/i);
    expect(await readFile(configPath, 'utf8')).toBe(renderSharesConf([aktuell]));
  });

  it('rolls back to the previous file when smbcontrol reload-config fails', async () => {
    const configPath = join(dir(), 'smb.shares.conf');
    const main = await mainConf(configPath);
    await createSharesApplier({ configPath, mainConfig: main, reloadTargets: [] }).apply([aktuell]);
    const applier = createSharesApplier({ configPath, mainConfig: main, reloadTargets: ['smbd'] });
    const error = await caught(applier.apply([{ ...aktuell, comment: 'new' }]));
    expect(isSharesError(error) && error.code).toBe('SHARES_RELOAD_FAILED');
    expect((error as Error).message).toMatch(/smbd.*previous file restored/);
    expect(await readFile(configPath, 'utf8')).toBe(renderSharesConf([aktuell]));
  });

  it('rolls back when the main smb.conf fails testparm with the new shares', async () => {
    const configPath = join(dir(), 'smb.shares.conf');
    const main = await mainConf(configPath);
    await createSharesApplier({ configPath, mainConfig: main, reloadTargets: [] }).apply([aktuell]);
    // Something else in the main file is broken: the check after the write refuses, the old shares come back.
    await writeFile(main, `${await readFile(main, 'utf8')}\tinclude = ${dir()}/extra.conf\n`);
    await writeFile(join(dir(), 'extra.conf'), '[extra]\n\tpath = /x\n\tread only = perhaps\n');
    const error = await caught(
      createSharesApplier({ configPath, mainConfig: main, reloadTargets: [] }).apply([{ ...aktuell, comment: 'new' }]),
    );
    expect(isSharesError(error) && error.code).toBe('SHARES_CHECK_FAILED');
    expect(await readFile(configPath, 'utf8')).toBe(renderSharesConf([aktuell]));
  });

  it('checkSharesConf leaves no candidate behind', async () => {
    await checkSharesConf(renderSharesConf([aktuell]), { dir: dir() });
    expect(await readdir(dir())).toEqual([]);
  });
});

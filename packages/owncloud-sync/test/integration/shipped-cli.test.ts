// What ships: the bundled `dist/bin.js` (built by `pnpm build` before the tests, as CI does)
// syncs against a real ownCloud-compatible server, `run` and `watch`, as cron or systemd start it.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import type { SyncReport } from '../../src/index';
import { treeObject, useFixture } from './workspace';

const bin = join(import.meta.dirname, '..', '..', 'dist', 'bin.js');
const exec = promisify(execFile);

describe('the shipped invis-sync (dist/bin.js) against the ownCloud shim', () => {
  const fixture = useFixture('owncloud-shim');
  const work = useTempDir('invis-sync-shipped-');

  it('init, run --json, then watch until a run ends after one request; SIGTERM ends it with exit 0', async () => {
    expect(existsSync(bin), `${bin} is missing: run pnpm build first`).toBe(true);
    const folder = await fixture().folder();
    const { info } = fixture().server;
    const dir = join(work(), 'branch');
    const pw = join(work(), 'pw');
    await writeFile(pw, info.password, { mode: 0o600 });
    const root = ['--state-root', join(work(), 'state')];
    const url = folder.client.baseUrl.href;
    await exec(process.execPath, [
      bin,
      'init',
      dir,
      '--url',
      url,
      '--user',
      info.username,
      '--password-file',
      pw,
      ...root,
    ]);
    await writeFile(join(dir, 'a.txt'), 'A');
    const run = await exec(process.execPath, [bin, 'run', dir, '--json', ...root]);
    expect(JSON.parse(run.stdout)).toMatchObject({ uploaded: 1, errors: [] });
    expect(await treeObject(folder.remoteDir)).toEqual({ 'a.txt': 'A' });

    const watch = spawn(process.execPath, [bin, 'watch', dir, '--json', '--interval', '1', ...root]);
    const exited = new Promise<number | null>((done) => watch.on('exit', done));
    let stderr = '';
    watch.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const reports: SyncReport[] = [];
    for await (const line of createInterface({ input: watch.stdout })) {
      const report = JSON.parse(line) as SyncReport;
      reports.push(report);
      if (report.localSkipped) break;
    }
    expect(reports.at(-1)).toMatchObject({ localSkipped: true, remoteRequests: 1, errors: [] });
    watch.kill('SIGTERM');
    expect(await exited).toBe(0);
    expect(stderr).toBe('');
  });
});

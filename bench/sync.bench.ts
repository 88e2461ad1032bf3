// Two-way folder sync (5,000 × 4 KiB in 50 folders): @invis/owncloud-sync vs owncloudcmd and
// rclone bisync, all against the same ownCloud-compatible WebDAV server (SabreDAV shim from the
// testbed; owncloudcmd needs the ownCloud endpoints, so a plain WebDAV server would exclude it).
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWebDav } from '@invis/testbed';
import { execa } from 'execa';
import { createSyncEngine, createWebDavClient } from '../packages/owncloud-sync/src/index';
import { type Benchmark, type Comparison, type Measurement, measureBatch } from './lib';

const FOLDERS = 50;

async function writeTree(dir: string, files: number, seed: Buffer): Promise<void> {
  const perFolder = files / FOLDERS;
  for (let d = 0; d < FOLDERS; d++) {
    await mkdir(join(dir, `folder${d}`), { recursive: true });
    await Promise.all(
      Array.from({ length: perFolder }, (_, f) =>
        writeFile(
          join(dir, `folder${d}`, `file${f}.bin`),
          Buffer.concat([Buffer.from(`${d}/${f}`), seed]).subarray(0, 4096),
        ),
      ),
    );
  }
}

async function change50(dir: string, perFolder: number): Promise<void> {
  await Promise.all(
    Array.from({ length: 50 }, (_, i) =>
      writeFile(join(dir, `folder${i % FOLDERS}`, `file${i % perFolder}.bin`), randomBytes(4096)),
    ),
  );
}

export const benchmark: Benchmark = {
  name: 'sync',
  description:
    'two-way sync of 5,000 × 4 KiB files in 50 folders (--quick: 500): @invis/owncloud-sync vs owncloudcmd 2.11 and rclone 1.60 bisync, same ownCloud-compatible server (SabreDAV shim, php -S, 4 workers)',
  async run({ quick }) {
    const files = quick ? 500 : 5000;
    const server = await startWebDav({ kind: 'owncloud-shim' });
    const work = await mkdtemp(join(tmpdir(), 'invis-bench-sync-'));
    const { info } = server;
    const auth = { type: 'basic' as const, username: info.username, password: info.password };
    try {
      const seed = randomBytes(4096);
      const dirs = { ours: join(work, 'ours'), occ: join(work, 'occ'), bisync: join(work, 'bisync') };
      for (const d of Object.values(dirs)) await writeTree(d, files, seed);
      const root = createWebDavClient({ url: info.url, auth });
      for (const name of Object.keys(dirs)) await root.mkcol(name);
      await root.close();

      const client = createWebDavClient({ url: `${info.url}ours/`, auth, concurrency: 8 });
      const engine = createSyncEngine({ localDir: dirs.ours, client, stateDir: join(work, 'ours-state') });
      const ours = async (): Promise<void> => {
        const report = await engine.run();
        if (report.errors.length) throw new Error(`ours: ${JSON.stringify(report.errors.slice(0, 3))}`);
      };

      const exclude = join(work, 'exclude.lst');
      await writeFile(exclude, '*~\n*.part\n');
      const occ = async (): Promise<void> => {
        await execa(
          'owncloudcmd',
          [
            '--non-interactive',
            '--silent',
            '--exclude',
            exclude,
            '-u',
            info.username,
            '-p',
            info.password,
            dirs.occ,
            `${info.origin}/remote.php/webdav/occ`,
          ],
          { env: { HOME: work } },
        );
      };

      const obscured = (await execa('rclone', ['obscure', info.password])).stdout.trim();
      const rcloneConf = join(work, 'rclone.conf');
      await writeFile(rcloneConf, '');
      const rcloneEnv = {
        RCLONE_CONFIG: rcloneConf,
        RCLONE_CONFIG_BENCH_TYPE: 'webdav',
        RCLONE_CONFIG_BENCH_URL: info.url,
        RCLONE_CONFIG_BENCH_VENDOR: 'owncloud',
        RCLONE_CONFIG_BENCH_USER: info.username,
        RCLONE_CONFIG_BENCH_PASS: obscured,
      };
      const bisyncWork = join(work, 'bisync-work');
      const bisync = async (first: boolean): Promise<void> => {
        await execa(
          'rclone',
          ['bisync', dirs.bisync, 'bench:bisync', '--workdir', bisyncWork, ...(first ? ['--resync'] : [])],
          { env: rcloneEnv },
        );
      };

      const rows: Comparison[] = [];
      const phase = async (
        task: string,
        target: string,
        op: { ours: () => Promise<void>; occ: () => Promise<void>; bisync: () => Promise<void> },
      ): Promise<void> => {
        const n = task.startsWith('50') ? 50 : files;
        const o: Measurement = await measureBatch('ours', n, op.ours);
        const c = await measureBatch('owncloudcmd', n, op.occ);
        const b = await measureBatch('rclone bisync', n, op.bisync);
        rows.push({ task, ours: o, peer: c, target }, { task, ours: o, peer: b, target });
      };
      await phase('first sync', '≥ 2× faster than the best peer', { ours, occ, bisync: () => bisync(true) });
      // The first re-sync after a big upload re-lists the folders whose ETags our own uploads
      // changed; from the second on an unchanged tree is one PROPFIND for ours.
      await phase('no-change re-sync', '≤ 0.3 s', { ours, occ, bisync: () => bisync(false) });
      await phase('2nd no-change re-sync', '≤ 0.3 s', { ours, occ, bisync: () => bisync(false) });
      const perFolder = files / FOLDERS;
      await phase('50 changed files', 'faster than the best peer', {
        ours: async () => {
          await change50(dirs.ours, perFolder);
          await ours();
        },
        occ: async () => {
          await change50(dirs.occ, perFolder);
          await occ();
        },
        bisync: async () => {
          await change50(dirs.bisync, perFolder);
          await bisync(false);
        },
      });
      await client.close();
      return rows;
    } finally {
      await server.stop();
      await rm(work, { recursive: true, force: true });
    }
  },
};

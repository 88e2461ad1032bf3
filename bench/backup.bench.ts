// invis-backup (restic: encrypted, deduplicated) against what the original did (tar + gzip of the
// same trees, a full archive each time), in one run on a staged server: 500 users' homes and
// Maildirs, 50,000 small files in the shares, one 1 GiB file (random, like photos or PDFs).
// Rows: the first run, a second run after 1% of the small files changed, and the restore of one
// file — time and bytes written (restic: growth of the repository; tar: the archive; restore:
// the file). `--quick`: 50 users, 5,000 files, 100 MiB. Each row names the load average it ran
// under; the machine is shared.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { BACKUP_SECRET, runBackup } from '../apps/setup/src/backup';
import { restorePath } from '../apps/setup/src/backup-restore';
import { moduleContext } from '../apps/setup/test/integration/module-context';
import type { Benchmark, Comparison, Measurement } from './lib';

/** The first three fields of /proc/loadavg (1, 5, 15 minutes). */
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const exec = promisify(execFile);

/** Bytes below `path` (du -sb). */
async function bytes(path: string): Promise<number> {
  const { stdout } = await exec('du', ['-sb', path]);
  return Number.parseInt(stdout.split('\t')[0] ?? '0', 10);
}

const mib = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;

async function timed(label: string, op: () => Promise<void>): Promise<Measurement> {
  const t0 = performance.now();
  await op();
  return { label, iterations: 1, totalMs: performance.now() - t0 };
}

/** Runs a program; rejects with its output on any exit but 0. */
async function must(command: string, args: string[]): Promise<void> {
  await exec(command, args, { maxBuffer: 64 * 1048576 });
}

/** The server's data: homes with Maildirs, shares with small files, one large file. */
async function populate(root: string, users: number, files: number, bigBytes: number): Promise<string[]> {
  const small: string[] = [];
  for (let u = 0; u < users; u++) {
    const home = join(root, 'home', `user${u}`);
    const maildir = join(root, 'var/vmail', `user${u}`, 'Maildir/cur');
    await mkdir(home, { recursive: true });
    await mkdir(maildir, { recursive: true });
    await writeFile(join(home, 'notizen.txt'), `Notizen von user${u}\n`.repeat(20));
    for (let m = 0; m < 5; m++) {
      await writeFile(join(maildir, `${u}.${m}.invis:2,S`), `Subject: Nachricht ${m}\n\n${'Text '.repeat(200)}\n`);
    }
  }
  for (let i = 0; i < files; i++) {
    const folder = join(root, 'srv/shares/aktuell', `projekt${i % 100}`);
    if (i < 100) await mkdir(folder, { recursive: true });
    const file = join(folder, `dokument${i}.txt`);
    // 1–8 KiB of text, partly random so that compression has real work.
    await writeFile(file, `${randomBytes(256).toString('hex')}\n${'Zeile mit Inhalt\n'.repeat(64 + (i % 448))}`);
    small.push(file);
  }
  await mkdir(join(root, 'srv/shares/media'), { recursive: true });
  const big = join(root, 'srv/shares/media/video.bin');
  const chunk = 64 * 1048576;
  await writeFile(big, '');
  for (let written = 0; written < bigBytes; written += chunk) {
    await writeFile(big, randomBytes(Math.min(chunk, bigBytes - written)), { flag: 'a' });
  }
  await mkdir(join(root, 'etc/samba'), { recursive: true });
  await writeFile(join(root, 'etc/samba/smb.conf'), '[global]\n');
  return small;
}

export const benchmark: Benchmark = {
  name: 'backup',
  description:
    'invis-backup (restic) vs tar+gzip of the same trees: first run, second run with 1% changed, restore of one file',
  async run({ quick }) {
    const users = quick ? 50 : 500;
    const files = quick ? 5_000 : 50_000;
    const bigBytes = quick ? 100 * 1048576 : 1024 * 1048576;
    const dir = await mkdtemp(join(tmpdir(), 'invis-bench-backup-'));
    const rows: Comparison[] = [];
    try {
      const root = join(dir, 'root');
      const small = await populate(root, users, files, bigBytes);
      const ctx = await moduleContext(root, { answers: { backup: { target: '/mnt/backup/invis' } } });
      await ctx.secrets.ensure(BACKUP_SECRET);
      const repo = join(root, 'mnt/backup/invis');
      const archives = join(dir, 'tar');
      await mkdir(archives);
      const scope = `${users} users, ${files} files, ${mib(bigBytes)} file`;

      // First run.
      let paths: string[] = [];
      let loadBefore = load();
      const ours1 = await timed('invis-backup', async () => {
        paths = (await runBackup(ctx)).paths.map((p) => ctx.fs.hostPath(p));
      });
      const repo1 = await bytes(repo);
      const tarArgs = (file: string) => ['-czf', file, '--', ...paths];
      const peer1 = await timed('tar+gzip', () => must('tar', tarArgs(join(archives, 'full1.tgz'))));
      const tar1 = (await stat(join(archives, 'full1.tgz'))).size;
      rows.push({
        task: `first run, ${scope} [load ${loadBefore}]`,
        ours: ours1,
        peer: peer1,
        target: `written: ${mib(repo1)} vs ${mib(tar1)}`,
      });

      // Second run after 1% of the small files changed.
      for (const file of small.filter((_, i) => i % 100 === 0)) {
        await writeFile(file, `geändert ${randomBytes(16).toString('hex')}\n`, { flag: 'a' });
      }
      loadBefore = load();
      const ours2 = await timed('invis-backup', async () => {
        await runBackup(ctx);
      });
      const repo2 = await bytes(repo);
      const peer2 = await timed('tar+gzip', () => must('tar', tarArgs(join(archives, 'full2.tgz'))));
      const tar2 = (await stat(join(archives, 'full2.tgz'))).size;
      rows.push({
        task: `second run, 1% of the files changed [load ${loadBefore}]`,
        ours: ours2,
        peer: peer2,
        target: `written: ${mib(repo2 - repo1)} vs ${mib(tar2)}`,
      });

      // Restore of one file (from the newest snapshot / the newest archive).
      const one = small[Math.floor(small.length / 2)] as string;
      const relative = one.slice(1);
      loadBefore = load();
      const ours3 = await timed('invis-backup', async () => {
        await restorePath(ctx, { path: one.slice(root.length), to: join(dir, 'restore-ours') });
      });
      await mkdir(join(dir, 'restore-tar'));
      const peer3 = await timed('tar+gzip', () =>
        must('tar', ['-xzf', join(archives, 'full2.tgz'), '-C', join(dir, 'restore-tar'), '--', relative]),
      );
      const size = (await stat(one)).size;
      for (const copy of [join(dir, 'restore-ours', one), join(dir, 'restore-tar', relative)]) {
        if ((await stat(copy)).size !== size) throw new Error(`restored ${copy} differs from ${one}`);
      }
      rows.push({
        task: `restore of one file [load ${loadBefore}]`,
        ours: ours3,
        peer: peer3,
        target: `written: ${size} B each`,
      });
      return rows;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

// The sync tools as the sync benchmarks call them, each as a whole process as cron would start
// it: ours (the shipped `invis-sync`, built from this tree), owncloudcmd 2.11 against the ownCloud
// shim, rclone 1.60 bisync against any of the testbed's WebDAV servers.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WebDavInfo } from '@invis/testbed';
import { execa } from 'execa';
import { createWebDavClient } from '../packages/owncloud-sync/src/index';

const root = join(import.meta.dirname, '..');
/** The shipped executable of `@invis/owncloud-sync` (one bundled file). */
const invisSyncBin = join(root, 'packages', 'owncloud-sync', 'dist', 'bin.js');

/** Creates the top-level folder `name` on the server (each tool syncs into its own). */
export async function createRemoteFolder(info: WebDavInfo, name: string): Promise<void> {
  const client = createWebDavClient({
    url: info.url,
    auth: { type: 'basic', username: info.username, password: info.password },
  });
  try {
    await client.mkcol(name);
  } finally {
    await client.close();
  }
}

/** One run of a tool: wall time of the whole process, its peak RSS and its standard output. */
export interface ProcessSample {
  ms: number;
  rssMiB: number;
  stdout: string;
}

/** Runs a tool under /usr/bin/time for its peak RSS (`%M`, KiB, the last line of stderr). */
export async function timedProcess(cmd: string, args: string[], env: Record<string, string>): Promise<ProcessSample> {
  const t0 = performance.now();
  const { stdout, stderr } = await execa('/usr/bin/time', ['-f', '%M', cmd, ...args], { env, maxBuffer: 1 << 28 });
  const ms = performance.now() - t0;
  const kib = Number(stderr.trim().split('\n').at(-1));
  return { ms, rssMiB: Math.round((kib / 1024) * 10) / 10, stdout };
}

/** A run of `invis-sync`: the process as {@link ProcessSample}, and the run's own time from its report. */
export interface InvisSyncSample extends ProcessSample {
  runMs: number;
}

/**
 * Builds `invis-sync` from this tree (the benchmark measures what ships) and sets up `dir` against
 * the top-level remote folder `folder` with `invis-sync init` (state and password file in `work`).
 * @returns the `--state-root` of the folder
 */
async function initInvisSync(info: WebDavInfo, work: string, dir: string, folder: string): Promise<string> {
  await execa('pnpm', ['-s', 'turbo', 'run', 'build', '--filter=@invis/owncloud-sync', '--output-logs=errors-only'], {
    cwd: root,
  });
  const state = join(work, `${folder}-state`);
  const passwordFile = join(work, `${folder}-password`);
  await writeFile(passwordFile, info.password, { mode: 0o600 });
  await execa(process.execPath, [
    invisSyncBin,
    'init',
    dir,
    ...['--url', `${info.url}${folder}/`, '--user', info.username, '--password-file', passwordFile],
    ...['--state-root', state],
  ]);
  return state;
}

/**
 * `invis-sync` set up for `dir` and the top-level remote folder `folder` (see {@link initInvisSync}).
 * @returns one sync run of the whole process (`invis-sync run --json`)
 */
export async function invisSyncCli(
  info: WebDavInfo,
  work: string,
  dir: string,
  folder: string,
): Promise<() => Promise<InvisSyncSample>> {
  const state = await initInvisSync(info, work, dir, folder);
  return async () => {
    const sample = await timedProcess(
      process.execPath,
      [invisSyncBin, 'run', dir, '--state-root', state, '--json'],
      {},
    );
    const report = JSON.parse(sample.stdout) as { durationMs: number; errors: unknown[] };
    if (report.errors.length > 0) throw new Error(`invis-sync: ${JSON.stringify(report.errors.slice(0, 3))}`);
    return { ...sample, runMs: report.durationMs };
  };
}

/** Writes owncloudcmd's exclude list into `work` and returns the arguments before `<dir> <url>`. */
export async function owncloudcmdArgs(info: WebDavInfo, work: string): Promise<string[]> {
  const exclude = join(work, 'exclude.lst');
  await writeFile(exclude, '*~\n*.part\n');
  // Password on the command line is owncloudcmd's interface; acceptable only in a bench.
  return ['--non-interactive', '--silent', '--exclude', exclude, '-u', info.username, '-p', info.password];
}

/** The ownCloud URL of a top-level folder on the shim, for owncloudcmd. */
export const owncloudcmdUrl = (info: WebDavInfo, folder: string): string =>
  `${info.origin}/remote.php/webdav/${folder}`;

/** Environment that defines the rclone remote `bench:` for the server (an empty config file in `work`). */
export async function rcloneEnv(info: WebDavInfo, work: string): Promise<Record<string, string>> {
  const rcloneConf = join(work, 'rclone.conf');
  await writeFile(rcloneConf, '');
  return {
    RCLONE_CONFIG: rcloneConf,
    RCLONE_CONFIG_BENCH_TYPE: 'webdav',
    RCLONE_CONFIG_BENCH_URL: info.url,
    // As in the lab: `owncloud` (X-OC-Mtime) also against rclone serve; bisync needs mtimes.
    RCLONE_CONFIG_BENCH_VENDOR: 'owncloud',
    RCLONE_CONFIG_BENCH_USER: info.username,
    RCLONE_CONFIG_BENCH_PASS: (await execa('rclone', ['obscure', info.password])).stdout.trim(),
  };
}

/** `rclone bisync` arguments for a local folder and a top-level remote folder. */
export const bisyncArgs = (dir: string, folder: string, work: string, first: boolean): string[] => [
  'bisync',
  dir,
  `bench:${folder}`,
  '--workdir',
  join(work, 'bisync-work'),
  ...(first ? ['--resync'] : []),
];

/** What `invis-sync watch --json` prints after each run (the fields the benchmarks read). */
export interface WatchReport {
  durationMs: number;
  uploaded: number;
  downloaded: number;
  localSkipped?: true;
  errors: unknown[];
}

/** A running `invis-sync watch`: its reports one by one, and a way to end it. */
export interface InvisSyncWatch {
  /** The next report printed from now on. */
  next(): Promise<WatchReport>;
  /** Ends it (SIGTERM) and waits for its exit; returns its peak RSS in MiB. */
  stop(): Promise<number>;
}

/**
 * Starts `invis-sync watch --json --interval <intervalS>` (the shipped file) for `dir` and the
 * remote folder `folder`. A run that reports errors fails the benchmark.
 */
export async function invisSyncWatch(
  info: WebDavInfo,
  work: string,
  dir: string,
  folder: string,
  intervalS: number,
): Promise<InvisSyncWatch> {
  const state = await initInvisSync(info, work, dir, folder);
  const args = [invisSyncBin, 'watch', dir, '--json', '--interval', String(intervalS), '--state-root', state];
  const child = execa(process.execPath, args, { buffer: false });
  const waiting: ((r: WatchReport) => void)[] = [];
  let failed: Error | undefined;
  let rest = '';
  child.stdout?.setEncoding('utf8');
  child.stdout?.on('data', (chunk: string) => {
    rest += chunk;
    for (let nl = rest.indexOf('\n'); nl >= 0; nl = rest.indexOf('\n')) {
      const report = JSON.parse(rest.slice(0, nl)) as WatchReport;
      rest = rest.slice(nl + 1);
      if (!Array.isArray(report.errors) || report.errors.length > 0)
        failed = new Error(`invis-sync watch: ${JSON.stringify(report).slice(0, 300)}`);
      for (const done of waiting.splice(0)) done(report);
    }
  });
  return {
    async next() {
      if (failed) throw failed;
      const report = await new Promise<WatchReport>((done) => waiting.push(done));
      if (failed) throw failed;
      return report;
    },
    async stop() {
      // The peak RSS of a process that keeps running: the kernel's high-water mark (VmHWM, KiB).
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kib = Number(/^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]);
      child.kill('SIGTERM');
      await child;
      return Math.round((kib / 1024) * 10) / 10;
    },
  };
}

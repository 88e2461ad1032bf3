// The peer sync tools as the sync benchmarks call them: owncloudcmd 2.11 against the ownCloud
// shim, rclone 1.60 bisync against any of the testbed's WebDAV servers.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { WebDavInfo } from '@invis/testbed';
import { execa } from 'execa';

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

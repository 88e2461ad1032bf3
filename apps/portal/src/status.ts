import { X509Certificate } from 'node:crypto';
import { readFile, stat, statfs } from 'node:fs/promises';
import { hostname, loadavg, release, uptime } from 'node:os';
import { type Clock, createNodeFs, type JobState, readJobStates, systemClock } from '@invis/host';
import type { ServiceControl, ServiceState } from './services';
import { staleWhileRevalidate } from './swr';

/** Where the status page reads its facts; a missing source shows as "unknown". */
export interface StatusSources {
  /** Directories whose file system fill is shown (original: /home, /srv, /var). */
  watchDirs: string[];
  /** Linux software RAID state file. */
  mdstatFile: string;
  /** Certificates whose expiry is shown. */
  certificates: { name: string; file: string }[];
  /** File touched by the backup job when it finished. */
  backupStampFile: string;
  /** Result file of the Internet/DDNS check (first line = state). */
  internetStateFile: string;
  /** Folder of the background jobs' state files (`@invis/host` job state). */
  jobsDir: string;
  services: ServiceControl;
  /** Default: the system clock. */
  clock?: Clock;
}

type Unknown = { state: 'unknown' };
const UNKNOWN: Unknown = { state: 'unknown' };

/** The status page's data. */
export interface ServerStatus {
  hostname: string;
  kernel: string;
  time: string;
  uptimeSeconds: number;
  load: number[];
  disks: (
    | { path: string; state: 'ok'; totalBytes: number; freeBytes: number; usedPercent: number }
    | (Unknown & { path: string })
  )[];
  raid: { state: 'ok' | 'degraded'; arrays: { name: string; status: string }[] } | Unknown;
  services: ServiceState[];
  certificates: ({ name: string; state: 'ok'; notAfter: string; daysLeft: number } | (Unknown & { name: string }))[];
  backup: { state: 'ok'; finishedAt: string } | Unknown;
  internet: { state: 'ok'; text: string; checkedAt: string } | Unknown;
  /** Last run, result, next run and last error of every background job that has run. */
  jobs: JobState[];
}

/** Parses `/proc/mdstat`: every `mdX : …` line with its `[UU_]` status. */
export function parseMdstat(text: string): { name: string; status: string }[] {
  const arrays: { name: string; status: string }[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const m = /^(md\w+)\s*:/.exec(line);
    if (!m) return;
    const status = /\[([U_]+)\]/.exec(lines[i + 1] ?? '')?.[1] ?? 'unknown';
    arrays.push({ name: m[1] as string, status });
  });
  return arrays;
}

/**
 * Reads every status source once; each failure becomes "unknown" for that item only.
 * @returns the status page's data
 */
export async function collectStatus(src: StatusSources): Promise<ServerStatus> {
  const now = (src.clock ?? systemClock).now();
  const [disks, raid, certificates, backup, internet, jobs, services] = await Promise.all([
    Promise.all(
      src.watchDirs.map(async (path) => {
        try {
          const s = await statfs(path);
          const total = s.blocks * s.bsize;
          const free = s.bavail * s.bsize;
          const usedPercent = total === 0 ? 0 : Math.round(((total - free) / total) * 1000) / 10;
          return { path, state: 'ok' as const, totalBytes: total, freeBytes: free, usedPercent };
        } catch {
          return { path, ...UNKNOWN };
        }
      }),
    ),
    readFile(src.mdstatFile, 'utf8').then(
      (text) => {
        const arrays = parseMdstat(text);
        return { state: arrays.some((a) => a.status.includes('_')) ? ('degraded' as const) : ('ok' as const), arrays };
      },
      () => UNKNOWN,
    ),
    Promise.all(
      src.certificates.map(async ({ name, file }) => {
        try {
          const cert = new X509Certificate(await readFile(file));
          const notAfter = new Date(cert.validTo);
          const daysLeft = Math.floor((notAfter.getTime() - now.getTime()) / 86_400_000);
          return { name, state: 'ok' as const, notAfter: notAfter.toISOString(), daysLeft };
        } catch {
          return { name, ...UNKNOWN };
        }
      }),
    ),
    stat(src.backupStampFile).then(
      (s) => ({ state: 'ok' as const, finishedAt: s.mtime.toISOString() }),
      () => UNKNOWN,
    ),
    Promise.all([readFile(src.internetStateFile, 'utf8'), stat(src.internetStateFile)]).then(
      ([text, s]) => ({
        state: 'ok' as const,
        text: text.split('\n')[0]?.trim() ?? '',
        checkedAt: s.mtime.toISOString(),
      }),
      () => UNKNOWN,
    ),
    readJobStates(createNodeFs(), src.jobsDir).catch((): JobState[] => []),
    src.services.states(),
  ]);
  return {
    hostname: hostname(),
    kernel: release(),
    time: now.toISOString(),
    uptimeSeconds: Math.floor(uptime()),
    load: loadavg().map((l) => Math.round(l * 100) / 100),
    disks,
    raid,
    services,
    certificates,
    backup,
    internet,
    jobs,
  };
}

/**
 * Caches {@link collectStatus} for `ttlMs` so that many clients polling the status page
 * cost one round of systemctl calls and file reads; readers never wait for a refresh.
 */
export function cachedStatus(src: StatusSources, ttlMs = 5000): () => Promise<ServerStatus> {
  const cache = staleWhileRevalidate(() => collectStatus(src), ttlMs);
  return () => cache.get();
}

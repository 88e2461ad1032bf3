// The steady state of a branch server at scale (issue #21): 5,000 and 100,000 files of mixed
// sizes in a tree of 2,010 folders, synced every few minutes with nothing or 1% changed. Ours vs owncloudcmd
// on the ownCloud-compatible shim, ours vs rclone bisync on rclone serve webdav; time and peak RSS.
// Every tool runs as a whole process per sync under /usr/bin/time, as cron starts it: ours is the
// shipped `invis-sync` (built from this tree; its run's own time from its report is printed beside
// it), the peers as they come. Ratios are of wall times. The peers' copies on the
// server are laid down with `cp -a` (same content and mtimes) before their first sync, which then
// only compares: uploading 100,000 files takes owncloudcmd minutes and bisync about an hour, and
// the first sync is not what is measured here. Ours uploads its copy itself.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWebDav, type WebDavInfo, type WebDavKind } from '@invis/testbed';
import { execa } from 'execa';
import { type Benchmark, type Comparison, formatDuration, type Measurement, median } from './lib';
import {
  bisyncArgs,
  createRemoteFolder,
  invisSyncCli,
  invisSyncWatch,
  owncloudcmdArgs,
  owncloudcmdUrl,
  rcloneEnv,
  timedProcess,
} from './sync-peers';

/** Folder tree: `shape[0]` top folders, each with `shape[1]` sub folders, each with `shape[2]`. */
interface Scale {
  files: number;
  shape: [number, number, number];
  rounds: number;
}

/** 2,010 folders at every size: 10 departments × 10 projects × 19 parts. */
const SHAPE: Scale['shape'] = [10, 10, 19];

/**
 * The sizes to run: `--files=5000,100000` on the `pnpm bench` command line (comma-separated file
 * counts), default 5,000 — the 100,000-file run takes the better part of an hour with its setup.
 */
function scales(quick: boolean): Scale[] {
  const raw = process.argv.find((a) => a.startsWith('--files='))?.slice('--files='.length) ?? '5000';
  const sizes = raw.split(',').map((x) => Number(x.trim().replaceAll('_', '')));
  if (sizes.some((n) => !Number.isInteger(n) || n < 100)) {
    throw new Error(`--files: expected file counts ≥ 100 like 5000,100000, got ${raw}`);
  }
  return sizes.map((files) => ({ files, shape: SHAPE, rounds: quick ? 3 : 5 }));
}

function folders([a, b, c]: Scale['shape']): string[] {
  const out: string[] = [];
  for (let i = 0; i < a; i++) {
    const top = `dept${i}`;
    out.push(top);
    for (let k = 0; k < b; k++) {
      const mid = `${top}/project${k}`;
      out.push(mid);
      for (let m = 0; m < c; m++) out.push(`${mid}/part${m}`);
    }
  }
  return out;
}

/** Deterministic PRNG (mulberry32), so every contender gets the same tree. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EXTS = ['.docx', '.xlsx', '.pdf', '.txt', '.jpg', '.odt'];

/** Sizes: 85% 0.1–4 KiB, 14% 4–64 KiB, 1% 64–512 KiB (about 9 KiB on average). */
function sizeOf(rand: () => number): number {
  const u = rand();
  const span = (lo: number, hi: number): number => Math.floor(lo + rand() * (hi - lo));
  return u < 0.85 ? span(100, 4096) : u < 0.99 ? span(4096, 65536) : span(65536, 524288);
}

interface FileSpec {
  path: string;
  size: number;
}

function treeSpec(scale: Scale): { dirs: string[]; files: FileSpec[] } {
  const dirs = folders(scale.shape);
  const rand = prng(21);
  const files = Array.from({ length: scale.files }, (_, i) => ({
    path: `${dirs[i % dirs.length]}/doc${i}${EXTS[i % EXTS.length]}`,
    size: sizeOf(rand),
  }));
  return { dirs, files };
}

const POOL = Buffer.alloc(1 << 20, 0);
for (let i = 0; i < POOL.length; i++) POOL[i] = (i * 2654435761) >>> 24;

async function writeTree(dir: string, spec: ReturnType<typeof treeSpec>): Promise<void> {
  for (const d of spec.dirs) await mkdir(join(dir, d), { recursive: true });
  for (let i = 0; i < spec.files.length; i += 500) {
    await Promise.all(
      spec.files.slice(i, i + 500).map((f, k) => {
        const at = ((i + k) * 7919) % (POOL.length - f.size);
        return writeFile(join(dir, f.path), POOL.subarray(at, at + f.size));
      }),
    );
  }
}

/** Changes 1% of the files (every 100th, shifted by the round): new content, one byte longer. */
async function changeOnePercent(dir: string, spec: ReturnType<typeof treeSpec>, round: number): Promise<number> {
  const picked = spec.files.filter((_, i) => i % 100 === round % 100);
  for (let i = 0; i < picked.length; i += 200) {
    await Promise.all(
      picked
        .slice(i, i + 200)
        .map((f) => writeFile(join(dir, f.path), POOL.subarray(round, round + f.size + 1 + round))),
    );
  }
  return picked.length;
}

/** One run of a contender: wall time and peak RSS of its process (ours: also its run's own time). */
interface Sample {
  ms: number;
  rssMiB: number;
  runMs?: number;
}

interface Contender {
  label: string;
  dir: string;
  sync(first: boolean): Promise<Sample>;
}

async function ours(info: WebDavInfo, work: string): Promise<Contender> {
  const dir = join(work, 'ours');
  const run = await invisSyncCli(info, work, dir, 'ours');
  return { label: 'ours', dir, sync: run };
}

async function peer(kind: WebDavKind, info: WebDavInfo, work: string): Promise<Contender> {
  if (kind === 'owncloud-shim') {
    const args = await owncloudcmdArgs(info, work);
    const dir = join(work, 'occ');
    return {
      label: 'owncloudcmd',
      dir,
      sync: () => timedProcess('owncloudcmd', [...args, dir, owncloudcmdUrl(info, 'occ')], { HOME: work }),
    };
  }
  const env = await rcloneEnv(info, work);
  const dir = join(work, 'bisync');
  return {
    label: 'rclone bisync',
    dir,
    sync: (first) => timedProcess('rclone', bisyncArgs(dir, 'bisync', work, first), env),
  };
}

const fmtRss = (xs: Sample[]): string => `${Math.max(...xs.map((x) => x.rssMiB))} MiB`;
const fmtS = formatDuration;
/** Ours' wall time, and in brackets its run's own time (without Node's start, loading and exit). */
const fmtOurs = (x: Sample): string => `${fmtS(x.ms)}${x.runMs === undefined ? '' : ` [run ${fmtS(x.runMs)}]`}`;

/** Prints a result line at once (a full run takes long; a stopped one keeps what it measured). */
const say = (line: string): void => console.log(line);

/** The servers of this benchmark; `--servers=` names them. */
const SERVERS = {
  'owncloud-shim': { kind: 'owncloud-shim', etagCache: false, title: 'ownCloud shim' },
  // As ownCloud: folder ETags from a cache renewed on writes, not a hash of the subtree per listing.
  'owncloud-shim-cached': { kind: 'owncloud-shim', etagCache: true, title: 'ownCloud shim, cached ETags' },
  rclone: { kind: 'rclone', etagCache: false, title: 'rclone serve' },
} as const satisfies Record<string, { kind: WebDavKind; etagCache: boolean; title: string }>;
type ServerName = keyof typeof SERVERS;

async function onServer(name: ServerName, scale: Scale): Promise<Comparison[]> {
  const { kind, etagCache, title } = SERVERS[name];
  const server = await startWebDav({ kind, etagCache });
  const work = await mkdtemp(join(tmpdir(), 'invis-bench-syncscale-'));
  const { info } = server;
  const where = `${title}, ${scale.files.toLocaleString('en')} files`;
  try {
    const spec = treeSpec(scale);
    const a = await ours(info, work);
    const b = await peer(kind, info, work);
    await writeTree(a.dir, spec);
    await writeTree(b.dir, spec);
    // The peer's server copy: the same files with the same mtimes, so its first sync only compares.
    const remoteName = b.label === 'owncloudcmd' ? 'occ' : 'bisync';
    await execa('cp', ['-a', b.dir, join(info.dataDir, remoteName)]);
    await createRemoteFolder(info, 'ours');
    const firstOurs = await a.sync(true);
    const firstPeer = await b.sync(true);
    say(
      `${where}: first sync (setup, not measured) ours ${fmtOurs(firstOurs)} (uploads ${scale.files.toLocaleString('en')} files; peak RSS ${firstOurs.rssMiB} MiB), ${b.label} ${fmtS(firstPeer.ms)} (server copy laid down beforehand: compares only; ${firstPeer.rssMiB} MiB)`,
    );
    // The run right after the first one re-lists what the first one changed; not the steady state.
    const settleOurs = await a.sync(false);
    const settlePeer = await b.sync(false);
    say(
      `${where}: no-change right after the first sync ours ${fmtOurs(settleOurs)} (${settleOurs.rssMiB} MiB), ${b.label} ${fmtS(settlePeer.ms)} (${settlePeer.rssMiB} MiB)`,
    );
    const rows: Comparison[] = [];
    const peerMedians = new Map<string, Measurement>();
    const phase = async (task: string, target: string, before?: (dir: string, round: number) => Promise<number>) => {
      const samples: Sample[][] = [[], []];
      let units = scale.files;
      for (let round = 0; round < scale.rounds; round++) {
        const order = round % 2 === 0 ? [0, 1] : [1, 0];
        for (const side of order) {
          const c = side === 0 ? a : b;
          if (before) units = await before(c.dir, round);
          samples[side]?.push(await c.sync(false));
        }
      }
      const [sa = [], sb = []] = samples;
      const m = (label: string, xs: Sample[]): Measurement => ({
        label,
        iterations: units,
        totalMs: median(xs.map((x) => x.ms)),
      });
      peerMedians.set(task, m(b.label, sb));
      rows.push({
        task: `${task} (median of ${scale.rounds}), ${where}`,
        ours: m('ours', sa),
        peer: m(b.label, sb),
        target,
      });
      say(
        `${where}, ${task}: ours ${sa.map(fmtOurs).join(' / ')}, peak RSS ${fmtRss(sa)}; ${b.label} ${sb.map((x) => fmtS(x.ms)).join(' / ')}, peak RSS ${fmtRss(sb)}`,
      );
    };
    await phase('no-change re-sync', '≤ 0.5× of the peer');
    // The first no-change run after a change re-lists the changed folders; it is part of the cost.
    await phase('1% changed', '≤ 0.5× of the peer', (dir, round) => changeOnePercent(dir, spec, round + 1));
    await phase('no-change after a change', '≤ 0.5× of the peer');
    if (kind === 'owncloud-shim') rows.push(...(await watchPhases(info, work, spec, scale, where, peerMedians)));
    return rows;
  } finally {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

/** Seconds between the runs of `invis-sync watch`: room for the bench's changes between two runs. */
const watchIntervalS = (scale: Scale): number => (scale.files > 20_000 ? 5 : 2);

/**
 * `invis-sync watch` on its own copy, started after the other tools are done (its run every
 * few seconds would load their measurements), through the same phases. A sample is one run of the
 * long-running process, timed by itself (there is no process start to count); the changes of a
 * round are written right after a run reported, so the next run finds them. Compared with
 * the peer's medians from the phases before.
 */
async function watchPhases(
  info: WebDavInfo,
  work: string,
  spec: ReturnType<typeof treeSpec>,
  scale: Scale,
  where: string,
  peerMedians: ReadonlyMap<string, Measurement>,
): Promise<Comparison[]> {
  const dir = join(work, 'ours-watch');
  await writeTree(dir, spec);
  await createRemoteFolder(info, 'ours-watch');
  const watch = await invisSyncWatch(info, work, dir, 'ours-watch', watchIntervalS(scale));
  const rows: Comparison[] = [];
  try {
    // The first run uploads, the next ones walk until the new folder watches settle.
    const first = await watch.next();
    let walks = 0;
    while (!(await watch.next()).localSkipped) walks++;
    say(
      `${where}: invis-sync watch, first run (setup, not measured) ${fmtS(first.durationMs)} (uploads ${first.uploaded.toLocaleString('en')} files), then ${walks + 1} walking runs until its folder watch settled`,
    );
    const phase = async (task: string, before?: (dir: string, round: number) => Promise<number>) => {
      const xs: number[] = [];
      let units = scale.files;
      for (let round = 0; round < scale.rounds; round++) {
        await watch.next();
        if (before) units = await before(dir, round);
        // A run that began while the changes were still being written leaves the rest to the
        // next one: a sample is every run until all of them are uploaded.
        let r = await watch.next();
        let ms = r.durationMs;
        for (let uploaded = r.uploaded, runs = 1; before && uploaded < units; runs++) {
          if (runs === 5) throw new Error(`invis-sync watch uploaded ${uploaded} of ${units} in ${runs} runs`);
          r = await watch.next();
          ms += r.durationMs;
          uploaded += r.uploaded;
        }
        xs.push(ms);
      }
      const peer = peerMedians.get(task);
      if (!peer) throw new Error(`no peer measurement for ${task}`);
      rows.push({
        task: `${task}, invis-sync watch (median of ${scale.rounds}), ${where}`,
        ours: { label: 'ours watch', iterations: units, totalMs: median(xs) },
        peer,
        target: '≤ 0.5× of the peer',
      });
      say(`${where}, ${task}: invis-sync watch ${xs.map(fmtS).join(' / ')} (each a run of the running process)`);
    };
    await phase('no-change re-sync');
    await phase('1% changed', (d, round) => changeOnePercent(d, spec, round + 1));
    await phase('no-change after a change');
  } finally {
    say(`${where}: invis-sync watch peak RSS ${await watch.stop()} MiB`);
  }
  return rows;
}

export const benchmark: Benchmark = {
  name: 'sync-scale',
  description:
    "steady state at scale: 5,000 files (--files=5000,100000 adds 100,000; 85% ≤ 4 KiB, 14% ≤ 64 KiB, 1% ≤ 512 KiB) in 2,010 folders three deep, no-change and 1% changed, alternating rounds (median of 5, --quick: 3); the shipped invis-sync vs owncloudcmd 2.11 on the ownCloud shim (folder ETags hashed per listing, and --servers=owncloud-shim-cached: kept as ownCloud keeps them), vs rclone 1.60 bisync on rclone serve webdav (--servers= picks some of owncloud-shim, owncloud-shim-cached, rclone); every tool a whole process per run (wall times; ours' run time without start and exit in brackets), then invis-sync watch through the same phases (each sample a run of the running process); peak RSS of every run",
  async run({ quick }) {
    // `--servers=owncloud-shim,owncloud-shim-cached` leaves out rclone: at 100,000 files every bisync run takes minutes.
    const only = process.argv.find((a) => a.startsWith('--servers='))?.slice('--servers='.length);
    const names = (Object.keys(SERVERS) as ServerName[]).filter(
      (k) => only === undefined || only.split(',').includes(k),
    );
    const rows: Comparison[] = [];
    for (const scale of scales(quick)) for (const name of names) rows.push(...(await onServer(name, scale)));
    return rows;
  },
};

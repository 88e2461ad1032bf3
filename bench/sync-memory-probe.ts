// Child process of `sync-memory.bench.ts`: one dry run of the sync engine (discovery + plan of an
// unchanged tree, nothing executed) in a fresh `node --expose-gc` process, so its peak RSS is
// that of this run alone. Prints one JSON line: time, RSS and heap before and at the peak, and
// the heap still in use after the run and a full GC.
import { createSyncEngine, createWebDavClient } from '../packages/owncloud-sync/src/index';

const [localDir, url, stateDir] = process.argv.slice(2) as [string, string, string];
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const client = createWebDavClient({ url });
const engine = createSyncEngine({ localDir, client, stateDir });
gc();
const before = process.memoryUsage();
let heapPeak = before.heapUsed;
// Heap is sampled whenever the run yields (after every local directory, every reply chunk).
const sampler = setInterval(() => {
  heapPeak = Math.max(heapPeak, process.memoryUsage().heapUsed);
}, 1);
const t0 = performance.now();
const report = await engine.run({ dryRun: true });
const ms = performance.now() - t0;
clearInterval(sampler);
const end = process.memoryUsage();
heapPeak = Math.max(heapPeak, end.heapUsed);
gc();
const retained = process.memoryUsage().heapUsed;
await client.close();
if (report.planned.length > 0) throw new Error(`expected an unchanged tree, planned ${report.planned.length} steps`);
const mib = (bytes: number): number => Math.round((bytes / 1048576) * 10) / 10;
console.log(
  JSON.stringify({
    ms,
    rssBefore: mib(before.rss),
    maxRss: mib(process.resourceUsage().maxRSS * 1024),
    heapBefore: mib(before.heapUsed),
    heapPeak: mib(heapPeak),
    heapAfterGc: mib(retained),
    remoteRequests: report.remoteRequests,
  }),
);

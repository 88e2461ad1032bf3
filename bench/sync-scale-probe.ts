// Child process of `sync-scale.bench.ts`: one real sync run of @invis/owncloud-sync in a fresh
// process (as `invis-sync run` from cron), so its peak RSS is that of this run alone. The
// password comes in INVIS_BENCH_PASSWORD. Prints one JSON line: the run's time (without process
// start), peak RSS, requests and steps.
import { createSyncEngine, createWebDavClient } from '../packages/owncloud-sync/src/index';

const [localDir, url, stateDir, username] = process.argv.slice(2) as [string, string, string, string];
const password = process.env.INVIS_BENCH_PASSWORD ?? '';
const client = createWebDavClient({ url, auth: { type: 'basic', username, password } });
const engine = createSyncEngine({ localDir, client, stateDir });
const t0 = performance.now();
const report = await engine.run();
const ms = performance.now() - t0;
await client.close();
if (report.errors.length > 0) throw new Error(`sync errors: ${JSON.stringify(report.errors.slice(0, 3))}`);
console.log(
  JSON.stringify({
    ms,
    maxRssMiB: Math.round((process.resourceUsage().maxRSS / 1024) * 10) / 10,
    remoteRequests: report.remoteRequests,
    steps: report.planned.length,
  }),
);

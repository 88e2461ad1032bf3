// The portal under load (autocannon, 50 connections) with 5,000 users in a real Samba AD DC:
// GET /api/users?page=… and the status page, against the HTTP floor of the same server
// (a 204 from /favicon.ico) as the peer. Prints p50/p97.5/p99 and the process RSS (server and
// load generator share this process). Target (issue 10): p95 < 100 ms, no RSS growth
// (`--soak`: 10 minutes of load with RSS samples).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdClient } from '@invis/ad-client';
import { composePortal, defaultPortalSettings } from '@invis/portal-1';
import { DEMO_PASSWORD, reserveLoopbackAddress, seedDemoDirectory, startSambaDc } from '@invis/testbed';
import autocannon from 'autocannon';
import type { Benchmark, Comparison, Measurement } from './lib';

const CONNECTIONS = 50;
const USERS = 5000;

interface Load {
  measurement: Measurement;
  p50: number;
  /** autocannon reports 97.5 %, not 95 %: a stricter check of the p95 target. */
  p975: number;
  p99: number;
  errors: number;
  non2xx: number;
  rssMiB: number;
}

async function load(
  label: string,
  url: string,
  headers: Record<string, string>,
  seconds: number,
  paths: string[],
): Promise<Load> {
  let i = 0;
  const result = await autocannon({
    url,
    connections: CONNECTIONS,
    duration: seconds,
    headers,
    requests: [{ setupRequest: (req) => ({ ...req, path: paths[i++ % paths.length] as string }) }],
  });
  const l = result.latency as unknown as Record<string, number>;
  return {
    // per op = mean latency, so the table's ratio compares latencies
    measurement: { label, iterations: result.requests.total, totalMs: result.latency.mean * result.requests.total },
    p50: l.p50 ?? Number.NaN,
    p975: l.p97_5 ?? Number.NaN,
    p99: l.p99 ?? Number.NaN,
    errors: result.errors,
    non2xx: result.non2xx,
    rssMiB: Math.round(process.memoryUsage().rss / 1048576),
  };
}

export const benchmark: Benchmark = {
  name: 'portal',
  description: `portal with ${USERS} users in Samba AD, ${CONNECTIONS} concurrent clients (autocannon); peer = HTTP floor (204) of the same server`,
  async run({ quick }) {
    const seconds = quick ? 3 : 10;
    const dc = await startSambaDc();
    const lo = await reserveLoopbackAddress();
    const dataDir = mkdtempSync(join(tmpdir(), 'portal-bench-'));
    const ad = createAdClient({
      url: dc.info.ldapsUrl,
      bindDN: dc.info.adminDN,
      password: dc.info.adminPassword,
      ca: dc.info.caPem,
    });
    try {
      await seedDemoDirectory(dc.info);
      const base = `CN=Users,${dc.info.baseDN}`;
      const t0 = performance.now();
      // Disabled accounts without passwords: ~5 ms each instead of ~24 ms; the list is what counts here.
      for (let n = 0; n < USERS; n += 20) {
        await Promise.all(
          Array.from({ length: Math.min(20, USERS - n) }, (_, k) => {
            const name = `bench${String(n + k).padStart(5, '0')}`;
            return ad.add(`CN=${name},${base}`, {
              objectClass: 'user',
              sAMAccountName: name,
              givenName: 'Bench',
              sn: String(n + k),
              displayName: `Bench ${n + k}`,
              userAccountControl: 514,
            });
          }),
        );
      }
      console.log(`seeded ${USERS} users in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

      const running = await composePortal(
        {
          ...defaultPortalSettings(),
          PORTAL_HOST: lo.address,
          PORTAL_PORT: 0,
          PORTAL_DATA_DIR: dataDir,
          PORTAL_INTERNAL_NETWORKS: ['127.0.0.0/8'],
          PORTAL_WATCH_DIRS: ['/', tmpdir()],
          PORTAL_CERT_FILES: [`CA=${dc.info.caFile}`],
          PORTAL_BACKUP_STAMP_FILE: join(dataDir, 'none'),
          PORTAL_INETCHECK_FILE: join(dataDir, 'none'),
        },
        {
          ad,
          shares: null,
          tuning: { throttle: { maxPerAddress: 1000 } },
          directLoopbackClients: true,
        },
      );
      const server = running.server;
      try {
        const session = await fetch(`${server.url}/api/session`);
        const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0] as string;
        const { csrfToken } = (await session.json()) as { csrfToken: string };
        const login = await fetch(`${server.url}/api/session`, {
          method: 'POST',
          headers: { cookie, 'x-csrf-token': csrfToken, 'content-type': 'application/json' },
          body: JSON.stringify({ username: 'anna.schmidt', password: DEMO_PASSWORD }),
        });
        const headers = { cookie: (login.headers.get('set-cookie') ?? '').split(';')[0] as string };
        const pages = Array.from({ length: USERS / 50 }, (_, p) => `/api/users?page=${p + 1}&pageSize=50`);

        // Warm-up: the first list read loads all users from the DC; later reads are served from memory.
        await fetch(`${server.url}/api/users?page=1`, { headers });
        const rssStart = Math.round(process.memoryUsage().rss / 1048576);
        const floor = await load('204 floor', server.url, headers, seconds, ['/favicon.ico']);
        const users = await load('GET /api/users', server.url, headers, seconds, pages);
        const status = await load('GET / (status page)', server.url, headers, seconds, ['/']);
        const usersAgain = await load('GET /api/users (again)', server.url, headers, seconds, pages);

        const row = (l: Load) =>
          `| ${l.measurement.label.padEnd(24)} | ${String(l.measurement.iterations).padStart(7)} | ${l.p50} ms | ${l.p975} ms | ${l.p99} ms | ${l.errors}/${l.non2xx} | ${l.rssMiB} MiB |`;
        console.log(
          `\n| run | requests | p50 | p97.5 | p99 | errors/non-2xx | RSS after |\n|---|---|---|---|---|---|---|`,
        );
        for (const l of [floor, users, status, usersAgain]) console.log(row(l));
        console.log(`RSS at start of load: ${rssStart} MiB\n`);

        // `pnpm bench portal --soak`: 10 minutes of mixed load in 30-s rounds, RSS after each round.
        if (process.argv.includes('--soak')) {
          const samples: number[] = [];
          for (let round = 0; round < 20; round++) {
            const l = await load('soak', server.url, headers, 30, [...pages, '/']);
            samples.push(l.rssMiB);
            console.log(
              `soak ${round + 1}/20: ${l.measurement.iterations} requests, p97.5 ${l.p975} ms, RSS ${l.rssMiB} MiB`,
            );
          }
          const half = samples.length / 2;
          const avg = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
          console.log(
            `soak RSS: first half avg ${avg(samples.slice(0, half)).toFixed(0)} MiB, second half avg ${avg(samples.slice(half)).toFixed(0)} MiB\n`,
          );
        }

        const rows: Comparison[] = [
          {
            task: `users page, ${CONNECTIONS} conns`,
            ours: users.measurement,
            peer: floor.measurement,
            target: 'p95 < 100 ms',
          },
          {
            task: `status page, ${CONNECTIONS} conns`,
            ours: status.measurement,
            peer: floor.measurement,
            target: 'p95 < 100 ms',
          },
        ];
        return rows;
      } finally {
        await running.close();
      }
    } finally {
      await ad.close();
      await lo.release();
      await dc.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  },
};

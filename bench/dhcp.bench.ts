// DHCP: (1) validate + render a 2,000-reservation config vs the daemon's own `-t` check of the
// result, for Kea and dhcpd (our overhead should be < 20 % of the check); (2) parse a
// 100,000-line lease file vs the daemon's own reader of that file (kea-lfc compaction,
// `dhcpd -T` lease-file test). Both sides run the same number of times after the same warm-up,
// alternating, and every row reports the median and range of the single runs besides the mean.
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
// bench/ is not a workspace package; import the library from source like the tests do.
import {
  type DhcpConfigInput,
  parseDhcpdLeases,
  parseKeaLeases,
  renderDhcpdConf,
  renderKeaConfig,
  validateDhcpConfig,
} from '../packages/dhcp-config/src/index';
import { type Benchmark, type Measurement, median } from './lib';

const RESERVATIONS = 2000;
const LEASE_LINES = 100_000;
// The portal renders in a long-running process: measure our code JIT-warm (the first cold
// run costs ~30 ms, see README). The daemons get the same unrecorded rounds (page cache, binaries).
const WARMUP = 5;

/** 10.20.0.0/16, pool 10.20.200.1–254, reservations from 10.20.1.1 upwards. */
function bigModel(): DhcpConfigInput {
  return {
    interfaces: ['lo'],
    options: { domainName: 'invis.test', domainNameServers: ['10.20.0.10'], ntpServers: ['10.20.0.10'] },
    subnets: [
      {
        cidr: '10.20.0.0/16',
        pools: [{ start: '10.20.200.1', end: '10.20.200.254' }],
        options: { routers: ['10.20.0.10'] },
      },
    ],
    reservations: Array.from({ length: RESERVATIONS }, (_, i) => ({
      mac: `02:00:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`,
      ip: `10.20.${1 + Math.floor(i / 250)}.${1 + (i % 250)}`,
      hostname: `host-${i}`,
      comment: `room ${i % 40}`,
    })),
  };
}

const hex = (n: number): string => n.toString(16).padStart(2, '0');

function keaLeaseCsv(): string {
  const rows = [
    'address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context',
  ];
  // Renewals of 20,000 addresses: the journal shape kea-lfc exists to compact.
  for (let i = 0; rows.length < LEASE_LINES; i++) {
    const a = i % 20_000;
    rows.push(
      `10.20.${a >> 8}.${a & 255},02:00:00:00:${hex(a >> 8)}:${hex(a & 255)},,3600,${1795889400 + i},1,0,0,pc${a},0,`,
    );
  }
  return `${rows.join('\n')}\n`;
}

function dhcpdLeases(): string {
  const lines: string[] = ['authoring-byte-order little-endian;'];
  for (let i = 0; lines.length < LEASE_LINES; i++) {
    const a = i % 20_000;
    lines.push(
      `lease 10.20.${a >> 8}.${a & 255} {`,
      '  starts 6 2026/11/28 18:00:00;',
      '  ends 6 2026/11/28 19:00:00;',
      '  cltt 6 2026/11/28 18:00:00;',
      '  binding state active;',
      '  next binding state free;',
      '  rewind binding state free;',
      `  hardware ethernet 02:00:00:00:${hex(a >> 8)}:${hex(a & 255)};`,
      `  client-hostname "pc${a}";`,
      '}',
    );
  }
  return `${lines.join('\n')}\n`;
}

async function check(command: string, args: string[], env?: Record<string, string>): Promise<void> {
  const r = await execa(command, args, { reject: false, ...(env ? { env } : {}) });
  if (r.exitCode !== 0) throw new Error(`${command} ${args.join(' ')} failed:\n${r.stderr}${r.stdout}`);
}

/** A Measurement with the spread of its single runs (in `--json` too). */
interface Sampled extends Measurement {
  medianMs: number;
  minMs: number;
  maxMs: number;
}

const ms = (t: number): string => (t >= 100 ? `${t.toFixed(0)} ms` : `${t.toFixed(2)} ms`);

function sampled(label: string, times: number[]): Sampled {
  const medianMs = median(times);
  const minMs = Math.min(...times);
  const maxMs = Math.max(...times);
  return {
    label: `${label} median ${ms(medianMs)} (${ms(minMs)}–${ms(maxMs)})`,
    iterations: times.length,
    totalMs: times.reduce((a, b) => a + b, 0),
    medianMs,
    minMs,
    maxMs,
  };
}

/**
 * Runs our step and then the peer's `runs` times, alternating so both see the same machine load,
 * after `WARMUP` unrecorded rounds of both. `prepare` (untimed) hands the peer its input, e.g.
 * writes the text our step just rendered. Our step's result is read to its last character: V8
 * builds long strings as ropes and copies them flat on first read, work a caller always pays.
 */
async function sideBySide<T>(
  runs: number,
  ours: { label: string; run: () => T },
  peer: { label: string; run: () => Promise<void> },
  prepare: (result: T) => Promise<void> = async () => {},
): Promise<{ ours: Sampled; peer: Sampled; medianRatio: number }> {
  const oursMs: number[] = [];
  const peerMs: number[] = [];
  for (let i = -WARMUP; i < runs; i++) {
    const t0 = performance.now();
    const result = ours.run();
    if (typeof result === 'string') result.charCodeAt(result.length - 1);
    const t1 = performance.now();
    await prepare(result);
    const t2 = performance.now();
    await peer.run();
    const t3 = performance.now();
    if (i >= 0) {
      oursMs.push(t1 - t0);
      peerMs.push(t3 - t2);
    }
  }
  const o = sampled(ours.label, oursMs);
  const p = sampled(peer.label, peerMs);
  return { ours: o, peer: p, medianRatio: o.medianMs / p.medianMs };
}

const medianNote = (r: { medianRatio: number }): string => `; median ratio ${r.medianRatio.toFixed(2)}×`;

export const benchmark: Benchmark = {
  name: 'dhcp',
  description: `validate+render ${RESERVATIONS} reservations vs the daemon's -t check; parse ${LEASE_LINES} lease lines vs the daemon's reader`,
  async run({ quick }) {
    const dir = await mkdtemp(join(tmpdir(), 'invis-bench-dhcp-'));
    const n = quick ? 5 : 50;
    const leaseRuns = quick ? 3 : 20;
    try {
      const input = bigModel();
      const keaFile = join(dir, 'kea-dhcp4.conf');
      const dhcpdFile = join(dir, 'dhcpd.conf');
      const keaSettings = { controlSocket: join(dir, 'kea.sock'), leaseFile: join(dir, 'leases.csv') };
      const env = { KEA_LOCKFILE_DIR: dir, KEA_PIDFILE_DIR: dir };

      // Each round: our validate + render, then the daemon's check of exactly that text.
      const kea = await sideBySide(
        n,
        { label: 'validate+render', run: () => renderKeaConfig(validateDhcpConfig(input), keaSettings) },
        { label: 'kea-dhcp4 -t', run: () => check('kea-dhcp4', ['-t', keaFile], env) },
        (text) => writeFile(keaFile, text),
      );
      const dhcpd = await sideBySide(
        n,
        { label: 'validate+render', run: () => renderDhcpdConf(validateDhcpConfig(input)) },
        { label: 'dhcpd -t', run: () => check('dhcpd', ['-t', '-q', '-cf', dhcpdFile]) },
        (text) => writeFile(dhcpdFile, text),
      );

      const csv = keaLeaseCsv();
      const csvFile = join(dir, 'in.csv');
      await writeFile(csvFile, csv);
      // kea-lfc consumes its input: copy it back before each run (untimed, in `prepare`).
      const keaLeases = await sideBySide(
        leaseRuns,
        { label: 'parseKeaLeases', run: () => parseKeaLeases(csv) },
        {
          label: 'kea-lfc',
          run: () =>
            check(
              'kea-lfc',
              [
                '-4',
                '-p',
                join(dir, 'lfc.pid'),
                '-x',
                join(dir, 'prev.csv'),
                '-i',
                join(dir, 'copy.csv'),
                '-o',
                join(dir, 'out.csv'),
                '-f',
                join(dir, 'fin.csv'),
                '-c',
                keaFile,
              ],
              env,
            ),
        },
        async () => {
          await copyFile(csvFile, join(dir, 'copy.csv'));
          await rm(join(dir, 'prev.csv'), { force: true });
        },
      );

      const leases = dhcpdLeases();
      const leaseFile = join(dir, 'dhcpd.leases');
      await writeFile(leaseFile, leases);
      const dhcpdLeaseRows = await sideBySide(
        leaseRuns,
        { label: 'parseDhcpdLeases', run: () => parseDhcpdLeases(leases) },
        { label: 'dhcpd -T', run: () => check('dhcpd', ['-T', '-q', '-cf', dhcpdFile, '-lf', leaseFile]) },
      );

      return [
        {
          task: `Kea config, ${RESERVATIONS} reservations${medianNote(kea)}`,
          ours: kea.ours,
          peer: kea.peer,
          target: '< 0.20× of kea-dhcp4 -t',
        },
        {
          task: `dhcpd.conf, ${RESERVATIONS} hosts${medianNote(dhcpd)}`,
          ours: dhcpd.ours,
          peer: dhcpd.peer,
          target: '< 0.20× of dhcpd -t',
        },
        {
          task: `Kea lease CSV, ${LEASE_LINES} lines${medianNote(keaLeases)}`,
          ours: keaLeases.ours,
          peer: keaLeases.peer,
          target: '< 1 s',
        },
        {
          task: `dhcpd.leases, ${LEASE_LINES} lines${medianNote(dhcpdLeaseRows)}`,
          ours: dhcpdLeaseRows.ours,
          peer: dhcpdLeaseRows.peer,
          target: '< 1 s',
        },
      ];
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

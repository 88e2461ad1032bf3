// Shared benchmark helpers: every benchmark runs our code and the peer tool in the same
// process run and prints one table (ours vs peer vs ratio). Benchmarks never assert times.

/** One measured contender: total wall time for `iterations` operations. */
export interface Measurement {
  label: string;
  iterations: number;
  totalMs: number;
}

/** One row of the result table: our measurement against a peer's. */
export interface Comparison {
  task: string;
  ours: Measurement;
  peer: Measurement;
  /** e.g. "≤ 1.15× of ldapadd" — printed, not asserted. */
  target?: string;
}

/** A named benchmark; `run` starts what it needs (testbed), measures, stops, and returns rows. */
export interface Benchmark {
  name: string;
  description: string;
  run(options: { quick: boolean }): Promise<Comparison[]>;
}

/** Runs `op` `iterations` times sequentially after `warmup` unmeasured runs. */
export async function measure(
  label: string,
  iterations: number,
  op: (i: number) => Promise<unknown>,
  warmup = 1,
): Promise<Measurement> {
  for (let i = 0; i < warmup; i++) await op(-1 - i);
  const t0 = performance.now();
  for (let i = 0; i < iterations; i++) await op(i);
  return { label, iterations, totalMs: performance.now() - t0 };
}

/** Times one batch operation that does `iterations` units of work at once. */
export async function measureBatch(
  label: string,
  iterations: number,
  op: () => Promise<unknown>,
): Promise<Measurement> {
  const t0 = performance.now();
  await op();
  return { label, iterations, totalMs: performance.now() - t0 };
}

/** One side of {@link measureAlternating}: `op(round)` does `unitsPerRound` units of work. */
export interface Contender {
  label: string;
  op: (round: number) => Promise<unknown>;
}

/**
 * Runs contenders in alternating rounds (in order, then reversed, …) and returns each one's time
 * per round, so a change of machine load during the run (other processes, GC, disk) hits all
 * of them alike.
 */
export async function alternatingSamples(contenders: readonly Contender[], rounds: number): Promise<number[][]> {
  const samples: number[][] = contenders.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const side = round % 2 === 0 ? k : contenders.length - 1 - k;
      const t0 = performance.now();
      await contenders[side]?.op(round);
      samples[side]?.push(performance.now() - t0);
    }
  }
  return samples;
}

/** The median of single-run times (the mean of the middle two for an even count). */
export function median(times: readonly number[]): number {
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Two contenders in {@link alternatingSamples} rounds; each side's total time. */
export async function measureAlternating(
  a: Contender,
  b: Contender,
  rounds: number,
  unitsPerRound = 1,
): Promise<[Measurement, Measurement]> {
  const [aTimes = [], bTimes = []] = await alternatingSamples([a, b], rounds);
  const total = (times: number[]): number => times.reduce((x, y) => x + y, 0);
  const iterations = rounds * unitsPerRound;
  return [
    { label: a.label, iterations, totalMs: total(aTimes) },
    { label: b.label, iterations, totalMs: total(bTimes) },
  ];
}

const perOp = (m: Measurement): string => {
  const ms = m.totalMs / m.iterations;
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(0)} µs`;
};

/** A total time for people: seconds from 0.1 s, milliseconds below (a 3 ms run is not "0.00 s"). */
export const formatDuration = (ms: number): string =>
  ms >= 100 ? `${(ms / 1000).toFixed(2)} s` : `${ms.toFixed(1)} ms`;

/** Renders comparisons as a Markdown table (pasteable into READMEs). ratio = ours / peer time. */
export function formatTable(rows: Comparison[]): string {
  const header = ['task', 'ours', 'per op', 'peer', 'per op', 'ratio (ours/peer)', 'target'];
  const lines = rows.map((r) => [
    `${r.task} (×${r.ours.iterations})`,
    `${r.ours.label} ${formatDuration(r.ours.totalMs)}`,
    perOp(r.ours),
    `${r.peer.label} ${formatDuration(r.peer.totalMs)}`,
    perOp(r.peer),
    `${(r.ours.totalMs / r.ours.iterations / (r.peer.totalMs / r.peer.iterations)).toFixed(2)}×`,
    r.target ?? '',
  ]);
  const all = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const fmt = (row: string[]): string => `| ${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}

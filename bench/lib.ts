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
 * Runs two contenders in alternating rounds (a b, b a, a b, …) and sums each side's time, so a
 * change of machine load during the run (other processes, GC, disk) hits both sides alike.
 */
export async function measureAlternating(
  a: Contender,
  b: Contender,
  rounds: number,
  unitsPerRound = 1,
): Promise<[Measurement, Measurement]> {
  const total = [0, 0];
  const sides = [a, b] as const;
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const side of order) {
      const t0 = performance.now();
      await sides[side]?.op(round);
      total[side] = (total[side] ?? 0) + performance.now() - t0;
    }
  }
  const iterations = rounds * unitsPerRound;
  return [
    { label: a.label, iterations, totalMs: total[0] ?? 0 },
    { label: b.label, iterations, totalMs: total[1] ?? 0 },
  ];
}

const perOp = (m: Measurement): string => {
  const ms = m.totalMs / m.iterations;
  return ms >= 100 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(0)} µs`;
};

/** Renders comparisons as a Markdown table (pasteable into READMEs). ratio = ours / peer time. */
export function formatTable(rows: Comparison[]): string {
  const header = ['task', 'ours', 'per op', 'peer', 'per op', 'ratio (ours/peer)', 'target'];
  const lines = rows.map((r) => [
    `${r.task} (×${r.ours.iterations})`,
    `${r.ours.label} ${(r.ours.totalMs / 1000).toFixed(2)} s`,
    perOp(r.ours),
    `${r.peer.label} ${(r.peer.totalMs / 1000).toFixed(2)} s`,
    perOp(r.peer),
    `${(r.ours.totalMs / r.ours.iterations / (r.peer.totalMs / r.peer.iterations)).toFixed(2)}×`,
    r.target ?? '',
  ]);
  const all = [header, ...lines];
  const widths = header.map((_, i) => Math.max(...all.map((row) => (row[i] ?? '').length)));
  const fmt = (row: string[]): string => `| ${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
  return [fmt(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...lines.map(fmt)].join('\n');
}

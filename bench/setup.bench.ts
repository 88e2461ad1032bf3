// invis-setup's wall times against the budgets of issue 16: `plan` of every module and `apply`
// into a staging root (--root, in this process as the CLI test runs it), then `apply` of the
// whole server inside the testbed's server sandbox (invis-setup as its own process there, the
// supervisor playing systemd) and a second `apply` that changes nothing. There is no peer: the
// "peer" column is the budget, so the ratio is the share of it used. Each row names the load
// average (/proc/loadavg) it ran under; the machine is shared.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setupCli, startWholeServer } from '../apps/setup/demo/whole-server';
import { runCli } from '../apps/setup/src/cli';
import { serverRunner, stageServer } from '../apps/setup/test/integration/helpers';
import type { Benchmark, Comparison } from './lib';

const ANSWERS = join(import.meta.dirname, '../apps/setup/demo/demo.yaml');

/** The first three fields of /proc/loadavg (1, 5, 15 minutes). */
const load = (): string => readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

/** invis-setup in this process, as the CLI test runs it; fails on any exit but 0. */
async function cli(argv: string[]): Promise<void> {
  let output = '';
  const append = (text: string): void => {
    output += text;
  };
  const code = await runCli([...argv, '--lang', 'en'], {
    stdout: append,
    stderr: append,
    env: {},
    isTty: false,
    runner: serverRunner(),
  });
  if (code !== 0) throw new Error(`invis-setup ${argv.join(' ')} exited ${code}: ${output}`);
}

/** One timed step as a row: ours against its budget. */
async function timed(task: string, budgetMs: number, target: string, op: () => Promise<void>): Promise<Comparison> {
  const before = load();
  const t0 = performance.now();
  await op();
  const totalMs = performance.now() - t0;
  return {
    task: `${task} [load ${before}]`,
    ours: { label: 'invis-setup', iterations: 1, totalMs },
    peer: { label: 'budget', iterations: 1, totalMs: budgetMs },
    target,
  };
}

export const benchmark: Benchmark = {
  name: 'setup',
  description: 'invis-setup wall times: plan and apply --root, whole-server apply in the sandbox, second apply',
  async run() {
    const rows: Comparison[] = [];
    const dir = await mkdtemp(join(tmpdir(), 'invis-bench-setup-'));
    try {
      const root = join(dir, 'root');
      await stageServer(root);
      await cli(['init', '--answers', ANSWERS, '--root', root]);
      rows.push(await timed('plan, all modules (--root)', 2000, '< 2 s', () => cli(['plan', '--root', root])));
      rows.push(await timed('apply --root', 10_000, '< 10 s', () => cli(['apply', '--root', root])));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const whole = await startWholeServer('invis-bench-setup-');
    try {
      const apply = async (): Promise<void> => {
        const result = await setupCli(whole.sandbox, ['apply']);
        if (result.code !== 0) throw new Error(`invis-setup apply: ${JSON.stringify(result.doc)}`);
      };
      await setupCli(whole.sandbox, ['init', '--answers', ANSWERS]);
      rows.push(await timed('whole-server apply (sandbox)', 90_000, '< 90 s', apply));
      rows.push(await timed('second apply (sandbox)', 5000, '< 5 s', apply));
    } finally {
      await whole.stop();
    }
    return rows;
  },
};

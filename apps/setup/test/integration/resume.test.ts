// An apply killed with SIGKILL while a module is applying resumes at that module.
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createExecaRunner } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '../../../..');
const fixture = join(import.meta.dirname, '../fixtures/slow-apply.ts');
const nodeArgs = ['--conditions=@invis/source', '--import', 'tsx', fixture];

describe('resume after SIGKILL', () => {
  const dir = useTempDir('setup-resume-');

  it('finds the killed module "applying" and applies it (only it) again', async () => {
    const root = join(dir(), 'root');
    const child = spawn(process.execPath, [...nodeArgs, root, 'hang'], {
      cwd: repo,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_, signal) => resolve(signal)));
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        if (out.includes('applying\n')) resolve();
      });
      child.on('exit', () => reject(new Error(`child ended early: ${out}`)));
    });
    child.kill('SIGKILL');
    expect(await exited).toBe('SIGKILL');

    const state = JSON.parse(await readFile(join(root, 'var/lib/invis/setup/state.json'), 'utf8'));
    expect(state.modules.first.status).toBe('applied');
    expect(state.modules.slow.status).toBe('applying');

    const rerun = await createExecaRunner().run(process.execPath, [...nodeArgs, root, 'finish'], {
      cwd: repo,
      timeoutMs: 60_000,
    });
    expect(rerun.exitCode, rerun.stderr).toBe(0);
    const events = rerun.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(events[0]).toEqual({ type: 'resume', module: 'slow' });
    expect(events.filter((e) => e.type === 'start').map((e) => e.module)).toEqual(['slow']);
    const after = JSON.parse(await readFile(join(root, 'var/lib/invis/setup/state.json'), 'utf8'));
    expect(after.modules.slow.status).toBe('applied');
    expect(await readFile(join(root, 'etc/demo/slow.conf'), 'utf8')).toBe('slow\n');
  });
});

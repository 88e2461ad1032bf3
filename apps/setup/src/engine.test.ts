import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { applyReport, emptyPlan, fixedClock } from '@invis/host';
import { createRecordingServiceManager, createScriptedRunner, useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { validateAnswers } from './answers';
import { type ApplyEvent, createEngine } from './engine';
import { fileModule, type ModuleContext, noChangePlan, type SetupModule } from './module';
import { PROFILES } from './profiles';
import { createRootedFs } from './rooted-fs';
import { createSecretStore } from './secrets';
import { createStateStore, STATE_PATH } from './state';

const answers = validateAnswers(
  {
    hostname: 'invis',
    domain: 'invis-net.loc',
    interfaces: { intern: 'intern', extern: 'extern' },
    lan: { address: '192.168.220.10/24' },
    ssh: { port: 55022 },
  },
  'en',
);

describe('engine and file modules', () => {
  const dir = useTempDir('setup-engine-');

  async function setup(
    options: { staging?: boolean; failing?: string[]; checker?: { exitCode: number; stderr?: string } } = {},
  ) {
    const fs = await createRootedFs(dir());
    const services = createRecordingServiceManager(options.failing ? { failing: options.failing } : {});
    const runner = createScriptedRunner({ checker: options.checker ?? { exitCode: 0 } });
    const ctx: ModuleContext = {
      answers,
      secrets: createSecretStore(fs),
      fs,
      runner,
      services,
      profile: PROFILES['debian-12'] as (typeof PROFILES)['debian-12'],
      clock: fixedClock('2026-01-02T03:04:05Z'),
      progress: () => undefined,
      staging: options.staging ?? false,
      lang: 'en',
    };
    return { fs, services, runner, ctx };
  }

  const demo = (content: string) =>
    fileModule({
      id: 'demo',
      title: { de: 'Demo', en: 'Demo' },
      dependsOn: ['base'],
      render: () => ({
        directories: [{ path: '/etc/demo', mode: 0o755 }],
        files: [
          {
            path: '/etc/demo/demo.conf',
            content,
            mode: 0o644,
            check: (c, p) => c.runner.run('checker', [p]).then((r) => ({ ok: r.exitCode === 0, message: r.stderr })),
          },
        ],
        services: [{ unit: 'demo', action: 'reload' }],
        commands: [],
      }),
    });
  const base: SetupModule = {
    id: 'base',
    title: { de: 'Basis', en: 'Base' },
    dependsOn: [],
    plan: async () => noChangePlan(),
    apply: async () => applyReport(emptyPlan()),
    verify: async () => [{ name: 'base', ok: true }],
  };

  it('plans a diff, applies it with checker and reload, then has nothing to do', async () => {
    const { ctx, services, runner, fs } = await setup();
    const engine = createEngine({ modules: [demo('a = 1\n'), base], ctx, state: createStateStore(fs, ctx.clock) });
    const [, planned] = await engine.plan([]);
    expect(planned?.plan.directories).toEqual(['/etc/demo']);
    expect(planned?.plan.files[0]).toMatchObject({ action: 'create', path: '/etc/demo/demo.conf' });
    expect(planned?.plan.services).toEqual([{ unit: 'demo', action: 'reload' }]);

    const events: ApplyEvent[] = [];
    const results = await engine.apply([], (e) => events.push(e));
    expect(results.map((r) => [r.module, r.changed])).toEqual([
      ['base', false],
      ['demo', true],
    ]);
    expect(await readFile(join(dir(), 'etc/demo/demo.conf'), 'utf8')).toBe('a = 1\n');
    expect(services.actions).toEqual(['reload demo']);
    // The checker saw a candidate beside the target, which is gone afterwards.
    expect(runner.calls[0]?.args[0]).toMatch(new RegExp(`^${dir()}/etc/demo/\\.invis-check-[^/]+/demo\\.conf$`));
    expect(await fs.readdir('/etc/demo')).toEqual(['demo.conf']);
    expect(await engine.status()).toEqual([
      { module: 'base', status: 'applied', at: '2026-01-02T03:04:05.000Z' },
      { module: 'demo', status: 'applied', at: '2026-01-02T03:04:05.000Z' },
    ]);

    const stateBefore = await readFile(join(dir(), STATE_PATH), 'utf8');
    const again = await engine.apply([]);
    expect(again.every((r) => !r.changed)).toBe(true);
    expect(services.actions).toEqual(['reload demo']);
    expect(await readFile(join(dir(), STATE_PATH), 'utf8')).toBe(stateBefore);
    expect((await engine.verify(['demo'])).flatMap((v) => v.checks.map((c) => c.ok))).toEqual([true, true]);
  });

  it('writes nothing when the checker refuses, and records the failure', async () => {
    const { ctx, services, fs } = await setup({ checker: { exitCode: 1, stderr: 'line 1: bad option' } });
    const engine = createEngine({ modules: [base, demo('bad\n')], ctx, state: createStateStore(fs, ctx.clock) });
    await expect(engine.apply([])).rejects.toMatchObject({
      code: 'SETUP_CHECK_FAILED',
      message: '/etc/demo/demo.conf: line 1: bad option',
    });
    expect(await fs.exists('/etc/demo/demo.conf')).toBe(false);
    expect(services.actions).toEqual([]);
    const status = await engine.status();
    expect(status[1]).toMatchObject({ module: 'demo', status: 'failed', error: { code: 'SETUP_CHECK_FAILED' } });
  });

  it('puts the previous file back when the reload fails', async () => {
    const { ctx, fs } = await setup({ failing: ['reload demo'] });
    await fs.mkdir('/etc/demo');
    await writeFile(join(dir(), 'etc/demo/demo.conf'), 'old\n');
    const engine = createEngine({ modules: [base, demo('new\n')], ctx, state: createStateStore(fs, ctx.clock) });
    await expect(engine.apply(['demo'])).rejects.toMatchObject({ code: 'HOST_SERVICE_FAILED' });
    expect(await readFile(join(dir(), 'etc/demo/demo.conf'), 'utf8')).toBe('old\n');
  });

  it('does no service action when staging', async () => {
    const { ctx, services, fs } = await setup({ staging: true });
    const engine = createEngine({ modules: [base, demo('a\n')], ctx, state: createStateStore(fs, ctx.clock) });
    const [, planned] = await engine.plan([]);
    expect(planned?.plan.services).toEqual([]);
    await engine.apply([]);
    expect(services.actions).toEqual([]);
  });

  it('resumes at the module that failed, leaving the applied ones alone', async () => {
    const { ctx, fs } = await setup();
    let calls = 0;
    let fail = true;
    const flaky: SetupModule = {
      ...base,
      id: 'flaky',
      dependsOn: ['demo'],
      plan: async () => ({ ...emptyPlan(), commands: [{ command: 'x', args: [] }], directories: [] }),
      apply: async () => {
        calls++;
        if (fail) throw new Error('interrupted');
        return applyReport(emptyPlan());
      },
    };
    const state = createStateStore(fs, ctx.clock);
    const engine = createEngine({ modules: [base, demo('a\n'), flaky], ctx, state });
    await expect(engine.apply([])).rejects.toThrow('interrupted');
    expect((await state.read()).modules.flaky?.status).toBe('failed');
    fail = false;
    const events: ApplyEvent[] = [];
    const results = await engine.apply([], (e) => events.push(e));
    expect(events[0]).toEqual({ type: 'resume', module: 'flaky' });
    expect(events.filter((e) => e.type === 'start').map((e) => e.module)).toEqual(['flaky']);
    expect(results.map((r) => r.module)).toEqual(['base', 'demo', 'flaky']);
    expect(calls).toBe(2);
    expect((await state.read()).modules.flaky?.status).toBe('applied');
  });

  it('treats a module left "applying" as interrupted and applies it again', async () => {
    const { ctx, fs } = await setup();
    const state = createStateStore(fs, ctx.clock);
    await state.mark('base', 'applied');
    await state.mark('demo', 'applying');
    const engine = createEngine({ modules: [base, demo('a\n')], ctx, state });
    const events: ApplyEvent[] = [];
    await engine.apply([], (e) => events.push(e));
    expect(events[0]).toEqual({ type: 'resume', module: 'demo' });
    expect((await state.read()).modules.demo?.status).toBe('applied');
  });

  it('refuses a state file that is not state', async () => {
    const { ctx, fs } = await setup();
    await fs.mkdir('/var/lib/invis/setup');
    await writeFile(join(dir(), STATE_PATH), '{"version":2}');
    const engine = createEngine({ modules: [base], ctx, state: createStateStore(fs, ctx.clock) });
    await expect(engine.apply([])).rejects.toMatchObject({ code: 'SETUP_STATE_CORRUPT' });
  });
});

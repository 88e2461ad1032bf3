// Runs modules in dependency order over one context: plan, apply (with persisted state, so a
// run that died resumes), verify and status.
import { type ApplyReport, planChanges } from '@invis/host';
import { errorJson } from './errors';
import { topoOrder } from './graph';
import type { ModuleContext, ModulePlan, SetupModule, VerifyCheck } from './module';
import { type ModuleStatus, moduleStatuses, resumePoint, type StateStore } from './state';

/** What happens during an apply, for progress displays. */
export type ApplyEvent =
  | { type: 'resume'; module: string }
  | { type: 'start'; module: string; index: number; total: number }
  | { type: 'done'; module: string; index: number; total: number; changed: boolean }
  | { type: 'failed'; module: string; index: number; total: number; error: { code: string; message: string } };

/** The result of one module's apply. */
export interface ModuleApply {
  module: string;
  changed: boolean;
  report: ApplyReport;
}

/** The setup engine over a module list. */
export interface SetupEngine {
  /** Module ids in apply order: `wanted` plus their dependencies (all when empty). */
  order(wanted: readonly string[]): string[];
  plan(wanted: readonly string[]): Promise<{ module: string; plan: ModulePlan }[]>;
  /** Applies in order; stops at the first failure (rethrown after the state says `failed`). */
  apply(wanted: readonly string[], onEvent?: (event: ApplyEvent) => void): Promise<ModuleApply[]>;
  verify(wanted: readonly string[]): Promise<{ module: string; checks: VerifyCheck[] }[]>;
  status(): Promise<{ module: string; status: ModuleStatus; at?: string; error?: { code: string; message: string } }[]>;
}

/**
 * The engine. The whole registry's dependencies are checked on creation.
 * @param options modules, the context they run in, the state store
 * @returns the engine
 * @throws SetupError `SETUP_MODULE_CYCLE`, `SETUP_UNKNOWN_MODULE`
 */
export function createEngine(options: {
  modules: readonly SetupModule[];
  ctx: ModuleContext;
  state: StateStore;
}): SetupEngine {
  const { modules, ctx, state } = options;
  const byId = new Map(modules.map((m) => [m.id, m]));
  const get = (id: string): SetupModule => byId.get(id) as SetupModule;
  topoOrder(modules, []);
  const order = (wanted: readonly string[]) => topoOrder(modules, wanted);
  return {
    order,
    async plan(wanted) {
      const out: { module: string; plan: ModulePlan }[] = [];
      for (const id of order(wanted)) out.push({ module: id, plan: await get(id).plan(ctx) });
      return out;
    },
    async apply(wanted, onEvent = () => undefined) {
      const ids = order(wanted);
      const before = await state.read();
      const resume = resumePoint(before, ids);
      if (resume) onEvent({ type: 'resume', module: resume });
      const results: ModuleApply[] = [];
      for (const [index, id] of ids.entries()) {
        const module = get(id);
        const total = ids.length;
        // A module applied before whose plan is empty has nothing to do: no state churn either.
        if (before.modules[id]?.status === 'applied') {
          const plan = await module.plan(ctx);
          if (!planChanges(plan) && plan.directories.length === 0) {
            onEvent({ type: 'done', module: id, index, total, changed: false });
            results.push({ module: id, changed: false, report: { ...plan, changed: false, timings: {} } });
            continue;
          }
        }
        onEvent({ type: 'start', module: id, index, total });
        await state.mark(id, 'applying');
        try {
          const report = await module.apply(ctx);
          await state.mark(id, 'applied');
          onEvent({ type: 'done', module: id, index, total, changed: report.changed });
          results.push({ module: id, changed: report.changed, report });
        } catch (error) {
          const { code, message } = errorJson(error);
          await state.mark(id, 'failed', { code, message });
          onEvent({ type: 'failed', module: id, index, total, error: { code, message } });
          throw error;
        }
      }
      return results;
    },
    async verify(wanted) {
      const out: { module: string; checks: VerifyCheck[] }[] = [];
      for (const id of order(wanted)) out.push({ module: id, checks: await get(id).verify(ctx) });
      return out;
    },
    async status() {
      const current = await state.read();
      const statuses = moduleStatuses(current, order([]));
      return Object.entries(statuses).map(([module, status]) => {
        const entry = current.modules[module];
        return {
          module,
          status,
          ...(entry ? { at: entry.at } : {}),
          ...(entry?.error ? { error: entry.error } : {}),
        };
      });
    },
  };
}

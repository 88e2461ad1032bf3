// Per-module progress, persisted atomically so an interrupted run resumes: a module is marked
// `applying` before its apply and `applied` (or `failed`) after; `applying` found at start means
// the previous run died inside it.
import type { Clock } from '@invis/host';
import { z } from 'zod';
import { SetupError } from './errors';
import type { SetupFs } from './rooted-fs';

/** Where the state lives (below the root when staging). */
export const STATE_PATH = '/var/lib/invis/setup/state.json';

const moduleStateSchema = z.object({
  status: z.enum(['applying', 'applied', 'failed']),
  /** ISO time of the last status change. */
  at: z.string(),
  /** Code and message of the failure (never a secret: errors carry none). */
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

const stateSchema = z.object({ version: z.literal(1), modules: z.record(z.string(), moduleStateSchema) });

/** The state of one module. */
export type ModuleState = z.infer<typeof moduleStateSchema>;
/** The whole state file. */
export type SetupState = z.infer<typeof stateSchema>;
/** What `status` shows per module. */
export type ModuleStatus = ModuleState['status'] | 'pending';

/** Reads and updates the state file. */
export interface StateStore {
  read(): Promise<SetupState>;
  /** Sets one module's status and writes the file atomically. */
  mark(id: string, status: ModuleState['status'], error?: { code: string; message: string }): Promise<void>;
}

/**
 * The state store on `fs`.
 * @param fs the (rooted) file system
 * @param clock stamps each change
 * @returns the store
 * @throws SetupError `SETUP_STATE_CORRUPT` from `read` when the file is not valid state
 */
export function createStateStore(fs: SetupFs, clock: Clock): StateStore {
  const read = async (): Promise<SetupState> => {
    const text = await fs.readFileIfExists(STATE_PATH);
    if (text === undefined) return { version: 1, modules: {} };
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new SetupError('SETUP_STATE_CORRUPT', `${STATE_PATH} is not JSON`, { cause: error });
    }
    const parsed = stateSchema.safeParse(data);
    if (!parsed.success) throw new SetupError('SETUP_STATE_CORRUPT', `${STATE_PATH} is not a setup state file`);
    return parsed.data;
  };
  return {
    read,
    async mark(id, status, error) {
      const state = await read();
      state.modules[id] = { status, at: clock.now().toISOString(), ...(error ? { error } : {}) };
      await fs.mkdir('/var/lib/invis', 0o755);
      await fs.mkdir('/var/lib/invis/setup', 0o700);
      await fs.writeFileAtomic(STATE_PATH, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
    },
  };
}

/**
 * The module to resume at: the first one (in apply order) the state shows `applying` or `failed`.
 * @param state the state
 * @param order module ids in apply order
 * @returns that id, or undefined when the last run finished cleanly
 */
export function resumePoint(state: SetupState, order: readonly string[]): string | undefined {
  return order.find((id) => {
    const status = state.modules[id]?.status;
    return status === 'applying' || status === 'failed';
  });
}

/**
 * The status of every module in `order`.
 * @param state the state
 * @param order module ids
 * @returns id → status (`pending` when never applied)
 */
export function moduleStatuses(state: SetupState, order: readonly string[]): Record<string, ModuleStatus> {
  return Object.fromEntries(order.map((id) => [id, state.modules[id]?.status ?? 'pending']));
}

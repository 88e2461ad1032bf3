// A host change touches three systems (AD computer object, DHCP reservation, DNS A/PTR) that
// share no transaction. The saga records an undo for every action that succeeded and, when a
// later one fails, runs the undos in reverse order, so a failed change leaves nothing behind.
import { isInvisError } from '@invis/host';
import { isPortalError, PortalError } from './errors';

/** The parts of a host change, in the order a create runs them. */
export type HostStep = 'computer' | 'dhcp' | 'dns-a' | 'dns-ptr';

/** What a change does in one step, and how to take it back. */
export interface Saga {
  /**
   * Runs `action` as part of `step`; if it succeeds and `undo` is given, `undo` is remembered
   * for a rollback. An action without undo must be the last one that can fail.
   */
  run<T>(step: HostStep, action: () => Promise<T>, undo?: () => Promise<unknown>): Promise<T>;
  /**
   * Waits for parts started at once (each a `run`, on systems that do not depend on each other)
   * and passes on the first failure only when every part has ended, so the rollback never races
   * a part that is still being written.
   */
  all(parts: readonly Promise<unknown>[]): Promise<void>;
}

/** The library error code behind a failure (`DNS_UPDATE_REFUSED`, `AD_…`), for details and logs. */
export function reasonOf(e: unknown): string {
  if (isPortalError(e)) return (e.details?.reason as string | undefined) ?? e.code;
  if (isInvisError(e)) return e.code;
  return 'UNKNOWN';
}

/**
 * Runs `body` as a saga: on an error every recorded undo runs, newest first.
 * @returns what `body` returned
 * @throws PortalError PORTAL_HOST_FAILED (502) when a step failed and everything was undone
 *   (`details.step`, `details.reason`, `details.rolledBack: true`); PORTAL_HOST_ROLLBACK_INCOMPLETE
 *   (500) when an undo failed too (`details.leftOver` lists the steps whose change remains).
 *   A PortalError thrown before any action (validation, conflict) passes through unchanged.
 */
export async function runSaga<T>(body: (saga: Saga) => Promise<T>): Promise<T> {
  const undos: { step: HostStep; undo: () => Promise<unknown> }[] = [];
  let current: HostStep | null = null;
  // Which step threw an error: with parts running at once the failed one need not be `current`.
  const stepOf = new WeakMap<object, HostStep>();
  const isObject = (e: unknown): e is object => typeof e === 'object' && e !== null;
  const saga: Saga = {
    async run(step, action, undo) {
      current = step;
      const result = await action().catch((e: unknown) => {
        if (isObject(e) && !stepOf.has(e)) stepOf.set(e, step);
        throw e;
      });
      if (undo) undos.push({ step, undo });
      return result;
    },
    async all(parts) {
      const settled = await Promise.allSettled(parts);
      const rejected = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (rejected) throw rejected.reason;
    },
  };
  try {
    return await body(saga);
  } catch (e) {
    if (current === null) throw e;
    const step: HostStep = (isObject(e) && stepOf.get(e)) || current;
    const leftOver: HostStep[] = [];
    for (const { step: done, undo } of undos.reverse()) {
      try {
        await undo();
      } catch (undoError) {
        // Keep undoing the rest: each undo that works is one system less out of step.
        console.error(`portal: undo of host step ${done} failed: ${reasonOf(undoError)}`);
        leftOver.push(done);
      }
    }
    const reason = reasonOf(e);
    if (leftOver.length > 0) {
      throw new PortalError(
        'PORTAL_HOST_ROLLBACK_INCOMPLETE',
        `host step ${step} failed (${reason}) and the rollback of ${leftOver.join(', ')} failed too`,
        { cause: e, details: { step, reason, rolledBack: false, leftOver } },
      );
    }
    throw new PortalError('PORTAL_HOST_FAILED', `host step ${step} failed (${reason}); every part was rolled back`, {
      cause: e,
      details: { step, reason, rolledBack: true },
    });
  }
}

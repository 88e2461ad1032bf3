// A ServiceManager for unit tests: records actions, fails the ones it is told to.
import { HostError, type ServiceManager } from '@invis/host';

/** A recording service manager. */
export interface RecordingServiceManager extends ServiceManager {
  /** `action unit` per call, e.g. `reload kea-dhcp4-server`. */
  readonly actions: string[];
  /** Units that are active (start adds, stop removes). */
  readonly active: Set<string>;
}

/**
 * A service manager that records every action; actions named in `failing` (`reload named`)
 * reject with `HOST_SERVICE_FAILED` like systemctl would.
 * @param options units active at the start, actions that fail
 * @returns the manager
 */
export function createRecordingServiceManager(
  options: { active?: readonly string[]; failing?: readonly string[] } = {},
): RecordingServiceManager {
  const actions: string[] = [];
  const active = new Set(options.active ?? []);
  const act = async (action: string, unit: string, effect: () => void): Promise<void> => {
    actions.push(`${action} ${unit}`);
    if (options.failing?.includes(`${action} ${unit}`)) {
      throw new HostError('HOST_SERVICE_FAILED', `systemctl ${action} ${unit} failed`, { details: { unit, action } });
    }
    effect();
  };
  return {
    actions,
    active,
    start: (unit) => act('start', unit, () => active.add(unit)),
    stop: (unit) => act('stop', unit, () => active.delete(unit)),
    restart: (unit) => act('restart', unit, () => active.add(unit)),
    reload: (unit) => act('reload', unit, () => undefined),
    reloadOrRestart: (unit) => act('reload-or-restart', unit, () => active.add(unit)),
    isActive: async (unit) => active.has(unit),
  };
}

// Service control behind one interface: systemd on a real server, a supervisor in the
// whole-server sandbox (which has no systemd), a recording fake in unit tests.
import { HostError } from './errors';
import { type CommandRunner, lastOutputLine } from './runner';

/** Starts, stops and reloads services by unit name (`kea-dhcp4-server`, `postfix`, …). */
export interface ServiceManager {
  start(unit: string): Promise<void>;
  stop(unit: string): Promise<void>;
  restart(unit: string): Promise<void>;
  /** Asks the service to re-read its configuration without stopping. */
  reload(unit: string): Promise<void>;
  /** Reload when the unit supports it, else restart; starts a stopped unit. */
  reloadOrRestart(unit: string): Promise<void>;
  isActive(unit: string): Promise<boolean>;
}

const UNIT_NAME = /^[A-Za-z0-9_@][A-Za-z0-9:_.@\\-]*$/;

/**
 * The systemd {@link ServiceManager} (`systemctl`), through the given runner.
 * @param options the runner
 * @returns a service manager
 * @throws HostError `HOST_SERVICE_FAILED` from each action when systemctl fails, or before anything
 *   runs when the unit name is malformed (option-like, blanks, shell characters)
 * @example await createSystemdServiceManager({ runner: createExecaRunner() }).reload('named');
 */
export function createSystemdServiceManager(options: { runner: CommandRunner }): ServiceManager {
  const systemctl = async (verb: string, unit: string): Promise<void> => {
    assertUnitName(unit);
    const result = await options.runner.run('systemctl', [verb, '--', unit]);
    if (result.exitCode !== 0) {
      throw new HostError('HOST_SERVICE_FAILED', `systemctl ${verb} ${unit} failed: ${lastOutputLine(result)}`, {
        details: { unit, action: verb, exitCode: result.exitCode },
      });
    }
  };
  return {
    start: (unit) => systemctl('start', unit),
    stop: (unit) => systemctl('stop', unit),
    restart: (unit) => systemctl('restart', unit),
    reload: (unit) => systemctl('reload', unit),
    reloadOrRestart: (unit) => systemctl('reload-or-restart', unit),
    async isActive(unit) {
      assertUnitName(unit);
      return (await options.runner.run('systemctl', ['is-active', '--quiet', '--', unit])).exitCode === 0;
    },
  };
}

function assertUnitName(unit: string): void {
  if (!UNIT_NAME.test(unit)) {
    throw new HostError('HOST_SERVICE_FAILED', `not a unit name: ${JSON.stringify(unit)}`, { details: { unit } });
  }
}

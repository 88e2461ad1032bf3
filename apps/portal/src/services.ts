import { type CommandRunner, createSystemdServiceManager, isHostError, type ServiceManager } from '@invis/host';
import { PortalError } from './errors';

/** The named services an admin may control, mapped to their systemd units (Debian names). */
export const SERVICE_UNITS = {
  samba: 'samba-ad-dc',
  dns: 'named',
  dhcp: 'kea-dhcp4-server',
  smtp: 'postfix',
  imap: 'dovecot',
  fetchmail: 'fetchmail',
  vpn: 'openvpn-server@invis',
  firewall: 'firewalld',
} as const;
export type ServiceName = keyof typeof SERVICE_UNITS;
export const SERVICE_NAMES = Object.keys(SERVICE_UNITS) as ServiceName[];

/** The only actions that exist; anything else cannot even be expressed. */
export const SERVICE_ACTIONS = ['start', 'stop', 'restart', 'reload'] as const;
export type ServiceAction = (typeof SERVICE_ACTIONS)[number];

/** State of one service; `unknown` when systemd could not be asked. */
export interface ServiceState {
  name: ServiceName;
  unit: string;
  state: 'active' | 'inactive' | 'failed' | 'activating' | 'unknown';
}

/** Service states and the allow-listed actions. */
export interface ServiceControl {
  states(): Promise<ServiceState[]>;
  run(name: ServiceName, action: ServiceAction): Promise<void>;
}

/** Options of {@link createServiceControl}. */
export interface ServiceControlOptions {
  /** Runs `systemctl is-active` for the states (the host's {@link ServiceManager} only knows active or not). */
  runner: CommandRunner;
  /** Carries out the actions; default: systemd through `runner`. */
  services?: ServiceManager;
  /** Name → unit table (default {@link SERVICE_UNITS}; a platform profile may differ). */
  units?: Readonly<Record<ServiceName, string>>;
}

const KNOWN_STATES = new Set(['active', 'inactive', 'failed', 'activating']);
/** A hanging `systemctl` must not hold an admin's request (or the status page) forever. */
const SYSTEMCTL_TIMEOUT_MS = 30_000;

/**
 * Service control with a fixed allow-list: the name and action are looked up in constant
 * tables, so no request value ever reaches the command line or the service manager.
 * @param options the runner, the service manager and the unit table
 * @returns the states and the actions
 * @throws PortalError from `run`: PORTAL_NOT_FOUND / PORTAL_VALIDATION outside the allow-list,
 *   PORTAL_SERVICE_ACTION_FAILED when the service manager fails (its error is the `cause`)
 */
export function createServiceControl(options: ServiceControlOptions): ServiceControl {
  const runner: CommandRunner = {
    run: (command, args, runOptions) =>
      options.runner.run(command, args, { timeoutMs: SYSTEMCTL_TIMEOUT_MS, ...runOptions }),
  };
  const units = options.units ?? SERVICE_UNITS;
  const services = options.services ?? createSystemdServiceManager({ runner });
  const unitOf = (name: ServiceName): string => {
    if (!Object.hasOwn(units, name)) throw new PortalError('PORTAL_NOT_FOUND', `unknown service ${String(name)}`);
    return units[name];
  };
  return {
    async states() {
      return Promise.all(
        SERVICE_NAMES.map(async (name): Promise<ServiceState> => {
          const unit = unitOf(name);
          try {
            const { stdout } = await runner.run('systemctl', ['is-active', '--', unit]);
            const word = stdout.trim();
            return { name, unit, state: KNOWN_STATES.has(word) ? (word as ServiceState['state']) : 'unknown' };
          } catch {
            return { name, unit, state: 'unknown' };
          }
        }),
      );
    },
    async run(name, action) {
      if (!SERVICE_ACTIONS.includes(action)) throw new PortalError('PORTAL_VALIDATION', 'unknown action');
      const unit = unitOf(name);
      try {
        await services[action](unit);
      } catch (cause) {
        const exitCode = isHostError(cause) ? cause.details.exitCode : undefined;
        throw new PortalError(
          'PORTAL_SERVICE_ACTION_FAILED',
          `${action} ${name} failed${typeof exitCode === 'number' ? ` (exit ${exitCode})` : ''}`,
          { cause, details: { name, action, ...(typeof exitCode === 'number' ? { exitCode } : {}) } },
        );
      }
    },
  };
}

import { PortalError } from './errors';

/** Runs a program with an argument array (never a shell string). */
export type CommandRunner = (file: string, args: readonly string[]) => Promise<{ exitCode: number; stdout: string }>;

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

const KNOWN_STATES = new Set(['active', 'inactive', 'failed', 'activating']);

/**
 * Service control through `systemctl` with a fixed allow-list: the name and action are
 * looked up in constant tables, so no request value ever reaches the command line.
 * @param runner the command runner (execa in production)
 * @param units name → unit table (default {@link SERVICE_UNITS}; a platform profile may differ)
 */
export function createServiceControl(
  runner: CommandRunner,
  units: Readonly<Record<ServiceName, string>> = SERVICE_UNITS,
): ServiceControl {
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
            const { stdout } = await runner('systemctl', ['is-active', '--', unit]);
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
      let result: { exitCode: number; stdout: string };
      try {
        result = await runner('systemctl', [action, '--', unit]);
      } catch (cause) {
        throw new PortalError('PORTAL_SERVICE_ACTION_FAILED', `${action} ${name} failed`, {
          cause,
          data: { name, action },
        });
      }
      if (result.exitCode !== 0) {
        throw new PortalError('PORTAL_SERVICE_ACTION_FAILED', `${action} ${name} failed (exit ${result.exitCode})`, {
          data: { name, action, exitCode: result.exitCode },
        });
      }
    },
  };
}

import { createConnection } from 'node:net';
import { type CommandRunner, createSystemdServiceManager, isHostError, type ServiceManager } from '@invis/host';
import { z } from 'zod';
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

/** One answer of setup's privileged service (`invis-setup privileged`). */
export type PrivilegedAnswer =
  | { ok: true; result: unknown }
  | { ok: false; error: { code: string; message: string; details?: Record<string, unknown> | undefined } };

const PrivilegedAnswerSchema = z.union([
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({
    ok: z.literal(false),
    error: z.object({ code: z.string(), message: z.string(), details: z.record(z.string(), z.unknown()).optional() }),
  }),
]);

/** The root side's requests (validated again there: this is only what the portal sends). */
export type PrivilegedRequest =
  | { op: 'vpn.list' }
  | { op: 'vpn.issue' | 'vpn.revoke'; commonName: string }
  | { op: 'vpn.revokeUser'; username: string }
  | { op: 'sync.run'; job: SyncJob };
/** The setup syncs the portal may run at once instead of waiting for their timers. */
export type SyncJob = 'dhcp' | 'mail' | 'homes';

/** Asks root: one request per connection to setup's privileged socket. */
export interface PrivilegedClient {
  /**
   * Sends one request and reads its answer.
   * @throws Error when the socket cannot be reached, is too slow, or answers no valid document
   */
  call(request: PrivilegedRequest): Promise<PrivilegedAnswer>;
}

/** A bundle is a few KiB and a list of certificates not much more; anything larger is no answer. */
const MAX_ANSWER_BYTES = 1 << 20;

/**
 * The client of setup's `invis-privileged.socket` (root:invis-portal 0660): one connection per
 * request, the request as one JSON line, the answer read to the end of the stream.
 * @param options the socket path and how long a request may take (a sync can take minutes)
 * @example const root = createPrivilegedClient({ socket: '/run/invis/privileged.sock' });
 */
export function createPrivilegedClient(options: { socket: string; timeoutMs?: number }): PrivilegedClient {
  const timeoutMs = options.timeoutMs ?? 330_000;
  return {
    call: (request) =>
      new Promise((resolve, reject) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const socket = createConnection(options.socket, () => socket.end(`${JSON.stringify(request)}\n`));
        socket.setTimeout(timeoutMs, () => socket.destroy(new Error(`no answer within ${timeoutMs} ms`)));
        socket.on('data', (chunk: Buffer) => {
          size += chunk.byteLength;
          if (size > MAX_ANSWER_BYTES) socket.destroy(new Error(`an answer larger than ${MAX_ANSWER_BYTES} bytes`));
          else chunks.push(chunk);
        });
        socket.on('error', reject);
        socket.on('end', () => {
          try {
            resolve(PrivilegedAnswerSchema.parse(JSON.parse(Buffer.concat(chunks).toString('utf8'))));
          } catch (cause) {
            reject(new Error('the privileged service answered no valid document', { cause }));
          }
        });
      }),
  };
}

/**
 * Runs one of setup's syncs as root through the privileged socket (instead of `systemctl start`,
 * which the unprivileged portal may not do).
 * @param client the privileged client
 * @param job which sync
 * @throws PortalError PORTAL_SERVICE_ACTION_FAILED when it could not be asked or the sync failed
 */
export async function runPrivilegedSync(client: PrivilegedClient, job: SyncJob): Promise<void> {
  let answer: PrivilegedAnswer;
  try {
    answer = await client.call({ op: 'sync.run', job });
  } catch (cause) {
    throw new PortalError('PORTAL_SERVICE_ACTION_FAILED', `sync ${job} could not be started`, {
      cause,
      details: { job },
    });
  }
  if (!answer.ok) {
    throw new PortalError('PORTAL_SERVICE_ACTION_FAILED', `sync ${job} failed: ${answer.error.code}`, {
      details: { job, code: answer.error.code },
    });
  }
}

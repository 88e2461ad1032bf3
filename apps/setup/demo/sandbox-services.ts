// The sandbox has no systemd: its services run under the testbed's supervisor in the test's
// process. invis-setup runs inside the sandbox as its own process (so its LDAPS connections, files
// and commands are the server's, and a SIGKILL hits only it); its service actions reach the
// supervisor over a unix socket — one JSON line each way per action.
import { createConnection, createServer, type Server } from 'node:net';
import { HostError, type ServiceManager } from '@invis/host';

const ACTIONS = ['start', 'stop', 'restart', 'reload', 'reloadOrRestart', 'isActive'] as const;
type Action = (typeof ACTIONS)[number];
interface Request {
  action: Action;
  unit: string;
}
type Reply = { ok: true; active?: boolean } | { ok: false; message: string };

/**
 * Serves `services` on a unix socket at `path` (a host path; the sandbox reaches it as
 * `/proc/<this pid>/root<path>`).
 * @param services the supervisor
 * @param path the socket
 * @returns the listening server (close it)
 */
export async function serveServices(services: ServiceManager, path: string): Promise<Server> {
  const server = createServer((socket) => {
    let input = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      input += chunk;
      const end = input.indexOf('\n');
      if (end === -1) return;
      void answer(services, input.slice(0, end)).then((reply) => socket.end(`${JSON.stringify(reply)}\n`));
    });
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, resolve);
  });
  return server;
}

async function answer(services: ServiceManager, line: string): Promise<Reply> {
  try {
    const request = JSON.parse(line) as Request;
    if (!ACTIONS.includes(request.action) || typeof request.unit !== 'string') {
      return { ok: false, message: `bad request ${line}` };
    }
    if (request.action === 'isActive') return { ok: true, active: await services.isActive(request.unit) };
    await services[request.action](request.unit);
    return { ok: true };
  } catch (error) {
    return { ok: false, message: (error as Error).message };
  }
}

/**
 * The client side: a {@link ServiceManager} whose actions the server at `path` carries out.
 * @param path the socket as this process sees it
 * @returns the service manager
 */
export function servicesClient(path: string): ServiceManager {
  const call = (action: Action, unit: string): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const socket = createConnection(path);
      let output = '';
      socket.setEncoding('utf8');
      socket.on('connect', () => socket.write(`${JSON.stringify({ action, unit })}\n`));
      socket.on('data', (chunk: string) => {
        output += chunk;
      });
      socket.on('end', () => {
        try {
          resolve(JSON.parse(output) as Reply);
        } catch (error) {
          reject(error);
        }
      });
      socket.on('error', reject);
    });
  const act = (action: Exclude<Action, 'isActive'>) => async (unit: string) => {
    const reply = await call(action, unit);
    if (!reply.ok) throw new HostError('HOST_SERVICE_FAILED', reply.message, { details: { unit, action } });
  };
  return {
    start: act('start'),
    stop: act('stop'),
    restart: act('restart'),
    reload: act('reload'),
    reloadOrRestart: act('reloadOrRestart'),
    async isActive(unit) {
      const reply = await call('isActive', unit);
      if (!reply.ok) throw new HostError('HOST_SERVICE_FAILED', reply.message, { details: { unit } });
      return reply.active === true;
    },
  };
}

// Kea's UNIX control socket: one JSON command per connection, one JSON answer back.
import { createConnection } from 'node:net';
import { DhcpConfigError } from './errors';

/** Kea's answer: `result` 0 success, 1 error, 2 unsupported, 3 empty (success, nothing found). */
export interface KeaResponse {
  result: number;
  text?: string;
  arguments?: unknown;
}

/** A client for one Kea control socket. */
export interface KeaControl {
  /**
   * Sends one command (`config-reload`, `config-set`, `config-write`, `lease4-get-all`, …).
   * @throws DhcpConfigError `DHCP_KEA_COMMAND_FAILED` (result 1 or 2), `DHCP_KEA_SOCKET_ERROR`
   */
  command(name: string, args?: Record<string, unknown>): Promise<KeaResponse>;
}

/** Options of {@link createKeaControl}. */
export interface KeaControlOptions {
  /** `control-socket.socket-name` of the Kea config. */
  socketPath: string;
  /** Per command; default 10 s. */
  timeoutMs?: number;
}

/**
 * Creates a control-socket client. Each command opens a connection, writes the JSON and reads
 * until the answer parses (Kea closes the connection after answering).
 * @param options socket path and timeout
 * @returns the client
 * @example await createKeaControl({ socketPath: '/run/kea/kea4-ctrl-socket' }).command('config-reload')
 */
export function createKeaControl(options: KeaControlOptions): KeaControl {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return {
    command(name, args) {
      const request = JSON.stringify(args === undefined ? { command: name } : { command: name, arguments: args });
      return new Promise<KeaResponse>((resolve, reject) => {
        const socket = createConnection(options.socketPath);
        let buffer = '';
        let settled = false;
        const fail = (error: DhcpConfigError): void => {
          if (settled) return;
          settled = true;
          socket.destroy();
          reject(error);
        };
        const socketError = (message: string, cause?: unknown): DhcpConfigError =>
          new DhcpConfigError('DHCP_KEA_SOCKET_ERROR', `Kea control socket ${options.socketPath}: ${message}`, {
            cause,
            details: { command: name },
          });
        const tryAnswer = (final: boolean): void => {
          let parsed: unknown;
          try {
            parsed = JSON.parse(buffer);
          } catch (e) {
            if (final) fail(socketError(buffer ? 'answer is not JSON' : 'closed without an answer', e));
            return;
          }
          // Commands sent to a socket of several services answer with a list.
          const answer = (Array.isArray(parsed) ? parsed[0] : parsed) as KeaResponse | undefined;
          if (typeof answer?.result !== 'number') {
            fail(socketError('answer has no result'));
            return;
          }
          if (answer.result === 1 || answer.result === 2) {
            const text = answer.text ?? `result ${answer.result}`;
            fail(
              new DhcpConfigError('DHCP_KEA_COMMAND_FAILED', `Kea ${name}: ${text}`, {
                details: { command: name, result: answer.result },
              }),
            );
            return;
          }
          settled = true;
          socket.end();
          resolve(answer);
        };
        socket.setTimeout(timeoutMs, () => fail(socketError(`no answer to ${name} within ${timeoutMs} ms`)));
        socket.on('error', (e) => fail(socketError((e as Error).message, e)));
        socket.on('data', (chunk) => {
          buffer += chunk.toString('utf8');
          tryAnswer(false);
        });
        socket.on('end', () => {
          if (!settled) tryAnswer(true);
        });
        socket.on('connect', () => socket.write(request));
      });
    },
  };
}

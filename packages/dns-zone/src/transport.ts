// UDP with TCP fallback (truncated answers, messages over 512 bytes), RFC 1035 §4.2.
import { createSocket } from 'node:dgram';
import { isIPv6, Socket } from 'node:net';
import { DnsZoneError } from './errors';

/** Where and how to send DNS messages. */
export interface DnsServerAddress {
  /** IP address of the server. */
  server: string;
  /** Default 53. */
  port?: number;
  /** Per-attempt timeout, default 2000 ms. */
  timeoutMs?: number;
  /** UDP attempts before giving up, default 2. */
  udpAttempts?: number;
}

/** Sends one message and returns the response; the seam for tests and other transports. */
export type DnsTransport = (message: Buffer, target: DnsServerAddress) => Promise<Buffer>;

const UDP_LIMIT = 512;

function timeoutError(target: DnsServerAddress, proto: string): DnsZoneError {
  return new DnsZoneError('DNS_TIMEOUT', `no answer from ${target.server}:${target.port ?? 53} over ${proto}`, {
    details: { server: target.server, port: target.port ?? 53, protocol: proto },
  });
}

function networkError(target: DnsServerAddress, cause: unknown): DnsZoneError {
  return new DnsZoneError(
    'DNS_NETWORK',
    `network error talking to ${target.server}:${target.port ?? 53}: ${String(cause)}`,
    {
      cause,
      details: { server: target.server, port: target.port ?? 53 },
    },
  );
}

/** One UDP attempt; resolves with the first datagram carrying our id from the server. */
function udpOnce(message: Buffer, target: DnsServerAddress): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIPv6(target.server) ? 'udp6' : 'udp4');
    const id = message.readUInt16BE(0);
    const done = (fn: () => void): void => {
      clearTimeout(timer);
      socket.close();
      fn();
    };
    const timer = setTimeout(() => done(() => resolve(undefined)), target.timeoutMs ?? 2000);
    socket.on('message', (msg, rinfo) => {
      if (rinfo.address !== target.server || msg.length < 2 || msg.readUInt16BE(0) !== id) return; // not ours
      done(() => resolve(msg));
    });
    socket.on('error', (error) => done(() => reject(networkError(target, error))));
    socket.send(message, target.port ?? 53, target.server);
  });
}

/**
 * Sends one message over TCP (2-byte length framing) and hands every response message to
 * `accept` until it returns true (one for a query, several for a zone transfer).
 *
 * @throws {DnsZoneError} `DNS_TIMEOUT`, `DNS_NETWORK`, or what `accept` throws
 */
export function sendTcpStream(
  message: Buffer,
  target: DnsServerAddress,
  accept: (response: Buffer) => boolean,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (error?: unknown): void => {
      if (settled) return;
      settled = true;
      socket.destroy();
      if (error) reject(error);
      else resolve();
    };
    socket.setTimeout(target.timeoutMs ?? 2000, () => finish(timeoutError(target, 'TCP')));
    socket.on('error', (error) => finish(networkError(target, error)));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        const length = received.readUInt16BE(0);
        const response = received.subarray(2, 2 + length);
        received = received.subarray(2 + length);
        try {
          if (accept(response)) {
            finish();
            return;
          }
        } catch (error) {
          finish(error);
          return;
        }
      }
    });
    socket.on('end', () => finish(networkError(target, new Error('connection closed before the full response'))));
    socket.connect(target.port ?? 53, target.server, () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length);
      socket.write(Buffer.concat([length, message]));
    });
  });
}

/** One TCP connection carrying several exchanges at once; see {@link openTcpSession}. */
export interface DnsTcpSession {
  /**
   * Sends one message and resolves with the answer carrying its id (answers may come in any
   * order). The ids of messages in flight must differ.
   * @throws {DnsZoneError} `DNS_TIMEOUT`, `DNS_NETWORK` (then every other exchange fails too)
   */
  exchange(message: Buffer): Promise<Buffer>;
  /** Closes the connection; exchanges still waiting fail with `DNS_NETWORK`. */
  close(): void;
}

/**
 * Opens one TCP connection for pipelined exchanges (RFC 7766 §6.2.1.1): messages are written
 * without waiting for earlier answers, and answers are matched by message id. A timeout of one
 * exchange (`timeoutMs` without its answer) or a socket error ends the session.
 *
 * @param target server address and per-exchange timeout
 * @returns the session; close it when done
 * @example
 * const tcp = openTcpSession({ server: '127.0.0.1' });
 * try { await Promise.all(messages.map((m) => tcp.exchange(m))); } finally { tcp.close(); }
 */
export function openTcpSession(target: DnsServerAddress): DnsTcpSession {
  const socket = new Socket();
  const pending = new Map<number, { resolve: (answer: Buffer) => void; reject: (error: unknown) => void }>();
  let received = Buffer.alloc(0);
  let failure: unknown;
  const fail = (error: unknown): void => {
    failure ??= error;
    socket.destroy();
    for (const waiter of pending.values()) waiter.reject(failure);
    pending.clear();
  };
  socket.setNoDelay(true);
  socket.on('error', (error) => fail(networkError(target, error)));
  socket.on('end', () => fail(networkError(target, new Error('connection closed by the server'))));
  socket.on('data', (chunk) => {
    received = received.length === 0 ? chunk : Buffer.concat([received, chunk]);
    while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
      const answer = received.subarray(2, 2 + received.readUInt16BE(0));
      received = received.subarray(2 + answer.length);
      if (answer.length < 2) continue;
      pending.get(answer.readUInt16BE(0))?.resolve(answer); // an unknown id is not ours: ignored
    }
  });
  socket.connect(target.port ?? 53, target.server);
  return {
    exchange(message) {
      if (failure) return Promise.reject(failure);
      const id = message.readUInt16BE(0);
      if (pending.has(id)) return Promise.reject(new DnsZoneError('DNS_WIRE_INVALID', `message id ${id} is in flight`));
      if (message.length > 0xffff) {
        return Promise.reject(new DnsZoneError('DNS_WIRE_INVALID', 'message longer than 65535 octets'));
      }
      return new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => fail(timeoutError(target, 'TCP')), target.timeoutMs ?? 2000);
        pending.set(id, {
          resolve: (answer) => {
            clearTimeout(timer);
            pending.delete(id);
            resolve(answer);
          },
          reject: (error) => {
            clearTimeout(timer);
            reject(error);
          },
        });
        const length = Buffer.alloc(2);
        length.writeUInt16BE(message.length);
        socket.write(Buffer.concat([length, message]));
      });
    },
    close() {
      fail(networkError(target, new Error('session closed')));
    },
  };
}

/** One exchange over TCP. */
export const sendTcp: DnsTransport = async (message, target) => {
  let first: Buffer | undefined;
  await sendTcpStream(message, target, (response) => {
    first = response;
    return true;
  });
  return first as Buffer;
};

/**
 * Default transport: UDP (retried), TCP when the message exceeds 512 bytes or the UDP
 * answer has the TC bit.
 *
 * @throws {DnsZoneError} `DNS_TIMEOUT`, `DNS_NETWORK`
 */
export const udpWithTcpFallback: DnsTransport = async (message, target) => {
  if (message.length > UDP_LIMIT) return sendTcp(message, target);
  for (let attempt = 0; attempt < (target.udpAttempts ?? 2); attempt++) {
    const response = await udpOnce(message, target);
    if (!response) continue;
    const truncated = response.length >= 4 && (response.readUInt16BE(2) & 0x200) !== 0;
    return truncated ? sendTcp(message, target) : response;
  }
  throw timeoutError(target, 'UDP');
};

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
    data: { server: target.server, port: target.port ?? 53, protocol: proto },
  });
}

function networkError(target: DnsServerAddress, cause: unknown): DnsZoneError {
  return new DnsZoneError(
    'DNS_NETWORK',
    `network error talking to ${target.server}:${target.port ?? 53}: ${String(cause)}`,
    {
      cause,
      data: { server: target.server, port: target.port ?? 53 },
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

/** One exchange over TCP with 2-byte length framing. */
export function sendTcp(message: Buffer, target: DnsServerAddress): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = new Socket();
    let received = Buffer.alloc(0);
    const fail = (error: DnsZoneError): void => {
      socket.destroy();
      reject(error);
    };
    socket.setTimeout(target.timeoutMs ?? 2000, () => fail(timeoutError(target, 'TCP')));
    socket.on('error', (error) => fail(networkError(target, error)));
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        socket.end();
        resolve(received.subarray(2, 2 + received.readUInt16BE(0)));
      }
    });
    socket.on('end', () => fail(networkError(target, new Error('connection closed before a full response'))));
    socket.connect(target.port ?? 53, target.server, () => {
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length);
      socket.write(Buffer.concat([length, message]));
    });
  });
}

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

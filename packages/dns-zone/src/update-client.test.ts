// How updateBatch splits a merged UPDATE the server rejects, counted on a scripted TCP DNS
// server (the answers a real BIND gives are tested in test/integration/batch.test.ts).
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RCODES } from './constants';
import { createDnsUpdateClient, type UpdateRequest } from './update-client';

let server: Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

/** A TCP DNS server answering every message with `rcode(message)` (unsigned, no records); counts them. */
async function scripted(rcode: (message: Buffer) => number): Promise<{ port: number; messages: () => number }> {
  let count = 0;
  server = createServer((socket) => {
    let received = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        const message = received.subarray(2, 2 + received.readUInt16BE(0));
        received = received.subarray(2 + message.length);
        count++;
        const answer = Buffer.alloc(14);
        answer.writeUInt16BE(12, 0);
        answer.writeUInt16BE(message.readUInt16BE(0), 2); // id
        answer.writeUInt16BE(0x8000 | (5 << 11) | rcode(message), 4); // QR, opcode UPDATE, rcode
        socket.write(answer);
      }
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { port: address.port, messages: () => count };
}

const zone = 'batch.test';
const requests = (count: number): UpdateRequest[] =>
  Array.from({ length: count }, (_, i) => ({
    zone,
    updates: [
      {
        op: 'add',
        record: { name: `${i === 50 ? 'bad' : `h${i}`}.${zone}`, ttl: 60, type: 'A', address: '192.0.2.1' },
      },
    ],
  }));

describe('updateBatch splitting a rejected merged UPDATE', () => {
  it('halves it around the one record the server rejects: 15 messages for 100, not 101', async () => {
    const bad = Buffer.from('\x03bad', 'latin1');
    const fake = await scripted((m) => (m.includes(bad) ? RCODES.byName.NOTZONE : RCODES.byName.NOERROR));
    const client = createDnsUpdateClient({ server: '127.0.0.1', port: fake.port });
    const results = await client.updateBatch(requests(100));
    expect(results[50]).toMatchObject({ ok: false, error: { code: 'DNS_OUT_OF_ZONE' } });
    expect(results.filter((r) => r.ok)).toHaveLength(99);
    // 1 merged + 7 levels of halving (100 → 50 → 25 → 13 → 7 → 4 → 2 → 1) with two halves each.
    expect(fake.messages()).toBe(15);
  });

  it('gives a zone-wide answer (NOTAUTH) to every request at once, without sending them again', async () => {
    const fake = await scripted(() => RCODES.byName.NOTAUTH);
    const client = createDnsUpdateClient({ server: '127.0.0.1', port: fake.port });
    const results = await client.updateBatch(requests(100));
    expect(results).toHaveLength(100);
    expect(results.every((r) => !r.ok && r.error.code === 'DNS_ZONE_NOT_FOUND')).toBe(true);
    expect(fake.messages()).toBe(1);
  });
});

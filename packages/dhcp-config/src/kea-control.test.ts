import { createServer } from 'node:net';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeaControl } from './kea-control';

// A stand-in UNIX socket server speaking Kea's framing; the real Kea is in test/integration.
describe('createKeaControl', () => {
  const dir = useTempDir('invis-kea-ctl-', { shared: true });
  let socketPath: string;
  const server = createServer((socket) => {
    socket.once('data', (data) => {
      const { command } = JSON.parse(data.toString()) as { command: string };
      if (command === 'split') {
        socket.write('{"result": 0, "text": "in ');
        setTimeout(() => socket.end('two parts", "arguments": {"x": 1}}'), 20);
      } else if (command === 'garbage') socket.end('nope');
      else if (command === 'silent') socket.end();
      else if (command === 'hang') return;
      else socket.end(JSON.stringify([{ result: command === 'bad' ? 1 : 0, text: `did ${command}` }]));
    });
  });

  beforeAll(async () => {
    socketPath = join(dir(), 'sock');
    await new Promise<void>((r) => server.listen(socketPath, r));
  });
  afterAll(async () => {
    server.close();
  });

  it('sends a command and reads an answer split over packets or wrapped in a list', async () => {
    const ctl = createKeaControl({ socketPath });
    expect(await ctl.command('split')).toEqual({ result: 0, text: 'in two parts', arguments: { x: 1 } });
    expect(await ctl.command('config-reload')).toEqual({ result: 0, text: 'did config-reload' });
  });

  it('maps failures to typed errors', async () => {
    const ctl = createKeaControl({ socketPath, timeoutMs: 200 });
    await expect(ctl.command('bad')).rejects.toMatchObject({ code: 'DHCP_KEA_COMMAND_FAILED', details: { result: 1 } });
    await expect(ctl.command('garbage')).rejects.toMatchObject({ code: 'DHCP_KEA_SOCKET_ERROR', message: /not JSON/ });
    await expect(ctl.command('silent')).rejects.toThrow(/closed without an answer/);
    await expect(ctl.command('hang')).rejects.toThrow(/no answer to hang within 200 ms/);
    await expect(createKeaControl({ socketPath: join(dir(), 'missing') }).command('x')).rejects.toMatchObject({
      code: 'DHCP_KEA_SOCKET_ERROR',
    });
  });
});

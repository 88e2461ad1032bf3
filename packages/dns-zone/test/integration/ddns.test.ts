// The inetcheck successor against real BIND and a local HTTP echo service.

import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createExecaRunner, runChecked } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  createDdnsUpdater,
  createDnsUpdateClient,
  type DdnsState,
  type DnsTransport,
  fileStateStore,
  formatDdnsResult,
  httpEchoSource,
  udpWithTcpFallback,
} from '../../src/index';
import { dig } from '../conformance';

const bind = inject('bind');
const server = { address: bind.address, port: bind.port };
const fqdn = 'invis.dyn.invis.test';
let echo: Server;
let echoUrl: string;
let publicIp = '203.0.113.10';
let echoRequests = 0;
// The test echo has no certificate: plain http is the documented, explicit choice here.
const plainHttp = { allowPlainHttp: true };
const dir = useTempDir('invis-ddns-', { shared: true });

beforeAll(async () => {
  echo = createServer((_req, res) => {
    echoRequests++;
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`${publicIp}\n`);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoUrl = `http://127.0.0.1:${(echo.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => echo.close(() => resolve()));
});

describe('DDNS updater (inetcheck)', () => {
  it('refuses a plain-http echo unless allowed: an on-path answer never reaches BIND', async () => {
    // Over plain http anyone on the path can answer with an address of their choice, and the
    // updater would publish it. The echo here stands for such an answer.
    const before = echoRequests;
    const run = async () =>
      createDdnsUpdater({
        fqdn: 'plain.dyn.invis.test',
        zone: 'dyn.invis.test',
        sources: [httpEchoSource(echoUrl)],
        server: { server: bind.address, port: bind.port, key: bind.tsig },
        state: fileStateStore(join(dir(), 'plain.json')),
      }).run();
    await expect(run()).rejects.toMatchObject({ code: 'DNS_INVALID_SOURCE' });
    expect(echoRequests).toBe(before);
    expect(await dig(server, 'plain.dyn.invis.test', 'A')).toEqual([]);
    // A name that merely starts with 127 is no loopback exception either.
    expect(() => httpEchoSource('http://127.example.com/')).toThrow(
      expect.objectContaining({ code: 'DNS_INVALID_SOURCE' }),
    );
  });

  it('publishes the address, updates only on change, and records state', async () => {
    const stateFile = join(dir(), 'inetcheck.json');
    let updates = 0;
    const counting: DnsTransport = (message, target) => {
      if (((message.readUInt16BE(2) >> 11) & 0xf) === 5) updates++;
      return udpWithTcpFallback(message, target);
    };
    const ddns = createDdnsUpdater({
      fqdn,
      zone: 'dyn.invis.test',
      sources: [
        httpEchoSource(`${echoUrl}missing-service`.replace(/\/\/[^/]+/, '//127.0.0.1:1'), plainHttp),
        httpEchoSource(echoUrl, plainHttp),
      ],
      server: { server: bind.address, port: bind.port, key: bind.tsig },
      client: createDnsUpdateClient({ server: bind.address, port: bind.port, key: bind.tsig, transport: counting }),
      state: fileStateStore(stateFile),
    });

    const first = await ddns.run();
    expect(first).toMatchObject({
      status: 'updated',
      exitCode: 0,
      addresses: { ipv4: '203.0.113.10' },
      sources: { ipv4: echoUrl },
    });
    expect(await dig(server, fqdn, 'A')).toEqual(['203.0.113.10']);
    const { stdout } = await runChecked(createExecaRunner(), 'dig', [
      '+noall',
      '+answer',
      `@${bind.address}`,
      fqdn,
      'A',
    ]);
    expect(stdout).toMatch(/\s60\s+IN\s+A\s+203\.0\.113\.10/);

    const second = await ddns.run();
    expect(second.status).toBe('unchanged');
    expect(updates).toBe(1);

    publicIp = '203.0.113.11';
    const third = await ddns.run();
    expect(third).toMatchObject({
      status: 'updated',
      previous: { ipv4: '203.0.113.10' },
      addresses: { ipv4: '203.0.113.11' },
    });
    expect(await dig(server, fqdn, 'A')).toEqual(['203.0.113.11']);
    expect(updates).toBe(2);

    const state = JSON.parse(await readFile(stateFile, 'utf8')) as DdnsState;
    expect(state).toMatchObject({ fqdn, addresses: { ipv4: '203.0.113.11' }, lastResult: { status: 'updated' } });
    expect(formatDdnsResult(third)).toBe(`${fqdn}: updated (203.0.113.11)`);
    expect(JSON.parse(formatDdnsResult(third, true))).toMatchObject({ status: 'updated', exitCode: 0 });
  });

  it('publishes IPv4 and IPv6 together', async () => {
    const ddns = createDdnsUpdater({
      fqdn: 'dual.dyn.invis.test',
      zone: 'dyn.invis.test',
      families: [4, 6],
      sources: [{ name: 'fixed', lookup: async (family) => (family === 4 ? '203.0.113.20' : '2001:DB8::20') }],
      server: { server: bind.address, port: bind.port, key: bind.tsig },
      state: fileStateStore(join(dir(), 'dual.json')),
    });
    expect(await ddns.run()).toMatchObject({
      status: 'updated',
      addresses: { ipv4: '203.0.113.20', ipv6: '2001:db8::20' },
    });
    expect(await dig(server, 'dual.dyn.invis.test', 'AAAA')).toEqual(['2001:db8::20']);
    expect(await dig(server, 'dual.dyn.invis.test', 'A')).toEqual(['203.0.113.20']);
    expect((await ddns.run()).status).toBe('unchanged');
  });

  it('repairs a record changed behind its back (DNS differs from state)', async () => {
    const stateFile = join(dir(), 'repair.json');
    const options = {
      fqdn: 'repair.dyn.invis.test',
      zone: 'dyn.invis.test',
      sources: [httpEchoSource(echoUrl, plainHttp)],
      server: { server: bind.address, port: bind.port, key: bind.tsig },
      state: fileStateStore(stateFile),
    };
    await createDdnsUpdater(options).run();
    await createDnsUpdateClient(options.server).update({
      zone: 'dyn.invis.test',
      updates: [{ op: 'deleteName', name: 'repair.dyn.invis.test' }],
    });
    expect((await createDdnsUpdater(options).run()).status).toBe('updated');
    expect(await dig(server, 'repair.dyn.invis.test', 'A')).toEqual([publicIp]);
  });

  it('reports failures with exit codes and keeps the last good state', async () => {
    const stateFile = join(dir(), 'fail.json');
    const wrongKey = createDdnsUpdater({
      fqdn: 'fail.dyn.invis.test',
      zone: 'dyn.invis.test',
      sources: [httpEchoSource(echoUrl, plainHttp)],
      server: {
        server: bind.address,
        port: bind.port,
        key: { ...bind.tsig, secret: Buffer.alloc(32, 9).toString('base64') },
      },
      state: fileStateStore(stateFile),
    });
    const failed = await wrongKey.run();
    expect(failed).toMatchObject({ status: 'error', exitCode: 2, error: { code: 'DNS_TSIG_BADSIG' } });
    expect(await dig(server, 'fail.dyn.invis.test', 'A')).toEqual([]);
    expect(JSON.parse(await readFile(stateFile, 'utf8'))).toMatchObject({
      lastResult: { status: 'error', code: 'DNS_TSIG_BADSIG' },
    });

    const offline = await createDdnsUpdater({
      fqdn: 'fail.dyn.invis.test',
      zone: 'dyn.invis.test',
      sources: [httpEchoSource('http://127.0.0.1:1/', plainHttp)],
      server: { server: bind.address, port: bind.port, key: bind.tsig },
      state: fileStateStore(stateFile),
    }).run();
    expect(offline).toMatchObject({ status: 'error', exitCode: 1, error: { code: 'DNS_IP_LOOKUP_FAILED' } });
    expect(formatDdnsResult(offline)).toMatch(/^fail\.dyn\.invis\.test: ERROR DNS_IP_LOOKUP_FAILED: /);
  });
});

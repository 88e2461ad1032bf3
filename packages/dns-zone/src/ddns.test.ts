import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DdnsResult, httpEchoSource, interfaceSource, runDdnsCheck, upnpRouterSource } from './ddns';

let server: Server;
let base: string;
let body = '';
let lastSoapAction: string | undefined;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/fail') {
      res.writeHead(503).end();
      return;
    }
    lastSoapAction = req.headers.soapaction as string | undefined;
    res.writeHead(200, { 'content-type': 'text/plain' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('public address sources', () => {
  it('reads the first address of the family from an HTTP echo (text, HTML, JSON)', async () => {
    const source = httpEchoSource(`${base}/ip`, { allowPlainHttp: true });
    body = '203.0.113.5\n';
    expect(await source.lookup(4)).toBe('203.0.113.5');
    body = '16.0\n<html><body>Your IP: 198.51.100.7 and 2001:db8::1</body></html>';
    expect(await source.lookup(4)).toBe('198.51.100.7');
    expect(await source.lookup(6)).toBe('2001:db8::1');
    body = '{"ip":"192.0.2.9"}';
    expect(await source.lookup(4)).toBe('192.0.2.9');
    body = 'no address here';
    expect(await source.lookup(4)).toBeUndefined();
    await expect(httpEchoSource(`${base}/fail`, { allowPlainHttp: true }).lookup(4)).rejects.toThrow('HTTP 503');
  });

  it('takes https only unless plain http is explicitly allowed; no host is exempt', async () => {
    for (const url of [`${base}/ip`, 'http://127.example.com/', 'http://localhost/', 'HTTP://[::1]/', 'ftp://x/']) {
      expect(() => httpEchoSource(url), url).toThrow(expect.objectContaining({ code: 'DNS_INVALID_SOURCE' }));
    }
    expect(() => httpEchoSource('ftp://x/', { allowPlainHttp: true })).toThrow(/only https and http/);
    expect(() => httpEchoSource('https://')).toThrow(expect.objectContaining({ code: 'DNS_INVALID_SOURCE' }));
    expect(httpEchoSource('api.ipify.org').name).toBe('https://api.ipify.org/');
    body = '203.0.113.6';
    expect(await httpEchoSource(`${base}/ip`, { allowPlainHttp: true }).lookup(4)).toBe('203.0.113.6');
  });

  it('refuses an https echo that redirected to plain http', async () => {
    const redirected = httpEchoSource('https://echo.example/', {
      fetch: async () => ({ ok: true, status: 200, url: 'http://echo.example/', text: async () => '203.0.113.8' }),
    });
    await expect(redirected.lookup(4)).rejects.toMatchObject({ code: 'DNS_INVALID_SOURCE' });
    const stayed = httpEchoSource('https://echo.example/', {
      fetch: async () => ({ ok: true, status: 200, url: 'https://echo.example/ip', text: async () => '203.0.113.8' }),
    });
    expect(await stayed.lookup(4)).toBe('203.0.113.8');
  });

  it('asks a UPnP IGD router for its external address', async () => {
    body =
      '<s:Envelope><s:Body><u:GetExternalIPAddressResponse><NewExternalIPAddress>203.0.113.77</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>';
    const source = upnpRouterSource(`${base}/igdupnp/control/WANIPConn1`);
    expect(await source.lookup(4)).toBe('203.0.113.77');
    expect(lastSoapAction).toBe('"urn:schemas-upnp-org:service:WANIPConnection:1#GetExternalIPAddress"');
    expect(await source.lookup(6)).toBeUndefined();
  });

  it('reads an interface address, skipping link-local IPv6', async () => {
    const source = interfaceSource('dsl0', {
      networkInterfaces: () => ({
        dsl0: [
          { address: 'fe80::1', family: 'IPv6', internal: false, netmask: '', mac: '', cidr: null, scopeid: 2 },
          { address: '2001:db8::42', family: 'IPv6', internal: false, netmask: '', mac: '', cidr: null, scopeid: 0 },
          { address: '203.0.113.8', family: 'IPv4', internal: false, netmask: '', mac: '', cidr: null },
        ],
      }),
    });
    expect(await source.lookup(4)).toBe('203.0.113.8');
    expect(await source.lookup(6)).toBe('2001:db8::42');
    expect(await interfaceSource('missing0').lookup(4)).toBeUndefined();
  });
});

describe('runDdnsCheck', () => {
  const result: DdnsResult = {
    status: 'error',
    fqdn: 'invis.dyn.example.org',
    addresses: {},
    previous: {},
    sources: {},
    error: { code: 'DNS_IP_LOOKUP_FAILED', message: 'no public IPv4 address' },
    exitCode: 1,
  };
  it('prints one line or JSON and returns the exit code', async () => {
    const lines: string[] = [];
    const updater = { run: async () => result };
    expect(await runDdnsCheck(updater, [], (l) => lines.push(l))).toBe(1);
    expect(await runDdnsCheck(updater, ['--json'], (l) => lines.push(l))).toBe(1);
    expect(lines[0]).toBe('invis.dyn.example.org: ERROR DNS_IP_LOOKUP_FAILED: no public IPv4 address');
    expect(JSON.parse(lines[1] as string)).toEqual(result);
  });
});

// Request shapes the real servers in the integration suite cannot show (bearer auth, headers).
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWebDavClient } from './client';
import { isOwncloudSyncError, SyncError } from './errors';

describe('createWebDavClient request shapes', () => {
  const seen: { method: string; url: string; headers: IncomingHttpHeaders }[] = [];
  const server = createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
    req.resume();
    req.on('end', () => {
      if (req.url?.includes('missing')) res.writeHead(404).end();
      else if (req.method === 'PUT')
        res.writeHead(201, { 'oc-etag': '"abc"', 'oc-fileid': '42', 'x-oc-mtime': 'accepted' }).end();
      else if (req.url === '/status.php') res.writeHead(404).end();
      else res.writeHead(201).end();
    });
  });
  let url = '';
  beforeAll(async () => {
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/remote.php/webdav/Büro`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('sends bearer auth, conditional headers, X-OC-Mtime and an absolute Destination', async () => {
    const client = createWebDavClient({ url, auth: { type: 'bearer', token: 't0k' } });
    const put = await client.put('a b/ü.txt', Buffer.from('hi'), {
      size: 2,
      ifNoneMatch: '*',
      mtimeMs: 1_700_000_000_999,
    });
    expect(put).toEqual({ etag: 'abc', fileId: '42', mtimeAccepted: true });
    await client.put('x', Buffer.from('x'), { size: 1, ifMatch: 'e1' });
    await client.move('a b/ü.txt', 'c/d.txt');
    await client.delete('gone', { ifMatch: 'e2' });
    expect((await client.detect()).dialect).toBe('webdav');
    const err = await client.delete('missing').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeUndefined();
    const mk = await client.mkcol('missing').catch((e: unknown) => e);
    expect(mk).toBeInstanceOf(SyncError);
    expect((mk as SyncError).toJSON()).toEqual({
      code: 'DAV_NOT_FOUND',
      message: 'MKCOL missing/: HTTP 404',
      details: { method: 'MKCOL', path: 'missing/', status: 404 },
    });
    expect(isOwncloudSyncError(mk)).toBe(true);
    await client.close();
    const [p1, p2, mv, del] = seen;
    expect(p1?.url).toBe('/remote.php/webdav/B%C3%BCro/a%20b/%C3%BC.txt');
    expect(p1?.headers).toMatchObject({
      authorization: 'Bearer t0k',
      'if-none-match': '*',
      'x-oc-mtime': '1700000000',
    });
    expect(p2?.headers['if-match']).toBe('"e1"');
    expect(mv?.headers).toMatchObject({ overwrite: 'F' });
    expect(mv?.headers.destination).toBe(`${url.replace('Büro', 'B%C3%BCro')}/c/d.txt`);
    expect(del?.headers['if-match']).toBe('"e2"');
  });

  it('sends Content-Range for a range PUT and the target condition of a MOVE as a tagged If', async () => {
    const client = createWebDavClient({ url, auth: { type: 'bearer', token: 't0k' } });
    const from = seen.length;
    await client.put('t.part', Buffer.from('xyz'), { size: 3, range: { offset: 10, totalSize: 13 } });
    await client.move('t.part', 'f.bin', { overwrite: true, ifMatch: 'e3' });
    await client.close();
    const [put, mv] = seen.slice(from);
    expect(put?.headers['content-range']).toBe('bytes 10-12/13');
    const target = `${url.replace('Büro', 'B%C3%BCro')}/f.bin`;
    expect(mv?.headers).toMatchObject({ overwrite: 'T', destination: target, if: `<${target}> (["e3"])` });
  });

  it('maps connection failures to DAV_NETWORK', async () => {
    const client = createWebDavClient({
      url: 'http://127.0.0.1:1/',
      auth: { type: 'basic', username: 'u', password: 'Secret-Pw-9' },
    });
    const err = await client.propfind('', 1).catch((e: unknown) => e);
    expect((err as SyncError).code).toBe('DAV_NETWORK');
    expect(JSON.stringify(err)).not.toContain('Secret-Pw-9');
    await client.close();
  });
});

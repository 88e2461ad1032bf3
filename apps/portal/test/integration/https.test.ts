// The portal over HTTPS (node:https with a test CA whose certificate names the loopback address).
import { request } from 'node:https';
import { afterAll, beforeAll, expect, inject, it } from 'vitest';
import { startTestPortal, type TestPortal } from './harness';

let tp: TestPortal;
beforeAll(async () => {
  tp = await startTestPortal(inject('samba'), { tls: true });
});
afterAll(() => tp?.close());

function get(path: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined> }> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, tp.url), { ca: tp.caPem ?? undefined }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

it('serves the login page over verified TLS with a Secure host-only CSRF cookie and HSTS', async () => {
  expect(tp.url).toMatch(/^https:\/\/127\.77\./);
  const res = await get('/login');
  expect(res.status).toBe(200);
  expect(String(res.headers['set-cookie'])).toMatch(
    /^__Host-invis-csrf=[\w-]{43}\.[\w-]{43}; Path=\/; HttpOnly; Secure; SameSite=Strict$/,
  );
  expect(res.headers['strict-transport-security']).toBe('max-age=31536000');
});

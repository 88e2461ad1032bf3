import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createPrivilegedClient, runPrivilegedSync } from './services';
import { createVpnBundles, privilegedVpnAuthority } from './vpn-bundles';

/** A stand-in for `invis-setup privileged`: reads one line, answers what `answer` makes of it. */
async function fakeRoot(answer: (request: Record<string, unknown>) => string) {
  const dir = await mkdtemp(join(tmpdir(), 'portal-privileged-'));
  const socket = join(dir, 'privileged.sock');
  const seen: Record<string, unknown>[] = [];
  const server: Server = createServer((conn) => {
    let text = '';
    // The client hangs up on an answer that is too large.
    conn.on('error', () => undefined);
    conn.on('data', (d) => {
      text += d;
    });
    conn.on('end', () => {
      const request = JSON.parse(text.trim()) as Record<string, unknown>;
      seen.push(request);
      conn.end(answer(request));
    });
  });
  await new Promise<void>((resolve) => server.listen(socket, resolve));
  return {
    socket,
    seen,
    close: async () => {
      server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const certificate = {
  name: 'anna@laptop',
  serial: '0A',
  notAfter: '2027-12-01T00:00:00.000Z',
  daysLeft: 360,
  expiry: 'ok',
};
let close: (() => Promise<void>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe('the privileged socket client', () => {
  it('issues through root, holds the bundle for one download and lists with owners', async () => {
    const root = await fakeRoot((r) =>
      JSON.stringify(
        r.op === 'vpn.list'
          ? { ok: true, result: { certificates: [] } }
          : { ok: true, result: { certificate, ovpn: 'client\n<key>…</key>\n' } },
      ),
    );
    close = root.close;
    const bundles = createVpnBundles({
      authority: privilegedVpnAuthority(createPrivilegedClient({ socket: root.socket })),
      selfService: false,
    });
    const issued = await bundles.issue({ owner: 'anna', device: 'laptop', issuer: 'admin' });
    expect(root.seen).toContainEqual({ op: 'vpn.issue', commonName: 'anna@laptop' });
    expect(issued.certificate).toMatchObject({ name: 'anna@laptop', owner: 'anna', device: 'laptop' });
    const token = issued.download.split('/').at(-1) as string;
    expect(bundles.take(token, 'admin').ovpn).toContain('<key>');
    expect(() => bundles.take(token, 'admin')).toThrow(expect.objectContaining({ code: 'PORTAL_NOT_FOUND' }));
  });

  it("maps root's refusals to the portal's codes", async () => {
    const root = await fakeRoot((r) =>
      JSON.stringify(
        r.op === 'vpn.list'
          ? { ok: true, result: { certificates: [] } }
          : r.op === 'vpn.issue'
            ? { ok: false, error: { code: 'SETUP_PRIVILEGED_CONFLICT', message: 'taken' } }
            : { ok: false, error: { code: 'SETUP_PRIVILEGED_NOT_FOUND', message: 'none' } },
      ),
    );
    close = root.close;
    const bundles = createVpnBundles({
      authority: privilegedVpnAuthority(createPrivilegedClient({ socket: root.socket })),
      selfService: false,
    });
    await expect(bundles.issue({ owner: 'anna', issuer: 'admin' })).rejects.toMatchObject({ code: 'PORTAL_CONFLICT' });
    await expect(bundles.revoke('anna')).rejects.toMatchObject({ code: 'PORTAL_NOT_FOUND' });
  });

  it('refuses answers that are no document, have the wrong shape or are too large', async () => {
    for (const answer of [
      'not json',
      JSON.stringify({ ok: true, result: { certificates: 'x' } }),
      'x'.repeat(2 << 20),
    ]) {
      const root = await fakeRoot(() => answer);
      const client = createPrivilegedClient({ socket: root.socket });
      const bundles = createVpnBundles({ authority: privilegedVpnAuthority(client), selfService: false });
      await expect(bundles.list()).rejects.toMatchObject({ code: 'PORTAL_VPN_FAILED' });
      await root.close();
    }
  });

  it('a sync that fails or cannot be asked is PORTAL_SERVICE_ACTION_FAILED', async () => {
    const root = await fakeRoot(() =>
      JSON.stringify({ ok: false, error: { code: 'DHCP_RELOAD_FAILED', message: 'x' } }),
    );
    close = root.close;
    await expect(runPrivilegedSync(createPrivilegedClient({ socket: root.socket }), 'dhcp')).rejects.toMatchObject({
      code: 'PORTAL_SERVICE_ACTION_FAILED',
      details: { job: 'dhcp', code: 'DHCP_RELOAD_FAILED' },
    });
    await expect(
      runPrivilegedSync(createPrivilegedClient({ socket: join(tmpdir(), 'no-such-privileged.sock') }), 'mail'),
    ).rejects.toMatchObject({ code: 'PORTAL_SERVICE_ACTION_FAILED' });
  });
});

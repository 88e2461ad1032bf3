// The VPN in the whole-server sandbox (issue 18): `invis-setup init --answers whole-vpn.yaml` and
// `apply openvpn` (with its dependencies: the DC, BIND, the firewall, …) inside the sandbox, then
// real OpenVPN 2.6 clients in the WAN namespace (tun) with bundles from `invis-setup vpn bundle`:
// a road warrior in mobilusers reaches the LAN and resolves a LAN name through the pushed DNS; a
// certificate revoked the way the portal revokes it (createVpnRevoker on the same PKI and CRL)
// is refused at the next connect while the server keeps running; disabling the account in AD
// refuses the connect (the client-connect check); a branch's site client makes its subnet
// reachable from the LAN through iroute. Then the installed portal (unprivileged) on the same
// server: only root and its group reach setup's privileged socket; an admin issues a bundle through
// the portal's API (root issues it through the socket), the client connects; revoked through the
// portal, it is refused.
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createPki } from '@invis/ovpn-pki';
import { createVpnRevoker } from '@invis/portal-1';
import { type OpenVpnProcess, type ServerSandbox, startOpenVpnClient } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must, portalApi, setupCli, startWholeServer, type WholeServer } from '../../demo/whole-server';

const ANSWERS = join(import.meta.dirname, 'whole-vpn.yaml');
const SERVER = '192.168.220.10';
const LAN_CLIENT = '192.168.220.60';
const DOMAIN = 'invis-net.loc';
const FQDN = `invis.${DOMAIN}`;
const BRANCH_HOST = '10.50.0.1';
const CONNECTED = /Initialization Sequence Completed/;
const RW_UNIT = 'openvpn-server@invis-vpn';
const SITE_UNIT = 'openvpn-server@invis-site';

describe('VPN of the whole server in the sandbox', () => {
  let whole: WholeServer;
  let sandbox: ServerSandbox;
  let dir: string;
  const clients: OpenVpnProcess[] = [];
  const cli = (argv: string[]) => setupCli(sandbox, argv);
  /** samba-tool as Administrator (setup's secret) inside the server. */
  const tool = async (args: string[]) => {
    const admin = { PASSWD: (await cli(['secrets', 'show', 'ad-administrator'])).doc.value as string };
    return must(sandbox.runner, 'samba-tool', [...args, '-H', 'ldap://127.0.0.1', '-U', 'Administrator'], {
      env: admin,
    });
  };
  /** An OpenVPN client in the WAN namespace with a bundle file. */
  const startClient = async (file: string, retries = 1) => {
    const client = await startOpenVpnClient({
      cwd: dir,
      args: ['--config', file, '--connect-retry-max', String(retries)],
      logDir: join(dir, 'vpn-clients'),
      netns: sandbox.wan.netns,
    });
    clients.push(client);
    return client;
  };
  /** A client in the WAN namespace with the bundle of `name` from invis-setup. */
  const connect = async (name: string) => {
    const bundle = await cli(['vpn', 'bundle', name]);
    expect(bundle.code, JSON.stringify(bundle.doc)).toBe(0);
    const file = join(dir, `${name}.ovpn`);
    await writeFile(file, bundle.doc.bundle as string, { mode: 0o600 });
    return startClient(file, 3);
  };
  const serverLog = (unit: string) => sandbox.services.logTail(unit, 40);

  beforeAll(async () => {
    whole = await startWholeServer('setup-vpn-');
    ({ sandbox, dir } = whole);
  });
  afterAll(async () => {
    for (const client of clients) await client.stop();
    await whole?.stop();
  });

  it('apply sets up the PKI, both servers and the check timer; a second apply changes nothing', async () => {
    const init = await cli(['init', '--answers', ANSWERS]);
    expect(init.doc, JSON.stringify(init.doc)).toMatchObject({ ok: true });
    const apply = await cli(['apply', 'openvpn']);
    expect(apply.doc, JSON.stringify(apply.doc)).toMatchObject({ ok: true, changed: true });
    expect(apply.doc.modules).toContainEqual(expect.objectContaining({ module: 'openvpn', changed: true }));
    expect(sandbox.services.pid(RW_UNIT), serverLog(RW_UNIT)).toBeDefined();
    expect(sandbox.services.pid(SITE_UNIT), serverLog(SITE_UNIT)).toBeDefined();
    const again = await cli(['apply', 'openvpn']);
    expect(again.doc, JSON.stringify(again.doc)).toMatchObject({ ok: true, changed: false });
    const verify = await cli(['verify', 'openvpn']);
    expect(verify.code, JSON.stringify(verify.doc)).toBe(0);
    const check = await cli(['vpn', 'check']);
    expect(check.doc, JSON.stringify(check.doc)).toMatchObject({ ok: true, job: { result: 'ok' } });
    expect(JSON.parse(await sandbox.readFile('/var/lib/invis/jobs/vpn-certificates.json'))).toMatchObject({
      name: 'vpn-certificates',
      result: 'ok',
    });
  }, 400_000);

  it('a road warrior in mobilusers connects from the WAN, reaches the LAN address and resolves a LAN name', async () => {
    await tool(['user', 'create', 'anna', 'Vpn-Test-Passw0rd-1']);
    await tool(['group', 'addmembers', 'mobilusers', 'anna']);
    const anna = await connect('anna@laptop');
    expect(await anna.waitForLog(CONNECTED, 60_000), `${await anna.log()}\n${serverLog(RW_UNIT)}`).toBe(true);
    const log = await anna.log();
    expect(log).toMatch(/PUSH: Received control message: .*dhcp-option DNS 192\.168\.220\.10/);
    expect(serverLog(RW_UNIT)).toContain('invis-setup vpn connect: allowed anna');
    const wan = sandbox.wan.runner;
    await must(wan, 'ping', ['-c', '1', '-W', '5', SERVER]);
    const dns = /dhcp-option DNS ([0-9.]+)/.exec(log)?.[1] as string;
    expect((await must(wan, 'dig', ['+short', '+time=5', `@${dns}`, `${FQDN}`, 'A'])).trim()).toBe(SERVER);

    // Revoked as the portal revokes a disabled account: the same PKI, the CRL where OpenVPN reads it.
    const pid = sandbox.services.pid(RW_UNIT);
    await anna.stop();
    const root = `/proc/${sandbox.info.holderPid}/root`;
    const revoker = createVpnRevoker({
      pki: createPki({ dir: `${root}/var/lib/invis/pki` }),
      crlFile: `${root}/etc/openvpn/server/invis/crl.pem`,
    });
    expect(await revoker.revokeUser('anna')).toHaveLength(1);
    const file = join(dir, 'anna@laptop.ovpn');
    const again = await startOpenVpnClient({
      cwd: dir,
      args: ['--config', file, '--connect-retry-max', '1'],
      logDir: join(dir, 'vpn-clients'),
      netns: sandbox.wan.netns,
    });
    clients.push(again);
    await expect
      .poll(() => serverLog(RW_UNIT), { timeout: 30_000, interval: 500 })
      .toMatch(/VERIFY ERROR: depth=0, error=certificate revoked: .*CN=anna@laptop/);
    expect(await again.waitForLog(CONNECTED, 1_000)).toBe(false);
    expect(sandbox.services.pid(RW_UNIT)).toBe(pid);
    await again.stop();
  }, 300_000);

  it('the connect check refuses an account disabled in AD and one outside mobilusers', async () => {
    await tool(['user', 'create', 'bert', 'Vpn-Test-Passw0rd-2']);
    await tool(['group', 'addmembers', 'mobilusers', 'bert']);
    const bert = await connect('bert');
    expect(await bert.waitForLog(CONNECTED, 60_000), await bert.log()).toBe(true);
    await bert.stop();
    await tool(['user', 'disable', 'bert']);
    const refused = await connect('bert');
    expect(await refused.waitForLog(/AUTH_FAILED/, 60_000), `${await refused.log()}\n${serverLog(RW_UNIT)}`).toBe(true);
    expect(serverLog(RW_UNIT)).toContain('invis-setup vpn connect: refused bert: disabled in AD');
    await refused.stop();

    await tool(['user', 'create', 'carl', 'Vpn-Test-Passw0rd-3']);
    const outsider = await connect('carl');
    expect(await outsider.waitForLog(/AUTH_FAILED/, 60_000), await outsider.log()).toBe(true);
    expect(serverLog(RW_UNIT)).toContain('invis-setup vpn connect: refused carl: not in mobilusers');
    await outsider.stop();
  }, 300_000);

  it('a branch connects to the site server and its subnet is reachable from the LAN (iroute)', async () => {
    const wan = sandbox.wan.runner;
    // The branch's LAN behind its router (the WAN namespace plays the branch server; its loopback
    // carries the branch address, as the kernel here has no dummy links).
    await must(wan, 'ip', ['addr', 'add', `${BRANCH_HOST}/24`, 'dev', 'lo']);
    const site = await connect('site-berlin');
    expect(await site.waitForLog(CONNECTED, 60_000), `${await site.log()}\n${serverLog(SITE_UNIT)}`).toBe(true);
    const lan = sandbox.lan.runner;
    await must(lan, 'ip', ['addr', 'add', `${LAN_CLIENT}/24`, 'dev', sandbox.info.lan.ifname]);
    await must(lan, 'ip', ['route', 'add', '10.50.0.0/24', 'via', SERVER]);
    const ping = await lan.run('ping', ['-c', '3', '-W', '5', BRANCH_HOST]);
    expect(ping.exitCode, `${ping.output}\n${serverLog(SITE_UNIT)}`).toBe(0);
    await site.stop();

    // A road-warrior certificate is no branch: the site server (ccd-exclusive) refuses it.
    const carl = join(dir, 'carl.ovpn');
    const onSitePort = join(dir, 'carl-site.ovpn');
    await writeFile(onSitePort, (await readFile(carl, 'utf8')).replace(' 57194 udp', ' 57195 udp'), { mode: 0o600 });
    const stray = await startOpenVpnClient({
      cwd: dir,
      args: ['--config', onSitePort, '--connect-retry-max', '1'],
      logDir: join(dir, 'vpn-clients'),
      netns: sandbox.wan.netns,
    });
    clients.push(stray);
    expect(await stray.waitForLog(/AUTH_FAILED/, 60_000), `${await stray.log()}\n${serverLog(SITE_UNIT)}`).toBe(true);
    expect(await stray.waitForLog(CONNECTED, 1_000)).toBe(false);
    await stray.stop();
  }, 300_000);

  /** One request to setup's privileged socket inside the server, as `user`: the answer or the error code. */
  const askSocket = async (user: string, request: unknown) => {
    const script = `const s = require('node:net').connect('/run/invis/privileged.sock');
let out = '';
s.on('connect', () => s.end(process.argv[1] + '\\n'));
s.on('data', (d) => { out += d; });
s.on('end', () => { console.log(out.trim()); });
s.on('error', (e) => { console.log(JSON.stringify({ refused: e.code })); });`;
    const out = await must(sandbox.runner, 'setpriv', [
      `--reuid=${user}`,
      `--regid=${user === 'nobody' ? 'nogroup' : user}`,
      '--init-groups',
      '--',
      '/usr/bin/node',
      '-e',
      script,
      JSON.stringify(request),
    ]);
    return JSON.parse(out) as Record<string, unknown>;
  };

  it('the installed portal reaches the privileged socket; an account outside its group cannot connect', async () => {
    const apply = await cli(['apply', 'portal']);
    expect(apply.doc, JSON.stringify(apply.doc)).toMatchObject({ ok: true });
    expect(sandbox.services.pid('invis-portal'), serverLog('invis-portal')).toBeDefined();
    expect(await askSocket('nobody', { op: 'vpn.list' })).toEqual({ refused: 'EACCES' });
    expect((await must(sandbox.runner, 'stat', ['-c', '%a %U %G', '/run/invis/privileged.sock'])).trim()).toBe(
      '660 root invis-portal',
    );
    const list = await askSocket('invis-portal', { op: 'vpn.list' });
    expect(list, JSON.stringify(list)).toMatchObject({ ok: true, result: { certificates: expect.any(Array) } });
    // The branch's certificate is not the portal's to see or revoke.
    expect(JSON.stringify(list)).not.toContain('site-berlin');
    const branch = await askSocket('invis-portal', { op: 'vpn.revoke', commonName: 'site-berlin' });
    expect(branch).toMatchObject({ ok: false, error: { code: 'SETUP_PRIVILEGED_REFUSED' } });
    const server = await askSocket('invis-portal', { op: 'vpn.revoke', commonName: FQDN });
    expect(server).toMatchObject({ ok: false, error: { code: 'SETUP_PRIVILEGED_NOT_FOUND' } });
    const unknown = await askSocket('invis-portal', { op: 'shell', command: 'id' });
    expect(unknown).toMatchObject({ ok: false, error: { code: 'SETUP_PRIVILEGED_REFUSED' } });
  }, 600_000);

  it('an admin issues a bundle through the installed portal: it connects; revoked through the portal, it is refused', async () => {
    await tool(['user', 'create', 'dora', 'Vpn-Test-Passw0rd-4']);
    await tool(['group', 'addmembers', 'mobilusers', 'dora']);
    // The portal's API from the LAN (the address the branch test gave the LAN client), as Administrator.
    await must(sandbox.lan.runner, 'ip', ['addr', 'replace', `${LAN_CLIENT}/24`, 'dev', sandbox.info.lan.ifname]);
    const ca = join(dir, 'ca.crt');
    await writeFile(ca, await sandbox.readFile('/etc/invis/certs/ca.crt'));
    const password = (await cli(['secrets', 'show', 'ad-administrator'])).doc.value as string;
    const { api, csrf } = await portalApi(sandbox, {
      dir,
      caFile: ca,
      url: `https://${SERVER}:56443`,
      username: 'Administrator',
      password,
    });

    const issued = await api('POST', '/api/vpn/certificates', { username: 'dora', device: 'phone' }, csrf);
    expect(issued.status, issued.text).toBe('201');
    const { download, certificate } = JSON.parse(issued.text) as { download: string; certificate: { name: string } };
    expect(certificate.name).toBe('dora@phone');
    // The key is in the bundle only, not in root's PKI.
    expect(await sandbox.runner.run('test', ['-e', '/var/lib/invis/pki/private/dora@phone.key'])).toMatchObject({
      exitCode: 1,
    });
    const again = await api('POST', '/api/vpn/certificates', { username: 'dora', device: 'phone' }, csrf);
    expect(JSON.parse(again.text)).toMatchObject({ code: 'PORTAL_CONFLICT' });
    const bundle = await api('GET', download);
    expect(bundle.status).toBe('200');
    expect(bundle.text).toContain('<key>');
    expect((await api('GET', download)).status).toBe('404');
    const file = join(dir, 'dora@phone.ovpn');
    await writeFile(file, bundle.text, { mode: 0o600 });
    const dora = await startClient(file);
    expect(await dora.waitForLog(CONNECTED, 60_000), `${await dora.log()}\n${serverLog(RW_UNIT)}`).toBe(true);
    await dora.stop();

    const listed = JSON.parse((await api('GET', '/api/vpn/certificates')).text) as { name: string }[];
    expect(listed.map((c) => c.name)).toContain('dora@phone');
    const revoked = await api('DELETE', '/api/vpn/certificates/dora@phone', undefined, csrf);
    expect(revoked.status, revoked.text).toBe('200');
    const refused = await startClient(file);
    await expect
      .poll(() => serverLog(RW_UNIT), { timeout: 30_000, interval: 500 })
      .toMatch(/VERIFY ERROR: depth=0, error=certificate revoked: .*CN=dora@phone/);
    expect(await refused.waitForLog(CONNECTED, 1_000)).toBe(false);
    await refused.stop();
  }, 300_000);
});

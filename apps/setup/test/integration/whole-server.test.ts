// Whole-server test (issue 16): `invis-setup init --answers` and `apply` of every module inside the
// testbed's server sandbox — its own mount namespace (overlays over /etc, /var, /srv, /home; fresh
// /run) and network namespaces for the server, a LAN client and a WAN peer. invis-setup runs as a
// process inside the sandbox (sandbox-cli.ts); the sandbox's supervisor plays systemd for it
// (sandbox-services.ts). Then real clients from the LAN and the WAN prove the result.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Daemon, requestDhcpLease, type ServerSandbox, spawnDaemon } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EICAR } from '../../demo/offline-signatures';
import { lanLab, must, portalApi, setupCli, startWholeServer, type WholeServer } from '../../demo/whole-server';
import { MODULES } from '../../src/modules';

const ANSWERS = join(import.meta.dirname, 'whole-server.yaml');
const SERVER = '192.168.220.10';
const WAN_SERVER = '198.51.100.2';
const WAN_PEER = '198.51.100.1';
const DOMAIN = 'invis-net.loc';
const FQDN = `invis.${DOMAIN}`;
const BASE = 'DC=invis-net,DC=loc';
/** A TCP connect from a client namespace: prints `open` or the error code (ECONNREFUSED, TIMEOUT, …). */
const CONNECT = `const s = require('node:net').connect(Number(process.argv[2]), process.argv[1]);
s.setTimeout(3000, () => { console.log('TIMEOUT'); process.exit(0); });
s.on('connect', () => { console.log('open'); process.exit(0); });
s.on('error', (e) => { console.log(e.code); process.exit(0); });`;

/**
 * Runs `invis-setup apply` inside the sandbox and kills it with SIGKILL as soon as it prints
 * `line` on stderr (its progress).
 */
async function applyKilledAt(sandbox: ServerSandbox, line: string) {
  const child = spawn(
    'nsenter',
    [
      `--target=${sandbox.info.holderPid}`,
      '--mount',
      '--uts',
      '--ipc',
      '--net',
      '--',
      '/usr/bin/invis-setup',
      'apply',
      '--lang',
      'en',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.includes(line)) child.kill('SIGKILL');
  });
  const [, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { signal, stderr };
}

describe('whole server in the sandbox', () => {
  let whole: WholeServer;
  let sandbox: ServerSandbox;
  let dir: string;
  /** The "Internet's" time server on the WAN peer. */
  let wanTime: Daemon | undefined;
  const cli = (argv: string[]) => setupCli(sandbox, argv);

  beforeAll(async () => {
    whole = await startWholeServer('setup-whole-');
    ({ sandbox, dir } = whole);
    // The Internet's time: an NTP server on the WAN peer (never setting the clock) and the server's
    // chrony pointed at it, as at the provider (Debian's pool is unreachable here).
    await writeFile(
      join(dir, 'wan-chrony.conf'),
      `local stratum 3\nallow all\ncmdport 0\npidfile ${join(dir, 'wan-chrony.pid')}\n`,
    );
    wanTime = spawnDaemon(
      'wan chronyd',
      'chronyd',
      ['-d', '-x', '-u', 'root', '-f', join(dir, 'wan-chrony.conf')],
      join(dir, 'wan-chrony.log'),
      { netns: sandbox.wan.netns },
    );
    await sandbox.writeFile(
      '/etc/chrony/sources.d/provider.sources',
      `server ${WAN_PEER} iburst minpoll 1 maxpoll 2\n`,
    );
  });
  afterAll(async () => {
    await wanTime?.stop();
    await whole?.stop();
  });

  it('init and apply configure every module — resuming after a SIGKILL in samba_ad —, a second apply changes nothing', async () => {
    const init = await cli(['init', '--answers', ANSWERS]);
    expect(init.doc, JSON.stringify(init.doc)).toMatchObject({ ok: true });

    // SIGKILL while samba_ad installs the invis schema (its longest step, with smb.conf in its
    // temporary schema-update form): the next apply resumes there and completes.
    const killed = await applyKilledAt(sandbox, 'samba_ad: installing the invis schema');
    expect(killed.signal, killed.stderr).toBe('SIGKILL');
    const state = JSON.parse(await sandbox.readFile('/var/lib/invis/setup/state.json'));
    expect(state.modules.samba_ad.status).toBe('applying');

    const apply = await cli(['apply']);
    expect(apply.doc, JSON.stringify(apply.doc)).toMatchObject({ ok: true, changed: true });
    const modules = (apply.doc.modules as { module: string }[]).map((m) => m.module);
    // Every module of the registry, the whole server at once.
    expect(modules.sort()).toEqual(MODULES.map((m) => m.id).sort());
    // The resumed samba_ad finished the schema and put smb.conf back to its normal form.
    expect(apply.doc.modules).toContainEqual(expect.objectContaining({ module: 'samba_ad', changed: true }));
    expect(await sandbox.readFile('/etc/samba/smb.conf')).not.toContain('dsdb:schema update allowed');
    const again = await cli(['apply']);
    expect(again.doc, JSON.stringify(again.doc)).toMatchObject({ ok: true, changed: false });
    const verify = await cli(['verify']);
    expect(verify.code, JSON.stringify(verify.doc)).toBe(0);
  }, 1_200_000);

  it('serves the LAN: DHCP lease, DNS forward and reverse, LDAPS and Kerberos as invis-portal', async () => {
    const lan = sandbox.lan.runner;
    const lab = lanLab(sandbox, dir);
    const lease = await requestDhcpLease(lab, { mac: '02:00:00:00:16:01', timeoutSec: 10 });
    expect(lease).toMatchObject({ routers: [SERVER], dns: [SERVER], ntp: [SERVER], domain: DOMAIN });
    expect(lease.ip).toMatch(/^192\.168\.220\.(2[01]\d|220)$/);
    // Use the lease as the client's network stack would.
    await must(lan, 'ip', ['addr', 'add', `${lease.ip}/24`, 'dev', sandbox.info.lan.ifname]);
    await must(lan, 'ip', ['route', 'add', 'default', 'via', lease.routers[0] as string]);

    const dig = async (args: string[]) => (await must(lan, 'dig', ['+short', `@${SERVER}`, ...args])).trim();
    expect(await dig([FQDN, 'A'])).toBe(SERVER);
    expect(await dig(['-x', SERVER])).toBe(`${FQDN}.`);

    const ca = join(dir, 'ca.crt');
    await writeFile(ca, await sandbox.readFile('/etc/invis/certs/ca.crt'));
    const password = (await cli(['secrets', 'show', 'ad-invis-portal'])).doc.value as string;
    const passwordFile = join(dir, 'invis-portal.pw');
    await writeFile(passwordFile, password, { mode: 0o600 });
    const search = await lan.run(
      'ldapsearch',
      [
        '-LLL',
        '-H',
        `ldaps://${SERVER}`,
        '-x',
        '-D',
        `invis-portal@${DOMAIN}`,
        '-y',
        passwordFile,
        '-b',
        BASE,
        '(sAMAccountName=invis-portal)',
        'sAMAccountName',
      ],
      { env: { LDAPTLS_CACERT: ca, LDAPTLS_REQCERT: 'demand' } },
    );
    expect(search.exitCode, search.output).toBe(0);
    expect(search.stdout).toContain('sAMAccountName: invis-portal');

    const krb5 = join(dir, 'krb5.conf');
    await writeFile(
      krb5,
      `[libdefaults]\n default_realm = ${DOMAIN.toUpperCase()}\n dns_lookup_kdc = false\n[realms]\n ${DOMAIN.toUpperCase()} = {\n  kdc = ${SERVER}\n }\n`,
    );
    const kinit = await lan.run('kinit', [`invis-portal@${DOMAIN.toUpperCase()}`], {
      input: `${password}\n`,
      env: { KRB5_CONFIG: krb5, KRB5CCNAME: `FILE:${join(dir, 'krb5cc')}` },
    });
    expect(kinit.exitCode, kinit.output).toBe(0);
    const klist = await must(lan, 'klist', [], {
      env: { KRB5_CONFIG: krb5, KRB5CCNAME: `FILE:${join(dir, 'krb5cc')}` },
    });
    expect(klist).toContain(`krbtgt/${DOMAIN.toUpperCase()}@${DOMAIN.toUpperCase()}`);
  }, 120_000);

  it('serves what is created in AD: a host by name both ways, a user on SMB, a reservation through sync dhcp with the same Kea', async () => {
    const lan = sandbox.lan.runner;
    const admin = { PASSWD: (await cli(['secrets', 'show', 'ad-administrator'])).doc.value as string };
    const tool = (args: string[], input?: string) =>
      must(sandbox.runner, 'samba-tool', [...args, '-U', 'Administrator'], {
        env: admin,
        ...(input === undefined ? {} : { input }),
      });
    await tool(['dns', 'add', '127.0.0.1', DOMAIN, 'pc7', 'A', '192.168.220.77']);
    await tool(['dns', 'add', '127.0.0.1', '220.168.192.in-addr.arpa', '77', 'PTR', `pc7.${DOMAIN}`]);
    const dig = async (args: string[]) => (await must(lan, 'dig', ['+short', `@${SERVER}`, ...args])).trim();
    expect(await dig([`pc7.${DOMAIN}`, 'A'])).toBe('192.168.220.77');
    expect(await dig(['-x', '192.168.220.77'])).toBe(`pc7.${DOMAIN}.`);

    // A user made with setup's Administrator account lists the server's shares over SMB.
    const userPassword = 'Wh0le-Server-Test-1';
    await tool(['user', 'create', 'alice', userPassword, '-H', 'ldap://127.0.0.1']);
    const auth = join(dir, 'alice.auth');
    await writeFile(auth, `username = alice\npassword = ${userPassword}\ndomain = INVIS-NET\n`, { mode: 0o600 });
    const shares = await must(lan, 'smbclient', ['-L', `//${SERVER}`, '-A', auth, '-m', 'SMB3']);
    expect(shares).toMatch(/^\s+sysvol\s+Disk/m);
    expect(shares).toMatch(/^\s+netlogon\s+Disk/m);

    // A reservation written to AD (as the portal writes one) reaches Kea through sync, no restart.
    // The test runs the sync itself: the one-minute timer must not run it in between.
    await sandbox.services.stop('invis-dhcp-sync.timer');
    const kea = sandbox.services.pid('kea-dhcp4-server');
    expect(kea).toBeDefined();
    await must(sandbox.runner, 'ldbadd', ['-H', 'ldap://127.0.0.1', '-U', 'Administrator'], {
      env: admin,
      input: [
        `dn: CN=pc8,CN=DHCP Config,CN=DHCP-Server,CN=invis-Server,${BASE}`,
        'objectClass: top',
        'objectClass: iscDhcpHost',
        'cn: pc8',
        'iscDhcpHWAddress: ethernet 02:00:00:00:16:08',
        'iscDhcpStatements: fixed-address 192.168.220.88',
        '',
      ].join('\n'),
    });
    const sync = await cli(['sync', 'dhcp']);
    expect(sync.doc, JSON.stringify(sync.doc)).toMatchObject({ ok: true, changed: true });
    expect(sandbox.services.pid('kea-dhcp4-server')).toBe(kea);
    const lab = lanLab(sandbox, dir);
    expect((await requestDhcpLease(lab, { mac: '02:00:00:00:16:08', timeoutSec: 10 })).ip).toBe('192.168.220.88');
  }, 120_000);

  it('gives the LAN the time', async () => {
    // The server's chrony follows the provider's server first; then a LAN client measures against it.
    const deadline = Date.now() + 30_000;
    let tracking = '';
    while (!/^Leap status\s+: Normal$/m.test(tracking) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      tracking = (await sandbox.runner.run('chronyc', ['-n', 'tracking'])).stdout;
    }
    expect(tracking, sandbox.services.logTail('chrony')).toMatch(
      new RegExp(`^Reference ID\\s+: \\S+ \\(${WAN_PEER}\\)$`, 'm'),
    );
    // chronyd -Q: one measurement against the server, the clock is never set.
    const chrony = await sandbox.lan.runner.run(
      'chronyd',
      ['-Q', '-f', '/dev/null', '-t', '15', `server ${SERVER} iburst maxsamples 1`],
      { timeoutMs: 30_000 },
    );
    expect(chrony.exitCode, chrony.output).toBe(0);
    expect(chrony.output).toMatch(/System clock wrong by -?\d+\.\d+ seconds/);
  }, 60_000);

  it('answers the portal over TLS with the server certificate', async () => {
    const ca = join(dir, 'ca.crt');
    const tls = await sandbox.lan.runner.run(
      'openssl',
      [
        's_client',
        '-connect',
        `${SERVER}:56443`,
        '-CAfile',
        ca,
        '-verify_return_error',
        '-verify_ip',
        SERVER,
        '-brief',
      ],
      { input: '' },
    );
    expect(tls.exitCode, tls.output).toBe(0);
    expect(tls.output).toContain('Verification: OK');
  }, 60_000);

  it('lets the WAN reach only the SSH, portal and VPN ports', async () => {
    const connect = async (port: number) =>
      (await must(sandbox.wan.runner, process.execPath, ['-e', CONNECT, WAN_SERVER, String(port)])).trim();
    expect(await connect(55022)).toBe('open');
    expect(await connect(56443)).toBe('open');
    // The external zone's target is DROP: no answer at all, not even a refusal.
    const closed = await Promise.all([445, 389, 636, 53, 88, 61000].map(async (port) => [port, await connect(port)]));
    expect(closed).toEqual([445, 389, 636, 53, 88, 61000].map((port) => [port, 'TIMEOUT']));
    const zones = await must(sandbox.runner, 'firewall-cmd', ['--get-active-zones']);
    expect(zones).toMatch(/^external\n\s+interfaces: extern$/m);
    // OpenVPN has no listener yet (no setup module runs it): its opening is proven by the rule.
    const open = (await must(sandbox.runner, 'firewall-cmd', ['--zone=external', '--list-services'])).trim();
    expect(open.split(' ').sort()).toEqual(['invis-openvpn', 'invis-portal', 'invis-ssh']);
    expect(await must(sandbox.runner, 'firewall-cmd', ['--info-service=invis-openvpn'])).toMatch(
      /ports: 57194\/udp 57195\/udp/,
    );
  }, 60_000);

  it('refuses an outside portal login of a user outside mobilusers; the same login works from the LAN', async () => {
    const login = async (client: ServerSandbox['lan'], via: string) => {
      const jar = join(dir, `cookies-${via}`);
      // The name the certificate carries, connected to the address of this side.
      const curl = (args: string[]) =>
        must(client.runner, 'curl', [
          '-sS',
          '--cacert',
          join(dir, 'ca.crt'),
          '--connect-to',
          `${SERVER}:56443:${via}:56443`,
          '-b',
          jar,
          '-c',
          jar,
          ...args,
        ]);
      const anonymous = JSON.parse(await curl([`https://${SERVER}:56443/api/session`])) as { csrfToken: string };
      const body = join(dir, 'login.json');
      await writeFile(body, JSON.stringify({ username: 'alice', password: 'Wh0le-Server-Test-1' }), { mode: 0o600 });
      const answer = await curl([
        '-w',
        '\n%{http_code}',
        '-H',
        'content-type: application/json',
        '-H',
        `x-csrf-token: ${anonymous.csrfToken}`,
        '--data-binary',
        `@${body}`,
        `https://${SERVER}:56443/api/session`,
      ]);
      const status = answer.slice(answer.lastIndexOf('\n') + 1);
      return { status, body: answer.slice(0, answer.lastIndexOf('\n')) };
    };
    const inside = await login(sandbox.lan, SERVER);
    expect(inside, inside.body).toMatchObject({ status: '200' });
    expect(JSON.parse(inside.body)).toMatchObject({ authenticated: true, user: { username: 'alice', mobile: false } });
    const outside = await login(sandbox.wan, WAN_SERVER);
    expect(outside.status, outside.body).toBe('401');
  }, 60_000);

  /** The portal's REST API from the LAN, logged in as `username` (default Administrator: the portal's admin group). */
  const adminApi = async (username = 'Administrator', userPassword?: string) =>
    portalApi(sandbox, {
      dir,
      caFile: join(dir, 'ca.crt'),
      url: `https://${SERVER}:56443`,
      username,
      password: userPassword ?? ((await cli(['secrets', 'show', 'ad-administrator'])).doc.value as string),
    });

  /** Whether `path` shows up on the server within `ms` (what a background job makes). */
  const appears = async (path: string, ms = 15_000): Promise<boolean> => {
    for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 200))) {
      if ((await sandbox.runner.run('test', ['-e', path])).exitCode === 0) return true;
    }
    return false;
  };

  it("the portal (unprivileged) has root's folder sync run at once (privileged socket): a new user's home is made, a deleted user's archived, a group's folder made from its template", async () => {
    const { api, csrf } = await adminApi();
    // Only the portal's own request may run the sync: the one-minute timer must not.
    await sandbox.services.stop('invis-homes-sync.timer');
    const user = {
      username: 'carla',
      givenName: 'Carla',
      surname: 'Kern',
      password: 'Wh0le-Server-Carla-1',
      accountType: 'user',
    };
    const created = await api('POST', '/api/users', user, csrf);
    expect(created.status, JSON.stringify(created.json)).toBe('201');
    expect(await appears('/home/carla')).toBe(true);
    const deleted = await api('DELETE', '/api/users/carla', { archiveHome: true }, csrf);
    expect(deleted.status, JSON.stringify(deleted.json)).toBe('204');
    expect(await appears('/home/carla.archiv')).toBe(true);

    // A folder template as the folder admins keep them; the portal offers it and asks the root sync for the folder.
    const template = '/srv/shares/media/portal/verzeichnisvorlagen/Projekt';
    await must(sandbox.runner, 'mkdir', ['-p', `${template}/Angebote`]);
    await must(sandbox.runner, 'touch', [`${template}/Angebote/liesmich.txt`]);
    expect((await api('GET', '/api/share-templates', undefined, csrf)).json).toEqual(['Projekt']);
    const group = await api('POST', '/api/groups', { name: 'team9', type: 'team', share: 'template:Projekt' }, csrf);
    expect(group.status, JSON.stringify(group.json)).toBe('201');
    const gid = (group.json as { gid: number }).gid;
    expect(await appears('/srv/shares/gruppen/team9/Angebote/liesmich.txt')).toBe(true);
    const owner = async (path: string) => (await must(sandbox.runner, 'stat', ['-c', '%u %g %a', path])).trim();
    expect(await owner('/srv/shares/gruppen/team9')).toBe(`0 ${gid} 2770`);
    expect(await owner('/srv/shares/gruppen/team9/Angebote/liesmich.txt')).toBe(`0 ${gid} 660`);
    // An unknown template is refused before the group is made.
    const refused = await api('POST', '/api/groups', { name: 'team10', type: 'team', share: 'template:Fehlt' }, csrf);
    expect(refused.status).toBe('404');
    expect((await api('GET', '/api/groups/team10', undefined, csrf)).status).toBe('404');
  }, 120_000);

  it('a host made in the portal (AD computer, reservation, A and PTR) gets its address from Kea at once and resolves both ways', async () => {
    const { api, csrf } = await adminApi();
    const mac = '02:00:00:00:16:42';
    // No timer in between: only the portal's own push (sync.run through the privileged socket) can bring it.
    await sandbox.services.stop('invis-dhcp-sync.timer');
    const created = await api('POST', '/api/hosts', { name: 'pc42', type: 'client', mac }, csrf);
    expect(created.status, JSON.stringify(created.json)).toBe('201');
    const host = created.json as { ip: string; fqdn: string; computer: boolean };
    expect(host).toMatchObject({ fqdn: `pc42.${DOMAIN}`, computer: true });
    // The unprivileged portal runs `sync dhcp` as root through setup's privileged socket right away.
    const pushed = await api('GET', '/api/hosts/dhcp-sync?wait=true', undefined, csrf);
    expect(pushed.json, JSON.stringify(pushed.json)).toMatchObject({ pending: false, lastError: null });
    expect((pushed.json as { lastSuccess: string | null }).lastSuccess).not.toBeNull();
    expect((await cli(['sync', 'dhcp'])).doc).toMatchObject({ ok: true, changed: false });
    expect((await requestDhcpLease(lanLab(sandbox, dir), { mac, timeoutSec: 10 })).ip).toBe(host.ip);
    const dig = async (args: string[]) =>
      (await must(sandbox.lan.runner, 'dig', ['+short', `@${SERVER}`, ...args])).trim();
    expect(await dig([host.fqdn, 'A'])).toBe(host.ip);
    expect(await dig(['-x', host.ip])).toBe(`${host.fqdn}.`);
  }, 120_000);

  it('a mobilusers member uploads into the transfer area through the installed portal; clamd quarantines EICAR', async () => {
    await must(
      sandbox.runner,
      'samba-tool',
      ['group', 'addmembers', 'mobilusers', 'alice', '-H', 'ldap://127.0.0.1', '-U', 'Administrator'],
      {
        env: { PASSWD: (await cli(['secrets', 'show', 'ad-administrator'])).doc.value as string },
      },
    );
    const { upload } = await adminApi('alice', 'Wh0le-Server-Test-1');
    const stored = await upload('/api/transfer/uploads/bericht.txt', 'Quartalsbericht\n');
    expect(stored, JSON.stringify(stored.json)).toMatchObject({ status: '201', json: { name: 'bericht.txt' } });
    expect(await sandbox.readFile('/srv/shares/portal/uploads/alice/bericht.txt')).toBe('Quartalsbericht\n');
    const infected = await upload('/api/transfer/uploads/virus.txt', EICAR);
    expect(infected, JSON.stringify(infected.json)).toMatchObject({ json: { code: 'PORTAL_TRANSFER_INFECTED' } });
    expect(await sandbox.runner.run('test', ['-e', '/srv/shares/portal/uploads/alice/virus.txt'])).toMatchObject({
      exitCode: 1,
    });
  }, 120_000);
});

// OpenVPN in server mode with real tun devices inside network namespaces made by the test:
// configs rendered and deployed by this package (apply with the real openvpn check), a
// road-warrior server with CRL hot reload, and a site server routing two branches' subnets.
import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fixedClock, type ServiceManager } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import {
  connectVeth,
  createNetns,
  type Netns,
  type OpenVpnProcess,
  type OpenVpnServer,
  run,
  startOpenVpnClient,
  startOpenVpnNetnsServer,
} from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  applyServerDeployment,
  buildClientBundle,
  buildServerFiles,
  createPki,
  type DeploymentReport,
  generateTlsCryptKey,
  type Pki,
  renderCcdEntry,
  renderServerConfig,
  type ServerConfigInput,
} from '../../src/index';
import { CONNECTED, SERVER_NAME } from './fixture';

const base = useTempDir('ovpn-pki-netns-', { shared: true });
let pki: Pki;
let tlsCrypt: string;
let srv: Netns;
const clientNs = new Map<string, Netns>();
const processes: { stop(): Promise<void> }[] = [];

type NetnsService = ServiceManager & { server: OpenVpnServer | undefined };

/**
 * The ServiceManager of one netns test server (no systemd here) for the unit apply derives from
 * the config name: start/restart run a new daemon (reload too: OpenVPN's SIGHUP restarts anyway).
 */
function netnsService(configName: string, port: number): NetnsService {
  const unit = `openvpn-server@${configName.replace(/\.conf$/, '')}`;
  const own = (name: string): void => {
    if (name !== unit) throw new Error(`apply asked for unit ${name}, expected ${unit}`);
  };
  const start = async (name: string): Promise<void> => {
    own(name);
    await control.server?.stop();
    control.server = await startOpenVpnNetnsServer({
      netns: srv.name,
      cwd: base(),
      config: join(base(), 'etc', configName),
      address: '10.231.0.1',
      port,
      logDir: base(),
    });
    processes.push(control.server);
  };
  const control: NetnsService = {
    server: undefined,
    start,
    restart: start,
    reload: start,
    reloadOrRestart: start,
    async stop(name) {
      own(name);
      await control.server?.stop();
      control.server = undefined;
    },
    async isActive(name) {
      own(name);
      return control.server?.isRunning() ?? false;
    },
  };
  return control;
}

const keyDir = (): string => join(base(), 'etc', 'keys');
const keys = (): ServerConfigInput['files'] => ({
  ca: join(keyDir(), 'ca.crt'),
  cert: join(keyDir(), `${SERVER_NAME}.crt`),
  key: join(keyDir(), `${SERVER_NAME}.key`),
  crl: join(keyDir(), 'crl.pem'),
  tlsCrypt: join(keyDir(), 'tc.key'),
});

async function deploy(config: ServerConfigInput, configName: string, services: ServiceManager) {
  const { files, paths } = await buildServerFiles(pki, { serverName: SERVER_NAME, dir: keyDir(), tlsCrypt });
  expect(paths).toEqual(config.files);
  const ccd = (config.sites ?? []).map((s) => ({
    path: join(config.clientConfigDir ?? '', s.name),
    content: renderCcdEntry(config, s.name),
    mode: 0o644,
    effect: 'live' as const,
  }));
  return applyServerDeployment(
    { configPath: join(base(), 'etc', configName), config: renderServerConfig(config), files: [...files, ...ccd] },
    { services },
  );
}

/** Paths of the files an apply wrote. */
const changedFiles = (report: DeploymentReport): string[] =>
  report.files.filter((f) => f.action !== 'unchanged').map((f) => f.path);

/** A client namespace joined to the server namespace by veth 10.231.<n>.0/24. */
async function clientNamespace(name: string, n: number, lan?: string): Promise<Netns> {
  const ns = await createNetns(`ov${n}`);
  await connectVeth(
    { netns: srv.name, ifname: `ovs${n}`, cidr: `10.231.${n}.1/24` },
    { netns: ns.name, ifname: `ovc${n}`, cidr: `10.231.${n}.2/24` },
  );
  // The branch LAN: one address on lo (this kernel has no dummy module).
  if (lan) await run('ip', ['-n', ns.name, 'addr', 'add', lan, 'dev', 'lo']);
  clientNs.set(name, ns);
  return ns;
}

async function connect(name: string, port: number, from = name): Promise<OpenVpnProcess> {
  const n = [...clientNs.keys()].indexOf(from) + 1;
  const bundlePath = join(base(), `${name}.ovpn`);
  const bundle = await buildClientBundle(pki, name, {
    remotes: [{ host: `10.231.${n}.1`, port }],
    serverName: SERVER_NAME,
    tlsCrypt,
  });
  await writeFile(bundlePath, bundle, { mode: 0o600 });
  const client = await startOpenVpnClient({
    cwd: base(),
    args: ['--config', bundlePath],
    logDir: base(),
    netns: clientNs.get(from)?.name as string,
  });
  processes.push(client);
  return client;
}

beforeAll(async () => {
  // OpenVPN drops to nobody/nogroup and then re-reads the CRL and ccd entries: they must be reachable.
  await chmod(base(), 0o755);
  pki = createPki({ dir: join(base(), 'pki') });
  await pki.init({ caName: 'invis Test VPN CA' });
  await pki.issueServer({ name: SERVER_NAME, san: { dns: [SERVER_NAME] } });
  for (const name of ['erin', 'frank', 'branch-a', 'branch-b']) await pki.issueClient({ name });
  tlsCrypt = generateTlsCryptKey();
  srv = await createNetns('ovsrv');
  await clientNamespace('erin', 1);
  await clientNamespace('branch-a', 2, '10.241.1.1/32');
  await clientNamespace('branch-b', 3, '10.241.2.1/32');
});

afterAll(async () => {
  for (const p of processes.reverse()) await p.stop();
  for (const ns of [...clientNs.values(), srv]) await ns?.remove();
});

describe('road-warrior server (tun in a netns)', () => {
  const port = 1194;
  const service = netnsService('rw.conf', port);
  const roadWarrior = (): ServerConfigInput => ({
    role: 'road-warrior',
    port,
    network: '10.236.0.0/24',
    files: keys(),
    push: { routes: ['10.241.0.0/16'], dns: ['10.236.0.1'], domain: 'invis.test' },
  });

  it('is deployed by apply (config checked by openvpn) and started once; a fresh bundle connects', async () => {
    const report = await deploy(roadWarrior(), 'rw.conf', service);
    expect(report).toMatchObject({ restartNeeded: true, restarted: true });
    const client = await connect('erin', port);
    expect(await client.waitForLog(CONNECTED, 15_000)).toBe(true);
    await run('ip', ['netns', 'exec', clientNs.get('erin')?.name as string, 'ping', '-c1', '-W3', '10.236.0.1']);
    await client.stop();
    // Same input again: nothing changes, nothing restarts.
    const again = await deploy(roadWarrior(), 'rw.conf', service);
    expect(again).toMatchObject({ changed: false, restarted: false });
    expect(changedFiles(again)).toEqual([]);
  });

  it('rejects a revoked client after a CRL-only apply, without restarting', async () => {
    const server = service.server as OpenVpnServer;
    const pid = server.pid;
    await pki.revoke('erin', 'keyCompromise');
    const report = await deploy(roadWarrior(), 'rw.conf', service);
    expect(report).toMatchObject({ changed: true, restartNeeded: false, restarted: false });
    expect(changedFiles(report)).toEqual([keys().crl]);
    // The revoked certificate is still in the bundle file written earlier: reconnect with it.
    const client = await startOpenVpnClient({
      cwd: base(),
      args: ['--config', join(base(), 'erin.ovpn')],
      logDir: base(),
      netns: clientNs.get('erin')?.name as string,
    });
    processes.push(client);
    expect(await server.waitForLog(/VERIFY ERROR: depth=0, error=certificate revoked: .*CN=erin/, 15_000)).toBe(true);
    expect(await client.waitForLog(CONNECTED, 1_000)).toBe(false);
    expect(server.isRunning() && server.pid === pid && service.server === server).toBe(true);
    await client.stop();
  });
  it('an expired CRL locks every client out; ensureFreshCrl + a live apply lets them back in', async () => {
    const server = service.server as OpenVpnServer;
    // The outage of the original: a CRL signed 200 days ago with the easy-rsa default of 180 days.
    const past = createPki({ dir: pki.dir, clock: fixedClock(Date.now() - 200 * 86_400_000) });
    await past.generateCrl();
    expect((await pki.crl()).info.state).toBe('expired');
    expect(await deploy(roadWarrior(), 'rw.conf', service)).toMatchObject({ restarted: false });
    const locked = await connect('frank', port, 'erin');
    expect(await server.waitForLog(/VERIFY ERROR: depth=0, error=CRL has expired: .*CN=frank/, 15_000)).toBe(true);
    await locked.stop();

    expect((await pki.ensureFreshCrl()).renewed).toBe(true);
    const renewed = await deploy(roadWarrior(), 'rw.conf', service);
    expect(renewed).toMatchObject({ changed: true, restarted: false });
    expect(changedFiles(renewed)).toEqual([keys().crl]);
    const back = await connect('frank', port, 'erin');
    expect(await back.waitForLog(CONNECTED, 15_000)).toBe(true);
    expect(service.server).toBe(server);
    await back.stop();
  });
});

describe('site server with iroute (tun in a netns)', () => {
  it('lets two branches reach each other’s subnets through the server', async () => {
    const port = 1195;
    const config: ServerConfigInput = {
      role: 'site',
      device: 'vpn-sub',
      port,
      network: '10.237.0.0/24',
      files: keys(),
      clientConfigDir: join(base(), 'etc', 'ccd'),
      sites: [
        { name: 'branch-a', subnets: ['10.241.1.0/24'] },
        { name: 'branch-b', subnets: ['10.241.2.0/24'] },
      ],
    };
    const service = netnsService('site.conf', port);
    expect(await deploy(config, 'site.conf', service)).toMatchObject({ restarted: true });
    const a = await connect('branch-a', port);
    const b = await connect('branch-b', port);
    expect(await a.waitForLog(CONNECTED, 15_000)).toBe(true);
    expect(await b.waitForLog(CONNECTED, 15_000)).toBe(true);
    const ping = (from: string, source: string, target: string) =>
      run('ip', ['netns', 'exec', clientNs.get(from)?.name as string, 'ping', '-c1', '-W3', '-I', source, target]);
    expect(await ping('branch-a', '10.241.1.1', '10.241.2.1')).toMatch(/1 received/);
    expect(await ping('branch-b', '10.241.2.1', '10.241.1.1')).toMatch(/1 received/);
  });
});

// `./invis demo`: the whole invis server of a demo company. `invis-setup init --answers demo.yaml`
// and `apply` inside the testbed's server sandbox, the demo people in its directory, a LAN client
// with its DHCP lease, and the server's portal reachable from this host at
// https://127.0.0.1:<port>/ (through the LAN client: a relay in its namespace, a forwarder on host
// loopback). Stays up until Ctrl-C / SIGTERM, then removes everything and checks that nothing is
// left. `--port=N` (default 8443); `--once` starts, fetches the login page through the forwarder
// and stops (a smoke test). Lives outside src/: it needs the testbed, which setup must never ship.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { checkServerIdentity } from 'node:tls';
import { type Daemon, DEMO_PASSWORD, DEMO_USERS, requestDhcpLease, spawnDaemon } from '@invis/testbed';
import { parse } from 'yaml';
import { lanLab, must, setupCli, startWholeServer, TSX, type WholeServer } from './whole-server';

const ANSWERS = join(import.meta.dirname, 'demo.yaml');
const SEED = join(import.meta.dirname, 'seed.ts');
const RELAY = join(import.meta.dirname, 'relay.ts');
/** The demo's LAN client, a locally administered MAC. */
const CLIENT_MAC = '02:00:00:00:de:01';

const portArg = process.argv.find((a) => a.startsWith('--port='));
const port = portArg ? Number(portArg.slice('--port='.length)) : 8443;
if (!Number.isInteger(port) || port < 1 || port > 65_535) {
  console.error(`invis demo: --port wants a port number 1–65535, not ${JSON.stringify(portArg)}`);
  process.exit(2);
}
const once = process.argv.includes('--once');
const answers = parse(await readFile(ANSWERS, 'utf8')) as {
  hostname: string;
  domain: string;
  lan: { address: string };
  portal: { port: number };
};
const server = answers.lan.address.slice(0, answers.lan.address.indexOf('/'));
const fqdn = `${answers.hostname}.${answers.domain}`;
const baseDN = answers.domain
  .split('.')
  .map((part) => `DC=${part}`)
  .join(',');

const t0 = performance.now();
const seconds = (): string => `${((performance.now() - t0) / 1000).toFixed(1)} s`;
console.log('invis demo: starting the server sandbox …');
const starting = startWholeServer('invis-demo-');
let whole: WholeServer | undefined;
let relay: Daemon | undefined;
let forwarder: Server | undefined;
const connections = new Set<Socket>();
let stopping: Promise<void> | undefined;

/** Stops everything this demo started and checks that nothing of it is left. */
function stop(): Promise<void> {
  stopping ??= (async () => {
    for (const socket of connections) socket.destroy();
    forwarder?.close();
    await relay?.stop();
    // A signal during the sandbox's start waits for it, to remove it whole.
    whole ??= await starting.catch(() => undefined);
    const info = whole?.sandbox.info;
    await whole?.stop();
    if (!info) return;
    const netns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
    const left = [
      ...[info.server.netns, info.lan.netns, info.wan.netns].filter((ns) =>
        netns.split('\n').some((line) => line.split(' ')[0] === ns),
      ),
      ...[info.dir, whole?.dir ?? ''].filter((dir) => dir !== '' && existsSync(dir)),
      ...(existsSync(`/proc/${info.holderPid}`) ? [`process ${info.holderPid}`] : []),
    ];
    if (left.length > 0) throw new Error(`invis demo: left behind: ${left.join(', ')}`);
    console.log('invis demo: stopped; namespaces, processes and temporary folders are removed.');
  })();
  return stopping;
}

// Ctrl-C / SIGTERM at any time, also while setup applies: remove everything, then exit. `on`, not
// `once`: Ctrl-C reaches this process twice (from the terminal and relayed by tsx), and a second
// signal without a listener would kill it in the middle of the clean-up.
const onSignal = (): void => {
  stop().then(
    () => process.exit(0),
    (error: unknown) => {
      console.error((error as Error).message);
      process.exit(1);
    },
  );
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

try {
  whole = await starting;
  const { sandbox, dir } = whole;
  console.log(`  sandbox up (${seconds()}); invis-setup init --answers ${ANSWERS}`);
  const init = await setupCli(sandbox, ['init', '--answers', ANSWERS]);
  if (init.code !== 0) throw new Error(`invis-setup init failed: ${JSON.stringify(init.doc)}`);
  console.log('  invis-setup apply (Samba AD DC, DNS, DHCP, firewall, CA, portal, …) — about a minute');
  const apply = await setupCli(sandbox, ['apply']);
  if (apply.code !== 0) throw new Error(`invis-setup apply failed: ${JSON.stringify(apply.doc)}`);
  const modules = (apply.doc.modules as { module: string }[]).map((m) => m.module);
  console.log(`  applied ${modules.join(', ')} (${seconds()})`);

  // The demo people, over LDAPS inside the sandbox with setup's Administrator account.
  const admin = (await setupCli(sandbox, ['secrets', 'show', 'ad-administrator'])).doc.value;
  if (typeof admin !== 'string') throw new Error('invis-setup secrets show ad-administrator gave no value');
  await must(sandbox.runner, process.execPath, ['--conditions=@invis/source', '--import', TSX, SEED], {
    input: JSON.stringify({
      url: `ldaps://${server}`,
      caFile: '/etc/invis/certs/ca.crt',
      adminDN: `CN=Administrator,CN=Users,${baseDN}`,
      baseDN,
      password: admin,
    }),
  });
  console.log(`  demo people created: ${DEMO_USERS.map((u) => u.sAMAccountName).join(', ')} (${seconds()})`);

  // A PC of the office: its lease from the server's DHCP, then its address and route.
  const lease = await requestDhcpLease(lanLab(sandbox, dir), { mac: CLIENT_MAC, timeoutSec: 10 });
  await must(sandbox.lan.runner, 'ip', ['addr', 'add', `${lease.ip}/24`, 'dev', sandbox.info.lan.ifname]);
  await must(sandbox.lan.runner, 'ip', ['route', 'add', 'default', 'via', lease.routers[0] ?? server]);
  console.log(
    `  LAN client ${CLIENT_MAC} got ${lease.ip} (router ${lease.routers.join(' ')}, DNS ${lease.dns.join(' ')}, domain ${lease.domain})`,
  );

  // The portal from the host: host loopback → unix socket → relay in the LAN client → portal.
  const socket = join(dir, 'portal.sock');
  relay = spawnDaemon(
    'demo portal relay',
    process.execPath,
    ['--import', TSX, RELAY, socket, server, String(answers.portal.port)],
    join(dir, 'relay.log'),
    { netns: sandbox.lan.netns },
  );
  for (let i = 0; i < 100 && !existsSync(socket); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(socket)) throw new Error(`the portal relay did not start: see ${join(dir, 'relay.log')}`);
  forwarder = createServer((client) => {
    connections.add(client);
    const upstream = connect(socket);
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => connections.delete(client));
  });
  await new Promise<void>((resolve, reject) => {
    forwarder?.once('error', reject);
    forwarder?.listen(port, '127.0.0.1', resolve);
  });
  const caFile = join(dir, 'invis-demo-ca.crt');
  await writeFile(caFile, await sandbox.readFile('/etc/invis/certs/ca.crt'));
  const url = `https://127.0.0.1:${port}/`;

  console.log(`\ninvis demo is up (${seconds()}): the server ${fqdn} (${server}) of "Tischlerei Muster"`);
  console.log(`  Portal   ${url}`);
  console.log(`           its certificate is from the demo's own CA (for ${fqdn} / ${server}):`);
  console.log(`           the browser warns; the CA to check it with: ${caFile}`);
  console.log(`  Logins   ${DEMO_USERS.map((u) => u.sAMAccountName).join(', ')} — password ${DEMO_PASSWORD}`);
  console.log('           anna.schmidt is an admin (Domain Admins)');
  console.log(`  LAN PC   ${lease.ip} in network namespace ${sandbox.lan.netns}`);
  console.log(`           e.g. ip netns exec ${sandbox.lan.netns} dig @${server} ${fqdn}`);

  if (once) {
    const page = await fetchLoginPage(port, caFile);
    if (page.status !== 200 || !/type="password"/.test(page.body)) {
      throw new Error(`GET /login through the forwarder: ${page.status}, no password field`);
    }
    console.log(`\n--once: GET ${url}login → ${page.status} with the password field; stopping.`);
    await stop();
  } else {
    console.log('\nRunning; press Ctrl-C to stop (everything is removed again).');
  }
} catch (error) {
  // After Ctrl-C the failure is the interrupted step's: the signal handler stops and exits.
  if (stopping) await new Promise(() => undefined);
  console.error(`invis demo: ${(error as Error).message}`);
  await stop().catch((e: unknown) => console.error((e as Error).message));
  process.exit(1);
}

/** GET /login through the forwarder, checking the certificate against the demo CA and the server's name. */
async function fetchLoginPage(port: number, caFile: string): Promise<{ status: number; body: string }> {
  const ca = await readFile(caFile);
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        path: '/login',
        ca,
        // Reached through 127.0.0.1: the certificate must still be the server's.
        checkServerIdentity: (_host, cert) => checkServerIdentity(server, cert),
        timeout: 15_000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('GET /login timed out')));
    req.on('error', reject);
    req.end();
  });
}

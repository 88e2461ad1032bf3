// Hosts on real servers: N hosts created through the portal's REST API (AD computer object,
// iscDhcpHost reservation, DNS A + PTR in AD; the reservations pushed into a running Kea by
// config-reload in the background, and the total runs until Kea has the last one), next to the original's way in the same run, per host: `samba-tool computer
// create`, `samba-tool dns add` ×2 (A, PTR), the whole dhcpd.conf rewritten, `dhcpd -t`, dhcpd
// restarted. Then GET /hosts with 2,000 hosts and 2,000 leases. Targets (issue 19): ≥ 10× faster
// per host, p95 < 150 ms; the hosts page < 300 ms. Printed, never asserted.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  adComputerAccounts,
  composePortal,
  createHostManager,
  defaultPortalSettings,
  leaseFileSource,
} from '@invis/portal-1';
import { reserveLoopbackAddress, startDhcpd, startKea, startSambaDc } from '@invis/testbed';
import { createAdClient, installInvisSchema } from '../packages/ad-client/src/index';
import {
  createDhcpDirectory,
  createKeaApplier,
  createKeaControl,
  normalizeDhcpConfig,
  policyPool,
  type Reservation,
  renderDhcpdConf,
  renderKeaConfig,
  validateDhcpConfig,
} from '../packages/dhcp-config/src/index';
import { createAdBackend } from '../packages/dns-zone/src/index';
import { createExecaRunner, runChecked } from '../packages/host/src/index';
import type { Benchmark, Comparison } from './lib';

const p95 = (times: number[]): number => [...times].sort((a, b) => a - b)[Math.ceil(times.length * 0.95) - 1] ?? 0;
const mac = (i: number, prefix: number): string =>
  `02:${prefix.toString(16).padStart(2, '0')}:00:00:${((i >> 8) & 255).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;

const LEASE_HEADER =
  'address,hwaddr,client_id,valid_lifetime,expire,subnet_id,fqdn_fwd,fqdn_rev,hostname,state,user_context\n';

function settings(address: string, dataDir: string) {
  mkdirSync(dataDir, { recursive: true });
  return {
    ...defaultPortalSettings(),
    PORTAL_HOST: address,
    PORTAL_PORT: 0,
    PORTAL_DATA_DIR: dataDir,
    PORTAL_INTERNAL_NETWORKS: [`${address}/32`],
    PORTAL_CERT_FILES: [],
  };
}

/** Logs in as the DC's Administrator (a Domain Admin): the session cookie and its CSRF token. */
async function adminSession(url: string, password: string): Promise<{ cookie: string; csrf: string }> {
  const cookies = (res: Response): string =>
    res.headers
      .getSetCookie()
      .map((c) => c.split(';')[0])
      .join('; ');
  const visit = await fetch(`${url}/api/session`);
  const anon = ((await visit.json()) as { csrfToken: string }).csrfToken;
  const login = await fetch(`${url}/api/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-csrf-token': anon, cookie: cookies(visit) },
    body: JSON.stringify({ username: 'Administrator', password }),
  });
  if (login.status !== 200) throw new Error(`login: ${login.status}`);
  return { cookie: cookies(login), csrf: ((await login.json()) as { csrfToken: string }).csrfToken };
}

export const benchmark: Benchmark = {
  name: 'hosts',
  description:
    'hosts (AD computer + DHCP reservation + DNS A/PTR) through the portal API vs samba-tool ×3 + dhcpd.conf rewrite + dhcpd -t + restart per host',
  async run({ quick }) {
    const count = quick ? 20 : 500;
    const pageHosts = quick ? 300 : 2000;
    const runner = createExecaRunner();
    const dc = await startSambaDc({ schemaUpdates: true });
    const ad = createAdClient({
      url: dc.info.ldapsUrl,
      bindDN: dc.info.adminDN,
      password: dc.info.adminPassword,
      ca: dc.info.caPem,
    });
    const dir = mkdtempSync(join(tmpdir(), 'bench-hosts-'));
    const lo = await reserveLoopbackAddress();
    const stops: (() => Promise<unknown>)[] = [async () => dc.stop(), async () => ad.close(), async () => lo.release()];
    try {
      await installInvisSchema(ad, { sets: ['dhcp'] });
      const layout = await ad.invis.layout();
      await ad.add(`CN=invis-Server,${dc.info.baseDN}`, { objectClass: ['top', 'container'] }).catch(() => undefined);
      await ad.add(layout.dhcp, { objectClass: ['top', 'container'] }).catch(() => undefined);
      await ad.add(layout.dhcpConfig, { objectClass: ['top', 'iscDhcpService'] });
      let subnet = '';
      const kea = await startKea({
        config: (paths) => {
          // 500 hosts do not fit the invis ranges of a /24: the LAN is the /16 around the lab's
          // /24, with the original's /16 layout (clients x.y.4.1–254, printers x.y.1.1–254).
          subnet = `${paths.lab.subnet.split('.').slice(0, 2).join('.')}.0.0/16`;
          return renderKeaConfig(
            normalizeDhcpConfig({
              interfaces: [paths.lab.serverIf],
              subnets: [{ cidr: subnet, pools: [policyPool(subnet)] }],
            }),
            { controlSocket: paths.controlSocket, leaseFile: paths.leaseFile },
          );
        },
      });
      stops.unshift(() => kea.stop());
      const pool = policyPool(subnet);
      await ad.add(`CN=${subnet.split('/')[0]},${layout.dhcpConfig}`, {
        objectClass: ['top', 'iscDhcpSubnet'],
        iscDhcpNetMask: '16',
        iscDhcpRange: `${pool.start} ${pool.end}`,
      });
      const lan = normalizeDhcpConfig({
        interfaces: [kea.info.serverIf],
        subnets: [{ cidr: subnet, pools: [pool] }],
      });
      const dhcp = createDhcpDirectory({ ad });
      const applier = createKeaApplier({
        configPath: kea.info.configFile,
        settings: { controlSocket: kea.info.controlSocket, leaseFile: kea.info.leaseFile },
        checkCommandPrefix: ['ip', 'netns', 'exec', kea.info.serverNetns],
      });
      const dns = createAdBackend({ client: ad });
      await dns.createReverseZone(subnet);
      const zone = dc.info.realm.toLowerCase();
      const leaseFile = join(dir, 'leases.csv');
      writeFileSync(leaseFile, LEASE_HEADER);
      const hosts = createHostManager({
        computers: adComputerAccounts(ad),
        dhcp,
        dns,
        zone,
        subnet,
        leases: leaseFileSource(leaseFile),
        async push() {
          pushes++;
          await applier.apply(validateDhcpConfig({ ...lan, reservations: (await dhcp.read()).config.reservations }));
        },
      });
      const portal = await composePortal(settings(lo.address, dir), {
        ad,
        runner,
        hosts,
        dns,
        directLoopbackClients: true,
      });
      stops.unshift(() => portal.close());
      const { cookie, csrf } = await adminSession(portal.url, dc.info.adminPassword);
      const headers = { 'content-type': 'application/json', 'x-csrf-token': csrf, cookie };

      // Ours: one API call per host; Kea follows in the background (coalesced pushes), and the
      // total runs until it has the last host.
      let pushes = 0;
      const ours: number[] = [];
      const t0 = performance.now();
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        const res = await fetch(`${portal.url}/api/hosts`, {
          method: 'POST',
          headers,
          // Every host gets a computer object, as every host of the original's way does.
          body: JSON.stringify({ name: `pc${i}`, type: i % 2 ? 'printer' : 'client', mac: mac(i, 1), computer: true }),
        });
        if (res.status !== 201) throw new Error(`POST /api/hosts: ${res.status} ${await res.text()}`);
        ours.push(performance.now() - start);
      }
      const lastAnswer = performance.now();
      const sync = await fetch(`${portal.url}/api/hosts/dhcp-sync?wait=true`, { headers });
      const synced = (await sync.json()) as { pending: boolean; lastError: string | null };
      if (synced.pending || synced.lastError) throw new Error(`DHCP push: ${JSON.stringify(synced)}`);
      const oursTotal = performance.now() - t0;
      const lag = performance.now() - lastAnswer;
      // The running Kea, asked: every host is among its reservations.
      const running = await createKeaControl({ socketPath: kea.info.controlSocket }).command('config-get');
      const inKea = (JSON.stringify(running.arguments).match(/"hw-address":/g) ?? []).length;
      if (inKea !== count) throw new Error(`the running Kea has ${inKea} reservations, not ${count}`);

      // The original's way: samba-tool for the computer and both records, then the whole
      // dhcpd.conf rewritten, checked and dhcpd restarted (it cannot reload).
      const dhcpd = await startDhcpd({
        config: (lab) =>
          renderDhcpdConf(normalizeDhcpConfig({ subnets: [{ cidr: lab.subnet, pools: [policyPool(lab.subnet)] }] })),
      });
      stops.unshift(() => dhcpd.stop());
      const dhcpdSubnet = dhcpd.info.subnet;
      const net = dhcpd.info.net;
      const reverse = `${net.split('.').reverse().join('.')}.in-addr.arpa`;
      const auth = ['-H', `ldap://${dc.info.address}`, '-U', `Administrator%${dc.info.adminPassword}`];
      const dnsAuth = ['-U', `Administrator%${dc.info.adminPassword}`];
      await runChecked(runner, 'samba-tool', ['dns', 'zonecreate', dc.info.address, reverse, ...dnsAuth], {
        timeoutMs: 60_000,
      });
      const reservations: Reservation[] = [];
      const peer: number[] = [];
      const t1 = performance.now();
      for (let i = 0; i < count; i++) {
        const start = performance.now();
        const name = `op${i}`;
        const ip = `${net}.${120 + (i % 80)}`;
        await runChecked(runner, 'samba-tool', ['computer', 'create', name, ...auth], { timeoutMs: 60_000 });
        await runChecked(runner, 'samba-tool', ['dns', 'add', dc.info.address, zone, name, 'A', ip, ...dnsAuth], {
          timeoutMs: 60_000,
        });
        await runChecked(
          runner,
          'samba-tool',
          ['dns', 'add', dc.info.address, reverse, ip.split('.')[3] as string, 'PTR', `${name}.${zone}`, ...dnsAuth],
          { timeoutMs: 60_000 },
        );
        // A /24 holds 80 clients: later hosts reuse the addresses of earlier ones in the file.
        reservations.splice(0, reservations.length >= 80 ? 1 : 0);
        reservations.push({ hostname: name, mac: mac(i, 2), ip });
        writeFileSync(
          dhcpd.info.configFile,
          renderDhcpdConf(
            normalizeDhcpConfig({ subnets: [{ cidr: dhcpdSubnet, pools: [policyPool(dhcpdSubnet)] }], reservations }),
          ),
        );
        await runChecked(runner, 'dhcpd', ['-t', '-cf', dhcpd.info.configFile], { timeoutMs: 60_000 });
        await dhcpd.restart();
        peer.push(performance.now() - start);
      }
      const peerTotal = performance.now() - t1;

      // The hosts page: 2,000 reservations of a /16 (a second DHCP service, written straight into
      // the directory) and as many leases, on a second portal over the same DC.
      const pageService = `CN=Page Bench,${layout.dhcp}`;
      await ad.add(pageService, { objectClass: ['top', 'iscDhcpService'] });
      await ad.add(`CN=10.99.0.0,${pageService}`, {
        objectClass: ['top', 'iscDhcpSubnet'],
        iscDhcpNetMask: '16',
        iscDhcpRange: '10.99.200.1 10.99.200.254',
      });
      const pageIp = (i: number): string => `10.99.${10 + Math.floor(i / 254)}.${(i % 254) + 1}`;
      for (let i = 0; i < pageHosts; i++) {
        await ad.add(`CN=dev${i},${pageService}`, {
          objectClass: ['top', 'iscDhcpHost'],
          iscDhcpHWAddress: `ethernet ${mac(i, 3)}`,
          iscDhcpStatements: `fixed-address ${pageIp(i)}`,
          iscDhcpComments: `Raum ${i}`,
        });
      }
      const expire = Math.floor(Date.now() / 1000) + 3600;
      const lines = Array.from(
        { length: pageHosts },
        (_, i) =>
          `10.99.${200 + Math.floor(i / 254)}.${(i % 254) + 1},${mac(i, i % 2 ? 3 : 4)},,86400,${expire},1,0,0,lease${i},0,`,
      );
      writeFileSync(leaseFile, `${LEASE_HEADER}${lines.join('\n')}\n`);
      const pagePortal = await composePortal(settings(lo.address, join(dir, 'page')), {
        ad,
        runner,
        dns,
        hosts: createHostManager({
          computers: adComputerAccounts(ad),
          dhcp: createDhcpDirectory({ ad, serviceDN: pageService }),
          dns,
          zone,
          subnet: '10.99.0.0/16',
          leases: leaseFileSource(leaseFile),
        }),
        directLoopbackClients: true,
      });
      stops.unshift(() => pagePortal.close());
      const pageSession = await adminSession(pagePortal.url, dc.info.adminPassword);
      const page: number[] = [];
      for (let i = 0; i < (quick ? 10 : 30); i++) {
        const start = performance.now();
        const res = await fetch(`${pagePortal.url}/hosts`, { headers: { cookie: pageSession.cookie } });
        const html = await res.text();
        if (res.status !== 200 || !html.includes(`dev${pageHosts - 1}`)) throw new Error(`GET /hosts: ${res.status}`);
        // The first request loads the list from the DC; the page is served from the cache after it.
        if (i > 0) page.push(performance.now() - start);
      }

      const load = loadavg()
        .map((l) => l.toFixed(1))
        .join(' ');
      console.log(
        `per host: ours p95 ${p95(ours).toFixed(0)} ms (Kea had all ${count} ${lag.toFixed(0)} ms after the last answer, ${pushes} pushes), original p95 ${p95(peer).toFixed(0)} ms; hosts page p95 ${p95(page).toFixed(0)} ms; load average ${load}`,
      );
      const rows: Comparison[] = [
        {
          task: `create ${count} hosts (AD + DHCP + DNS A/PTR)`,
          ours: { label: 'portal API', iterations: count, totalMs: oursTotal },
          peer: { label: 'samba-tool ×3 + dhcpd.conf + dhcpd -t + restart', iterations: count, totalMs: peerTotal },
          target: '≥ 10× faster per host, p95 < 150 ms',
        },
        {
          task: `GET /hosts with ${pageHosts} hosts + ${pageHosts} leases`,
          ours: { label: 'hosts page', iterations: page.length, totalMs: page.reduce((a, b) => a + b, 0) },
          peer: { label: 'no peer (scale: one host the original way)', iterations: peer.length, totalMs: peerTotal },
          target: '< 300 ms',
        },
      ];
      return rows;
    } finally {
      for (const stop of stops) await stop().catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

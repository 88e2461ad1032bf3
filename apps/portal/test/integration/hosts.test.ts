// Hosts over the REST API against real servers: a Samba AD DC (computer objects, the original's
// iscDhcpHost objects, AD-integrated DNS answered by Samba's DNS), Kea in a network namespace
// (a changed reservation pushed by config-reload) with a busybox DHCP client, and a BIND that
// refuses the portal's updates for the rollback case.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdClient, createAdClient, installInvisSchema } from '@invis/ad-client';
import {
  createDhcpDirectory,
  createKeaApplier,
  type DhcpConfig,
  type DhcpDirectory,
  normalizeDhcpConfig,
  policyPool,
  renderKeaConfig,
  validateDhcpConfig,
} from '@invis/dhcp-config';
import { createAdBackend, createRfc2136Backend, reverseZonesForCidr } from '@invis/dns-zone';
import { createExecaRunner, runChecked } from '@invis/host';
import {
  type BindServer,
  type KeaInfo,
  type RunningServer,
  requestDhcpLease,
  type SambaDc,
  startBind,
  startKea,
  startSambaDc,
} from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adComputerAccounts, createHostManager, leaseFileSource } from '../../src/hosts';
import { apiClient, httpSend } from '../http-client';
import { INSIDE, launchChromium, startTestPortal, type TestPortal } from './harness';

// INVIS_SCREENSHOT_DIR=$PWD/apps/portal/docs refreshes the README's screenshot of the hosts page.
const SHOTS = process.env.INVIS_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'portal-hosts-shots-'));

/** `dig +short` against one server. */
async function dig(server: string, port: number, ...query: string[]): Promise<string[]> {
  const { stdout } = await runChecked(createExecaRunner(), 'dig', [
    '+short',
    '+norecurse',
    '+tries=2',
    `@${server}`,
    '-p',
    String(port),
    ...query,
  ]);
  return stdout.split('\n').filter(Boolean);
}

describe('hosts: AD computer + DHCP reservation + DNS A/PTR on real servers', () => {
  let dc: SambaDc;
  let ad: AdClient;
  let kea: RunningServer<KeaInfo>;
  let bind: BindServer;
  let dhcp: DhcpDirectory;
  let portal: TestPortal;
  let refusing: TestPortal;
  let lan: DhcpConfig;

  beforeAll(async () => {
    dc = await startSambaDc({ schemaUpdates: true });
    ad = createAdClient({
      url: dc.info.ldapsUrl,
      bindDN: dc.info.adminDN,
      password: dc.info.adminPassword,
      ca: dc.info.caPem,
    });
    await installInvisSchema(ad, { sets: ['dhcp'] });
    // The DHCP service object as setup's samba_ad module makes it (reservations are its children).
    const layout = await ad.invis.layout();
    await ad.add(`CN=invis-Server,${dc.info.baseDN}`, { objectClass: ['top', 'container'] }).catch(() => undefined);
    await ad.add(layout.dhcp, { objectClass: ['top', 'container'] }).catch(() => undefined);
    await ad.add(layout.dhcpConfig, { objectClass: ['top', 'iscDhcpService'] });
    dhcp = createDhcpDirectory({ ad });

    // Kea serves the lab's /24 with the original's pool; the reservations come from the directory.
    let subnet = '';
    kea = await startKea({
      config: (paths) => {
        subnet = paths.lab.subnet;
        lan = normalizeDhcpConfig({
          interfaces: [paths.lab.serverIf],
          subnets: [{ cidr: subnet, pools: [policyPool(subnet)] }],
          reservations: [],
        });
        return renderKeaConfig(lan, { controlSocket: paths.controlSocket, leaseFile: paths.leaseFile });
      },
    });
    const applier = createKeaApplier({
      configPath: kea.info.configFile,
      settings: { controlSocket: kea.info.controlSocket, leaseFile: kea.info.leaseFile },
      checkCommandPrefix: ['ip', 'netns', 'exec', kea.info.serverNetns],
    });
    // Directory → DHCP: what `invis-setup sync dhcp` does on the server, here in-process.
    const push = async () => {
      const { config } = await dhcp.read();
      await applier.apply(validateDhcpConfig({ ...lan, reservations: config.reservations }));
    };
    // The LAN as the original's setup puts it into the directory (03_dhcp_host_net.ldif): the
    // reservations are checked against it before they are written.
    const pool = policyPool(subnet);
    await ad.add(`CN=${subnet.split('/')[0]},${layout.dhcpConfig}`, {
      objectClass: ['top', 'iscDhcpSubnet'],
      iscDhcpNetMask: '24',
      iscDhcpRange: `${pool.start} ${pool.end}`,
    });
    const dns = createAdBackend({ client: ad });
    await dns.createReverseZone(subnet);
    const common = {
      computers: adComputerAccounts(ad),
      dhcp,
      zone: dc.info.realm.toLowerCase(),
      subnet,
      push,
      leases: leaseFileSource(kea.info.leaseFile),
      listTtlMs: 0,
    };
    portal = await startTestPortal(dc.info, { network: { dns, hosts: createHostManager({ ...common, dns }) } });

    // The same parts, but a DNS server that refuses the portal: BIND knows another secret.
    bind = await startBind({ zones: [common.zone, ...reverseZonesForCidr(subnet)] });
    const wrongKey = { ...bind.info.tsig, secret: Buffer.alloc(32, 7).toString('base64') };
    const refused = createRfc2136Backend({
      server: bind.info.address,
      key: wrongKey,
      zones: bind.info.zones,
    });
    refusing = await startTestPortal(dc.info, {
      network: { dns: refused, hosts: createHostManager({ ...common, dns: refused }) },
    });
  }, 240_000);

  afterAll(async () => {
    await refusing?.close();
    await portal?.close();
    await bind?.stop();
    await kea?.stop();
    await ad?.close();
    await dc?.stop();
  });

  const admin = async (tp: TestPortal) => {
    const client = apiClient(httpSend(tp.url), { 'x-forwarded-for': INSIDE });
    expect((await client.login('Administrator', dc.info.adminPassword)).status).toBe(200);
    return client;
  };

  /** Waits until the running Kea has every change made so far (the push runs in the background). */
  const dhcpSynced = async (api: Awaited<ReturnType<typeof admin>>) => {
    const state = await (await api.request('GET', '/api/hosts/dhcp-sync?wait=true')).json();
    expect(state).toMatchObject({ pending: false, lastError: null });
  };

  it('creates a PC: the DHCP client gets the reserved address, dig resolves name and PTR', async () => {
    const api = await admin(portal);
    const mac = '02:42:ac:11:00:21';
    const created = await api.request('POST', '/api/hosts', { name: 'pc01', type: 'client', mac, comment: 'Büro' });
    expect(created.status).toBe(201);
    const host = (await created.json()) as { ip: string; fqdn: string; computer: boolean };
    expect(host.ip).toBe(`${kea.info.net}.120`);
    expect(host.computer).toBe(true);
    expect((await ad.computers.get('pc01'))?.dnsHostName).toBe(host.fqdn);

    await dhcpSynced(api);
    const lease = await requestDhcpLease(kea.info, { mac, timeoutSec: 10 });
    expect(lease.ip).toBe(host.ip);
    expect(await dig(dc.info.address, dc.info.dnsPort, host.fqdn, 'A')).toEqual([host.ip]);
    expect(await dig(dc.info.address, dc.info.dnsPort, '-x', host.ip)).toEqual([`${host.fqdn}.`]);

    // The lease list shows the client with its reservation.
    const leases = (await (await api.request('GET', '/api/dhcp/leases')).json()) as {
      ip: string;
      reservedAs: string;
    }[];
    expect(leases).toContainEqual(expect.objectContaining({ ip: host.ip, reservedAs: 'pc01' }));
  });

  it('renames and deletes a host in all three parts', async () => {
    const api = await admin(portal);
    const mac = '02:42:ac:11:00:22';
    expect((await api.request('POST', '/api/hosts', { name: 'laser1', type: 'printer', mac })).status).toBe(201);
    const renamed = await api.request('PATCH', '/api/hosts/laser1', { name: 'laser2' });
    expect(renamed.status).toBe(200);
    const host = (await renamed.json()) as { ip: string; fqdn: string };
    expect(host.ip).toBe(`${kea.info.net}.20`);
    expect(await dig(dc.info.address, dc.info.dnsPort, host.fqdn, 'A')).toEqual([host.ip]);
    expect(await dig(dc.info.address, dc.info.dnsPort, host.fqdn.replace('laser2', 'laser1'), 'A')).toEqual([]);
    expect(await dig(dc.info.address, dc.info.dnsPort, '-x', host.ip)).toEqual([`${host.fqdn}.`]);
    await dhcpSynced(api);
    expect((await requestDhcpLease(kea.info, { mac, timeoutSec: 10 })).ip).toBe(host.ip);

    expect((await api.request('DELETE', '/api/hosts/laser2')).status).toBe(204);
    expect(await dig(dc.info.address, dc.info.dnsPort, host.fqdn, 'A')).toEqual([]);
    expect(await dig(dc.info.address, dc.info.dnsPort, '-x', host.ip)).toEqual([]);
    expect((await dhcp.read()).config.reservations.map((r) => r.hostname)).not.toContain('laser2');
  });

  it('never hands out an address, MAC or name another tool has taken since the portal last read the directory', async () => {
    const api = await admin(portal);
    const first = (await (
      await api.request('POST', '/api/hosts', { name: 'pc10', type: 'client', mac: '02:42:ac:11:00:30' })
    ).json()) as { ip: string };
    // Another tool (the original portal, samba-tool) writes the next client address meanwhile.
    const [net, last] = [first.ip.slice(0, first.ip.lastIndexOf('.')), Number(first.ip.split('.')[3])];
    await ad.add(`CN=foreign1,${(await ad.invis.layout()).dhcpConfig}`, {
      objectClass: ['top', 'iscDhcpHost'],
      iscDhcpHWAddress: 'ethernet 02:42:AC:11:00:31',
      iscDhcpStatements: `fixed-address ${net}.${last + 1}`,
      iscDhcpComments: '-',
    });
    const second = await api.request('POST', '/api/hosts', { name: 'pc11', type: 'client', mac: '02:42:ac:11:00:32' });
    expect(second.status).toBe(201);
    expect(((await second.json()) as { ip: string }).ip).toBe(`${net}.${last + 2}`);
    const sameMac = await api.request('POST', '/api/hosts', { name: 'pc12', type: 'client', mac: '02:42:ac:11:00:31' });
    expect(sameMac.status).toBe(409);
    const sameName = await api.request('POST', '/api/hosts', {
      name: 'foreign1',
      type: 'printer',
      mac: '02:42:ac:11:00:33',
    });
    expect(sameName.status).toBe(409);
    expect(await ad.computers.get('pc12')).toBeUndefined();
    for (const name of ['pc10', 'pc11', 'foreign1'])
      expect((await api.request('DELETE', `/api/hosts/${name}`)).status).toBe(204);
    await dhcpSynced(api);
  });

  it('in Chromium: the hosts form creates a printer, the DHCP client gets its address, dig resolves it', async () => {
    let offers = '';
    const browser = await launchChromium();
    try {
      const ctx = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': INSIDE } });
      const page = await ctx.newPage();
      page.on('pageerror', (e) => {
        throw new Error(`page script error: ${e.message}`);
      });
      await page.goto(`${portal.url}/login`);
      const login = page.locator('form[data-api="POST /api/session"]');
      await login.getByLabel('Benutzername').fill('Administrator');
      await login.getByLabel('Passwort').fill(dc.info.adminPassword);
      await login.getByRole('button', { name: 'Anmelden' }).click();
      await page.waitForURL(`${portal.url}/`);
      await page.goto(`${portal.url}/hosts`);
      const form = page.locator('form#new-host');
      // The form lists the next free address of every type before anything is typed.
      offers = (await page.locator('#offers').textContent()) ?? '';
      await form.getByLabel('Name', { exact: true }).fill('laser9');
      await form.getByLabel('Gerätetyp').selectOption('printer');
      // A printer gets no computer account unless the admin ticks it.
      expect(await form.getByLabel('Computerkonto im Verzeichnis (PC)').isChecked()).toBe(false);
      await form.getByLabel('MAC-Adresse').fill('02-42-AC-11-00-29');
      await form.getByRole('button', { name: 'Anlegen' }).click();
      await expect
        .poll(() => page.locator('main table').first().textContent(), { timeout: 15_000 })
        .toContain('laser9');
      await page.screenshot({ path: join(SHOTS, 'hosts.png'), fullPage: true });
      await ctx.close();
    } finally {
      await browser.close();
    }
    const api = await admin(portal);
    const host = (await (await api.request('GET', '/api/hosts/laser9')).json()) as {
      ip: string;
      fqdn: string;
      computer: boolean;
    };
    expect(host.computer).toBe(false);
    expect(offers).toContain(host.ip);
    expect(Number(host.ip.split('.')[3])).toBeGreaterThanOrEqual(20);
    expect(Number(host.ip.split('.')[3])).toBeLessThanOrEqual(50);
    await dhcpSynced(api);
    expect((await requestDhcpLease(kea.info, { mac: '02:42:ac:11:00:29', timeoutSec: 10 })).ip).toBe(host.ip);
    expect(await dig(dc.info.address, dc.info.dnsPort, host.fqdn, 'A')).toEqual([host.ip]);
    expect(await dig(dc.info.address, dc.info.dnsPort, '-x', host.ip)).toEqual([`${host.fqdn}.`]);
    expect((await api.request('DELETE', '/api/hosts/laser9')).status).toBe(204);
  });

  it('DNS server refuses → the AD computer object and the reservation are gone again', async () => {
    const api = await admin(refusing);
    const mac = '02:42:ac:11:00:23';
    const res = await api.request('POST', '/api/hosts', { name: 'pc02', type: 'client', mac });
    expect(res.status).toBe(502);
    const body = (await res.json()) as { code: string; details: Record<string, unknown> };
    expect(body.code).toBe('PORTAL_HOST_FAILED');
    expect(body.details).toMatchObject({ step: 'dns-a', rolledBack: true });
    expect(String(body.details.reason)).toMatch(/^DNS_TSIG_/);
    expect(await ad.computers.get('pc02')).toBeUndefined();
    expect((await dhcp.read()).config.reservations.map((r) => r.hostname)).not.toContain('pc02');
    // Nothing reached Kea: the client gets a pool address, not the reservation.
    const lease = await requestDhcpLease(kea.info, { mac, timeoutSec: 10 });
    expect(Number(lease.ip.split('.')[3])).toBeGreaterThanOrEqual(200);
    // The audit log says which part failed.
    const audit = (await (await api.request('GET', '/api/audit?search=pc02')).json()) as {
      items: { action: string; outcome: string }[];
    };
    expect(audit.items[0]).toMatchObject({ action: 'host.create', outcome: 'failed' });
  });

  it('reserves a client from the lease list', async () => {
    const api = await admin(portal);
    const mac = '02:42:ac:11:00:24';
    const dynamic = await requestDhcpLease(kea.info, { mac, timeoutSec: 10 });
    const res = await api.request('POST', `/api/dhcp/leases/${dynamic.ip}/reserve`, { type: 'ipDevice', name: 'cam1' });
    expect(res.status).toBe(201);
    const host = (await res.json()) as { ip: string };
    expect(host.ip).toBe(`${kea.info.net}.60`);
    await dhcpSynced(api);
    expect((await requestDhcpLease(kea.info, { mac, timeoutSec: 10 })).ip).toBe(host.ip);
  });

  it('edits DNS records with validation and clear messages', async () => {
    const api = await admin(portal);
    const zone = dc.info.realm.toLowerCase();
    const path = `/api/dns/zones/${zone}/records`;
    expect((await api.request('POST', path, { name: 'www', type: 'A', value: '192.0.2.80' })).status).toBe(201);
    expect((await api.request('POST', path, { name: 'mail', type: 'MX', value: '10 www' })).status).toBe(201);
    expect((await api.request('POST', path, { name: 'spf', type: 'TXT', value: 'v=spf1 mx -all' })).status).toBe(201);
    expect(await dig(dc.info.address, dc.info.dnsPort, `mail.${zone}`, 'MX')).toEqual([`10 www.${zone}.`]);
    expect(await dig(dc.info.address, dc.info.dnsPort, `spf.${zone}`, 'TXT')).toEqual(['"v=spf1 mx -all"']);

    const changed = await api.request('PUT', path, {
      name: 'www',
      type: 'A',
      value: '192.0.2.80',
      newValue: '192.0.2.81',
    });
    expect(changed.status).toBe(200);
    expect(await dig(dc.info.address, dc.info.dnsPort, `www.${zone}`, 'A')).toEqual(['192.0.2.81']);

    const bad = await api.request('POST', path, { name: 'x', type: 'A', value: '300.1.1.1' });
    expect(bad.status).toBe(422);
    expect(await bad.json()).toMatchObject({ code: 'PORTAL_DNS_INVALID' });
    const cname = await api.request('POST', path, { name: 'www', type: 'CNAME', value: 'mail' });
    expect(await cname.json()).toMatchObject({ code: 'PORTAL_DNS_INVALID', details: { reason: 'DNS_CNAME_CONFLICT' } });
    expect((await api.request('DELETE', path, { name: 'www', type: 'A', value: '192.0.2.81' })).status).toBe(204);
    expect(await dig(dc.info.address, dc.info.dnsPort, `www.${zone}`, 'A')).toEqual([]);
  });
});

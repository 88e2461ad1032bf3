// Kea 2.2 in a network namespace, busybox udhcpc in a second one: what the library renders
// is what a real client gets, and apply() changes it live through the control socket.
import { readFile } from 'node:fs/promises';
import {
  createDhcpLab,
  type DhcpLab,
  type DhcpLabInfo,
  type KeaInfo,
  requestDhcpLease,
  startKea,
} from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createKeaApplier,
  createKeaControl,
  type DhcpConfigInput,
  parseKeaConfig,
  parseKeaLeases,
  renderKeaConfig,
  reservationFromLease,
  validateDhcpConfig,
} from '../../src/index';
import { labModel } from './lab-model';

const RESERVED_MAC = '02:00:5e:10:00:01';
const DYNAMIC_MAC = '02:00:5e:10:00:02';

const model = (lab: DhcpLabInfo, host: number): DhcpConfigInput =>
  labModel(
    lab,
    { mac: RESERVED_MAC, host, hostname: 'printer1', comment: 'Flur' },
    { interfaces: [lab.serverIf], search: ['invis.test', 'lan.invis.test'] },
  );

describe('Kea DHCPv4 with a real client', () => {
  let lab: DhcpLab;
  let kea: Awaited<ReturnType<typeof startKea>>;
  let info: KeaInfo;
  let settings: { controlSocket: string; leaseFile: string; hooksLibraries: string[]; logOutput: string };

  beforeAll(async () => {
    lab = await createDhcpLab('dkea');
    kea = await startKea({
      lab,
      config: (paths) => {
        settings = {
          controlSocket: paths.controlSocket,
          leaseFile: paths.leaseFile,
          hooksLibraries: [paths.leaseCmdsHook],
          logOutput: 'stdout',
        };
        return renderKeaConfig(validateDhcpConfig(model(lab.info, 20)), settings);
      },
    });
    info = kea.info;
  });

  afterAll(async () => {
    await kea?.stop();
    await lab?.remove();
  });

  it('gives the reserved address to the reserved MAC, with router, DNS, domain, search, NTP and WINS', async () => {
    const lease = await requestDhcpLease(info, { mac: RESERVED_MAC });
    expect(lease).toMatchObject({
      ip: `${info.net}.20`,
      routers: [info.serverAddress],
      dns: [info.serverAddress],
      domain: 'invis.test',
      search: ['invis.test', 'lan.invis.test'],
      ntp: [info.serverAddress],
      wins: [info.serverAddress],
      leaseSeconds: 600,
    });
  });

  it('gives any other MAC an address from the pool', async () => {
    const lease = await requestDhcpLease(info, { mac: DYNAMIC_MAC });
    const host = Number(lease.ip.split('.')[3]);
    expect(lease.ip.startsWith(`${info.net}.`)).toBe(true);
    expect(host).toBeGreaterThanOrEqual(200);
    expect(host).toBeLessThanOrEqual(220);
  });

  it('reads back the rendered file it runs from', async () => {
    const parsed = parseKeaConfig(await readFile(info.configFile, 'utf8'));
    expect(parsed.config).toEqual(validateDhcpConfig(model(info, 20)));
    expect(parsed.settings).toEqual(settings);
    expect(parsed.warnings).toEqual([]);
  });

  it('reads both clients from the lease CSV and agrees with lease4-get-all', async () => {
    const leases = parseKeaLeases(await readFile(info.leaseFile, 'utf8'), { now: new Date() });
    const byMac = new Map(leases.map((l) => [l.mac, l]));
    expect(byMac.get(RESERVED_MAC)).toMatchObject({ ip: `${info.net}.20`, state: 'active', subnetId: 1 });
    expect(byMac.get(DYNAMIC_MAC)?.state).toBe('active');
    const answer = await createKeaControl({ socketPath: info.controlSocket }).command('lease4-get-all');
    const live = (answer.arguments as { leases: Array<{ 'ip-address': string; 'hw-address': string }> }).leases;
    await expect(createKeaControl({ socketPath: info.controlSocket }).command('no-such-command')).rejects.toMatchObject(
      {
        code: 'DHCP_KEA_COMMAND_FAILED',
        details: { result: 2 },
      },
    );
    expect(live.map((l) => [l['hw-address'], l['ip-address']]).sort()).toEqual(leases.map((l) => [l.mac, l.ip]).sort());
  });

  it('moves a reservation and reserves a dynamic client via apply + config-reload, without restarting Kea', async () => {
    const applier = createKeaApplier({
      configPath: info.configFile,
      settings,
      // kea-dhcp4 -t checks that srv0 exists, so it must run inside the server namespace.
      checkCommandPrefix: ['ip', 'netns', 'exec', info.serverNetns],
    });
    const dynamic = parseKeaLeases(await readFile(info.leaseFile, 'utf8')).find((l) => l.mac === DYNAMIC_MAC);
    if (!dynamic) throw new Error('no lease for the dynamic client');
    const current = validateDhcpConfig(model(info, 21));
    const { reservation, config } = reservationFromLease(current, dynamic, {
      deviceType: 'client',
      hostname: 'pc-anna',
    });
    expect(reservation.ip).toBe(`${info.net}.120`);

    const report = await applier.apply(config);
    expect(report.changed).toBe(true);
    expect(report.files).toMatchObject([{ path: info.configFile, action: 'update' }]);
    expect(report.files[0]?.diff).toContain(`+            "ip-address": "${info.net}.21",`);
    expect(report.backup).toBe(`${info.configFile}.bak`);
    expect(await applier.apply(config)).toMatchObject({ changed: false });

    expect((await requestDhcpLease(info, { mac: RESERVED_MAC })).ip).toBe(`${info.net}.21`);
    expect((await requestDhcpLease(info, { mac: DYNAMIC_MAC })).ip).toBe(`${info.net}.120`);
    // Same process throughout: one start, one reconfiguration from the file.
    const log = await readFile(info.logFile, 'utf8');
    expect(log.match(/DHCP4_STARTED/g)).toHaveLength(1);
    expect(log).toMatch(/DHCP4_DYNAMIC_RECONFIGURATION/);
    expect(() => process.kill(info.pid, 0)).not.toThrow();
  });

  it('keeps the running config when kea-dhcp4 -t rejects the new one', async () => {
    const before = await readFile(info.configFile, 'utf8');
    const applier = createKeaApplier({
      configPath: info.configFile,
      settings,
      checkCommandPrefix: ['ip', 'netns', 'exec', info.serverNetns],
    });
    const error = await applier.apply({ ...model(info, 22), interfaces: ['nosuch0'] }).catch((e) => e);
    expect(error).toMatchObject({ code: 'DHCP_CHECK_FAILED', details: { command: 'kea-dhcp4', exitCode: 1 } });
    expect(error.message).toMatch(/nosuch0/);
    expect(await readFile(info.configFile, 'utf8')).toBe(before);
    expect((await requestDhcpLease(info, { mac: RESERVED_MAC })).ip).toBe(`${info.net}.21`);
  });
});

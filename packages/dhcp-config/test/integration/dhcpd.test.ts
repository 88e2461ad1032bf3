// ISC dhcpd 4.4 in a network namespace, busybox udhcpc in a second one. dhcpd cannot reload,
// so apply() restarts it through a ServiceManager backed by the testbed daemon.
import { readFile } from 'node:fs/promises';
import { createRecordingServiceManager } from '@invis/test-utils';
import { type DhcpdServer, type DhcpLabInfo, requestDhcpLease, startDhcpd } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDhcpdApplier,
  type DhcpConfigInput,
  parseDhcpdConf,
  parseDhcpdLeases,
  renderDhcpdConf,
  validateDhcpConfig,
} from '../../src/index';
import { labModel } from './lab-model';

const RESERVED_MAC = '02:00:5e:20:00:01';
const DYNAMIC_MAC = '02:00:5e:20:00:02';

const model = (lab: DhcpLabInfo, host: number): DhcpConfigInput =>
  labModel(
    lab,
    { mac: RESERVED_MAC, host, hostname: 'nas', comment: 'Keller' },
    { validLifetime: 900, maxLifetime: 1800 },
  );

// The default ping-check delays every dynamic lease by a second.
const settings = { pingCheck: false };

describe('ISC dhcpd with a real client', () => {
  let server: DhcpdServer;
  let lab: DhcpLabInfo;

  beforeAll(async () => {
    server = await startDhcpd({ config: (l) => renderDhcpdConf(validateDhcpConfig(model(l, 11)), settings) });
    lab = server.info;
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('gives the reserved address with router, DNS, domain, search, NTP and WINS', async () => {
    expect(await requestDhcpLease(lab, { mac: RESERVED_MAC })).toMatchObject({
      ip: `${lab.net}.11`,
      routers: [lab.serverAddress],
      dns: [lab.serverAddress],
      domain: 'invis.test',
      search: ['invis.test'],
      ntp: [lab.serverAddress],
      wins: [lab.serverAddress],
      leaseSeconds: 900,
    });
  });

  it('gives any other MAC a pool address and records it in dhcpd.leases', async () => {
    const lease = await requestDhcpLease(lab, { mac: DYNAMIC_MAC });
    const host = Number(lease.ip.split('.')[3]);
    expect(host).toBeGreaterThanOrEqual(200);
    expect(host).toBeLessThanOrEqual(220);
    const leases = parseDhcpdLeases(await readFile(server.info.leaseFile, 'utf8'), { now: new Date() });
    expect(leases.find((l) => l.mac === DYNAMIC_MAC)).toMatchObject({ ip: lease.ip, state: 'active' });
  });

  it('reads back the rendered file it runs from', async () => {
    const parsed = parseDhcpdConf(await readFile(server.info.configFile, 'utf8'));
    expect(parsed.config).toEqual(validateDhcpConfig(model(lab, 11)));
    expect(parsed.settings).toEqual(settings);
    expect(parsed.warnings).toEqual([]);
  });

  it('changes a reservation through apply: dhcpd -t, write, restart', async () => {
    const applier = createDhcpdApplier({
      configPath: server.info.configFile,
      settings,
      // The testbed's dhcpd runs in a namespace, not under systemd: its restart is the testbed's.
      services: { ...createRecordingServiceManager(), restart: () => server.restart() },
    });
    const pid = server.pid();
    const report = await applier.apply(model(lab, 12));
    expect(report).toMatchObject({
      changed: true,
      backup: `${server.info.configFile}.bak`,
      files: [{ path: server.info.configFile, action: 'update' }],
      services: [{ unit: 'isc-dhcp-server', action: 'restart' }],
    });
    const diff = report.files[0]?.diff ?? '';
    // Line 22 changed, three lines of context before it, the file ends one line after it.
    expect(diff).toMatch(/^@@ -19,5 \+19,5 @@$/m);
    expect(diff.split('\n').filter((l) => /^[-+](?!-- |\+\+ )/.test(l))).toEqual([
      `-  fixed-address ${lab.net}.11;`,
      `+  fixed-address ${lab.net}.12;`,
    ]);
    expect(server.pid()).not.toBe(pid);
    expect((await requestDhcpLease(lab, { mac: RESERVED_MAC })).ip).toBe(`${lab.net}.12`);
  });
});

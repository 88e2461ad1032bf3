// The directory → DHCP sync against a real Samba AD DC and a real Kea in a network namespace: a
// reservation added in AD reaches the running Kea through `syncDhcp` (what `invis-setup sync dhcp`
// runs) by config-reload — same process, no restart — and a DHCP client gets it.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdClient, createAdClient, installInvisSchema } from '@invis/ad-client';
import { createDhcpDirectory } from '@invis/dhcp-config';
import { type CommandRunner, createExecaRunner } from '@invis/host';
import {
  createDhcpLab,
  type DhcpLab,
  type KeaInfo,
  requestDhcpLease,
  type SambaDc,
  startKea,
  startSambaDc,
} from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModuleContext } from '../../src/module';
import { renderDhcpConfig, syncDhcp } from '../../src/modules/dhcp';
import type { PlatformProfile } from '../../src/profiles';
import { createLiveFs } from '../../src/rooted-fs';
import { MODULE_ANSWERS, moduleContext } from './context';

const MAC = '02:00:5e:33:00:01';

/** kea-dhcp4 -t checks the interfaces: it runs inside the lab's server namespace. */
function netnsRunner(netns: string): CommandRunner {
  const real = createExecaRunner();
  return {
    run: (command, args, options) =>
      command.endsWith('/kea-dhcp4')
        ? real.run('ip', ['netns', 'exec', netns, command, ...args], options)
        : real.run(command, args, options),
  };
}

describe('dhcp sync: directory → running Kea', () => {
  let root: string;
  let dc: SambaDc;
  let ad: AdClient;
  let lab: DhcpLab;
  let kea: Awaited<ReturnType<typeof startKea>>;
  let info: KeaInfo;
  let ctx: ModuleContext;

  beforeAll(async () => {
    dc = await startSambaDc({ schemaUpdates: true });
    ad = createAdClient({
      url: dc.info.ldapsUrl,
      bindDN: dc.info.adminDN,
      password: dc.info.adminPassword,
      ca: dc.info.caPem,
    });
    await installInvisSchema(ad, { sets: ['dhcp'] });
    lab = await createDhcpLab('sdhcp');
    const { net, serverIf, serverAddress } = lab.info;
    // What the original setup creates: the invis container, the DHCP service and the LAN subnet.
    const base = await ad.baseDN();
    await ad.add(`CN=invis-Server,${base}`, { objectClass: ['top', 'container'] });
    await ad.add(`CN=DHCP-Server,CN=invis-Server,${base}`, { objectClass: ['top', 'container'] });
    const service = `CN=DHCP Config,CN=DHCP-Server,CN=invis-Server,${base}`;
    await ad.add(service, {
      objectClass: ['top', 'iscDhcpService', 'iscDhcpOptions'],
      iscDhcpStatements: ['default-lease-time 86400', 'max-lease-time 604800', 'authoritative'],
      iscDhcpOption: [`routers ${serverAddress}`],
    });
    await ad.add(`CN=${net}.0,${service}`, {
      objectClass: ['top', 'iscDhcpSubnet'],
      iscDhcpRange: `${net}.200 ${net}.220`,
      iscDhcpNetMask: '24',
    });
    root = await mkdtemp(join(tmpdir(), 'invis-setup-dhcp-'));
    const base0 = await moduleContext(root, {
      answers: {
        ...MODULE_ANSWERS,
        interfaces: { intern: serverIf, extern: 'extern' },
        lan: { address: `${serverAddress}/24` },
      },
    });
    kea = await startKea({
      lab,
      config: (paths) => {
        const profile: PlatformProfile = {
          ...base0.profile,
          kea: {
            ...base0.profile.kea,
            config: join(lab.info.dir, 'kea-dhcp4.conf'),
            controlSocket: paths.controlSocket,
            leaseFile: paths.leaseFile,
          },
        };
        ctx = { ...base0, profile, fs: createLiveFs(), staging: false, runner: netnsRunner(lab.info.serverNetns) };
        // Kea starts from what the module renders with no reservations yet.
        return renderDhcpConfig(ctx.answers, profile, []).content;
      },
    });
    info = kea.info;
  });

  afterAll(async () => {
    await kea?.stop();
    await lab?.remove();
    await ad?.close();
    await dc?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it('brings a reservation added in AD to the running Kea without a restart; the client gets it', async () => {
    const before = await requestDhcpLease(info, { mac: MAC });
    expect(Number(before.ip.split('.')[3])).toBeGreaterThanOrEqual(200);
    expect(before).toMatchObject({ routers: [info.serverAddress], dns: [info.serverAddress], domain: 'invis-net.loc' });
    // Nothing in the directory yet: the sync changes nothing.
    expect((await syncDhcp(ctx, ad)).changed).toBe(false);

    // The portal (or the original's tools) add a printer reservation in AD.
    expect(
      await createDhcpDirectory({ ad }).putReservation({
        mac: MAC,
        ip: `${info.net}.21`,
        hostname: 'laser1',
        comment: 'Flur',
      }),
    ).toBe('created');
    const report = await syncDhcp(ctx, ad);
    expect(report.changed).toBe(true);
    expect(report.files[0]?.diff).toContain(`"ip-address": "${info.net}.21"`);
    expect(report.services).toEqual([]);
    expect((await syncDhcp(ctx, ad)).changed).toBe(false);

    expect((await requestDhcpLease(info, { mac: MAC })).ip).toBe(`${info.net}.21`);
    // One process throughout: started once, reconfigured from the file.
    const log = await readFile(info.logFile, 'utf8');
    expect(log.match(/DHCP4_STARTED/g)).toHaveLength(1);
    expect(log).toMatch(/DHCP4_DYNAMIC_RECONFIGURATION/);
    expect(() => process.kill(info.pid, 0)).not.toThrow();
  });

  it('refuses a reservation outside the LAN (written past the portal) and leaves Kea as it was', async () => {
    const current = await readFile(info.configFile, 'utf8');
    const host = `CN=stray,CN=DHCP Config,CN=DHCP-Server,CN=invis-Server,${await ad.baseDN()}`;
    await ad.add(host, {
      objectClass: ['top', 'iscDhcpHost'],
      iscDhcpHWAddress: 'ethernet 02:00:5e:33:00:02',
      iscDhcpStatements: 'fixed-address 172.31.0.5',
    });
    await expect(syncDhcp(ctx, ad)).rejects.toMatchObject({ code: 'DHCP_CONFLICT' });
    expect(await readFile(info.configFile, 'utf8')).toBe(current);
    await ad.delete(host);
  });
});

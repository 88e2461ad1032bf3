// The original invis DHCP objects in a real Samba AD DC (schema installed by @invis/ad-client):
// what the original setup and portal wrote is read unchanged, and what we write is what the
// original portal writes.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type AdClient, createAdClient, installInvisSchema } from '@invis/ad-client';
import { withTempDir } from '@invis/test-utils';
import { run, type SambaDc, startSambaDc } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDhcpDirectory,
  type DhcpDirectory,
  type ReservationMatch,
  renderKeaConfig,
  validateDhcpConfig,
} from '../../src/index';

describe('invis DHCP objects in AD', () => {
  let dc: SambaDc;
  let ad: AdClient;
  let dhcp: DhcpDirectory;
  let service: string;

  beforeAll(async () => {
    dc = await startSambaDc({ schemaUpdates: true });
    ad = createAdClient({
      url: dc.info.ldapsUrl,
      bindDN: dc.info.adminDN,
      password: dc.info.adminPassword,
      ca: dc.info.caPem,
    });
    await installInvisSchema(ad, { sets: ['dhcp'] });
    const base = await ad.baseDN();
    // What the original's setup (02_dhcp_initial.ldif, 03_dhcp_host_net.ldif) and portal create.
    await ad.add(`CN=invis-Server,${base}`, { objectClass: ['top', 'container'] });
    await ad.add(`CN=DHCP-Server,CN=invis-Server,${base}`, { objectClass: ['top', 'container'] });
    service = `CN=DHCP Config,CN=DHCP-Server,CN=invis-Server,${base}`;
    await ad.add(service, {
      objectClass: ['top', 'iscDhcpService', 'iscDhcpOptions'],
      iscDhcpStatements: [
        'ddns-update-style interim',
        'ignore client-updates',
        'default-lease-time 86400',
        'max-lease-time 604800',
        'authoritative',
      ],
      iscDhcpOption: [
        'domain-name "invis-net.loc"',
        'domain-name-servers 192.168.220.10',
        'broadcast-address 192.168.220.255',
        'routers 192.168.220.10',
        'netbios-name-servers 192.168.220.10',
        'netbios-node-type 8',
        'subnet-mask 255.255.255.0',
        'smtp-server 192.168.220.10',
        'ntp-servers 192.168.220.10',
      ],
    });
    await ad.add(`CN=192.168.220.0,${service}`, {
      objectClass: ['top', 'iscDhcpSubnet'],
      iscDhcpRange: '192.168.220.200 192.168.220.220',
      iscDhcpNetMask: '24',
    });
    await ad.add(`CN=pc1,${service}`, {
      objectClass: ['top', 'iscDhcpHost'],
      iscDhcpHWAddress: 'ethernet 00:1B:21:3A:4F:10',
      iscDhcpStatements: 'fixed-address 192.168.220.120',
      iscDhcpComments: 'Büro Chef',
    });
    await ad.add(`CN=nas,${service}`, {
      objectClass: ['top', 'iscDhcpHost'],
      iscDhcpHWAddress: 'ethernet 00:1b:21:3a:4f:11',
      iscDhcpStatements: ['fixed-address 192.168.220.11', 'next-server 192.168.220.10'],
      iscDhcpComments: '-',
    });
    dhcp = createDhcpDirectory({ ad });
  });

  afterAll(async () => {
    await dc?.stop();
  });

  it('reads the original service, subnet and hosts into the model', async () => {
    const { config, warnings, hostDNs } = await dhcp.read();
    expect(config).toEqual(
      validateDhcpConfig({
        authoritative: true,
        validLifetime: 86_400,
        maxLifetime: 604_800,
        // the original's statements as they are; no zone and key objects, so no update can be sent
        ddns: { enabled: true, ignoreClientUpdates: true },
        options: {
          domainName: 'invis-net.loc',
          domainNameServers: ['192.168.220.10'],
          routers: ['192.168.220.10'],
          netbiosNameServers: ['192.168.220.10'],
          netbiosNodeType: 8,
          ntpServers: ['192.168.220.10'],
          // option 69, which the original sends to every client
          smtpServers: ['192.168.220.10'],
        },
        subnets: [
          {
            cidr: '192.168.220.0/24',
            pools: [{ start: '192.168.220.200', end: '192.168.220.220' }],
            // set on the service by the original, for its one subnet
            options: { subnetMask: '255.255.255.0', broadcastAddress: '192.168.220.255' },
          },
        ],
        reservations: [
          { mac: '00:1b:21:3a:4f:11', ip: '192.168.220.11', hostname: 'nas' },
          { mac: '00:1b:21:3a:4f:10', ip: '192.168.220.120', hostname: 'pc1', comment: 'Büro Chef' },
        ],
      }),
    );
    expect(warnings).toEqual([
      `CN=nas,${service}: host nas: "next-server 192.168.220.10" not imported`,
      `${service}: "ddns-update-style interim" without a DNS zone and TSIG key object: no update can be sent; Kea renders with DDNS off`,
    ]);
    expect(hostDNs.pc1).toBe(`CN=pc1,${service}`);
  });

  it('feeds a Kea config that kea-dhcp4 -t accepts', async () => {
    const { config } = await dhcp.read();
    await withTempDir('invis-dhcp-ad-', async (dir) => {
      const file = join(dir, 'kea.conf');
      await writeFile(file, renderKeaConfig(validateDhcpConfig(config), { leaseFile: join(dir, 'leases.csv') }));
      await run('kea-dhcp4', ['-t', file]);
    });
  });

  it('writes a new reservation exactly as the original portal does', async () => {
    expect(await dhcp.putReservation({ mac: '02-00-00-00-00-20', ip: '192.168.220.20', hostname: 'Laser1' })).toBe(
      'created',
    );
    const entry = await ad.get(`CN=laser1,${service}`);
    expect(entry?.getAll('objectClass')).toEqual(['top', 'iscDhcpHost']);
    expect(entry?.get('iscDhcpHWAddress')).toBe('ethernet 02:00:00:00:00:20');
    expect(entry?.getAll('iscDhcpStatements')).toEqual(['fixed-address 192.168.220.20']);
    expect(entry?.get('iscDhcpComments')).toBe('-');
    expect((await dhcp.read()).config.reservations.map((r) => r.hostname)).toEqual(['nas', 'laser1', 'pc1']);
  });

  it('updates only what changed and keeps foreign statements', async () => {
    expect(await dhcp.putReservation({ mac: '00:1b:21:3a:4f:11', ip: '192.168.220.12', hostname: 'nas' })).toBe(
      'updated',
    );
    expect((await ad.get(`CN=nas,${service}`))?.getAll('iscDhcpStatements').sort()).toEqual([
      'fixed-address 192.168.220.12',
      'next-server 192.168.220.10',
    ]);
    expect(
      await dhcp.putReservation({
        mac: '00:1B:21:3A:4F:10',
        ip: '192.168.220.120',
        hostname: 'pc1',
        comment: 'Büro Chef',
      }),
    ).toBe('unchanged');
  });

  it('refuses conflicts before writing anything', async () => {
    await expect(
      dhcp.putReservation({ mac: '02:00:00:00:00:30', ip: '192.168.220.205', hostname: 'pool-pc' }),
    ).rejects.toMatchObject({ code: 'DHCP_CONFLICT' });
    await expect(
      dhcp.putReservation({ mac: '00:1b:21:3a:4f:10', ip: '192.168.220.121', hostname: 'twin' }),
    ).rejects.toMatchObject({ code: 'DHCP_CONFLICT', issues: [expect.objectContaining({ kind: 'DUPLICATE_MAC' })] });
    expect(await ad.get(`CN=pool-pc,${service}`)).toBeUndefined();
  });

  it('checks against a read the caller has just made, without reading again', async () => {
    const current = await dhcp.read();
    await expect(
      dhcp.putReservation({ mac: '00:1b:21:3a:4f:10', ip: '192.168.220.122', hostname: 'twin2' }, current),
    ).rejects.toMatchObject({ code: 'DHCP_CONFLICT', issues: [expect.objectContaining({ kind: 'DUPLICATE_MAC' })] });
    expect(
      await dhcp.putReservation({ mac: '02:00:00:00:00:40', ip: '192.168.220.40', hostname: 'laser4' }, current),
    ).toBe('created');
    expect((await dhcp.read()).config.reservations.map((r) => r.hostname)).toContain('laser4');
    expect(await dhcp.deleteReservation('laser4')).toBe(true);
  });

  it('reads only the hosts one reservation can conflict with, and that read is enough to write it', async () => {
    const hostnames = async (hostsMatching: ReservationMatch) =>
      (await dhcp.read({ hostsMatching })).config.reservations.map((r) => r.hostname);
    // pc1's MAC is stored in upper case by the original; the address sits among other statements on nas
    expect(await hostnames({ mac: '00-1b-21-3a-4f-10' })).toEqual(['pc1']);
    expect(await hostnames({ ip: '192.168.220.12' })).toEqual(['nas']);
    expect(await hostnames({ hostname: 'NAS' })).toEqual(['nas']);
    expect(await hostnames({ hostname: 'pc1', ip: '192.168.220.12' })).toEqual(['nas', 'pc1']);
    expect(await hostnames({})).toEqual([]);
    const fresh = { mac: '02:00:00:00:00:41', ip: '192.168.220.41', hostname: 'laser5' };
    const none = await dhcp.read({ hostsMatching: fresh });
    expect(none.config.reservations).toEqual([]);
    expect(none.config.subnets.map((s) => s.cidr)).toEqual(['192.168.220.0/24']);
    const twin = { mac: '00:1B:21:3A:4F:10', ip: '192.168.220.123', hostname: 'twin3' };
    await expect(dhcp.putReservation(twin, await dhcp.read({ hostsMatching: twin }))).rejects.toMatchObject({
      code: 'DHCP_CONFLICT',
      issues: [expect.objectContaining({ kind: 'DUPLICATE_MAC' })],
    });
    expect(await dhcp.putReservation(fresh, none)).toBe('created');
    expect(await dhcp.deleteReservation('laser5')).toBe(true);
  });

  it('deletes reservations', async () => {
    expect(await dhcp.deleteReservation('laser1')).toBe(true);
    expect(await dhcp.deleteReservation('laser1')).toBe(false);
    expect(await ad.get(`CN=laser1,${service}`)).toBeUndefined();
  });

  it('reports AD failures as DHCP_DIRECTORY_ERROR', async () => {
    const missing = createDhcpDirectory({ ad, serviceDN: `CN=Nope,${await ad.baseDN()}` });
    await expect(missing.read()).rejects.toMatchObject({ code: 'DHCP_DIRECTORY_ERROR' });
  });
});

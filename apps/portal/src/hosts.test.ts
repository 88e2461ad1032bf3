// The host saga on in-memory parts: each part can be made to fail, and then nothing of the
// change may remain in any other part. (Against the real DC, Kea and BIND:
// test/integration/hosts.test.ts.)
import { type Lease, normalizeDhcpConfig, type Reservation } from '@invis/dhcp-config';
import { type BackendCore, createBackend, type DnsRecord } from '@invis/dns-zone';
import { describe, expect, it } from 'vitest';
import { isPortalError } from './errors';
import { type ComputerAccounts, createHostManager, type HostManagerOptions } from './hosts';
import type { HostStep } from './hosts-saga';

const ZONE = 'muster.loc';
const REVERSE = '220.168.192.in-addr.arpa';

function parts(
  failAt: Partial<Record<HostStep | 'undo-dhcp' | 'push', boolean>> = {},
  leases: Lease[] = [],
  computerDelayMs = 0,
) {
  const accounts = new Set<string>();
  const computers: ComputerAccounts = {
    list: async () => [...accounts],
    exists: async (n) => accounts.has(n),
    async create(n) {
      if (computerDelayMs) await new Promise((resolve) => setTimeout(resolve, computerDelayMs));
      if (failAt.computer) throw new Error('directory refused');
      accounts.add(n);
    },
    async delete(n) {
      accounts.delete(n);
    },
    async rename(from, to) {
      if (failAt.computer) throw new Error('directory refused');
      accounts.delete(from);
      accounts.add(to);
    },
  };
  const reservations = new Map<string, Reservation>();
  const dhcp: HostManagerOptions['dhcp'] = {
    async read() {
      const config = normalizeDhcpConfig({ subnets: [], reservations: [...reservations.values()] });
      return { config, warnings: [], hostDNs: {} };
    },
    async putReservation(r) {
      if (failAt.dhcp) throw new Error('directory refused');
      const had = reservations.has(r.hostname);
      reservations.set(r.hostname, r);
      return had ? 'updated' : 'created';
    },
    async deleteReservation(name) {
      if (failAt['undo-dhcp']) throw new Error('directory gone');
      return reservations.delete(name);
    },
  };
  const store = new Map<string, DnsRecord[]>();
  const key = (zone: string, name: string) => `${zone}|${name}`;
  const core: BackendCore = {
    listZones: async () => [ZONE, REVERSE],
    readZone: async (zone) => [...store.entries()].filter(([k]) => k.startsWith(`${zone}|`)).flatMap(([, v]) => v),
    readName: async (zone, name) => store.get(key(zone, name)) ?? [],
    async writeName(zone, name, _before, after) {
      if (failAt['dns-a'] && zone === ZONE) throw new Error('REFUSED');
      if (failAt['dns-ptr'] && zone === REVERSE) throw new Error('REFUSED');
      store.set(key(zone, name), [...after]);
    },
    async createZone() {},
  };
  let pushes = 0;
  const manager = createHostManager({
    computers,
    dhcp,
    dns: createBackend(core),
    zone: ZONE,
    subnet: '192.168.220.0/24',
    listTtlMs: 0,
    leases: async () => leases,
    async push() {
      if (failAt.push) throw new Error('kea refused');
      pushes++;
    },
  });
  const dnsRecords = () => [...store.values()].flat();
  return { manager, accounts, reservations, dnsRecords, pushes: () => pushes, failAt };
}

describe('hosts', () => {
  it('creates computer, reservation in the type range, A and PTR, then pushes to the DHCP server', async () => {
    const p = parts();
    const host = await p.manager.create({ name: 'PC01', type: 'client', mac: '00-1B-21-3A-4F-10' });
    expect(host).toMatchObject({ name: 'pc01', ip: '192.168.220.120', type: 'client', computer: true });
    expect(p.accounts.has('pc01')).toBe(true);
    expect(p.reservations.get('pc01')).toMatchObject({ mac: '00:1b:21:3a:4f:10', ip: '192.168.220.120' });
    expect(p.dnsRecords()).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: 'A', name: 'pc01.muster.loc', address: '192.168.220.120' }),
        expect.objectContaining({ type: 'PTR', name: '120.220.168.192.in-addr.arpa', target: 'pc01.muster.loc' }),
      ]),
    );
    expect(await p.manager.dhcpSync(true)).toMatchObject({ pending: false, lastError: null });
    expect(p.pushes()).toBe(1);
    // A printer gets no computer account and the next printer address.
    const printer = await p.manager.create({ name: 'laser1', type: 'printer', mac: '00:1b:21:3a:4f:11' });
    expect(printer).toMatchObject({ ip: '192.168.220.20', computer: false });
    expect(await p.manager.nextFree('printer')).toBe('192.168.220.21');
  });

  for (const step of ['computer', 'dhcp', 'dns-a', 'dns-ptr'] as const) {
    it(`rolls every part back when ${step} fails`, async () => {
      const p = parts({ [step]: true });
      const error = await p.manager.create({ name: 'pc02', type: 'client', mac: '00:1b:21:3a:4f:12' }).catch((e) => e);
      expect(isPortalError(error) && error.code).toBe('PORTAL_HOST_FAILED');
      expect(error.details).toMatchObject({ step, rolledBack: true });
      expect(p.accounts.size).toBe(0);
      expect(p.reservations.size).toBe(0);
      expect(p.dnsRecords()).toEqual([]);
    });
  }

  it('writes the parts at once, and undoes a part that was still being written when another failed', async () => {
    const p = parts({ 'dns-a': true }, [], 50);
    const error = await p.manager.create({ name: 'pc08', type: 'client', mac: '00:1b:21:3a:4f:18' }).catch((e) => e);
    expect(error.details).toMatchObject({ step: 'dns-a', rolledBack: true });
    // The computer account was made after the DNS part had failed, and is gone again.
    expect(p.accounts.size).toBe(0);
    expect(p.reservations.size).toBe(0);
    expect(p.dnsRecords()).toEqual([]);
  });

  it('a refused push keeps the host (the directory is the truth) and says why; the next change pushes again', async () => {
    const p = parts({ push: true });
    const host = await p.manager.create({ name: 'pc07', type: 'client', mac: '00:1b:21:3a:4f:17' });
    expect(host).toMatchObject({ name: 'pc07', computer: true });
    expect(await p.manager.dhcpSync(true)).toMatchObject({ pending: false, lastError: 'kea refused' });
    expect(p.reservations.has('pc07')).toBe(true);
    p.failAt.push = false;
    await p.manager.update('pc07', { comment: 'Empfang' });
    expect(await p.manager.dhcpSync(true)).toMatchObject({ pending: false, lastError: null });
    expect(p.pushes()).toBe(1);
  });

  it('says what is left over when an undo fails too', async () => {
    const p = parts({ 'dns-ptr': true, 'undo-dhcp': true });
    const error = await p.manager.create({ name: 'pc03', type: 'client', mac: '00:1b:21:3a:4f:13' }).catch((e) => e);
    expect(error.code).toBe('PORTAL_HOST_ROLLBACK_INCOMPLETE');
    expect(error.details).toMatchObject({ step: 'dns-ptr', leftOver: ['dhcp'] });
    // The undos after the failed one still ran.
    expect(p.accounts.size).toBe(0);
    expect(p.dnsRecords()).toEqual([]);
  });

  it('refuses conflicts before it changes anything', async () => {
    const p = parts();
    await p.manager.create({ name: 'pc04', type: 'client', mac: '00:1b:21:3a:4f:14' });
    const sameMac = await p.manager.create({ name: 'pc05', type: 'client', mac: '00:1b:21:3a:4f:14' }).catch((e) => e);
    expect(sameMac.code).toBe('PORTAL_CONFLICT');
    const inPool = await p.manager
      .create({ name: 'pc06', type: 'client', mac: '00:1b:21:3a:4f:16', ip: '192.168.220.205' })
      .catch((e) => e);
    expect(inPool.code).toBe('PORTAL_CONFLICT');
    const longPc = await p.manager
      .create({ name: 'a-very-long-pc-name', type: 'client', mac: '00:1b:21:3a:4f:17' })
      .catch((e) => e);
    expect(longPc.code).toBe('PORTAL_VALIDATION');
    expect(p.reservations.size).toBe(1);
    expect(p.accounts.size).toBe(1);
  });

  it('renames and moves a host in all three parts, and deletes it from all three', async () => {
    const p = parts();
    await p.manager.create({ name: 'pc07', type: 'client', mac: '00:1b:21:3a:4f:17' });
    const moved = await p.manager.update('pc07', { name: 'srv1', type: 'server' });
    expect(moved).toMatchObject({ name: 'srv1', ip: '192.168.220.11', type: 'server', computer: true });
    expect([...p.accounts]).toEqual(['srv1']);
    expect([...p.reservations.keys()]).toEqual(['srv1']);
    expect(p.dnsRecords().map((r) => `${r.type} ${r.name}`)).toEqual(
      expect.arrayContaining(['A srv1.muster.loc', 'PTR 11.220.168.192.in-addr.arpa']),
    );
    expect(p.dnsRecords()).toHaveLength(2);
    await p.manager.remove('srv1');
    expect(p.accounts.size + p.reservations.size + p.dnsRecords().length).toBe(0);
  });

  it('rolls a rename back when DNS refuses it', async () => {
    const p = parts();
    await p.manager.create({ name: 'pc08', type: 'client', mac: '00:1b:21:3a:4f:18' });
    p.failAt['dns-ptr'] = true;
    const error = await p.manager.update('pc08', { name: 'pc09' }).catch((e) => e);
    expect(error.code).toBe('PORTAL_HOST_FAILED');
    expect([...p.accounts]).toEqual(['pc08']);
    expect([...p.reservations.keys()]).toEqual(['pc08']);
    expect(p.dnsRecords().find((r) => r.type === 'A')?.name).toBe('pc08.muster.loc');
  });

  it('reserves a leased client: a pool address moves to the next free one of the type', async () => {
    const leases: Lease[] = [
      { ip: '192.168.220.201', mac: '02:00:00:00:00:01', hostname: 'Drucker-Flur', state: 'active' },
    ];
    const { manager } = parts({}, leases);
    const host = await manager.reserveLease({ ip: '192.168.220.201', type: 'printer' });
    expect(host).toMatchObject({ name: 'drucker-flur', ip: '192.168.220.20', computer: false });
    const [lease] = await manager.leases();
    expect(lease).toMatchObject({ ip: '192.168.220.201', reservedAs: 'drucker-flur' });
  });
});

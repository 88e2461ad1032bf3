// Hosts: a PC or device as one thing — AD computer object (PCs), DHCP reservation by MAC in the
// device type's range of the original invis policy, DNS A and PTR — created, changed and removed
// in one step that rolls every part back when one fails (hosts-saga.ts). The directory is the
// DHCP source of truth (the original's iscDhcpHost objects): a change is done when the directory
// holds it; `push` then makes it reach the running DHCP server in the background, coalesced
// (production without push: the setup's one-minute `invis-setup sync dhcp`, which reloads Kea).
import { readFile } from 'node:fs/promises';
import type { AdClient } from '@invis/ad-client';
import {
  createDhcpDirectory,
  DEVICE_TYPES,
  type DeviceType,
  type DhcpConfig,
  type DhcpDirectory,
  deviceTypeOf,
  isDhcpConfigError,
  type Lease,
  nextFreeAddress,
  normalizeDhcpConfig,
  normalizeMac,
  parseDhcpdLeases,
  parseKeaLeases,
  policyPool,
  type Reservation,
  reservationFromLease,
  validateDhcpConfig,
} from '@invis/dhcp-config';
import { type DnsBackend, type DnsRecordInput, isDnsZoneError, ptrName } from '@invis/dns-zone';
import { type BackgroundSyncState, backgroundSync } from './background-sync';
import { PortalError } from './errors';
import { runSaga, type Saga } from './hosts-saga';
import { staleWhileRevalidate } from './swr';

/** Computer accounts as the hosts need them (an AD client through {@link adComputerAccounts}). */
export interface ComputerAccounts {
  /** Lower-case names of every computer account. */
  list(): Promise<string[]>;
  exists(name: string): Promise<boolean>;
  create(name: string, description: string): Promise<void>;
  delete(name: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
}

/** A lease as the hosts page shows it. */
export interface LeaseView {
  ip: string;
  mac: string | null;
  hostname: string | null;
  state: Lease['state'];
  /** ISO 8601, null for infinite leases. */
  ends: string | null;
  /** The reserved host with this MAC, if any. */
  reservedAs: string | null;
}

/** One host: its reservation, whether it has a computer account, and its live lease. */
export interface Host {
  name: string;
  fqdn: string;
  mac: string;
  ip: string;
  /** From the address (the original stores no type): null outside every range. */
  type: DeviceType | null;
  comment: string;
  computer: boolean;
  lease: { ip: string; state: Lease['state']; ends: string | null } | null;
}

/** A new host. */
export interface HostInput {
  name: string;
  type: DeviceType;
  mac: string;
  /** Default: the next free address of the type's range. */
  ip?: string;
  comment?: string;
  /** Create an AD computer object (PCs). Default: for clients and servers. */
  computer?: boolean;
}

/** Changes to a host; a new `type` without `ip` moves it to the next free address of that range. */
export interface HostPatch {
  name?: string;
  type?: DeviceType;
  mac?: string;
  ip?: string;
  comment?: string;
}

/** A dynamic client turned into a reserved host. */
export interface LeaseReservation {
  /** The leased address (the lease list's key). */
  ip: string;
  type: DeviceType;
  /** Default: the name the client sent, made DNS-safe. */
  name?: string;
  comment?: string;
  computer?: boolean;
}

/** Options of {@link createHostManager}. */
export interface HostManagerOptions {
  computers: ComputerAccounts;
  /** The iscDhcpHost objects (`createDhcpDirectory({ ad })`). */
  dhcp: Pick<DhcpDirectory, 'read' | 'putReservation' | 'deleteReservation'>;
  dns: DnsBackend;
  /** The forward zone hosts live in (the AD domain, e.g. `invis-net.loc`). */
  zone: string;
  /** The LAN (CIDR) whose device ranges and pool the original invis policy defines. */
  subnet: string;
  /**
   * Makes the directory's reservations reach the running DHCP server; omitted: its own timer does.
   * Runs after a change has committed, in the background; changes that come during a run are
   * covered by one more run. A failed run leaves the directory as it is (it is the truth; the
   * next change or the setup's timer pushes again) and shows in {@link HostManager.dhcpSync}.
   */
  push?: () => Promise<void>;
  /** The DHCP server's leases; omitted: no lease state. */
  leases?: () => Promise<Lease[]>;
  /** How long the host list is reused (stale-while-revalidate; default 2000 ms, 0 = always fresh). */
  listTtlMs?: number;
}

/** Hosts, leases and the next free address. */
export interface HostManager {
  readonly zone: string;
  readonly subnet: string;
  /** Every reserved host with its lease state, sorted by address. */
  list(): Promise<Host[]>;
  get(name: string): Promise<Host | undefined>;
  /** The next free address of a device type (what the form offers). */
  nextFree(type: DeviceType): Promise<string>;
  /** The next free address of every device type (null: range full), from the cached list. */
  offers(): Promise<Record<DeviceType, string | null>>;
  create(input: HostInput): Promise<Host>;
  update(name: string, patch: HostPatch): Promise<Host>;
  /** Removes reservation, DNS A and PTR, and the computer account. */
  remove(name: string): Promise<void>;
  leases(): Promise<LeaseView[]>;
  /** "Reserve" from the lease list: keeps the address when it lies outside the pool. */
  reserveLease(input: LeaseReservation): Promise<Host>;
  /**
   * The push of changes to the DHCP server; with `wait`, after every change made so far has been
   * pushed (or its push failed: then `lastError` says why). Null without a push.
   */
  dhcpSync(wait?: boolean): Promise<BackgroundSyncState | null>;
}

const DNS_INPUT_CODES = new Set([
  'DNS_INVALID_NAME',
  'DNS_NON_ASCII_NAME',
  'DNS_INVALID_RECORD',
  'DNS_CNAME_CONFLICT',
  'DNS_TARGET_IS_CNAME',
  'DNS_OUT_OF_ZONE',
  'DNS_PARSE_ERROR',
]);

/**
 * A library error as the portal's: input the DHCP model refuses is a conflict, input the DNS
 * model refuses is PORTAL_DNS_INVALID, a missing zone is PORTAL_NOT_FOUND, any other DNS
 * failure PORTAL_DNS_FAILED. The library code is `details.reason`, its issues are kept.
 * @returns the PortalError, or `e` itself when it is none of these
 */
export function portalErrorOf(e: unknown): unknown {
  if (isDhcpConfigError(e)) {
    const issues = e.issues.map((i) => `${i.path}: ${i.message}`);
    return new PortalError('PORTAL_CONFLICT', e.message, {
      cause: e,
      details: { reason: e.code, ...(issues.length ? { issues } : {}) },
    });
  }
  if (isDnsZoneError(e)) {
    if (DNS_INPUT_CODES.has(e.code))
      return new PortalError('PORTAL_DNS_INVALID', e.message, { cause: e, details: { reason: e.code } });
    if (e.code === 'DNS_ZONE_NOT_FOUND')
      return new PortalError('PORTAL_NOT_FOUND', e.message, { cause: e, details: { reason: e.code } });
    return new PortalError('PORTAL_DNS_FAILED', e.message, { cause: e, details: { reason: e.code } });
  }
  return e;
}

/** Runs `f`, turning library errors into portal errors ({@link portalErrorOf}). */
async function mapped<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (e) {
    throw portalErrorOf(e);
  }
}

/** Each MAC's lease, an active one before any other. */
function leasesByMac(leases: readonly Lease[]): Map<string, Lease> {
  const byMac = new Map<string, Lease>();
  for (const l of leases) {
    if (!l.mac) continue;
    const seen = byMac.get(l.mac);
    if (!seen || (l.state === 'active' && seen.state !== 'active')) byMac.set(l.mac, l);
  }
  return byMac;
}

const HOSTNAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** How long a whole read of the reservations serves creates for choosing the next free address. */
const IN_USE_MAX_AGE_MS = 60_000;
/**
 * Pushes to the DHCP server start at most this often: each reads every reservation and has the
 * server check and load them, so during a burst of changes one push a second keeps that work
 * from competing with the changes themselves (a change reaches the server within about a second).
 */
const PUSH_INTERVAL_MS = 1000;

/** Host names: one DNS label, lower case; with a computer account also a NetBIOS name (≤ 15). */
function checkName(name: string, computer: boolean): void {
  if (!HOSTNAME.test(name) || (computer && name.length > 15)) {
    throw new PortalError(
      'PORTAL_VALIDATION',
      computer
        ? 'a PC name has 1–15 letters, digits or hyphens and does not start or end with a hyphen'
        : 'a host name has 1–63 letters, digits or hyphens and does not start or end with a hyphen',
      { details: { field: 'name' } },
    );
  }
}

/**
 * The hosts of the LAN over the directory, DHCP and DNS.
 * @param options collaborators, forward zone and LAN
 * @returns the manager
 * @throws DhcpConfigError `DHCP_INVALID_CONFIG` for a LAN smaller than /24 (the invis ranges do not fit)
 * @example
 * const hosts = createHostManager({ computers: adComputerAccounts(ad), dhcp: createDhcpDirectory({ ad }),
 *   dns: createAdBackend({ client: ad }), zone: 'invis-net.loc', subnet: '192.168.220.0/24' });
 * await hosts.create({ name: 'laser1', type: 'printer', mac: '00:1b:21:3a:4f:10' });
 */
export function createHostManager(options: HostManagerOptions): HostManager {
  const { computers, dhcp, dns, subnet } = options;
  const zone = options.zone.toLowerCase();
  const lan = normalizeDhcpConfig({ subnets: [{ cidr: subnet, pools: [policyPool(subnet)] }], reservations: [] });
  const fqdn = (name: string): string => `${name}.${zone}`;

  /**
   * The addresses in use as last read whole (a create adds its own): what a create chooses the
   * next free address from. A choice is checked against the directory before it is used, and a
   * read older than {@link IN_USE_MAX_AGE_MS} is done again, so an address another tool took
   * is never handed out and one it freed is offered again within a minute.
   */
  let inUse: { reservations: Reservation[]; readAt: number } | null = null;
  const remember = (reservations: Reservation[]): void => {
    inUse = { reservations, readAt: Date.now() };
  };
  /** The LAN with the directory's reservations: what nextFreeAddress and the conflict checks see. */
  const model = async (): Promise<DhcpConfig> => {
    const { reservations } = (await dhcp.read()).config;
    remember(reservations);
    return { ...lan, reservations };
  };
  const inUseNow = async (fresh: boolean): Promise<DhcpConfig> =>
    !fresh && inUse && Date.now() - inUse.readAt < IN_USE_MAX_AGE_MS
      ? { ...lan, reservations: inUse.reservations }
      : mapped(model);
  // One change at a time: a create checks against the directory it has just read and hands that
  // read to the write (no second read of every object), so no other change may come in between.
  let changing: Promise<unknown> = Promise.resolve();
  const oneAtATime = <T>(work: () => Promise<T>): Promise<T> => {
    const turn = changing.then(work, work);
    changing = turn.catch(() => undefined);
    return turn;
  };
  const validated = (config: DhcpConfig, reservations: Reservation[]): void => {
    validateDhcpConfig({ ...config, reservations });
  };

  const readLeases = async (): Promise<Lease[]> => (options.leases ? options.leases() : []);

  const load = async (): Promise<Host[]> => {
    const [config, names, leases] = await Promise.all([dhcp.read(), computers.list(), readLeases()]);
    remember(config.config.reservations);
    const accounts = new Set(names);
    const byMac = leasesByMac(leases);
    return config.config.reservations.map((r) => toHost(r, accounts.has(r.hostname), byMac.get(r.mac)));
  };
  const toHost = (r: Reservation, computer: boolean, lease: Lease | undefined): Host => ({
    name: r.hostname,
    fqdn: fqdn(r.hostname),
    mac: r.mac,
    ip: r.ip,
    type: deviceTypeOf({ cidr: subnet }, r.ip) ?? null,
    comment: r.comment ?? '',
    computer,
    lease: lease ? { ip: lease.ip, state: lease.state, ends: lease.ends?.toISOString() ?? null } : null,
  });
  const cache = staleWhileRevalidate(load, options.listTtlMs ?? 2000);
  const fresh = async (): Promise<Host[]> => {
    cache.invalidate();
    return cache.get();
  };
  const find = async (name: string): Promise<Host | undefined> =>
    (await fresh()).find((h) => h.name === name.toLowerCase());
  /** The host a change has just written, with its live lease (the directory is not read again). */
  const written = async (r: Reservation, computer: boolean): Promise<Host> =>
    toHost(r, computer, leasesByMac(await readLeases()).get(r.mac));
  const need = async (name: string): Promise<Host> => {
    const host = await find(name);
    if (!host) throw new PortalError('PORTAL_NOT_FOUND', `no host ${name}`, { details: { host: name } });
    return host;
  };

  /** The reverse zone holding an address's PTR name (the longest that contains it). */
  const reverseZone = async (ip: string): Promise<{ zone: string; name: string }> => {
    const name = ptrName(ip);
    const found = await dns.findZone(name);
    if (!found) {
      throw new PortalError('PORTAL_DNS_FAILED', `no reverse zone for ${ip}`, {
        details: { reason: 'DNS_ZONE_NOT_FOUND', address: ip },
      });
    }
    return { zone: found, name };
  };

  /**
   * Replaces an RRset inside the saga (reading it counts as the step too: a server that refuses
   * the read has refused the step); the undo puts back what was there. `records` gets the
   * current set, so a PTR shared with another name keeps that name's entry.
   */
  const setRecords = async (
    saga: Saga,
    step: 'dns-a' | 'dns-ptr',
    at: { zone: string; name: string },
    type: 'A' | 'PTR',
    records: (current: DnsRecordInput[]) => DnsRecordInput[],
  ): Promise<void> => {
    let before: DnsRecordInput[] = [];
    await saga.run(
      step,
      async () => {
        before = await dns.editRecords(at.zone, at.name, type, records);
      },
      () => dns.replaceRecords(at.zone, at.name, type, before),
    );
  };
  const a = (name: string, ip: string) => (): DnsRecordInput[] => [{ name: fqdn(name), type: 'A', address: ip }];
  const none = (): DnsRecordInput[] => [];
  /** The PTR set without `name`'s entry (another name may own the address's PTR too), plus `add`'s. */
  const ptrs =
    (at: { name: string }, remove: string, add?: string) =>
    (current: DnsRecordInput[]): DnsRecordInput[] => [
      ...current.filter((r) => r.type === 'PTR' && r.target !== fqdn(remove) && (!add || r.target !== fqdn(add))),
      ...(add ? [{ name: at.name, type: 'PTR' as const, target: fqdn(add) }] : []),
    ];

  const dhcpServer = options.push
    ? backgroundSync(
        options.push,
        (e) => console.error(`portal: pushing the reservations failed: ${(e as Error).message ?? e}`),
        { minIntervalMs: PUSH_INTERVAL_MS },
      )
    : null;
  /** The free address of a type's range in `config`, leased addresses excluded. */
  const freeIn = async (config: DhcpConfig, type: DeviceType): Promise<string> => {
    const taken = (await readLeases()).filter((l) => l.state === 'active').map((l) => l.ip);
    return mapped(async () => nextFreeAddress(config, { deviceType: type, exclude: taken }));
  };
  /** Runs a change's saga; once it has committed, the DHCP server is brought along. */
  const change = async (body: (saga: Saga) => Promise<void>, added?: Reservation): Promise<void> => {
    try {
      await runSaga(body);
    } catch (e) {
      inUse = null;
      throw e;
    } finally {
      cache.invalidate();
    }
    // A create adds its address; after any other change the next create reads the whole again.
    if (added && inUse) inUse.reservations = [...inUse.reservations, added];
    else inUse = null;
    dhcpServer?.request();
  };

  const createHost = async (input: HostInput): Promise<Host> => {
    const name = input.name.toLowerCase();
    const computer = input.computer ?? (input.type === 'client' || input.type === 'server');
    checkName(name, computer);
    const mac = normalizeMac(input.mac) ?? input.mac;
    // Only the hosts this one can collide with are read (name, MAC, address), not every host.
    const pick = async (fresh: boolean): Promise<string> => input.ip ?? freeIn(await inUseNow(fresh), input.type);
    const colliding = (ip: string) => mapped(() => dhcp.read({ hostsMatching: { hostname: name, mac, ip } }));
    let ip = await pick(false);
    let [directory, computerTaken] = await Promise.all([
      colliding(ip),
      computer ? computers.exists(name) : Promise.resolve(false),
    ]);
    if (!input.ip && directory.config.reservations.some((r) => r.ip === ip)) {
      // Taken since the last whole read (another tool or portal): choose again from a new one.
      ip = await pick(true);
      directory = await colliding(ip);
    }
    const config: DhcpConfig = { ...lan, reservations: directory.config.reservations };
    if (computerTaken || config.reservations.some((r) => r.hostname === name)) {
      throw new PortalError('PORTAL_CONFLICT', `a host ${name} exists already`, { details: { host: name } });
    }
    const reservation: Reservation = {
      hostname: name,
      mac,
      ip,
      ...(input.comment ? { comment: input.comment } : {}),
    };
    // Every check that needs no write comes first: a refused input changes nothing.
    await mapped(async () => validated(config, [...config.reservations, reservation]));
    const reverse = await reverseZone(ip);
    // The four parts share nothing, so they are written at once; a failure undoes the others.
    await change(async (saga) => {
      await saga.all([
        ...(computer
          ? [
              saga.run(
                'computer',
                () => computers.create(name, input.comment || 'Computer'),
                () => computers.delete(name),
              ),
            ]
          : []),
        saga.run(
          'dhcp',
          () => dhcp.putReservation(reservation, directory),
          () => dhcp.deleteReservation(name),
        ),
        setRecords(saga, 'dns-a', { zone, name: fqdn(name) }, 'A', a(name, ip)),
        setRecords(saga, 'dns-ptr', reverse, 'PTR', ptrs(reverse, name, name)),
      ]);
    }, reservation);
    return written(reservation, computer);
  };

  const updateHost = async (name: string, patch: HostPatch): Promise<Host> => {
    const old = await need(name);
    const next = {
      name: (patch.name ?? old.name).toLowerCase(),
      mac: patch.mac === undefined ? old.mac : (normalizeMac(patch.mac) ?? patch.mac),
      comment: patch.comment ?? old.comment,
    };
    checkName(next.name, old.computer);
    const renamed = next.name !== old.name;
    const config = await mapped(model);
    const others = config.reservations.filter((r) => r.hostname !== old.name);
    if (renamed && (others.some((r) => r.hostname === next.name) || (await computers.exists(next.name)))) {
      throw new PortalError('PORTAL_CONFLICT', `a host ${next.name} exists already`, {
        details: { host: next.name },
      });
    }
    const moved = patch.type !== undefined && patch.ip === undefined && patch.type !== old.type;
    const ip =
      patch.ip ??
      (moved
        ? await mapped(async () =>
            nextFreeAddress({ ...config, reservations: others }, { deviceType: patch.type as DeviceType }),
          )
        : old.ip);
    const before: Reservation = { hostname: old.name, mac: old.mac, ip: old.ip, comment: old.comment || '' };
    const after: Reservation = {
      hostname: next.name,
      mac: next.mac,
      ip,
      ...(next.comment ? { comment: next.comment } : {}),
    };
    await mapped(async () => validated(config, [...others, after]));
    const [oldReverse, newReverse] = [await reverseZone(old.ip), await reverseZone(ip)];
    await change(async (saga) => {
      if (renamed && old.computer) {
        await saga.run(
          'computer',
          () => computers.rename(old.name, next.name),
          () => computers.rename(next.name, old.name),
        );
      }
      if (renamed) {
        // The old object goes first: the directory refuses a second host with the same MAC.
        await saga.run(
          'dhcp',
          () => dhcp.deleteReservation(old.name),
          () => dhcp.putReservation(before),
        );
      }
      await saga.run(
        'dhcp',
        () => dhcp.putReservation(after),
        () => (renamed ? dhcp.deleteReservation(next.name) : dhcp.putReservation(before)),
      );
      if (renamed) await setRecords(saga, 'dns-a', { zone, name: old.fqdn }, 'A', none);
      await setRecords(saga, 'dns-a', { zone, name: fqdn(next.name) }, 'A', a(next.name, ip));
      if (renamed || ip !== old.ip) {
        await setRecords(saga, 'dns-ptr', oldReverse, 'PTR', ptrs(oldReverse, old.name));
      }
      await setRecords(saga, 'dns-ptr', newReverse, 'PTR', ptrs(newReverse, next.name, next.name));
    });
    return written(after, old.computer);
  };

  const removeHost = async (name: string): Promise<void> => {
    const old = await need(name);
    const reverse = await reverseZone(old.ip);
    const before: Reservation = { hostname: old.name, mac: old.mac, ip: old.ip, comment: old.comment || '' };
    await change(async (saga) => {
      await saga.all([
        setRecords(saga, 'dns-ptr', reverse, 'PTR', ptrs(reverse, old.name)),
        setRecords(saga, 'dns-a', { zone, name: old.fqdn }, 'A', none),
        saga.run(
          'dhcp',
          () => dhcp.deleteReservation(old.name),
          () => dhcp.putReservation(before),
        ),
      ]);
      // Last: a deleted computer account cannot be brought back (its SID is gone).
      if (old.computer) await saga.run('computer', () => computers.delete(old.name));
    });
  };

  const manager: HostManager = {
    zone,
    subnet,
    list: () => cache.get(),
    get: (name) => find(name),
    async nextFree(type) {
      return freeIn(await mapped(model), type);
    },

    async offers() {
      const [hosts, leases] = await Promise.all([cache.get(), readLeases()]);
      const config: DhcpConfig = {
        ...lan,
        reservations: hosts.map((h) => ({ hostname: h.name, mac: h.mac, ip: h.ip })),
      };
      const taken = leases.filter((l) => l.state === 'active').map((l) => l.ip);
      const next = (type: DeviceType): string | null => {
        try {
          return nextFreeAddress(config, { deviceType: type, exclude: taken });
        } catch (e) {
          if (isDhcpConfigError(e) && e.code === 'DHCP_RANGE_EXHAUSTED') return null;
          throw e;
        }
      };
      return Object.fromEntries(DEVICE_TYPES.map((t) => [t, next(t)])) as Record<DeviceType, string | null>;
    },

    create: (input) => oneAtATime(() => createHost(input)),
    update: (name, patch) => oneAtATime(() => updateHost(name, patch)),
    remove: (name) => oneAtATime(() => removeHost(name)),
    async leases() {
      const [leases, hosts] = await Promise.all([readLeases(), cache.get()]);
      const reserved = new Map(hosts.map((h) => [h.mac, h.name]));
      return leases.map((l) => ({
        ip: l.ip,
        mac: l.mac ?? null,
        hostname: l.hostname ?? null,
        state: l.state,
        ends: l.ends?.toISOString() ?? null,
        reservedAs: (l.mac && reserved.get(l.mac)) || null,
      }));
    },

    async reserveLease(input) {
      const lease = (await readLeases()).find((l) => l.ip === input.ip);
      if (!lease) throw new PortalError('PORTAL_NOT_FOUND', `no lease for ${input.ip}`, { details: { ip: input.ip } });
      const config = await mapped(model);
      const { reservation } = await mapped(async () =>
        reservationFromLease(config, lease, {
          deviceType: input.type,
          ...(input.name ? { hostname: input.name.toLowerCase() } : {}),
        }),
      );
      return manager.create({
        name: reservation.hostname,
        type: input.type,
        mac: reservation.mac,
        ip: reservation.ip,
        ...(input.comment ? { comment: input.comment } : {}),
        ...(input.computer === undefined ? {} : { computer: input.computer }),
      });
    },

    async dhcpSync(wait) {
      if (!dhcpServer) return null;
      if (wait) await dhcpServer.settled().catch(() => undefined);
      return dhcpServer.state();
    },
  };
  return manager;
}

/**
 * Computer accounts through an AD client. A rename changes the object's name, account name,
 * DNS host name and the host part of its service principal names, as Windows does when a
 * joined PC is renamed, so the machine keeps its account (and its trust).
 * @param ad the portal's directory connection
 * @returns the accounts
 */
export function adComputerAccounts(ad: AdClient): ComputerAccounts {
  return {
    async list() {
      return (await ad.computers.list()).map((c) => c.name.toLowerCase());
    },
    async exists(name) {
      return (await ad.computers.get(name)) !== undefined;
    },
    async create(name, description) {
      await ad.computers.create({ name, description });
    },
    delete: (name) => ad.computers.delete(name),
    async rename(from, to) {
      const computer = await ad.computers.get(from);
      if (!computer) throw new PortalError('PORTAL_NOT_FOUND', `no computer ${from}`, { details: { host: from } });
      const { dnsDomain } = await ad.domain();
      const dn = await ad.ous.rename(computer.dn, to.toUpperCase());
      const hostPart = new RegExp(`^([^/]+/)${from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(?=$|[.:/])`, 'i');
      const spns = computer.servicePrincipalName.map((s) => s.replace(hostPart, `$1${to}`));
      await ad.modify(dn, [
        { operation: 'replace', attribute: 'sAMAccountName', values: `${to.toUpperCase()}$` },
        { operation: 'replace', attribute: 'dNSHostName', values: `${to}.${dnsDomain}` },
        ...(computer.uidNumber === undefined
          ? []
          : [{ operation: 'replace' as const, attribute: 'msSFU30Name', values: `${to.toUpperCase()}$` }]),
        ...(spns.length ? [{ operation: 'replace' as const, attribute: 'servicePrincipalName', values: spns }] : []),
      ]);
    },
  };
}

/**
 * The directory's DHCP objects of an AD client (`createDhcpDirectory`), as the hosts use them.
 * @param ad the portal's directory connection
 */
export function adDhcpReservations(ad: AdClient): HostManagerOptions['dhcp'] {
  return createDhcpDirectory({ ad });
}

/**
 * Leases from the DHCP server's lease file: Kea's CSV (`.csv`) or dhcpd's `dhcpd.leases`.
 * A missing file is no leases (the server has handed out none yet); a broken one is an error.
 * @param file the lease file
 * @returns a reader for {@link HostManagerOptions.leases}
 */
export function leaseFileSource(file: string): () => Promise<Lease[]> {
  const parse = file.endsWith('.csv') ? parseKeaLeases : parseDhcpdLeases;
  return async () => {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw e;
    }
    return parse(text, { now: new Date() });
  };
}

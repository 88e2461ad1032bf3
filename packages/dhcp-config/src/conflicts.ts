// Conflict checks over a resolved model. Every problem is reported (not just the first) so a
// portal can mark all offending rows at once.
import { type Ipv4Subnet, ipv4ToNumber, numberToIpv4, parseIpv4Subnet } from './address';
import { DhcpConfigError, type DhcpIssue } from './errors';
import { type DhcpConfig, type DhcpConfigInput, type Reservation, resolveDhcpConfig, type Subnet } from './model';

/** A subnet with its numeric bounds, sorted by network address. */
export interface SubnetIndexEntry {
  subnet: Subnet;
  index: number;
  range: Ipv4Subnet;
  /** Usable host addresses as numeric [first, last] ({@link hostRange}). */
  hosts: [number, number];
  /** Pools as numeric [start, end]. */
  pools: Array<[number, number]>;
}

/** Subnets sorted by network, for containment lookups by binary search. */
export function indexSubnets(config: DhcpConfig): SubnetIndexEntry[] {
  return config.subnets
    .map((subnet, index) => {
      const range = parseIpv4Subnet(subnet.cidr) as Ipv4Subnet;
      return {
        subnet,
        index,
        range,
        hosts: hostRange(range),
        pools: subnet.pools.map((p): [number, number] => [
          ipv4ToNumber(p.start) as number,
          ipv4ToNumber(p.end) as number,
        ]),
      };
    })
    .sort((a, b) => a.range.first - b.range.first || a.range.prefix - b.range.prefix);
}

/** The subnet whose range holds `ip` (first match in network order), or `undefined`. */
export function subnetContaining(index: readonly SubnetIndexEntry[], ip: number): SubnetIndexEntry | undefined {
  let lo = 0;
  let hi = index.length - 1;
  // Last entry with first <= ip; overlapping subnets are a separate conflict.
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if ((index[mid] as SubnetIndexEntry).range.first <= ip) lo = mid + 1;
    else hi = mid - 1;
  }
  // Without overlaps only index[hi] can match; with overlaps an earlier, wider subnet may.
  for (let i = hi; i >= 0; i--) {
    const entry = index[i] as SubnetIndexEntry;
    if (ip <= entry.range.last) return entry;
  }
  return undefined;
}

/** Usable host range of a subnet: network and broadcast excluded below /31. */
export function hostRange(range: Ipv4Subnet): [number, number] {
  return range.prefix >= 31 ? [range.first, range.last] : [range.first + 1, range.last - 1];
}

/** Whether `ip` lies in one of the numeric pools. */
function inPool(pools: ReadonlyArray<[number, number]>, ip: number): boolean {
  for (let p = 0; p < pools.length; p++) {
    const pool = pools[p] as [number, number];
    if (ip >= pool[0] && ip <= pool[1]) return true;
  }
  return false;
}

/**
 * Repeat detection over `count` rows in call order with one Set insertion per row. Returns a
 * function that answers `undefined` for a key seen the first time and, for a repeat, the index
 * of the first row with that key (`keyOf` maps a row index to its key; that index is built
 * once, when the first repeat shows).
 */
function repeatFinder<K>(count: number, keyOf: (row: number) => K): (key: K) => number | undefined {
  const seen = new Set<K>();
  let first: Map<K, number> | undefined;
  return (key) => {
    const size = seen.size;
    seen.add(key);
    if (seen.size !== size) return undefined;
    if (!first) {
      first = new Map();
      // Backwards, so the lowest index of each key is what remains.
      for (let j = count - 1; j >= 0; j--) first.set(keyOf(j), j);
    }
    return first.get(key);
  };
}

/**
 * Every conflict in a resolved model: overlapping subnets, duplicate subnet ids, pools outside
 * their subnet or overlapping, reservations outside every subnet, inside a dynamic pool, with
 * a duplicate IP, MAC or hostname, routers outside their subnet, lease time above the maximum.
 * Paths index `config.reservations` in the order given; repeats are reported on the later row.
 * @param config resolved model
 * @returns the issues, empty when the model is consistent
 * @example findConflicts(config).map((i) => i.kind) // ['RESERVATION_IN_POOL']
 */
export function findConflicts(config: DhcpConfig): DhcpIssue[] {
  const issues: DhcpIssue[] = [];
  const add = (kind: string, path: string, message: string): void => {
    issues.push({ kind, path, message });
  };
  const index = indexSubnets(config);

  if (config.validLifetime > config.maxLifetime) {
    add(
      'INVALID_LIFETIME',
      'validLifetime',
      `validLifetime ${config.validLifetime} exceeds maxLifetime ${config.maxLifetime}`,
    );
  }
  const ids = new Map<number, number>();
  for (const [i, subnet] of config.subnets.entries()) {
    const seen = ids.get(subnet.id);
    if (seen !== undefined)
      add('DUPLICATE_SUBNET_ID', `subnets[${i}].id`, `subnet id ${subnet.id} is also used by subnets[${seen}]`);
    else ids.set(subnet.id, i);
    const valid = subnet.validLifetime ?? config.validLifetime;
    const max = subnet.maxLifetime ?? config.maxLifetime;
    if (valid > max)
      add('INVALID_LIFETIME', `subnets[${i}].validLifetime`, `validLifetime ${valid} exceeds maxLifetime ${max}`);
  }
  for (let k = 1; k < index.length; k++) {
    const prev = index[k - 1] as SubnetIndexEntry;
    const cur = index[k] as SubnetIndexEntry;
    if (cur.range.first <= prev.range.last) {
      add('OVERLAPPING_SUBNETS', `subnets[${cur.index}].cidr`, `${cur.subnet.cidr} overlaps ${prev.subnet.cidr}`);
    }
  }
  for (const entry of index) {
    const [low, high] = entry.hosts;
    const sorted = entry.pools.map((p, j) => ({ p, j })).sort((a, b) => a.p[0] - b.p[0]);
    for (const [n, { p, j }] of sorted.entries()) {
      const path = `subnets[${entry.index}].pools[${j}]`;
      if (p[0] > p[1])
        add('INVALID_POOL', path, `pool start ${numberToIpv4(p[0])} is after its end ${numberToIpv4(p[1])}`);
      else if (p[0] < low || p[1] > high) {
        add(
          'POOL_OUTSIDE_SUBNET',
          path,
          `pool ${numberToIpv4(p[0])}–${numberToIpv4(p[1])} is not inside the hosts of ${entry.subnet.cidr}`,
        );
      }
      const before = sorted[n - 1];
      if (before && p[0] <= before.p[1]) {
        add('POOL_OVERLAP', path, `pool overlaps subnets[${entry.index}].pools[${before.j}]`);
      }
    }
    for (const [r, router] of (entry.subnet.options.routers ?? []).entries()) {
      const n = ipv4ToNumber(router) as number;
      if (n < entry.range.first || n > entry.range.last) {
        add(
          'ROUTER_OUTSIDE_SUBNET',
          `subnets[${entry.index}].options.routers[${r}]`,
          `router ${router} is not in ${entry.subnet.cidr}`,
        );
      }
    }
  }

  // Indexed loop with paths built only for issues: this runs for thousands of reservations.
  const reservations = config.reservations;
  const row = (j: number): Reservation => reservations[j] as Reservation;
  const ips = reservations.map((r) => ipv4ToNumber(r.ip) as number);
  // Resolved models are sorted by address (callers may not be), and a strictly ascending list
  // repeats no address.
  const ascending = ips.every((ip, j) => j === 0 || ip > (ips[j - 1] as number));
  const firstIp = ascending ? () => undefined : repeatFinder(ips.length, (j) => ips[j] as number);
  const firstMac = repeatFinder(reservations.length, (j) => row(j).mac);
  const firstName = repeatFinder(reservations.length, (j) => row(j).hostname);
  for (let i = 0; i < reservations.length; i++) {
    const r = row(i);
    const ip = ips[i] as number;
    const entry = subnetContaining(index, ip);
    if (!entry || ip < entry.hosts[0] || ip > entry.hosts[1]) {
      add(
        'RESERVATION_OUTSIDE_SUBNET',
        `reservations[${i}].ip`,
        `${r.hostname}: ${r.ip} is not a host address of any subnet`,
      );
    } else if (inPool(entry.pools, ip)) {
      add(
        'RESERVATION_IN_POOL',
        `reservations[${i}].ip`,
        `${r.hostname}: ${r.ip} lies in the dynamic pool of ${entry.subnet.cidr}`,
      );
    }
    const dupIp = firstIp(ip);
    if (dupIp !== undefined)
      add(
        'DUPLICATE_IP',
        `reservations[${i}].ip`,
        `${r.ip} is reserved for both ${row(dupIp).hostname} and ${r.hostname}`,
      );
    const dupMac = firstMac(r.mac);
    if (dupMac !== undefined)
      add(
        'DUPLICATE_MAC',
        `reservations[${i}].mac`,
        `${r.mac} is used by both ${row(dupMac).hostname} and ${r.hostname}`,
      );
    const dupName = firstName(r.hostname);
    if (dupName !== undefined)
      add(
        'DUPLICATE_HOSTNAME',
        `reservations[${i}].hostname`,
        `hostname ${r.hostname} is used twice (${row(dupName).ip} and ${r.ip})`,
      );
  }
  return issues;
}

/**
 * Normalises `input` and rejects it when {@link findConflicts} finds anything. Issue paths
 * index `input.reservations` as given (the result is sorted by address).
 * @param input model as written by a caller
 * @returns the resolved, conflict-free model
 * @throws DhcpConfigError `DHCP_INVALID_CONFIG` (shape) or `DHCP_CONFLICT` (with every issue)
 * @example validateDhcpConfig({ subnets: [{ cidr: '10.0.0.0/24' }], reservations: [] })
 */
export function validateDhcpConfig(input: DhcpConfigInput): DhcpConfig {
  const { config, given } = resolveDhcpConfig(input);
  // Checked in the caller's order: issue paths must point at the rows the caller sent, not at
  // their sorted positions (a form marks rows by path).
  const issues = findConflicts(given === config.reservations ? config : { ...config, reservations: given });
  if (issues.length) {
    const first = issues[0] as DhcpIssue;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : '';
    throw new DhcpConfigError('DHCP_CONFLICT', `${first.path}: ${first.message}${more}`, { issues });
  }
  return config;
}

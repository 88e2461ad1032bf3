// Lease files of both daemons into one typed list. Both files are append-only journals: the
// last entry for an address wins. Line-based parsing keeps 100,000 lines well under a second.
import { ipv4ToNumber, normalizeMac } from './address';
import { indexSubnets, subnetContaining, validateDhcpConfig } from './conflicts';
import { DhcpConfigError, isDhcpConfigError } from './errors';
import type { DhcpConfig, Reservation } from './model';
import { type DevicePolicy, type DeviceType, nextFreeAddress } from './policy';

/** Lease state, unified: dhcpd binding states and Kea's state column map onto these. */
export type LeaseState = 'active' | 'free' | 'expired' | 'released' | 'abandoned' | 'declined' | 'backup';

/** One address lease as the server last recorded it. */
export interface Lease {
  ip: string;
  /** Lower-case, colon-separated; absent when the server recorded none. */
  mac?: string;
  /** Client identifier (option 61) as hex pairs. */
  clientId?: string;
  /** Name the client sent (dhcpd `client-hostname`, Kea `hostname`). */
  hostname?: string;
  /** Start of the lease (dhcpd `starts`; Kea: expire − valid_lifetime). */
  starts?: Date;
  /** End of the lease; absent for infinite leases. */
  ends?: Date;
  state: LeaseState;
  /** Kea subnet id. */
  subnetId?: number;
}

/** Options of the lease parsers. */
export interface LeaseParseOptions {
  /** When given, `active` leases whose end lies before it are reported as `expired`. */
  now?: Date;
}

function leaseError(file: string, line: number, message: string): DhcpConfigError {
  return new DhcpConfigError('DHCP_LEASE_PARSE_ERROR', `${file} line ${line}: ${message}`, { details: { line } });
}

function finish(byIp: Map<string, Lease>, now: Date | undefined): Lease[] {
  const list = [...byIp.values()];
  if (now) {
    for (const l of list) if (l.state === 'active' && l.ends && l.ends < now) l.state = 'expired';
  }
  const keyed = list.map((l) => ({ l, k: ipv4ToNumber(l.ip) as number }));
  return keyed.sort((a, b) => a.k - b.k).map((x) => x.l);
}

const DHCPD_STATES: Record<string, LeaseState> = {
  active: 'active',
  free: 'free',
  expired: 'expired',
  released: 'released',
  abandoned: 'abandoned',
  backup: 'backup',
  reset: 'free',
};

/** dhcpd dates: `4 2026/11/28 18:00:00` (UTC), `epoch 1764352800`, or `never`. */
function dhcpdDate(rest: string): Date | undefined | null {
  if (rest === 'never') return null;
  const epoch = /^epoch (\d+)/.exec(rest);
  if (epoch) return new Date(Number(epoch[1]) * 1000);
  const m = /^\d (\d{4})\/(\d{1,2})\/(\d{1,2}) (\d{1,2}):(\d{2}):(\d{2})$/.exec(rest);
  if (!m) return undefined;
  const date = new Date(
    Date.UTC(
      +(m[1] as string),
      +(m[2] as string) - 1,
      +(m[3] as string),
      +(m[4] as string),
      +(m[5] as string),
      +(m[6] as string),
    ),
  );
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** Unquotes a dhcpd string: `\"`, `\\` and octal `\ooo` escapes. */
function dhcpdString(quoted: string): string | undefined {
  const m = /^"((?:[^"\\]|\\.)*)"$/.exec(quoted);
  if (!m) return undefined;
  return (m[1] as string).replace(/\\([0-7]{3}|.)/g, (_, e: string) =>
    e.length === 3 ? String.fromCharCode(Number.parseInt(e, 8)) : e,
  );
}

/** `{` minus `}` on a line, outside dhcpd strings (`log (info, "a } b")` opens nothing). */
function braceDelta(line: string): number {
  let delta = 0;
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '\\') i++;
      else if (c === '"') quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === '{') delta++;
    else if (c === '}') delta--;
  }
  return delta;
}

/**
 * Parses an ISC `dhcpd.leases` file. Later `lease` blocks for an address supersede earlier
 * ones; `host`, `failover` and other blocks are skipped, and so are the event blocks dhcpd
 * stores inside a lease (`on expiry { … }`, `on commit`, `on release`, also on one line):
 * they are statements for dhcpd to run, not lease data. Result sorted by address.
 * @param text file contents
 * @param options `now` to mark leases past their end as expired
 * @returns one lease per address
 * @throws DhcpConfigError `DHCP_LEASE_PARSE_ERROR` with `data.line` for broken structure
 * @example parseDhcpdLeases(text, { now: new Date() }).filter((l) => l.state === 'active')
 */
export function parseDhcpdLeases(text: string, options: LeaseParseOptions = {}): Lease[] {
  const byIp = new Map<string, Lease>();
  const lines = text.split('\n');
  let current: Lease | undefined;
  let skipDepth = 0;
  for (let n = 0; n < lines.length; n++) {
    let line = (lines[n] as string).trim();
    // dhcpd appends "# <local time>" after epoch dates; '#' inside a string is data.
    const hash = line.indexOf('#');
    if (hash >= 0 && line.lastIndexOf('"') < hash) line = line.slice(0, hash).trimEnd();
    if (line === '') continue;
    if (skipDepth > 0) {
      skipDepth += braceDelta(line);
      if (skipDepth < 0) throw leaseError('dhcpd.leases', n + 1, 'unbalanced "}"');
      continue;
    }
    if (!current) {
      const start = /^lease (\S+) \{$/.exec(line);
      if (start) {
        const ip = start[1] as string;
        if (ipv4ToNumber(ip) === undefined) throw leaseError('dhcpd.leases', n + 1, `"${ip}" is not an IPv4 address`);
        current = { ip, state: 'free' };
      } else if (line.endsWith('{') && braceDelta(line) > 0) skipDepth = braceDelta(line);
      else if (!line.endsWith(';')) throw leaseError('dhcpd.leases', n + 1, `unexpected "${line.slice(0, 40)}"`);
      continue;
    }
    if (line === '}') {
      byIp.set(current.ip, current);
      current = undefined;
      continue;
    }
    if (line.startsWith('on ')) {
      const depth = braceDelta(line);
      if (depth < 0 || !line.includes('{'))
        throw leaseError('dhcpd.leases', n + 1, `malformed event block in lease ${current.ip}`);
      skipDepth = depth;
      continue;
    }
    if (!line.endsWith(';')) throw leaseError('dhcpd.leases', n + 1, `missing ";" in lease ${current.ip}`);
    const body = line.slice(0, -1);
    const space = body.indexOf(' ');
    const key = space < 0 ? body : body.slice(0, space);
    const rest = space < 0 ? '' : body.slice(space + 1);
    if (key === 'starts' || key === 'ends') {
      const date = dhcpdDate(rest);
      if (date === undefined) throw leaseError('dhcpd.leases', n + 1, `bad date "${rest}"`);
      if (date) current[key] = date;
    } else if (key === 'binding' && rest.startsWith('state ')) {
      current.state = DHCPD_STATES[rest.slice(6)] ?? 'free';
    } else if (key === 'hardware' && rest.startsWith('ethernet ')) {
      const mac = normalizeMac(rest.slice(9));
      if (mac) current.mac = mac;
    } else if (key === 'client-hostname') {
      const name = dhcpdString(rest);
      if (name !== undefined) current.hostname = name;
    } else if (key === 'uid') {
      const uid = dhcpdString(rest);
      if (uid !== undefined)
        current.clientId = [...uid].map((c) => c.charCodeAt(0).toString(16).padStart(2, '0')).join(':');
      else if (/^[0-9a-f]{1,2}(:[0-9a-f]{1,2})*$/i.test(rest)) current.clientId = rest.toLowerCase();
    }
  }
  if (current) throw leaseError('dhcpd.leases', lines.length, `lease ${current.ip} not closed`);
  if (skipDepth > 0) throw leaseError('dhcpd.leases', lines.length, 'block not closed');
  return finish(byIp, options.now);
}

const KEA_STATES: Record<string, LeaseState> = { '0': 'active', '1': 'declined', '2': 'expired' };

/**
 * Parses a Kea memfile lease CSV (`kea-leases4.csv`; to read everything, pass the `.2`,
 * `.1`/`.completed` files first and the live file last, concatenated). The header names the
 * columns. Later rows supersede earlier ones; a row with `valid_lifetime` 0 is a deletion.
 * @param text file contents
 * @param options `now` to mark leases past their end as expired
 * @returns one lease per address, sorted by address
 * @throws DhcpConfigError `DHCP_LEASE_PARSE_ERROR` with `data.line` for a missing header or bad row
 * @example parseKeaLeases(readFileSync('/var/lib/kea/kea-leases4.csv', 'utf8'))
 */
export function parseKeaLeases(text: string, options: LeaseParseOptions = {}): Lease[] {
  // Pass 1 keeps only the last row per address (journals repeat addresses many times);
  // Lease objects are built for the survivors only.
  const last = new Map<string, { cells: string[]; col: Record<string, number> }>();
  const lines = text.split('\n');
  let col: Record<string, number> | undefined;
  for (let n = 0; n < lines.length; n++) {
    let line = lines[n] as string;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    if (line === '') continue;
    const cells = line.split(',');
    // Every file of a rotation starts with the header; concatenated files repeat it.
    if (cells[0] === 'address') {
      col = Object.fromEntries(cells.map((c, i) => [c, i]));
      if (col.hwaddr === undefined || col.valid_lifetime === undefined || col.expire === undefined) {
        throw leaseError('Kea lease file', n + 1, 'header lacks hwaddr, valid_lifetime or expire');
      }
      continue;
    }
    if (!col) throw leaseError('Kea lease file', n + 1, 'no header line (address,hwaddr,…)');
    const ip = cells[0] as string;
    const valid = cells[col.valid_lifetime as number] ?? '';
    const expire = cells[col.expire as number] ?? '';
    if (ipv4ToNumber(ip) === undefined || !/^\d+$/.test(valid) || !/^\d+$/.test(expire)) {
      throw leaseError('Kea lease file', n + 1, `bad row "${line.slice(0, 60)}"`);
    }
    if (valid === '0') last.delete(ip);
    else last.set(ip, { cells, col });
  }
  const byIp = new Map<string, Lease>();
  for (const [ip, { cells, col: c }] of last) {
    const get = (name: string): string => {
      const i = c[name];
      return i === undefined ? '' : (cells[i] ?? '');
    };
    const expire = Number(get('expire'));
    const lease: Lease = {
      ip,
      state: KEA_STATES[get('state') || '0'] ?? 'active',
      ends: new Date(expire * 1000),
      starts: new Date((expire - Number(get('valid_lifetime'))) * 1000),
    };
    const mac = normalizeMac(get('hwaddr'));
    if (mac) lease.mac = mac;
    const clientId = get('client_id');
    if (clientId) lease.clientId = clientId;
    // Kea escapes commas in text columns as &#x2c.
    const hostname = get('hostname').replaceAll('&#x2c', ',');
    if (hostname) lease.hostname = hostname;
    const subnet = get('subnet_id');
    if (/^\d+$/.test(subnet)) lease.subnetId = Number(subnet);
    byIp.set(ip, lease);
  }
  return finish(byIp, options.now);
}

/** Options of {@link reservationFromLease}. */
export interface ReservationFromLeaseOptions {
  /** Default: the name the client sent, made DNS-safe, else `mac-<hex>`. */
  hostname?: string;
  /** Range to take a new address from when the leased one cannot be kept; default `client`. */
  deviceType?: DeviceType;
  policy?: DevicePolicy;
  comment?: string;
}

/** Lower-case RFC 1123 label from a client-sent name, or undefined when nothing is left. */
function safeHostname(name: string | undefined): string | undefined {
  const label = (name ?? '')
    .split('.')[0]
    ?.toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return label || undefined;
}

/**
 * Turns a dynamic client into a reservation, as the original portal's lease list does. The
 * leased address is kept when it is a free host address outside the dynamic pools; a pool
 * address (the usual case) is replaced by the next free address of the device type.
 * @param config resolved model
 * @param lease a lease with a MAC
 * @param options hostname, device type, policy, comment
 * @returns the new reservation and the validated model that contains it
 * @throws DhcpConfigError `DHCP_INVALID_CONFIG` (lease without MAC), `DHCP_CONFLICT` (MAC or
 *   hostname already reserved), `DHCP_RANGE_EXHAUSTED`
 * @example reservationFromLease(config, lease, { deviceType: 'printer', hostname: 'laser1' })
 */
export function reservationFromLease(
  config: DhcpConfig,
  lease: Lease,
  options: ReservationFromLeaseOptions = {},
): { reservation: Reservation; config: DhcpConfig } {
  if (!lease.mac) {
    throw new DhcpConfigError('DHCP_INVALID_CONFIG', `lease ${lease.ip} has no MAC address to reserve`, {
      details: { ip: lease.ip },
    });
  }
  const hostname = options.hostname ?? safeHostname(lease.hostname) ?? `mac-${lease.mac.replaceAll(':', '')}`;
  const candidate: Reservation = {
    mac: lease.mac,
    ip: lease.ip,
    hostname,
    ...(options.comment ? { comment: options.comment } : {}),
  };
  const tryWith = (reservation: Reservation): DhcpConfig =>
    validateDhcpConfig({ ...config, reservations: [...config.reservations, reservation] });
  try {
    return { reservation: candidate, config: tryWith(candidate) };
  } catch (e) {
    const addressOnly =
      isDhcpConfigError(e) &&
      e.issues.every((i) => ['RESERVATION_IN_POOL', 'RESERVATION_OUTSIDE_SUBNET', 'DUPLICATE_IP'].includes(i.kind));
    if (!addressOnly) throw e;
  }
  // The new address comes from the subnet the client is in.
  const home = subnetContaining(indexSubnets(config), ipv4ToNumber(lease.ip) as number);
  const ip = nextFreeAddress(config, {
    deviceType: options.deviceType ?? 'client',
    ...(options.policy ? { policy: options.policy } : {}),
    ...(home ? { subnet: home.subnet.id } : {}),
  });
  const reservation = { ...candidate, ip };
  return { reservation, config: tryWith(reservation) };
}

// Device-type address ranges (the original portal's reservation policy) and "next free
// address". Ranges are host offsets from the network address so one policy fits any subnet.
import { ipv4ToNumber, numberToIpv4, parseIpv4Subnet } from './address';
import { hostRange, indexSubnets, type SubnetIndexEntry } from './conflicts';
import { DhcpConfigError } from './errors';
import type { DhcpConfig, Subnet } from './model';

/** Device types of the original portal (its numeric codes: client 0, printer 1, server 2, ipDevice 3). */
export type DeviceType = 'server' | 'printer' | 'ipDevice' | 'client';

/** Every device type, in the order the original lists them. */
export const DEVICE_TYPES: readonly DeviceType[] = ['server', 'printer', 'ipDevice', 'client'];

/** Inclusive host offsets from the network address, e.g. 20–50 → .20 to .50 in a /24. */
export interface OffsetRange {
  first: number;
  last: number;
}

/** Address ranges per device type plus the dynamic pool, as offsets. */
export interface DevicePolicy {
  ranges: Record<DeviceType, OffsetRange>;
  pool: OffsetRange;
}

const POLICY_24: DevicePolicy = {
  ranges: {
    server: { first: 11, last: 19 },
    printer: { first: 20, last: 50 },
    ipDevice: { first: 60, last: 90 },
    client: { first: 120, last: 199 },
  },
  pool: { first: 200, last: 220 },
};

// The original's /16 layout: x.y.0.11–0.253, 1.1–1.254, 2.1–3.254, 4.1–4.254, pool 200.1–200.254.
const POLICY_16: DevicePolicy = {
  ranges: {
    server: { first: 11, last: 253 },
    printer: { first: 256 + 1, last: 256 + 254 },
    ipDevice: { first: 512 + 1, last: 768 + 254 },
    client: { first: 1024 + 1, last: 1024 + 254 },
  },
  pool: { first: 200 * 256 + 1, last: 200 * 256 + 254 },
};

/**
 * The original invis policy for a prefix length: its /16 layout for /16, its /24 layout for
 * every prefix from /16 to /24 otherwise.
 * @param prefix subnet prefix length
 * @returns the policy
 * @throws DhcpConfigError `DHCP_INVALID_CONFIG` for prefixes longer than /24 (the layout does not fit)
 * @example invisDevicePolicy(24).ranges.printer // { first: 20, last: 50 }
 */
export function invisDevicePolicy(prefix: number): DevicePolicy {
  if (prefix === 16) return POLICY_16;
  if (prefix <= 24) return POLICY_24;
  throw new DhcpConfigError('DHCP_INVALID_CONFIG', `the invis device ranges need at least a /24, got /${prefix}`, {
    details: { prefix },
  });
}

function pickSubnet(config: DhcpConfig, subnet: string | number | undefined): SubnetIndexEntry {
  const index = indexSubnets(config);
  const found =
    subnet === undefined
      ? index.find((e) => e.index === 0)
      : index.find((e) => e.subnet.id === subnet || e.subnet.cidr === subnet);
  if (!found) {
    throw new DhcpConfigError('DHCP_UNKNOWN_SUBNET', `no subnet ${subnet ?? '(config has none)'}`, {
      details: { subnet: String(subnet ?? '') },
    });
  }
  return found;
}

/** Options of {@link nextFreeAddress}. */
export interface NextFreeOptions {
  deviceType: DeviceType;
  /** Subnet id or CIDR; default the first subnet. */
  subnet?: string | number;
  /** Default {@link invisDevicePolicy} for the subnet's prefix. */
  policy?: DevicePolicy;
  /** Addresses to treat as taken besides reservations (the server itself, live leases, …). */
  exclude?: readonly string[];
}

/**
 * The lowest address in the device type's range that is neither reserved, excluded, in a
 * dynamic pool nor the network/broadcast address.
 * @param config resolved model
 * @param options device type, subnet, policy, extra taken addresses
 * @returns the address
 * @throws DhcpConfigError `DHCP_RANGE_EXHAUSTED` when the range is full, `DHCP_UNKNOWN_SUBNET`
 * @example nextFreeAddress(config, { deviceType: 'printer' }) // '192.168.220.20'
 */
export function nextFreeAddress(config: DhcpConfig, options: NextFreeOptions): string {
  const entry = pickSubnet(config, options.subnet);
  const policy = options.policy ?? invisDevicePolicy(entry.range.prefix);
  const range = policy.ranges[options.deviceType];
  const taken = new Set<number>();
  for (const r of config.reservations) taken.add(ipv4ToNumber(r.ip) as number);
  for (const ip of options.exclude ?? []) {
    const n = ipv4ToNumber(ip);
    if (n !== undefined) taken.add(n);
  }
  const [low, high] = hostRange(entry.range);
  const from = Math.max(entry.range.first + range.first, low);
  const to = Math.min(entry.range.first + range.last, high);
  for (let n = from; n <= to; n++) {
    if (!taken.has(n) && !entry.pools.some(([s, e]) => n >= s && n <= e)) return numberToIpv4(n);
  }
  throw new DhcpConfigError(
    'DHCP_RANGE_EXHAUSTED',
    `no free ${options.deviceType} address left in ${entry.subnet.cidr} (${numberToIpv4(from)}–${numberToIpv4(to)})`,
    { details: { deviceType: options.deviceType, subnet: entry.subnet.cidr } },
  );
}

/**
 * The device type whose range holds `ip` in its subnet, as the original portal infers it on
 * listing; `undefined` outside every range.
 * @param subnet the subnet holding the address
 * @param ip address
 * @param policy default {@link invisDevicePolicy}
 * @returns the device type or `undefined`
 * @throws DhcpConfigError `DHCP_INVALID_CONFIG` when no policy is given for a prefix longer than /24
 * @example deviceTypeOf(subnet, '192.168.220.25') // 'printer'
 */
export function deviceTypeOf(subnet: Pick<Subnet, 'cidr'>, ip: string, policy?: DevicePolicy): DeviceType | undefined {
  const range = parseIpv4Subnet(subnet.cidr);
  const n = ipv4ToNumber(ip);
  if (!range || n === undefined || n < range.first || n > range.last) return undefined;
  const ranges = (policy ?? invisDevicePolicy(range.prefix)).ranges;
  const offset = n - range.first;
  return DEVICE_TYPES.find((t) => offset >= ranges[t].first && offset <= ranges[t].last);
}

/**
 * The dynamic pool of the policy inside a subnet, e.g. `.200–.220` in a /24.
 * @param cidr the subnet
 * @param policy default {@link invisDevicePolicy}
 * @returns the pool as addresses
 * @throws DhcpConfigError `DHCP_INVALID_CONFIG` for a malformed CIDR
 * @example policyPool('192.168.220.0/24') // { start: '192.168.220.200', end: '192.168.220.220' }
 */
export function policyPool(cidr: string, policy?: DevicePolicy): { start: string; end: string } {
  const range = parseIpv4Subnet(cidr);
  if (!range) throw new DhcpConfigError('DHCP_INVALID_CONFIG', `"${cidr}" is not an IPv4 network`);
  const pool = (policy ?? invisDevicePolicy(range.prefix)).pool;
  return { start: numberToIpv4(range.first + pool.first), end: numberToIpv4(range.first + pool.last) };
}

// The DHCPv4 model: zod input schema → one normalize function → resolved config. Conflict
// checks (addresses against subnets, pools, each other) live in conflicts.ts.
import { z } from 'zod';
import { ipv4ToNumber, normalizeMac, parseIpv4Subnet } from './address';
import { DhcpConfigError, type DhcpIssue } from './errors';

const ipv4 = z.string().refine((s) => ipv4ToNumber(s) !== undefined, {
  message: 'not an IPv4 address (dotted quad, no leading zeros)',
  params: { kind: 'INVALID_ADDRESS' },
});

const mac = z.string().transform((s, ctx) => {
  const normalized = normalizeMac(s);
  if (normalized) return normalized;
  ctx.addIssue({
    code: 'custom',
    message: `malformed MAC address "${s}" (6 hex pairs, not all-zero or all-ff)`,
    params: { kind: 'INVALID_MAC' },
  });
  return z.NEVER;
});

const cidr = z.string().transform((s, ctx) => {
  const subnet = parseIpv4Subnet(s);
  if (subnet) return subnet.cidr;
  ctx.addIssue({
    code: 'custom',
    message: `"${s}" is not an IPv4 network in a.b.c.d/len form with the host bits zero`,
    params: { kind: 'INVALID_CIDR' },
  });
  return z.NEVER;
});

// RFC 1123 label, lower-cased: what the original portal accepted and what DNS needs.
const HOSTNAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const toHostname = (s: string): string | undefined => {
  const lower = s.toLowerCase();
  return HOSTNAME.test(lower) ? lower : undefined;
};
const hostname = z.string().transform((s, ctx) => {
  const lower = toHostname(s);
  if (lower !== undefined) return lower;
  ctx.addIssue({
    code: 'custom',
    message: 'hostname must be 1–63 of a-z, 0-9 and "-", not starting or ending with "-"',
    params: { kind: 'INVALID_HOSTNAME' },
  });
  return z.NEVER;
});

const DOMAIN =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const domainName = z.string().refine((s) => DOMAIN.test(s), {
  message: 'not a domain name',
  params: { kind: 'INVALID_DOMAIN' },
});

// Kea and dhcpd both cap lifetimes at 32 bits; 0xffffffff means "infinite" there.
const lifetime = z.number().int().min(1).max(0xfffffffe);

// Schemas of the input; the exported interfaces below document the fields.
const dhcpOptionsSchema = z
  .object({
    subnetMask: ipv4.optional(),
    broadcastAddress: ipv4.optional(),
    routers: z.array(ipv4).min(1).optional(),
    domainNameServers: z.array(ipv4).min(1).optional(),
    domainName: domainName.optional(),
    domainSearch: z.array(domainName).min(1).optional(),
    ntpServers: z.array(ipv4).min(1).optional(),
    smtpServers: z.array(ipv4).min(1).optional(),
    netbiosNameServers: z.array(ipv4).min(1).optional(),
    netbiosNodeType: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8)]).optional(),
  })
  .strict();

/** A dynamic address range, both ends inclusive. */
const poolSchema = z.object({ start: ipv4, end: ipv4 }).strict();

/** A subnet served on one of the interfaces. */
const subnetSchema = z
  .object({
    id: z.number().int().min(1).max(0xfffffffe).optional(),
    cidr,
    pools: z.array(poolSchema).default([]),
    options: dhcpOptionsSchema.default({}),
    validLifetime: lifetime.optional(),
    maxLifetime: lifetime.optional(),
  })
  .strict();

const COMMENT_MAX = 1024;
const ONE_LINE = /^[^\r\n]*$/;
// Trimmed, empty → none: dhcpd keeps it as a `#` line, which cannot hold edge spaces.
const toComment = (c: string): string | undefined => c.trim() || undefined;

/** A fixed address for one MAC. */
const reservationSchema = z
  .object({
    mac,
    ip: ipv4,
    hostname,
    comment: z
      .string()
      .max(COMMENT_MAX)
      .regex(ONE_LINE, { message: 'comment must be one line' })
      .transform(toComment)
      .optional(),
  })
  .strict();

// TSIG key names are DNS names; algorithms as dhcpd and kea-dhcp-ddns spell them.
const tsigKeySchema = z
  .object({
    name: domainName,
    algorithm: z.enum(['hmac-md5', 'hmac-sha1', 'hmac-sha224', 'hmac-sha256', 'hmac-sha384', 'hmac-sha512']),
    secret: z.string().regex(/^[A-Za-z0-9+/]+={0,2}$/, { message: 'secret must be base64' }),
  })
  .strict();

const ddnsZoneSchema = z.object({ name: domainName, primary: ipv4, key: tsigKeySchema.optional() }).strict();

/** Dynamic DNS settings of the DHCP server. */
const ddnsSchema = z
  .object({
    enabled: z.boolean().default(false),
    qualifyingSuffix: domainName.optional(),
    ignoreClientUpdates: z.boolean().default(false),
    zones: z.array(ddnsZoneSchema).default([]),
  })
  .strict();

/** The whole DHCPv4 service: global settings, subnets and reservations. */
const dhcpConfigSchema = z
  .object({
    // Kea also accepts "*" (all) and "eth0/10.0.0.1" (one address of an interface).
    interfaces: z.array(z.string().regex(/^(?:\*|[A-Za-z0-9_.:-]{1,15}(?:\/\d{1,3}(?:\.\d{1,3}){3})?)$/)).default([]),
    authoritative: z.boolean().default(true),
    validLifetime: lifetime.default(86_400),
    maxLifetime: lifetime.default(604_800),
    options: dhcpOptionsSchema.default({}),
    ddns: ddnsSchema.default({ enabled: false, ignoreClientUpdates: false, zones: [] }),
    subnets: z.array(subnetSchema).default([]),
    reservations: z.array(reservationSchema).default([]),
  })
  .strict();

// The same schema with the reservation rows left to resolveReservations: with thousands of rows
// zod's per-field payloads and pipes were most of a render's time and garbage.
const dhcpConfigShellSchema = dhcpConfigSchema.extend({ reservations: z.unknown().optional() });

/** DHCP options handed to clients; names follow the dhcpd/Kea option names. */
export interface DhcpOptions {
  /** Option 1; Kea and dhcpd send the subnet's mask without it, the original sets it anyway. */
  subnetMask?: string;
  /** Option 28 (the subnet's broadcast address). */
  broadcastAddress?: string;
  /** Option 3. */
  routers?: string[];
  /** Option 6. */
  domainNameServers?: string[];
  /** Option 15. */
  domainName?: string;
  /** Option 119. */
  domainSearch?: string[];
  /** Option 42. */
  ntpServers?: string[];
  /** Option 69 (`smtp-server`); the original sends the server's address. */
  smtpServers?: string[];
  /** Option 44 (WINS). */
  netbiosNameServers?: string[];
  /** Option 46: 1 B-node, 2 P-node, 4 M-node, 8 H-node. */
  netbiosNodeType?: 1 | 2 | 4 | 8;
}

/** A dynamic range, both ends inclusive. */
export interface Pool {
  start: string;
  end: string;
}

/** A subnet as accepted from callers. */
export interface SubnetInput {
  /** Kea `subnet4[].id`; assigned 1, 2, … (skipping ids in use) when missing. */
  id?: number;
  /** `a.b.c.d/len`, host bits zero. */
  cidr: string;
  pools?: Pool[];
  options?: DhcpOptions;
  /** Overrides the global lease time (seconds). */
  validLifetime?: number;
  maxLifetime?: number;
}

/** A resolved subnet. */
export interface Subnet {
  id: number;
  cidr: string;
  pools: Pool[];
  options: DhcpOptions;
  validLifetime?: number;
  maxLifetime?: number;
}

/** A fixed address for one MAC. Resolved: MAC lower-case with colons, hostname lower-case. */
export interface Reservation {
  mac: string;
  ip: string;
  /** RFC 1123 label (the original's `[a-z0-9-]{1,63}`). */
  hostname: string;
  /** One line of free text, e.g. the location (`iscDhcpComments` in the original). */
  comment?: string;
}

/** Reservation as accepted from callers (MAC in any common notation). */
export type ReservationInput = Reservation;

/** A TSIG key the DNS server accepts updates signed with. */
export interface DhcpTsigKey {
  name: string;
  algorithm: 'hmac-md5' | 'hmac-sha1' | 'hmac-sha224' | 'hmac-sha256' | 'hmac-sha384' | 'hmac-sha512';
  /** Base64. */
  secret: string;
}

/** A DNS zone the DHCP server updates (dhcpd `zone`, kea-dhcp-ddns `forward-ddns`/`reverse-ddns`). */
export interface DdnsZone {
  /** Zone name without the trailing dot. */
  name: string;
  /** Address of the DNS server that takes the updates. */
  primary: string;
  key?: DhcpTsigKey;
}

/** Dynamic DNS settings of the DHCP server. */
export interface DdnsSettings {
  /** Updates wanted: dhcpd `ddns-update-style interim`. Kea sends them only where {@link ddnsUsable} says so. */
  enabled: boolean;
  /** Domain appended to client names (Kea `ddns-qualifying-suffix`, dhcpd `ddns-domainname`). */
  qualifyingSuffix?: string;
  /** The server updates DNS itself, whatever the client asks (dhcpd `ignore client-updates`, Kea `ddns-override-client-update`). */
  ignoreClientUpdates: boolean;
  /** Zones with their server and key; without a zone that has a key no update can be sent. */
  zones: DdnsZone[];
}

/** The model as accepted from callers; every field but the data has a default. */
export interface DhcpConfigInput {
  /** Interfaces to serve (Kea `interfaces-config`; dhcpd takes them on its command line). */
  interfaces?: string[];
  /** Default true. */
  authoritative?: boolean;
  /** Default lease time in seconds; default 86400 as in the original. */
  validLifetime?: number;
  /** Maximum lease time in seconds; default 604800 as in the original. */
  maxLifetime?: number;
  options?: DhcpOptions;
  ddns?: Partial<DdnsSettings>;
  subnets?: SubnetInput[];
  /** Each belongs to the subnet that contains its address. */
  reservations?: ReservationInput[];
}

/** The resolved model every render function takes. */
export interface DhcpConfig {
  interfaces: string[];
  authoritative: boolean;
  validLifetime: number;
  maxLifetime: number;
  options: DhcpOptions;
  ddns: DdnsSettings;
  subnets: Subnet[];
  /** Sorted by address. */
  reservations: Reservation[];
}

/** Converts zod issues to DhcpIssues (kind from the schema's params, else INVALID_VALUE). */
function toIssues(error: z.ZodError): DhcpIssue[] {
  return error.issues.map((issue) => {
    const params = (issue as { params?: { kind?: string } }).params;
    return {
      kind: params?.kind ?? 'INVALID_VALUE',
      path: issue.path
        .map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`))
        .join('')
        .replace(/^\./, ''),
      message: issue.message,
    };
  });
}

/** Resolved reservations with their addresses as numbers (the sort keys). */
interface KeyedReservations {
  reservations: Reservation[];
  keys: number[];
}

/**
 * Resolves reservation rows exactly as `reservationSchema` does, in one loop. `undefined` as soon
 * as a row is not a plain valid reservation: the caller then parses with the full schema, so
 * every issue (kind, path, message) is still zod's.
 */
function resolveReservations(rows: unknown): KeyedReservations | undefined {
  if (rows === undefined) return { reservations: [], keys: [] };
  if (!Array.isArray(rows)) return undefined;
  const out: Reservation[] = [];
  const keys: number[] = [];
  for (const row of rows as unknown[]) {
    if (typeof row !== 'object' || row === null || Object.getPrototypeOf(row) !== Object.prototype) return undefined;
    let hasComment = false;
    for (const key in row) {
      if (key === 'comment') hasComment = true;
      else if (key !== 'mac' && key !== 'ip' && key !== 'hostname') return undefined;
    }
    const r = row as Record<string, unknown>;
    if (typeof r.mac !== 'string' || typeof r.ip !== 'string' || typeof r.hostname !== 'string') return undefined;
    const mac = normalizeMac(r.mac);
    const name = toHostname(r.hostname);
    const key = ipv4ToNumber(r.ip);
    if (mac === undefined || name === undefined || key === undefined) return undefined;
    keys.push(key);
    if (!hasComment) {
      out.push({ mac, ip: r.ip, hostname: name });
      continue;
    }
    const comment = r.comment;
    if (
      comment !== undefined &&
      (typeof comment !== 'string' || comment.length > COMMENT_MAX || !ONE_LINE.test(comment))
    )
      return undefined;
    out.push({ mac, ip: r.ip, hostname: name, comment: comment === undefined ? undefined : toComment(comment) });
  }
  return { reservations: out, keys };
}

/**
 * The zod-resolved model before subnet ids and sorting, with the reservations' sort keys; the
 * fast path when the rows are plainly valid.
 */
function parseConfig(input: DhcpConfigInput): { value: z.output<typeof dhcpConfigSchema>; keys: number[] } {
  const shell = dhcpConfigShellSchema.safeParse(input);
  const fast = shell.success ? resolveReservations(shell.data.reservations) : undefined;
  if (shell.success && fast) return { value: { ...shell.data, reservations: fast.reservations }, keys: fast.keys };
  const parsed = dhcpConfigSchema.safeParse(input);
  if (parsed.success)
    return { value: parsed.data, keys: parsed.data.reservations.map((r) => ipv4ToNumber(r.ip) as number) };
  const issues = toIssues(parsed.error);
  throw new DhcpConfigError('DHCP_INVALID_CONFIG', `invalid DHCP config: ${issues[0]?.path}: ${issues[0]?.message}`, {
    issues,
  });
}

/**
 * Validates the shape of `input` and resolves it: defaults filled, MACs and hostnames
 * normalised, subnet ids assigned, reservations sorted by address (stable renders and diffs).
 * Does not check conflicts; see {@link validateDhcpConfig}.
 * @param input model as written by a caller or returned by a parser
 * @returns the resolved model
 * @throws DhcpConfigError `DHCP_INVALID_CONFIG` with every issue
 * @example normalizeDhcpConfig({ subnets: [{ cidr: '192.168.220.0/24' }] }).subnets[0].id // 1
 */
export function normalizeDhcpConfig(input: DhcpConfigInput): DhcpConfig {
  return resolveDhcpConfig(input).config;
}

/**
 * {@link normalizeDhcpConfig} that also returns the resolved reservations in the caller's
 * order, so conflict paths can name the rows as the caller numbered them.
 */
export function resolveDhcpConfig(input: DhcpConfigInput): { config: DhcpConfig; given: Reservation[] } {
  const { value, keys } = parseConfig(input);
  const used = new Set(value.subnets.map((s) => s.id).filter((id) => id !== undefined));
  let next = 1;
  const subnets = value.subnets.map((s): Subnet => {
    if (s.id !== undefined) return { ...s, id: s.id };
    while (used.has(next)) next++;
    used.add(next);
    return { ...s, id: next };
  });
  return {
    config: { ...value, subnets, reservations: sortByAddress(value.reservations, keys) },
    given: value.reservations,
  };
}

/**
 * Reservations ordered by address, then MAC; a list already strictly in address order is returned
 * as is. `keys[i]` is the address of `reservations[i]` as a number, parsed once by the caller
 * (inside the comparator it would cost O(n log n) parses).
 */
function sortByAddress(reservations: Reservation[], keys: readonly number[]): Reservation[] {
  let ordered = true;
  for (let i = 1; ordered && i < keys.length; i++) ordered = (keys[i - 1] as number) < (keys[i] as number);
  if (ordered) return reservations;
  return reservations
    .map((r, i) => ({ r, key: keys[i] as number }))
    .sort((a, b) => a.key - b.key || (a.r.mac < b.r.mac ? -1 : 1))
    .map(({ r }) => r);
}

/**
 * Whether the model holds what a DDNS sender needs: at least one zone with a server and a TSIG key.
 * The original's `ddns-update-style interim` comes without zones and keys, so it sends nothing.
 * @param ddns the model's DDNS settings
 * @returns true when updates are wanted and can be signed for some zone
 * @example ddnsUsable(validateDhcpConfig(input).ddns)
 */
export function ddnsUsable(ddns: DdnsSettings): boolean {
  return ddns.enabled && ddns.zones.some((z) => z.key !== undefined);
}

/** Turns a parsed loose input into the model; invalid values are parse errors of the file. */
export function normalizeParsed(input: DhcpConfigInput, source: string): DhcpConfig {
  try {
    return normalizeDhcpConfig(input);
  } catch (e) {
    const err = e as DhcpConfigError;
    throw new DhcpConfigError('DHCP_PARSE_ERROR', `${source}: ${err.message}`, { cause: e, issues: err.issues });
  }
}

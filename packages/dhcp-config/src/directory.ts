// The original invis DHCP data in AD (the ISC dhcp-ldap schema: iscDhcpService, iscDhcpSubnet,
// iscDhcpPool, iscDhcpHost) read into the model and reservations written back in the exact
// form the original portal writes, so both can run against the same directory.
import { type AdClient, type AdEntry, childDn, dnEquals, f, type LdapFilter, parentDn } from '@invis/ad-client';
import { ipv4ToNumber, normalizeMac, parseIpv4Subnet, prefixToNetmask } from './address';
import { validateDhcpConfig } from './conflicts';
import { parseDhcpdConf } from './dhcpd';
import { DhcpConfigError, isDhcpConfigError } from './errors';
import { type DhcpConfig, ddnsUsable, normalizeDhcpConfig, type Reservation, type ReservationInput } from './model';

/** The AD operations the bridge uses (an `AdClient` from `@invis/ad-client`). */
export type DhcpDirectoryAd = Pick<AdClient, 'baseDN' | 'search' | 'get' | 'add' | 'modify' | 'delete'>;

/** Options of {@link createDhcpDirectory}. */
export interface DhcpDirectoryOptions {
  ad: DhcpDirectoryAd;
  /** The `iscDhcpService`; default `CN=DHCP Config,CN=DHCP-Server,CN=invis-Server,<base DN>` as in the original. */
  serviceDN?: string;
}

/** What {@link DhcpDirectory.read} found. */
export interface DhcpDirectoryReadResult {
  config: DhcpConfig;
  /** Statements and options the model does not carry, with the DN they came from. */
  warnings: string[];
  /** DN of each reservation's `iscDhcpHost`, by hostname. */
  hostDNs: Record<string, string>;
}

/** The hosts a read is limited to: those with this name, MAC or address (any of them). */
export interface ReservationMatch {
  hostname?: string;
  mac?: string;
  ip?: string;
}

/** Options of {@link DhcpDirectory.read}. */
export interface DhcpReadOptions {
  /**
   * Read only the hosts that could conflict with one reservation (same name, MAC or address)
   * instead of every host: what checking and writing one reservation
   * needs, in time independent of how many hosts there are. Service, subnets and pools are read whole.
   */
  hostsMatching?: ReservationMatch;
}

/** Reads and writes the invis DHCP objects in AD. */
export interface DhcpDirectory {
  /** Service statements/options, subnets, pools and hosts as one model (conflicts not checked). */
  read(options?: DhcpReadOptions): Promise<DhcpDirectoryReadResult>;
  /**
   * Creates or updates the `iscDhcpHost` named after the hostname, after checking the result
   * against everything else in the directory. Other statements on the host are kept.
   * @param current what `read()` returned just before, from a caller that lets no other write of
   *   its own come in between (it saves a second read of every object; default: read now); a read
   *   with `hostsMatching` this reservation's name, MAC and address is enough
   * @throws DhcpConfigError `DHCP_CONFLICT`/`DHCP_INVALID_CONFIG` (nothing written), `DHCP_DIRECTORY_ERROR`
   */
  putReservation(
    reservation: ReservationInput,
    current?: DhcpDirectoryReadResult,
  ): Promise<'created' | 'updated' | 'unchanged'>;
  /** Deletes the host; false when there was none. @throws DhcpConfigError `DHCP_DIRECTORY_ERROR` */
  deleteReservation(hostname: string): Promise<boolean>;
}

const HOST_ATTRIBUTES = [
  'cn',
  'objectClass',
  'iscDhcpHWAddress',
  'iscDhcpStatements',
  'iscDhcpOption',
  'iscDhcpComments',
];
const ATTRIBUTES = [
  ...HOST_ATTRIBUTES,
  'iscDhcpNetMask',
  'iscDhcpRange',
  'iscDhcpPermitList',
  'iscDhcpDnsZoneServer',
  'iscDhcpKeyDN',
  'iscDhcpKeyAlgorithm',
  'iscDhcpKeySecret',
];

// The original portal stores "-" when no location was given.
const NO_COMMENT = '-';

function directoryError(message: string, cause: unknown): DhcpConfigError {
  const code = (cause as { code?: unknown } | undefined)?.code;
  return new DhcpConfigError('DHCP_DIRECTORY_ERROR', `${message}: ${(cause as Error).message}`, {
    cause,
    details: typeof code === 'string' ? { adCode: code } : {},
  });
}

const hasClass = (entry: AdEntry, name: string): boolean =>
  entry.getAll('objectClass').some((c) => c.toLowerCase() === name.toLowerCase());

/** `fixed-address 10.0.0.5` → `10.0.0.5`. */
const fixedAddress = (statements: readonly string[]): string | undefined =>
  statements.map((s) => /^fixed-address\s+(\S+)$/i.exec(s.trim())?.[1]).find((ip) => ip !== undefined);

/**
 * The original sets `subnet-mask` and `broadcast-address` on the service, for its one subnet. They
 * describe a subnet, so each moves to the subnet it fits (mask and broadcast of that subnet); the
 * same values globally would tell every other subnet a wrong mask. Values that fit no subnet stay.
 */
function placeSubnetOptions(config: DhcpConfig): DhcpConfig {
  const { subnetMask, broadcastAddress, ...globalOptions } = config.options;
  if (subnetMask === undefined && broadcastAddress === undefined) return config;
  const fits = (cidr: string): boolean => {
    const net = parseIpv4Subnet(cidr);
    if (!net) return false;
    return (
      (subnetMask === undefined || subnetMask === prefixToNetmask(net.prefix)) &&
      (broadcastAddress === undefined || ipv4ToNumber(broadcastAddress) === net.last)
    );
  };
  if (!config.subnets.some((s) => fits(s.cidr))) return config;
  return {
    ...config,
    options: globalOptions,
    subnets: config.subnets.map((s) =>
      fits(s.cidr)
        ? {
            ...s,
            options: {
              ...(subnetMask === undefined ? {} : { subnetMask }),
              ...(broadcastAddress === undefined ? {} : { broadcastAddress }),
              ...s.options,
            },
          }
        : s,
    ),
  };
}

/**
 * The hosts a read takes: every one, or those that may carry a name, MAC or address of `match`
 * — `cn` exactly, the MAC and the address as substrings (hardware and statement values are free
 * text other tools write in their own case and spacing; a substring match may bring a few more
 * hosts, which `read` drops after parsing). A match naming nothing takes no host.
 */
function hostsFilter(match: ReservationMatch | undefined): LdapFilter | null {
  const host = f.eq('objectClass', 'iscDhcpHost');
  if (!match) return host;
  const mac = match.mac ? (normalizeMac(match.mac) ?? match.mac) : undefined;
  const parts = [
    match.hostname ? f.eq('cn', match.hostname) : null,
    mac ? f.contains('iscDhcpHWAddress', mac.toLowerCase()) : null,
    mac ? f.contains('iscDhcpHWAddress', mac.toUpperCase()) : null,
    match.ip ? f.contains('iscDhcpStatements', match.ip) : null,
  ].filter((p) => p !== null);
  return parts.length ? f.and(host, f.or(...parts)) : null;
}

/**
 * Creates the bridge. Reading turns the objects into dhcpd.conf statements (which is what they
 * are, and what dhcpd's LDAP backend does) and parses them with {@link parseDhcpdConf}.
 * @param options AD client and optional service DN
 * @returns the bridge
 * @example
 * const dhcp = createDhcpDirectory({ ad: createAdClient({ url, bindDN, password, ca }) });
 * const { config } = await dhcp.read();
 */
export function createDhcpDirectory(options: DhcpDirectoryOptions): DhcpDirectory {
  const { ad } = options;
  const serviceDN = async (): Promise<string> =>
    options.serviceDN ?? `CN=DHCP Config,CN=DHCP-Server,CN=invis-Server,${await ad.baseDN()}`;

  async function load(match?: ReservationMatch): Promise<{ service: AdEntry; entries: AdEntry[] }> {
    const base = await serviceDN();
    try {
      // One search: the service object is the base of its own subtree.
      const found = await ad.search({
        base,
        scope: 'sub',
        filter: f.or(
          f.eq('objectClass', 'iscDhcpService'),
          f.eq('objectClass', 'iscDhcpSubnet'),
          f.eq('objectClass', 'iscDhcpPool'),
          hostsFilter(match),
          f.eq('objectClass', 'iscDhcpDnsZone'),
          f.eq('objectClass', 'iscDhcpTSigKey'),
        ),
        attributes: ATTRIBUTES,
      });
      const service = found.find((e) => dnEquals(e.dn, base) && hasClass(e, 'iscDhcpService'));
      if (!service) throw new Error(`no DHCP service object at ${base}`);
      return { service, entries: found.filter((e) => !hasClass(e, 'iscDhcpService')) };
    } catch (e) {
      throw directoryError(`reading the DHCP objects under ${base}`, e);
    }
  }

  async function read(options: DhcpReadOptions = {}): Promise<DhcpDirectoryReadResult> {
    const { service, entries } = await load(options.hostsMatching);
    const lines: string[] = [];
    const origin: string[] = [];
    const emit = (dn: string, text: string): void => {
      lines.push(text);
      origin.push(dn);
    };
    const body = (e: AdEntry, indent: string): void => {
      for (const s of e.getAll('iscDhcpStatements')) emit(e.dn, `${indent}${s};`);
      for (const o of e.getAll('iscDhcpOption')) emit(e.dn, `${indent}option ${o};`);
    };
    body(service, '');
    // DDNS zones and their TSIG keys, as dhcpd's `key` and `zone` blocks (the key named by its cn).
    const cnOf = (dn: string): string => /^cn=([^,]+)/i.exec(dn)?.[1] ?? dn;
    for (const key of entries.filter((e) => hasClass(e, 'iscDhcpTSigKey'))) {
      emit(key.dn, `key ${cnOf(key.dn)} {`);
      emit(key.dn, `  algorithm ${key.get('iscDhcpKeyAlgorithm') ?? ''};`);
      emit(key.dn, `  secret "${key.get('iscDhcpKeySecret') ?? ''}";`);
      emit(key.dn, '}');
    }
    for (const zone of entries.filter((e) => hasClass(e, 'iscDhcpDnsZone'))) {
      emit(zone.dn, `zone ${cnOf(zone.dn)} {`);
      emit(zone.dn, `  primary ${zone.get('iscDhcpDnsZoneServer') ?? ''};`);
      const keyDN = zone.get('iscDhcpKeyDN');
      if (keyDN) emit(zone.dn, `  key ${cnOf(keyDN)};`);
      emit(zone.dn, '}');
    }
    const hostDNs: Record<string, string> = {};
    const isUnder = (child: AdEntry, parent: AdEntry): boolean => dnEquals(parentDn(child.dn), parent.dn);
    for (const subnet of entries.filter((e) => hasClass(e, 'iscDhcpSubnet'))) {
      const prefix = Number(subnet.get('iscDhcpNetMask'));
      emit(
        subnet.dn,
        `subnet ${subnet.get('cn')} netmask ${prefixToNetmask(prefix >= 0 && prefix <= 32 ? prefix : 32)} {`,
      );
      for (const r of subnet.getAll('iscDhcpRange')) emit(subnet.dn, `  range ${r};`);
      body(subnet, '  ');
      for (const pool of entries.filter((e) => hasClass(e, 'iscDhcpPool') && isUnder(e, subnet))) {
        emit(pool.dn, '  pool {');
        for (const r of pool.getAll('iscDhcpRange')) emit(pool.dn, `    range ${r};`);
        // Permit lists are dhcpd statements too; the model has none, so they surface as warnings.
        for (const p of pool.getAll('iscDhcpPermitList')) emit(pool.dn, `    ${p};`);
        body(pool, '    ');
        emit(pool.dn, '  }');
      }
      emit(subnet.dn, '}');
    }
    for (const host of entries.filter((e) => hasClass(e, 'iscDhcpHost'))) {
      const cn = host.get('cn') ?? '';
      hostDNs[cn.toLowerCase()] = host.dn;
      // A cn that is no valid hostname fails in the parser with its DN named.
      emit(host.dn, `host ${cn.replace(/[\s{};#"]/g, '_')} {`);
      const comment = host.get('iscDhcpComments');
      if (comment && comment !== NO_COMMENT) emit(host.dn, `  # ${comment.replace(/[\r\n]+/g, ' ')}`);
      const hw = host.get('iscDhcpHWAddress');
      if (hw) emit(host.dn, `  hardware ${hw};`);
      body(host, '  ');
      emit(host.dn, '}');
    }
    try {
      const parsed = parseDhcpdConf(`${lines.join('\n')}\n`);
      const warnings = parsed.warnings.map((w) =>
        w.replace(/^line (\d+):/, (_, n: string) => `${origin[Number(n) - 1] ?? 'directory'}:`),
      );
      if (parsed.config.ddns.enabled && !ddnsUsable(parsed.config.ddns))
        warnings.push(
          `${service.dn}: "ddns-update-style interim" without a DNS zone and TSIG key object: no update can be sent; Kea renders with DDNS off`,
        );
      const config = placeSubnetOptions(parsed.config);
      const match = options.hostsMatching;
      if (!match) return { config, warnings, hostDNs };
      // The substring search may have brought neighbours (…220.12 finds …220.120): keep the exact ones.
      const mac = match.mac ? normalizeMac(match.mac) : undefined;
      const exact = config.reservations.filter(
        (r) => r.hostname === match.hostname?.toLowerCase() || r.mac === mac || r.ip === match.ip,
      );
      return {
        config: { ...config, reservations: exact },
        warnings,
        hostDNs: Object.fromEntries(exact.map((r) => [r.hostname, hostDNs[r.hostname] as string])),
      };
    } catch (e) {
      const line = isDhcpConfigError(e) ? e.details.line : undefined;
      const where = typeof line === 'number' ? origin[line - 1] : undefined;
      throw new DhcpConfigError('DHCP_PARSE_ERROR', `${where ?? 'DHCP objects'}: ${(e as Error).message}`, {
        cause: e,
      });
    }
  }

  return {
    read,

    async putReservation(input, known) {
      const reservation = normalizeDhcpConfig({ reservations: [input] }).reservations[0] as Reservation;
      const current = known ?? (await read());
      const others = current.config.reservations.filter((r) => r.hostname !== reservation.hostname);
      validateDhcpConfig({ ...current.config, reservations: [...others, reservation] });
      const existingDN = current.hostDNs[reservation.hostname];
      const hw = `ethernet ${reservation.mac}`;
      const comment = reservation.comment ?? NO_COMMENT;
      try {
        if (!existingDN) {
          await ad.add(childDn(await serviceDN(), reservation.hostname), {
            objectClass: ['top', 'iscDhcpHost'],
            iscDhcpHWAddress: hw,
            iscDhcpStatements: `fixed-address ${reservation.ip}`,
            iscDhcpComments: comment,
          });
          return 'created';
        }
        const entry = await ad.get(existingDN, HOST_ATTRIBUTES);
        const statements = entry?.getAll('iscDhcpStatements') ?? [];
        const kept = statements.filter((s) => !/^\s*fixed-address\s/i.test(s));
        const nextStatements = [`fixed-address ${reservation.ip}`, ...kept];
        const changes = [];
        if (entry?.get('iscDhcpHWAddress')?.toLowerCase() !== hw) {
          changes.push({ operation: 'replace' as const, attribute: 'iscDhcpHWAddress', values: hw });
        }
        if (fixedAddress(statements) !== reservation.ip) {
          changes.push({ operation: 'replace' as const, attribute: 'iscDhcpStatements', values: nextStatements });
        }
        if ((entry?.get('iscDhcpComments') ?? NO_COMMENT) !== comment) {
          changes.push({ operation: 'replace' as const, attribute: 'iscDhcpComments', values: comment });
        }
        if (!changes.length) return 'unchanged';
        await ad.modify(existingDN, changes);
        return 'updated';
      } catch (e) {
        throw directoryError(`writing the DHCP host ${reservation.hostname}`, e);
      }
    },

    async deleteReservation(hostname) {
      const base = await serviceDN();
      try {
        const hosts = await ad.search({
          base,
          scope: 'sub',
          filter: f.and(f.eq('objectClass', 'iscDhcpHost'), f.eq('cn', hostname)),
          attributes: ['cn'],
        });
        for (const h of hosts) await ad.delete(h.dn);
        return hosts.length > 0;
      } catch (e) {
        throw directoryError(`deleting the DHCP host ${hostname}`, e);
      }
    },
  };
}

// Kea DHCPv4 JSON: pure render and parse. Deployment details (control socket, lease file,
// hooks, logging) are KeaSettings, not part of the model, so one model renders for any host.
import { generatedMarker } from '@invis/host';
import { ipv4ToNumber, numberToIpv4, parseIpv4Subnet } from './address';
import { indexSubnets, subnetContaining } from './conflicts';
import { DhcpConfigError } from './errors';
import {
  type DhcpConfig,
  type DhcpConfigInput,
  type DhcpOptions,
  ddnsUsable,
  normalizeParsed,
  type Reservation,
  type SubnetInput,
} from './model';
import { optionDef, optionEntries, setOption } from './options';

/** Where Kea keeps its state on this host; rendered into the config, read back by the parser. */
export interface KeaSettings {
  /** UNIX control socket path (`control-socket.socket-name`); needed for reloads. */
  controlSocket?: string;
  /** Memfile lease CSV path (`lease-database.name`). */
  leaseFile?: string;
  /** Seconds between lease file clean-ups (`lfc-interval`); Kea's default 3600 when unset. */
  lfcInterval?: number;
  /** Hook libraries, e.g. `/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so`. */
  hooksLibraries?: string[];
  /** Output of the `kea-dhcp4` logger at INFO: `stdout`, `stderr`, `syslog` or a file path. */
  logOutput?: string;
  /**
   * A `kea-dhcp-ddns` server runs on this host (default port) with the model's DDNS zones and keys.
   * Default false: Kea's DDNS stays off, since without that server kea-dhcp4 only logs send errors.
   */
  ddnsServer?: boolean;
}

/** Kea's `{"Dhcp4": …}` object, as sent with `config-set`. */
export type KeaConfigObject = { Dhcp4: Record<string, unknown> };

/** Result of {@link parseKeaConfig}: the model, the settings, and what was not understood. */
export interface KeaParseResult {
  config: DhcpConfig;
  settings: KeaSettings;
  /** Parts of the file the model does not carry (with their JSON path), for an import report. */
  warnings: string[];
}

const keaOptionData = (options: DhcpOptions): Array<{ name: string; data: string }> =>
  optionEntries(options).map(({ def, values }) => ({ name: def.name, data: values.join(', ') }));

/** Groups reservations by the subnet holding them; a reservation outside all is a conflict. */
function reservationsBySubnet(config: DhcpConfig): Map<number, Reservation[]> {
  const index = indexSubnets(config);
  const out = new Map<number, Reservation[]>();
  for (const r of config.reservations) {
    const entry = subnetContaining(index, ipv4ToNumber(r.ip) as number);
    if (!entry) {
      throw new DhcpConfigError('DHCP_CONFLICT', `${r.hostname}: ${r.ip} is not in any subnet`, {
        issues: [{ kind: 'RESERVATION_OUTSIDE_SUBNET', path: 'reservations', message: `${r.ip} is not in any subnet` }],
      });
    }
    const list = out.get(entry.index) ?? [];
    list.push(r);
    out.set(entry.index, list);
  }
  return out;
}

/**
 * Whether Kea sends DDNS updates for this model and host, and why not when the model wants them.
 * Kea does so only when the model has a zone with a key ({@link ddnsUsable}) and `settings.ddnsServer`
 * says a `kea-dhcp-ddns` runs to take them; otherwise the config renders with DDNS off.
 * @param config resolved model
 * @param settings the host's Kea settings
 * @returns `sendUpdates` as rendered, `warnings` for every DDNS setting that has no effect
 * @example keaDdnsPlan(config, { ddnsServer: true }).warnings
 */
export function keaDdnsPlan(
  config: DhcpConfig,
  settings: KeaSettings = {},
): { sendUpdates: boolean; warnings: string[] } {
  const { ddns } = config;
  const warnings: string[] = [];
  const usable = ddnsUsable(ddns);
  if (ddns.enabled && !usable)
    warnings.push('DDNS is wanted but no zone with a TSIG key is configured: Kea sends no updates (DDNS off)');
  if (usable && settings.ddnsServer !== true)
    warnings.push(
      'DDNS zones and keys are configured but no kea-dhcp-ddns server is declared (settings.ddnsServer): DDNS off',
    );
  const sendUpdates = usable && settings.ddnsServer === true;
  if (ddns.ignoreClientUpdates && !sendUpdates)
    warnings.push('ignore client-updates has no effect while DDNS is off (no update is sent either way)');
  return { sendUpdates, warnings };
}

/**
 * The Kea `{"Dhcp4": …}` object for a model (for `config-set` or tests).
 * @param config resolved, conflict-free model ({@link validateDhcpConfig})
 * @param settings control socket, lease file, hooks, logging
 * @returns the JSON object
 * @throws DhcpConfigError `DHCP_CONFLICT` when a reservation lies outside every subnet
 * @example keaConfigObject(config, { controlSocket: '/run/kea/kea4.sock' }).Dhcp4['subnet4']
 */
export function keaConfigObject(config: DhcpConfig, settings: KeaSettings = {}): KeaConfigObject {
  const placed = reservationsBySubnet(config);
  const { sendUpdates } = keaDdnsPlan(config, settings);
  const dhcp4: Record<string, unknown> = {
    'interfaces-config': { interfaces: config.interfaces },
  };
  if (settings.controlSocket)
    dhcp4['control-socket'] = { 'socket-type': 'unix', 'socket-name': settings.controlSocket };
  if (settings.leaseFile) {
    dhcp4['lease-database'] = {
      type: 'memfile',
      persist: true,
      name: settings.leaseFile,
      ...(settings.lfcInterval === undefined ? {} : { 'lfc-interval': settings.lfcInterval }),
    };
  }
  if (settings.hooksLibraries?.length)
    dhcp4['hooks-libraries'] = settings.hooksLibraries.map((library) => ({ library }));
  Object.assign(dhcp4, {
    authoritative: config.authoritative,
    'valid-lifetime': config.validLifetime,
    'max-valid-lifetime': config.maxLifetime,
    'ddns-send-updates': sendUpdates,
    ...(sendUpdates && config.ddns.ignoreClientUpdates ? { 'ddns-override-client-update': true } : {}),
    ...(config.ddns.qualifyingSuffix ? { 'ddns-qualifying-suffix': config.ddns.qualifyingSuffix } : {}),
    'dhcp-ddns': { 'enable-updates': sendUpdates },
    'option-data': keaOptionData(config.options),
    subnet4: config.subnets.map((s, i) => ({
      id: s.id,
      subnet: s.cidr,
      pools: s.pools.map((p) => ({ pool: `${p.start} - ${p.end}` })),
      ...(s.validLifetime === undefined ? {} : { 'valid-lifetime': s.validLifetime }),
      ...(s.maxLifetime === undefined ? {} : { 'max-valid-lifetime': s.maxLifetime }),
      'option-data': keaOptionData(s.options),
      reservations: (placed.get(i) ?? []).map((r) => ({
        'hw-address': r.mac,
        'ip-address': r.ip,
        hostname: r.hostname,
        ...(r.comment === undefined ? {} : { 'user-context': { comment: r.comment } }),
      })),
    })),
  });
  if (settings.logOutput) {
    dhcp4.loggers = [{ name: 'kea-dhcp4', output_options: [{ output: settings.logOutput }], severity: 'INFO' }];
  }
  return { Dhcp4: dhcp4 };
}

/**
 * Renders a model as a Kea DHCPv4 config file (JSON with a `//` marker line, which Kea accepts).
 * @param config resolved, conflict-free model
 * @param settings control socket, lease file, hooks, logging
 * @returns file text
 * @throws DhcpConfigError `DHCP_CONFLICT` when a reservation lies outside every subnet
 * @example renderKeaConfig(validateDhcpConfig(input), { controlSocket: '/run/kea/kea4.sock' })
 */
export function renderKeaConfig(config: DhcpConfig, settings: KeaSettings = {}): string {
  return `${generatedMarker('@invis/dhcp-config', 'slash')}\n${JSON.stringify(keaConfigObject(config, settings), null, 2)}\n`;
}

/** Removes `//`, `#` and `/* *\/` comments outside strings (Kea's JSON dialect). */
function stripComments(text: string): string {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '"') {
      let j = i + 1;
      while (j < text.length && text[j] !== '"') j += text[j] === '\\' ? 2 : 1;
      out += text.slice(i, j + 1);
      i = j + 1;
    } else if (c === '#' || (c === '/' && text[i + 1] === '/')) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      // Keep line numbers for JSON.parse's error positions.
      out += text.slice(i, end < 0 ? text.length : end + 2).replace(/[^\n]/g, ' ');
      i = end < 0 ? text.length : end + 2;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads Kea option-data into model options; unknown options become warnings. */
const OPTION_KEYS = new Set(['name', 'code', 'data', 'space', 'csv-format']);
const RESERVATION_KEYS = new Set(['hw-address', 'ip-address', 'hostname', 'user-context', 'comment']);

function readOptionData(data: unknown, path: string, warnings: string[]): DhcpOptions {
  const options: Record<string, unknown> = {};
  if (data === undefined) return options;
  if (!Array.isArray(data)) throw parseError(`${path} must be a list`);
  for (const [i, entry] of data.entries()) {
    if (!isObject(entry)) throw parseError(`${path}[${i}] must be an object`);
    const name = entry.name;
    const code = entry.code;
    const def = typeof name === 'string' ? optionDef(name) : typeof code === 'number' ? optionDef(code) : undefined;
    if (!def || typeof entry.data !== 'string' || entry['csv-format'] === false) {
      warnings.push(`${path}[${i}]: option ${String(name ?? code)} not imported`);
      continue;
    }
    for (const key of Object.keys(entry)) {
      if (!OPTION_KEYS.has(key) || (key === 'space' && entry.space !== 'dhcp4'))
        warnings.push(`${path}[${i}].${key} not imported`);
    }
    setOption(
      options,
      def,
      (entry.data as string).split(',').map((v) => v.trim()),
    );
  }
  return options as DhcpOptions;
}

function parseError(message: string, cause?: unknown): DhcpConfigError {
  return new DhcpConfigError('DHCP_PARSE_ERROR', `Kea config: ${message}`, { cause });
}

function poolRange(pool: unknown, path: string): { start: string; end: string } {
  const text = isObject(pool) ? pool.pool : undefined;
  if (typeof text !== 'string') throw parseError(`${path}.pool must be "first - last" or a CIDR`);
  const dash = /^\s*(\S+)\s*-\s*(\S+)\s*$/.exec(text);
  if (dash) return { start: dash[1] as string, end: dash[2] as string };
  const cidr = parseIpv4Subnet(text.trim());
  if (!cidr) throw parseError(`${path}.pool "${text}" is neither a range nor a CIDR`);
  return { start: numberToIpv4(cidr.first), end: numberToIpv4(cidr.last) };
}

function readReservations(list: unknown, path: string, warnings: string[]): DhcpConfigInput['reservations'] {
  if (list === undefined) return [];
  if (!Array.isArray(list)) throw parseError(`${path} must be a list`);
  const out: NonNullable<DhcpConfigInput['reservations']> = [];
  for (const [i, r] of list.entries()) {
    const p = `${path}[${i}]`;
    if (!isObject(r) || typeof r['hw-address'] !== 'string' || typeof r['ip-address'] !== 'string') {
      warnings.push(`${p}: only reservations by hw-address with an ip-address are imported`);
      continue;
    }
    for (const key of Object.keys(r)) if (!RESERVATION_KEYS.has(key)) warnings.push(`${p}.${key} not imported`);
    const mac = r['hw-address'];
    const context = r['user-context'];
    const comment = isObject(context) && typeof context.comment === 'string' ? context.comment : r.comment;
    let hostname = r.hostname;
    if (typeof hostname !== 'string' || hostname === '') {
      hostname = `mac-${mac.replace(/[^0-9a-fA-F]/g, '').toLowerCase()}`;
      warnings.push(`${p}: no hostname, named ${hostname}`);
    }
    out.push({
      mac,
      ip: r['ip-address'],
      hostname: hostname as string,
      ...(typeof comment === 'string' ? { comment } : {}),
    });
  }
  return out;
}

const DHCP4_KEYS = new Set([
  'interfaces-config',
  'control-socket',
  'lease-database',
  'hooks-libraries',
  'authoritative',
  'valid-lifetime',
  'max-valid-lifetime',
  'ddns-send-updates',
  'ddns-qualifying-suffix',
  'ddns-override-client-update',
  'dhcp-ddns',
  'option-data',
  'subnet4',
  'shared-networks',
  'reservations',
  'loggers',
]);
const SUBNET_KEYS = new Set([
  'id',
  'subnet',
  'pools',
  'valid-lifetime',
  'max-valid-lifetime',
  'option-data',
  'reservations',
]);

function readSubnet(
  s: unknown,
  path: string,
  warnings: string[],
  reservations: NonNullable<DhcpConfigInput['reservations']>,
): SubnetInput {
  if (!isObject(s) || typeof s.subnet !== 'string') throw parseError(`${path}.subnet missing`);
  for (const key of Object.keys(s)) if (!SUBNET_KEYS.has(key)) warnings.push(`${path}.${key} not imported`);
  const pools = s.pools ?? [];
  if (!Array.isArray(pools)) throw parseError(`${path}.pools must be a list`);
  reservations.push(...(readReservations(s.reservations, `${path}.reservations`, warnings) ?? []));
  return {
    ...(typeof s.id === 'number' ? { id: s.id } : {}),
    cidr: s.subnet,
    pools: pools.map((p, j) => poolRange(p, `${path}.pools[${j}]`)),
    options: readOptionData(s['option-data'], `${path}.option-data`, warnings),
    ...(typeof s['valid-lifetime'] === 'number' ? { validLifetime: s['valid-lifetime'] } : {}),
    ...(typeof s['max-valid-lifetime'] === 'number' ? { maxLifetime: s['max-valid-lifetime'] } : {}),
  };
}

function readSettings(dhcp4: Record<string, unknown>, warnings: string[]): KeaSettings {
  const settings: KeaSettings = {};
  // Keys of the nested objects that the settings carry; anything else is reported.
  const known: Record<string, string[]> = {
    'interfaces-config': ['interfaces'],
    'control-socket': ['socket-type', 'socket-name'],
    'lease-database': ['type', 'persist', 'name', 'lfc-interval'],
  };
  for (const [section, keys] of Object.entries(known)) {
    const value = dhcp4[section];
    if (!isObject(value)) continue;
    for (const key of Object.keys(value))
      if (!keys.includes(key)) warnings.push(`Dhcp4.${section}.${key} not imported`);
  }
  const socket = dhcp4['control-socket'];
  if (isObject(socket) && typeof socket['socket-name'] === 'string') settings.controlSocket = socket['socket-name'];
  const leases = dhcp4['lease-database'];
  if (isObject(leases)) {
    if (leases.type !== 'memfile') warnings.push(`Dhcp4.lease-database: type ${String(leases.type)} not imported`);
    if (typeof leases.name === 'string') settings.leaseFile = leases.name;
    if (typeof leases['lfc-interval'] === 'number') settings.lfcInterval = leases['lfc-interval'];
  }
  const hooks = dhcp4['hooks-libraries'];
  if (Array.isArray(hooks)) {
    settings.hooksLibraries = hooks.flatMap((h, i) => {
      if (isObject(h) && typeof h.library === 'string') {
        if (h.parameters !== undefined) warnings.push(`Dhcp4.hooks-libraries[${i}].parameters not imported`);
        return [h.library];
      }
      return [];
    });
  }
  const loggers = dhcp4.loggers;
  if (Array.isArray(loggers)) {
    const first = loggers[0];
    const output = isObject(first) && Array.isArray(first.output_options) ? first.output_options[0] : undefined;
    if (isObject(output) && typeof output.output === 'string') settings.logOutput = output.output;
    if (loggers.length > 1 || !settings.logOutput)
      warnings.push('Dhcp4.loggers: only the first logger output is imported');
  }
  return settings;
}

/**
 * Parses a Kea DHCPv4 config file (comments allowed) into the model and the host settings.
 * Reservations of shared networks and global reservations are imported; what the model
 * does not carry is listed in `warnings`. Kea's defaults are filled in (valid-lifetime 7200).
 * @param text file contents
 * @returns model, settings, warnings
 * @throws DhcpConfigError `DHCP_PARSE_ERROR` for invalid JSON or values
 * @example parseKeaConfig(readFileSync('/etc/kea/kea-dhcp4.conf', 'utf8')).config.reservations
 */
export function parseKeaConfig(text: string): KeaParseResult {
  let root: unknown;
  try {
    root = JSON.parse(stripComments(text));
  } catch (e) {
    throw parseError(`not JSON: ${(e as Error).message}`, e);
  }
  if (!isObject(root) || !isObject(root.Dhcp4)) throw parseError('no "Dhcp4" object');
  const warnings: string[] = [];
  for (const key of Object.keys(root)) if (key !== 'Dhcp4') warnings.push(`${key} not imported`);
  const dhcp4 = root.Dhcp4;
  for (const key of Object.keys(dhcp4)) if (!DHCP4_KEYS.has(key)) warnings.push(`Dhcp4.${key} not imported`);

  const reservations: NonNullable<DhcpConfigInput['reservations']> = [];
  const subnetList = dhcp4.subnet4 ?? [];
  if (!Array.isArray(subnetList)) throw parseError('Dhcp4.subnet4 must be a list');
  const subnets = subnetList.map((s, i) => readSubnet(s, `Dhcp4.subnet4[${i}]`, warnings, reservations));
  const shared = dhcp4['shared-networks'];
  if (Array.isArray(shared)) {
    for (const [n, net] of shared.entries()) {
      const list = isObject(net) && Array.isArray(net.subnet4) ? net.subnet4 : [];
      warnings.push(`Dhcp4.shared-networks[${n}]: subnets imported without the shared network`);
      for (const [i, s] of list.entries()) {
        subnets.push(readSubnet(s, `Dhcp4.shared-networks[${n}].subnet4[${i}]`, warnings, reservations));
      }
    }
  }
  reservations.push(...(readReservations(dhcp4.reservations, 'Dhcp4.reservations', warnings) ?? []));

  const ifaces = dhcp4['interfaces-config'];
  const interfaces = isObject(ifaces) && Array.isArray(ifaces.interfaces) ? ifaces.interfaces : [];
  const validLifetime = typeof dhcp4['valid-lifetime'] === 'number' ? dhcp4['valid-lifetime'] : 7200;
  const ddns = dhcp4['dhcp-ddns'];
  const suffix = dhcp4['ddns-qualifying-suffix'];
  // Kea sends updates only with D2 enabled; ddns-send-updates defaults to true.
  const sendUpdates = dhcp4['ddns-send-updates'] !== false && isObject(ddns) && ddns['enable-updates'] === true;
  // The zones and keys live in kea-dhcp-ddns.conf, which this file does not hold.
  if (sendUpdates)
    warnings.push('Dhcp4.dhcp-ddns: zones and keys are in kea-dhcp-ddns.conf, not imported (add them to ddns.zones)');
  const config = normalizeParsed(
    {
      interfaces: interfaces as string[],
      authoritative: dhcp4.authoritative === true,
      validLifetime,
      maxLifetime: typeof dhcp4['max-valid-lifetime'] === 'number' ? dhcp4['max-valid-lifetime'] : validLifetime,
      options: readOptionData(dhcp4['option-data'], 'Dhcp4.option-data', warnings),
      ddns: {
        enabled: sendUpdates,
        ignoreClientUpdates: dhcp4['ddns-override-client-update'] === true,
        ...(typeof suffix === 'string' && suffix !== '' ? { qualifyingSuffix: suffix.replace(/\.$/, '') } : {}),
      },
      subnets,
      reservations,
    },
    'Kea config',
  );
  return {
    config,
    settings: { ...readSettings(dhcp4, warnings), ...(sendUpdates ? { ddnsServer: true } : {}) },
    warnings,
  };
}

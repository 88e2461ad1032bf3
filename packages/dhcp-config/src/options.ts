// The DHCP options the model knows, with their names in Kea/dhcpd and their codes both ways.
import type { DhcpOptions } from './model';

/** How an option's value is written: addresses, one address, domain names, one text, one number. */
type OptionKind = 'ips' | 'ip' | 'names' | 'text' | 'uint8';

interface OptionDef {
  key: keyof DhcpOptions;
  /** Name in Kea `option-data` and in dhcpd `option <name>`. */
  name: string;
  code: number;
  kind: OptionKind;
}

/** Render order is this order. */
const OPTION_DEFS: readonly OptionDef[] = [
  { key: 'subnetMask', name: 'subnet-mask', code: 1, kind: 'ip' },
  { key: 'broadcastAddress', name: 'broadcast-address', code: 28, kind: 'ip' },
  { key: 'routers', name: 'routers', code: 3, kind: 'ips' },
  { key: 'domainNameServers', name: 'domain-name-servers', code: 6, kind: 'ips' },
  { key: 'domainName', name: 'domain-name', code: 15, kind: 'text' },
  { key: 'domainSearch', name: 'domain-search', code: 119, kind: 'names' },
  { key: 'ntpServers', name: 'ntp-servers', code: 42, kind: 'ips' },
  { key: 'smtpServers', name: 'smtp-server', code: 69, kind: 'ips' },
  { key: 'netbiosNameServers', name: 'netbios-name-servers', code: 44, kind: 'ips' },
  { key: 'netbiosNodeType', name: 'netbios-node-type', code: 46, kind: 'uint8' },
];

const BY_NAME = new Map(OPTION_DEFS.map((d) => [d.name, d]));
const BY_CODE = new Map(OPTION_DEFS.map((d) => [d.code, d]));

/**
 * DHCP option code of a known option name (`routers` → 3); `undefined` for other names.
 * @param name Kea/dhcpd option name
 * @returns the code
 * @example dhcpOptionCode('domain-search') // 119
 */
export function dhcpOptionCode(name: string): number | undefined {
  return BY_NAME.get(name)?.code;
}

/**
 * Kea/dhcpd name of a known option code (3 → `routers`); `undefined` for other codes.
 * @param code DHCP option code
 * @returns the name
 * @example dhcpOptionName(44) // 'netbios-name-servers'
 */
export function dhcpOptionName(code: number): string | undefined {
  return BY_CODE.get(code)?.name;
}

/** Option definition by name or code, for parsers. */
export function optionDef(nameOrCode: string | number): OptionDef | undefined {
  return typeof nameOrCode === 'number' ? BY_CODE.get(nameOrCode) : BY_NAME.get(nameOrCode);
}

/** One option of a model as (definition, values) in render order; lists stay lists. */
export function optionEntries(options: DhcpOptions): Array<{ def: OptionDef; values: string[] }> {
  const out: Array<{ def: OptionDef; values: string[] }> = [];
  for (const def of OPTION_DEFS) {
    const value = options[def.key];
    if (value === undefined) continue;
    out.push({ def, values: Array.isArray(value) ? value : [String(value)] });
  }
  return out;
}

/** Sets one parsed option on a loose options object (validated later by the model). */
export function setOption(target: Record<string, unknown>, def: OptionDef, values: string[]): void {
  // A list where one address belongs stays a list, so the model refuses it instead of dropping the rest.
  target[def.key] =
    def.kind === 'ips' || def.kind === 'names' || (def.kind === 'ip' && values.length > 1)
      ? values
      : def.kind === 'uint8'
        ? Number(values[0])
        : values[0];
}

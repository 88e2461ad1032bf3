// ISC dhcpd.conf: pure render and parse. The parser imports existing configs: what the model
// carries is read, everything else is reported in `warnings` with its line, never dropped silently.
import { generatedMarker } from '@invis/host';
import { ipv4ToNumber, netmaskToPrefix, numberToIpv4, parseIpv4Subnet, prefixToNetmask } from './address';
import { DhcpConfigError } from './errors';
import {
  type DdnsZone,
  type DhcpConfig,
  type DhcpConfigInput,
  type DhcpOptions,
  type DhcpTsigKey,
  normalizeParsed,
  type ReservationInput,
  type SubnetInput,
} from './model';
import { optionDef, optionEntries, setOption } from './options';

/** dhcpd settings outside the model. */
export interface DhcpdSettings {
  /** `ping-check`: dhcpd pings an address before offering it (1 s delay); unset = dhcpd default (on). */
  pingCheck?: boolean;
}

/** Result of {@link parseDhcpdConf}. */
export interface DhcpdParseResult {
  config: DhcpConfig;
  settings: DhcpdSettings;
  /** Statements the model does not carry, with their line numbers. */
  warnings: string[];
}

const quote = (s: string): string => `"${s.replace(/["\\]/g, '\\$&')}"`;

function renderOptions(options: DhcpOptions, indent: string): string[] {
  return optionEntries(options).map(({ def, values }) => {
    const rendered = def.kind === 'names' || def.kind === 'text' ? values.map(quote) : values;
    return `${indent}option ${def.name} ${rendered.join(', ')};`;
  });
}

/** `key` blocks (each once, before the zones naming them) and `zone` blocks. */
function renderZones(zones: readonly DdnsZone[]): string[] {
  const keys = new Map<string, DhcpTsigKey>();
  for (const z of zones) if (z.key) keys.set(z.key.name, z.key);
  const lines: string[] = [];
  for (const k of keys.values()) lines.push(`key ${k.name} { algorithm ${k.algorithm}; secret ${quote(k.secret)}; }`);
  for (const z of zones) lines.push(`zone ${z.name}. { primary ${z.primary};${z.key ? ` key ${z.key.name};` : ''} }`);
  return lines;
}

/**
 * Renders a model as ISC `dhcpd.conf`. Hosts are global declarations, as the original keeps
 * `iscDhcpHost` objects directly under the service; the comment becomes a `#` line in the host.
 * Interfaces are not part of dhcpd.conf: pass them on dhcpd's command line.
 * @param config resolved, conflict-free model
 * @param settings dhcpd-only settings
 * @returns file text
 * @example renderDhcpdConf(validateDhcpConfig(input), { pingCheck: false })
 */
export function renderDhcpdConf(config: DhcpConfig, settings: DhcpdSettings = {}): string {
  const lines = [generatedMarker('@invis/dhcp-config', 'hash')];
  lines.push(config.authoritative ? 'authoritative;' : 'not authoritative;');
  lines.push(`default-lease-time ${config.validLifetime};`, `max-lease-time ${config.maxLifetime};`);
  lines.push(`ddns-update-style ${config.ddns.enabled ? 'interim' : 'none'};`);
  if (config.ddns.qualifyingSuffix) lines.push(`ddns-domainname ${quote(config.ddns.qualifyingSuffix)};`);
  // dhcpd sends the updates itself, so the original's statements stay exactly as they are.
  if (config.ddns.ignoreClientUpdates) lines.push('ignore client-updates;');
  lines.push(...renderZones(config.ddns.zones));
  if (settings.pingCheck !== undefined) lines.push(`ping-check ${settings.pingCheck};`);
  lines.push(...renderOptions(config.options, ''));
  for (const s of config.subnets) {
    const range = parseIpv4Subnet(s.cidr);
    if (!range) throw new DhcpConfigError('DHCP_INVALID_CONFIG', `"${s.cidr}" is not an IPv4 network`);
    lines.push('', `subnet ${numberToIpv4(range.first)} netmask ${prefixToNetmask(range.prefix)} {`);
    for (const p of s.pools) lines.push(`  range ${p.start} ${p.end};`);
    if (s.validLifetime !== undefined) lines.push(`  default-lease-time ${s.validLifetime};`);
    if (s.maxLifetime !== undefined) lines.push(`  max-lease-time ${s.maxLifetime};`);
    lines.push(...renderOptions(s.options, '  '), '}');
  }
  // Thousands of hosts are the common large case. Appended to one string, V8 keeps them as a
  // rope and copies the text once when it is read; joining one string per host flattened each
  // host first and took twice as long.
  let hosts = '';
  for (const r of config.reservations) {
    hosts += `\nhost ${r.hostname} {\n`;
    if (r.comment !== undefined) hosts += `  # ${r.comment}\n`;
    hosts += `  hardware ethernet ${r.mac};\n  fixed-address ${r.ip};\n}\n`;
  }
  return `${lines.join('\n')}\n${hosts}`;
}

type Token =
  | { type: 'word' | 'string'; text: string; line: number }
  | { type: 'punct'; text: '{' | '}' | ';' | ','; line: number }
  | { type: 'comment'; text: string; line: number };

function parseError(message: string, line: number): DhcpConfigError {
  return new DhcpConfigError('DHCP_PARSE_ERROR', `dhcpd.conf line ${line}: ${message}`, { details: { line } });
}

/** dhcpd.conf lexer: words, quoted strings, `{ } ; ,` and `#` comments. */
function tokenizeDhcpd(text: string): Token[] {
  const tokens: Token[] = [];
  let line = 1;
  let i = 0;
  while (i < text.length) {
    const c = text[i] as string;
    if (c === '\n') {
      line++;
      i++;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      i++;
    } else if (c === '#') {
      const end = text.indexOf('\n', i);
      const stop = end < 0 ? text.length : end;
      tokens.push({ type: 'comment', text: text.slice(i + 1, stop).trim(), line });
      i = stop;
    } else if (c === '{' || c === '}' || c === ';' || c === ',') {
      tokens.push({ type: 'punct', text: c, line });
      i++;
    } else if (c === '"') {
      let value = '';
      let j = i + 1;
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\n') throw parseError('unterminated string', line);
        if (text[j] === '\\' && j + 1 < text.length) j++;
        value += text[j];
        j++;
      }
      if (j >= text.length) throw parseError('unterminated string', line);
      tokens.push({ type: 'string', text: value, line });
      i = j + 1;
    } else {
      let j = i;
      while (j < text.length && !/[\s{};,"#]/.test(text[j] as string)) j++;
      tokens.push({ type: 'word', text: text.slice(i, j), line });
      i = j;
    }
  }
  return tokens;
}

/** A statement: words up to `;`, or a head with a `{ … }` body and the comments directly in it. */
interface Statement {
  words: Token[];
  line: number;
  body?: Statement[];
  bodyComments?: string[];
}

function parseBlock(tokens: Token[], pos: { i: number }, nested: boolean): { list: Statement[]; comments: string[] } {
  const list: Statement[] = [];
  const comments: string[] = [];
  let words: Token[] = [];
  while (pos.i < tokens.length) {
    const t = tokens[pos.i++] as Token;
    if (t.type === 'comment') {
      comments.push(t.text);
    } else if (t.type === 'punct' && t.text === ';') {
      if (words.length) list.push({ words, line: (words[0] as Token).line });
      words = [];
    } else if (t.type === 'punct' && t.text === '{') {
      if (!words.length) throw parseError('block without a declaration', t.line);
      const inner = parseBlock(tokens, pos, true);
      list.push({ words, line: (words[0] as Token).line, body: inner.list, bodyComments: inner.comments });
      words = [];
    } else if (t.type === 'punct' && t.text === '}') {
      if (!nested) throw parseError('unexpected "}"', t.line);
      if (words.length) throw parseError('missing ";"', t.line);
      return { list, comments };
    } else {
      words.push(t);
    }
  }
  if (nested) throw parseError('missing "}"', tokens[tokens.length - 1]?.line ?? 1);
  if (words.length) throw parseError('missing ";"', (words[0] as Token).line);
  return { list, comments };
}

const text = (s: Statement): string[] => s.words.filter((w) => w.type !== 'punct').map((w) => w.text);

/** Values of `option name v1, v2;` split on commas. */
function optionValues(s: Statement): string[] {
  const values: string[] = [];
  let current = '';
  for (const w of s.words.slice(2)) {
    if (w.type === 'punct' && w.text === ',') {
      values.push(current);
      current = '';
    } else current += current ? ` ${w.text}` : w.text;
  }
  values.push(current);
  return values;
}

/** `name value;` statements of a `key`/`zone` block; other statements are warnings. */
function blockValues(s: Statement, names: readonly string[], c: Collect): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const inner of s.body ?? []) {
    const w = text(inner);
    if (w.length === 2 && names.includes(w[0] as string)) out[w[0] as string] = w[1];
    else c.warnings.push(`line ${inner.line}: ${text(s)[0]} ${text(s)[1]}: "${w.join(' ')}" not imported`);
  }
  return out;
}

interface Collect {
  warnings: string[];
  subnets: SubnetInput[];
  reservations: ReservationInput[];
}

function readOption(s: Statement, options: Record<string, unknown>, c: Collect): void {
  const name = s.words[1]?.text ?? '';
  const def = optionDef(name);
  if (!def || s.words[2]?.text === 'code') {
    c.warnings.push(`line ${s.line}: option ${name} not imported`);
    return;
  }
  setOption(options, def, optionValues(s));
}

function readHost(s: Statement, c: Collect): void {
  const name = s.words[1]?.text;
  let mac: string | undefined;
  let ip: string | undefined;
  for (const inner of s.body ?? []) {
    const w = text(inner);
    if (w[0] === 'hardware' && w[1] === 'ethernet') mac = w[2];
    else if (w[0] === 'fixed-address') {
      ip = w[1];
      if (w.length > 2) c.warnings.push(`line ${inner.line}: host ${name}: only the first fixed-address imported`);
    } else c.warnings.push(`line ${inner.line}: host ${name}: "${w.join(' ')}" not imported`);
  }
  if (!name || !mac || !ip || ipv4ToNumber(ip) === undefined) {
    c.warnings.push(
      `line ${s.line}: host ${name ?? ''} without hardware ethernet and a fixed IPv4 address not imported`,
    );
    return;
  }
  // A comment inside the host is its location/comment (what the renderer writes there).
  const comment = (s.bodyComments ?? []).join(' ').trim();
  c.reservations.push({ mac, ip, hostname: name, ...(comment ? { comment } : {}) });
}

function readRange(s: Statement, c: Collect): { start: string; end: string } | undefined {
  const w = text(s)
    .slice(1)
    .filter((x) => x !== 'dynamic-bootp');
  if (w.length === 1 || w.length === 2) return { start: w[0] as string, end: (w[1] ?? w[0]) as string };
  c.warnings.push(`line ${s.line}: malformed range not imported`);
  return undefined;
}

function readSubnet(s: Statement, c: Collect): void {
  const w = text(s);
  const prefix = w[2] === 'netmask' && w[3] ? netmaskToPrefix(w[3]) : undefined;
  if (prefix === undefined) throw parseError('subnet needs "subnet <network> netmask <mask>"', s.line);
  const subnet: SubnetInput & { options: Record<string, unknown>; pools: Array<{ start: string; end: string }> } = {
    cidr: `${w[1]}/${prefix}`,
    pools: [],
    options: {},
  };
  for (const inner of s.body ?? []) {
    const iw = text(inner);
    if (iw[0] === 'range') {
      const r = readRange(inner, c);
      if (r) subnet.pools.push(r);
    } else if (iw[0] === 'pool' && inner.body) {
      for (const p of inner.body) {
        if (text(p)[0] === 'range') {
          const r = readRange(p, c);
          if (r) subnet.pools.push(r);
        } else c.warnings.push(`line ${p.line}: pool statement "${text(p).join(' ')}" not imported`);
      }
    } else if (iw[0] === 'option') readOption(inner, subnet.options, c);
    else if (iw[0] === 'default-lease-time') subnet.validLifetime = Number(iw[1]);
    else if (iw[0] === 'max-lease-time') subnet.maxLifetime = Number(iw[1]);
    else if (iw[0] === 'host' && inner.body) readHost(inner, c);
    else c.warnings.push(`line ${inner.line}: subnet ${subnet.cidr}: "${iw.join(' ')}" not imported`);
  }
  c.subnets.push(subnet);
}

/**
 * Parses an ISC `dhcpd.conf` (to import an existing server). Reads global settings, options,
 * subnets (with `range` and `pool { range }`), hosts (global, in subnets, groups or shared
 * networks); lists everything else in `warnings`. dhcpd's defaults are filled in where the
 * file is silent (not authoritative, default-lease-time 43200, max-lease-time 86400).
 * @param source file contents
 * @returns model, settings, warnings
 * @throws DhcpConfigError `DHCP_PARSE_ERROR` with `data.line` for syntax errors and invalid values
 * @example parseDhcpdConf(readFileSync('/etc/dhcp/dhcpd.conf', 'utf8')).config.subnets
 */
export function parseDhcpdConf(source: string): DhcpdParseResult {
  const statements = parseBlock(tokenizeDhcpd(source), { i: 0 }, false).list;
  const c: Collect = { warnings: [], subnets: [], reservations: [] };
  const options: Record<string, unknown> = {};
  const settings: DhcpdSettings = {};
  const ddns: { enabled: boolean; qualifyingSuffix?: string; ignoreClientUpdates: boolean } = {
    enabled: false,
    ignoreClientUpdates: false,
  };
  const input: DhcpConfigInput = { authoritative: false, validLifetime: 43_200, maxLifetime: 86_400 };
  const keys = new Map<string, Record<string, string | undefined>>();
  const zones: Array<{ name: string; primary?: string; keyName?: string; line: number }> = [];
  const visit = (list: Statement[], global: boolean): void => {
    for (const s of list) {
      const w = text(s);
      const head = w[0];
      if (s.body) {
        if (head === 'subnet') readSubnet(s, c);
        else if (head === 'host') readHost(s, c);
        else if (global && head === 'key' && w[1]) keys.set(w[1], blockValues(s, ['algorithm', 'secret'], c));
        else if (global && head === 'zone' && w[1]) {
          const v = blockValues(s, ['primary', 'key'], c);
          zones.push({ name: w[1].replace(/\.$/, ''), primary: v.primary, keyName: v.key, line: s.line });
        } else if (head === 'group' || head === 'shared-network') {
          c.warnings.push(`line ${s.line}: ${head} flattened; its own settings are not imported`);
          visit(s.body, false);
        } else c.warnings.push(`line ${s.line}: block "${w.join(' ')}" not imported`);
        continue;
      }
      if (!global) continue;
      if (head === 'authoritative') input.authoritative = true;
      else if (head === 'not' && w[1] === 'authoritative') input.authoritative = false;
      else if (head === 'default-lease-time') input.validLifetime = Number(w[1]);
      else if (head === 'max-lease-time') input.maxLifetime = Number(w[1]);
      else if (head === 'ddns-update-style') ddns.enabled = w[1] !== 'none';
      else if (head === 'ddns-domainname' && w[1]) ddns.qualifyingSuffix = w[1].replace(/\.$/, '');
      else if (head === 'ignore' && w[1] === 'client-updates' && w.length === 2) ddns.ignoreClientUpdates = true;
      else if (head === 'ping-check') settings.pingCheck = w[1] === 'true' || w[1] === 'on';
      else if (head === 'option') readOption(s, options, c);
      else c.warnings.push(`line ${s.line}: "${w.join(' ')}" not imported`);
    }
  };
  visit(statements, true);
  const ddnsZones = zones.flatMap((z) => {
    const key = z.keyName === undefined ? undefined : keys.get(z.keyName);
    if (!z.primary || (z.keyName !== undefined && !key)) {
      c.warnings.push(`line ${z.line}: zone ${z.name} without a primary or with an undeclared key not imported`);
      return [];
    }
    // Old configs spell the algorithm as its legacy name (hmac-md5.SIG-ALG.REG.INT).
    const algorithm = key?.algorithm?.toLowerCase().replace(/\.sig-alg\.reg\.int\.?$/, '');
    return [{ name: z.name, primary: z.primary, ...(key ? { key: { name: z.keyName, ...key, algorithm } } : {}) }];
  });
  const config = normalizeParsed(
    {
      ...input,
      ddns: { ...ddns, zones: ddnsZones as DdnsZone[] },
      options: options as DhcpOptions,
      subnets: c.subnets,
      reservations: c.reservations,
    },
    'dhcpd.conf',
  );
  return { config, settings, warnings: c.warnings };
}

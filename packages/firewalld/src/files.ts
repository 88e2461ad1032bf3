// The whole configuration ↔ the files of a firewalld config directory (pure: maps of relative
// path → content). firewalld.conf is patched line by line so settings we do not model survive.
import { join } from 'node:path';
import { type FileChange, fileChange } from '@invis/host';
import { FirewalldError, invalidModel } from './errors';
import { type FirewallConfig, type FirewallConfigInput, FirewallConfigSchema, LOG_DENIED } from './model';
import { parsePolicyXml, parseServiceXml, parseZoneXml, renderPolicyXml, renderServiceXml, renderZoneXml } from './xml';

/** Zones firewalld 1.3 ships in /usr/lib/firewalld/zones; valid as default zone or policy zone. */
export const BUILTIN_ZONES: readonly string[] = [
  'block',
  'dmz',
  'drop',
  'external',
  'home',
  'internal',
  'nm-shared',
  'public',
  'trusted',
  'work',
];

/** Relative path → file content, e.g. `zones/external.xml`. */
export type ConfigFiles = ReadonlyMap<string, string>;

/** The sub-directories apply() owns: every `*.xml` in them is the model's. */
export const MANAGED_DIRS = ['zones', 'services', 'policies'] as const;

/**
 * Validates and resolves a configuration: zod defaults, unique names, one zone per interface and
 * source, policies and the default zone referring to zones of the model, firewalld's builtin zones or `ANY`/`HOST`.
 * @param input configuration as written by callers
 * @returns the resolved configuration
 * @throws FirewalldError `FW_INVALID_MODEL` (with `issues`), `FW_UNKNOWN_REFERENCE`
 */
export function normalizeConfig(input: FirewallConfigInput): FirewallConfig {
  const result = FirewallConfigSchema.safeParse(input);
  if (!result.success) throw invalidModel('firewall model', result.error.issues, result.error);
  const config = result.data;
  const issues: string[] = [];
  const unique = (kind: string, names: string[]): void => {
    const seen = new Set<string>();
    for (const n of names) {
      if (seen.has(n)) issues.push(`${kind} '${n}' is defined twice`);
      seen.add(n);
    }
  };
  const named: [string, string[]][] = [
    ['zone', config.zones.map((z) => z.name)],
    ['service', config.services.map((v) => v.name)],
    ['policy', config.policies.map((p) => p.name)],
    // firewalld binds an interface to one zone only
    ['interface', config.zones.flatMap((z) => z.interfaces)],
  ];
  for (const [kind, names] of named) unique(kind, names);
  if (issues.length) throw invalidModel('firewall model', issues);
  const zones = new Set([...config.zones.map((z) => z.name), ...BUILTIN_ZONES, 'ANY', 'HOST']);
  const missing = [
    ...(zones.has(config.defaultZone) ? [] : [`default zone '${config.defaultZone}'`]),
    ...config.policies.flatMap((p) =>
      [...p.ingressZones, ...p.egressZones].filter((z) => !zones.has(z)).map((z) => `policy '${p.name}' zone '${z}'`),
    ),
  ];
  if (missing.length) {
    throw new FirewalldError('FW_UNKNOWN_REFERENCE', `unknown zones: ${missing.join('; ')}`, {
      details: { issues: missing },
    });
  }
  return config;
}

/** The two firewalld.conf settings the model owns. */
export interface GlobalSettings {
  defaultZone: string;
  logDenied: FirewallConfig['logDenied'];
}

/**
 * Reads `DefaultZone` and `LogDenied` from firewalld.conf text (firewalld's defaults when absent).
 * @param text firewalld.conf content
 * @returns the settings
 */
export function parseFirewalldConf(text: string): GlobalSettings {
  const get = (key: string): string | undefined => new RegExp(`^\\s*${key}\\s*=\\s*(\\S*)\\s*$`, 'm').exec(text)?.[1];
  const logDenied = get('LogDenied') ?? 'off';
  return {
    defaultZone: get('DefaultZone') || 'public',
    logDenied: (LOG_DENIED as readonly string[]).includes(logDenied)
      ? (logDenied as GlobalSettings['logDenied'])
      : 'off',
  };
}

/**
 * Sets `DefaultZone` and `LogDenied` in firewalld.conf text, keeping every other line.
 * @param text current firewalld.conf content
 * @param settings the values to set
 * @returns the new content (appends missing keys)
 */
export function patchFirewalldConf(text: string, settings: GlobalSettings): string {
  let out = text;
  for (const [key, value] of [
    ['DefaultZone', settings.defaultZone],
    ['LogDenied', settings.logDenied],
  ] as const) {
    const re = new RegExp(`^\\s*${key}\\s*=.*$`, 'm');
    out = re.test(out)
      ? out.replace(re, `${key}=${value}`)
      : `${out}${out.endsWith('\n') || !out ? '' : '\n'}${key}=${value}\n`;
  }
  return out;
}

/**
 * Renders every managed file of a configuration.
 * @param config resolved configuration
 * @param firewalldConf current firewalld.conf content (patched, not replaced)
 * @returns relative path → content, including `firewalld.conf`
 */
export function renderConfigFiles(config: FirewallConfig, firewalldConf: string): Map<string, string> {
  const files = new Map<string, string>();
  for (const z of config.zones) files.set(`zones/${z.name}.xml`, renderZoneXml(z));
  for (const s of config.services) files.set(`services/${s.name}.xml`, renderServiceXml(s));
  for (const p of config.policies) files.set(`policies/${p.name}.xml`, renderPolicyXml(p));
  files.set('firewalld.conf', patchFirewalldConf(firewalldConf, config));
  return files;
}

/**
 * Parses the files of a firewalld config directory (e.g. a running server's `/etc/firewalld`)
 * into the model: the import step before a diff.
 * @param files relative path → content; `*.old` backups and other directories are ignored
 * @returns the resolved configuration
 * @throws FirewalldError from the XML parsers
 */
export function parseConfigFiles(files: ConfigFiles): FirewallConfig {
  const zones = [];
  const services = [];
  const policies = [];
  for (const [path, text] of [...files].sort(([a], [b]) => a.localeCompare(b))) {
    const m = /^(zones|services|policies)\/([^/]+)\.xml$/.exec(path);
    if (!m) continue;
    const name = m[2] as string;
    if (m[1] === 'zones') zones.push(parseZoneXml(name, text));
    else if (m[1] === 'services') services.push(parseServiceXml(name, text));
    else policies.push(parsePolicyXml(name, text));
  }
  const settings = parseFirewalldConf(files.get('firewalld.conf') ?? '');
  return { ...settings, zones, services, policies };
}

/**
 * Compares two file sets (e.g. the files on disk and the rendered model).
 * @param before current files
 * @param after desired files
 * @param configDir the directory both sets are relative to; the changes name absolute paths
 * @returns one change (unified diff) per file that differs, sorted by path; empty when nothing changes
 * @example diffFiles(await readFiles(), renderConfigFiles(config, conf), '/etc/firewalld')
 */
export function diffFiles(before: ConfigFiles, after: ConfigFiles, configDir: string): FileChange[] {
  return [...new Set([...before.keys(), ...after.keys()])]
    .sort()
    .filter((path) => before.get(path) !== after.get(path))
    .map((path) => fileChange(join(configDir, path), before.get(path), after.get(path)));
}

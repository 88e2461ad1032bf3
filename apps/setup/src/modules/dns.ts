// `dns`: BIND 9 with Samba's DLZ module, as the original: the AD zones come straight from the
// directory, BIND adds caching, forwarders, recursion only for the LAN and the VPN, and a TSIG key
// for dynamic updates. named.conf is rendered whole and checked with named-checkconf; the MX, the
// mail host, the reverse zone and the server's PTR are written into AD over LDAPS.
import type { AdClient } from '@invis/ad-client';
import {
  createAdBackend,
  type DnsRecordInput,
  parseTsigKeyFile,
  ptrName,
  renderTsigKeyFile,
  reverseZonesForCidr,
} from '@invis/dns-zone';
import {
  type ApplyReport,
  applyReport,
  fileChange,
  generatedMarker,
  lastOutputLine,
  type PlannedCommand,
} from '@invis/host';
import { SetupError } from '../errors';
import type { ModuleContext, ModulePlan, SetupModule, VerifyCheck } from '../module';
import { networkOf, parseCidr } from '../net';
import { connectAsAdministrator } from './samba-ad';

/** The name of the DDNS TSIG key in BIND. */
export const DDNS_KEY_NAME = 'invis-ddns';
/** The setup secret that holds the key's base64 secret. */
export const DDNS_KEY_SECRET = 'dns-ddns-key';

const lan = (ctx: Pick<ModuleContext, 'answers'>) => {
  const cidr = parseCidr(ctx.answers.lan.address);
  if (!cidr) throw new SetupError('SETUP_INVALID_ANSWERS', 'lan.address is not an address with prefix');
  return { address: cidr.address, network: networkOf(cidr).cidr };
};

/**
 * named.conf for the answers (paths through `hostPath`, so a staged file names staged files).
 * @param ctx answers, profile, the file system's `hostPath`
 * @returns the file content
 */
export function renderNamedConf(ctx: Pick<ModuleContext, 'answers' | 'profile' | 'fs'>): string {
  const { answers, profile } = ctx;
  const host = (path: string) => ctx.fs.hostPath(path);
  const { address, network } = lan(ctx);
  const clients = ['localhost', network, ...(answers.vpn ? [answers.vpn.network] : [])];
  const forwarders = answers.dns.forwarders;
  const b = profile.bind;
  return [
    generatedMarker('@invis/setup-1', 'slash'),
    `include "${host(b.ddnsKey)}";`,
    '',
    '// Recursion and queries only for the server itself, the LAN and the VPN.',
    `acl "invis-clients" { ${clients.map((c) => `${c};`).join(' ')} };`,
    '',
    'options {',
    `\tdirectory "${host(b.cacheDir)}";`,
    `\tpid-file "${host(b.runDir)}/named.pid";`,
    `\tsession-keyfile "${host(b.runDir)}/session.key";`,
    `\tlisten-on { 127.0.0.1; ${address}; };`,
    '\tlisten-on-v6 { none; };',
    '\trecursion yes;',
    '\tallow-query { invis-clients; };',
    '\tallow-recursion { invis-clients; };',
    '\tallow-transfer { none; };',
    ...(forwarders.length > 0
      ? [`\tforwarders { ${forwarders.map((f) => `${f};`).join(' ')} };`, '\tforward first;']
      : []),
    '\tdnssec-validation auto;',
    '\tnotify no;',
    // The AD reverse zones of private networks must not be shadowed by BIND's built-in empty zones.
    '\tempty-zones-enable no;',
    // Domain members update their own records with GSS-TSIG (Kerberos), checked by the DLZ module.
    `\ttkey-gssapi-keytab "${host(profile.samba.dirs.bindDns)}/dns.keytab";`,
    '\tminimal-responses yes;',
    '};',
    '',
    '// The AD-integrated zones, read from the directory by Samba.',
    'dlz "AD DNS Zone" {',
    `\tdatabase "dlopen ${b.dlzModule} --url=${host(profile.samba.dirs.bindDns)}/dns/sam.ldb";`,
    '};',
    '',
  ].join('\n');
}

/**
 * The key file of the DDNS TSIG key (hmac-sha256) from its setup secret.
 * @param secret the setup secret (base64url of 24 random bytes, as generated)
 * @returns the BIND key file content
 */
export function renderDdnsKey(secret: string): string {
  return renderTsigKeyFile({
    name: DDNS_KEY_NAME,
    algorithm: 'hmac-sha256',
    secret: Buffer.from(secret, 'base64url').toString('base64'),
  });
}

/** The records setup keeps in AD: MX, the mail host, the server's A and PTR. */
export function wantedRecords(ctx: Pick<ModuleContext, 'answers'>): { zone: string; record: DnsRecordInput }[] {
  const { domain, hostname } = ctx.answers;
  const { address } = lan(ctx);
  const fqdn = `${hostname}.${domain}`;
  return [
    { zone: domain, record: { name: domain, type: 'MX', preference: 10, exchange: `mail.${domain}` } },
    { zone: domain, record: { name: `mail.${domain}`, type: 'A', address } },
    { zone: domain, record: { name: fqdn, type: 'A', address } },
    { zone: reverseZoneOf(ctx), record: { name: ptrName(address), type: 'PTR', target: fqdn } },
  ];
}

/** The reverse zone of the LAN that holds the server's PTR (a /20 LAN has 16 /24 zones). */
function reverseZoneOf(ctx: Pick<ModuleContext, 'answers'>): string {
  const { address, network } = lan(ctx);
  const ptr = ptrName(address);
  const zone = reverseZonesForCidr(network).find((z) => ptr.endsWith(`.${z}`));
  if (!zone) throw new SetupError('SETUP_INVALID_ANSWERS', `no reverse zone of ${network} holds ${ptr}`);
  return zone;
}

const describeRecord = (r: DnsRecordInput): string =>
  r.type === 'MX'
    ? `MX ${r.name} ${r.preference} ${r.exchange}`
    : r.type === 'A'
      ? `A ${r.name} ${r.address}`
      : r.type === 'PTR'
        ? `PTR ${r.name} ${r.target}`
        : `${r.type} ${r.name}`;

interface Missing {
  zones: string[];
  records: { zone: string; record: DnsRecordInput }[];
}

async function missingRecords(ctx: ModuleContext, ad: AdClient): Promise<Missing> {
  const dns = createAdBackend({ client: ad });
  const zones = await dns.listZones();
  const missingZones: string[] = [];
  const records: Missing['records'] = [];
  for (const wanted of wantedRecords(ctx)) {
    if (!zones.includes(wanted.zone)) {
      if (!missingZones.includes(wanted.zone)) missingZones.push(wanted.zone);
      records.push(wanted);
      continue;
    }
    const present = await dns.getRecords(wanted.zone, wanted.record.name, wanted.record.type);
    if (!present.some((p) => describeRecord(p) === describeRecord(wanted.record))) records.push(wanted);
  }
  return { zones: missingZones, records };
}

async function files(ctx: ModuleContext, secret: string | undefined) {
  const b = ctx.profile.bind;
  return {
    key: { path: b.ddnsKey, content: secret === undefined ? undefined : renderDdnsKey(secret) },
    conf: { path: b.config, content: renderNamedConf(ctx) },
  };
}

async function planOf(ctx: ModuleContext): Promise<ModulePlan> {
  const plan: ModulePlan = { files: [], services: [], commands: [], directories: [] };
  const b = ctx.profile.bind;
  for (const dir of directoriesOf(ctx)) if (!(await ctx.fs.exists(dir))) plan.directories.push(dir);
  const secret = await ctx.secrets.get(DDNS_KEY_SECRET);
  const f = await files(ctx, secret);
  const currentKey = await ctx.fs.readFileIfExists(b.ddnsKey);
  plan.files.push(
    f.key.content === undefined
      ? { path: b.ddnsKey, action: currentKey === undefined ? 'create' : 'update', diff: '', secret: true }
      : fileChange(b.ddnsKey, currentKey, f.key.content, { secret: true }),
  );
  plan.files.push(fileChange(b.config, await ctx.fs.readFileIfExists(b.config), f.conf.content));
  if (ctx.staging) return plan;
  const changed = plan.files.some((x) => x.action !== 'unchanged');
  if (!(await ctx.services.isActive(b.unit))) plan.services.push({ unit: b.unit, action: 'start' });
  else if (changed) plan.services.push({ unit: b.unit, action: 'reload-or-restart' });
  const ad = await connectAsAdministrator(ctx);
  try {
    const missing = await missingRecords(ctx, ad);
    plan.commands.push(...recordCommands(missing));
  } finally {
    await ad.close();
  }
  return plan;
}

function recordCommands(missing: Missing): PlannedCommand[] {
  return [
    ...missing.zones.map((z) => ({ command: 'ldaps', args: [`create zone ${z}`], reason: 'missing in AD' })),
    ...missing.records.map((r) => ({
      command: 'ldaps',
      args: [`add ${describeRecord(r.record)}`],
      reason: 'missing in AD',
    })),
  ];
}

function directoriesOf(ctx: ModuleContext): string[] {
  const b = ctx.profile.bind;
  return [b.config.slice(0, b.config.lastIndexOf('/')), b.cacheDir, b.runDir];
}

/** The group id BIND runs as, from `getent` (undefined when there is no such group). */
async function groupId(ctx: ModuleContext): Promise<number | undefined> {
  const result = await ctx.runner.run('getent', ['group', ctx.profile.bind.group]);
  const gid = Number(result.stdout.split(':')[2]);
  return result.exitCode === 0 && Number.isInteger(gid) ? gid : undefined;
}

/**
 * named-checkconf on a config file.
 * @param ctx runner and profile
 * @param file the file (a real path)
 * @returns the verdict with the checker's own words
 */
export async function checkNamedConf(
  ctx: Pick<ModuleContext, 'runner' | 'profile'>,
  file: string,
): Promise<{ ok: boolean; message?: string }> {
  const result = await ctx.runner.run(ctx.profile.bind.checkconf, [file], { timeoutMs: 30_000 });
  return result.exitCode === 0 ? { ok: true } : { ok: false, message: lastOutputLine(result) };
}

async function apply(ctx: ModuleContext): Promise<ApplyReport> {
  const started = Date.now();
  const plan = await planOf(ctx);
  const changed = plan.files.some((f) => f.action !== 'unchanged');
  if (!changed && plan.directories.length === 0 && plan.commands.length === 0 && plan.services.length === 0) {
    return applyReport(plan);
  }
  const b = ctx.profile.bind;
  for (const dir of directoriesOf(ctx)) await ctx.fs.mkdir(dir, 0o755);
  // The key first: named.conf includes it, and named-checkconf reads the include.
  const secret = (await ctx.secrets.ensure(DDNS_KEY_SECRET)).value;
  const f = await files(ctx, secret);
  const gid = ctx.staging ? undefined : await groupId(ctx);
  const previousKey = await ctx.fs.readFileIfExists(b.ddnsKey);
  if (previousKey !== f.key.content) {
    await ctx.fs.writeFileAtomic(b.ddnsKey, f.key.content as string, {
      mode: 0o640,
      ...(gid === undefined ? {} : { gid }),
    });
  }
  const previousConf = await ctx.fs.readFileIfExists(b.config);
  if (previousConf !== f.conf.content) {
    const dir = b.config.slice(0, b.config.lastIndexOf('/'));
    const temp = await ctx.fs.mkdtemp(`${dir}/.invis-check-`);
    try {
      const candidate = `${temp}/named.conf`;
      await ctx.fs.writeFileAtomic(candidate, f.conf.content, { mode: 0o644 });
      const verdict = await checkNamedConf(ctx, ctx.fs.hostPath(candidate));
      if (!verdict.ok) {
        throw new SetupError('SETUP_CHECK_FAILED', `${b.config}: ${verdict.message ?? 'refused by named-checkconf'}`, {
          details: { module: 'dns', path: b.config },
        });
      }
    } finally {
      await ctx.fs.remove(temp);
    }
    await ctx.fs.writeFileAtomic(b.config, f.conf.content, { mode: 0o644 });
  }
  if (!ctx.staging) {
    const ad = await connectAsAdministrator(ctx);
    try {
      const dns = createAdBackend({ client: ad });
      const missing = await missingRecords(ctx, ad);
      if (missing.zones.length > 0) await dns.createReverseZone(lan(ctx).network);
      for (const { zone, record } of missing.records) {
        ctx.progress(`dns: ${describeRecord(record)}`);
        // The whole record set of that name and type is setup's (one MX, one address).
        await dns.replaceRecords(zone, record.name, record.type, [record]);
      }
    } finally {
      await ad.close();
    }
    for (const service of plan.services) {
      if (service.action === 'start') await ctx.services.start(service.unit);
      else await ctx.services.reloadOrRestart(service.unit);
    }
  }
  return applyReport(plan, { timings: { total: Date.now() - started } });
}

async function verify(ctx: ModuleContext): Promise<VerifyCheck[]> {
  const checks: VerifyCheck[] = [];
  const b = ctx.profile.bind;
  const conf = await ctx.fs.readFileIfExists(b.config);
  checks.push(
    conf === renderNamedConf(ctx)
      ? { name: b.config, ok: true }
      : { name: b.config, ok: false, problem: conf === undefined ? 'missing' : 'differs from what setup renders' },
  );
  const secret = await ctx.secrets.get(DDNS_KEY_SECRET);
  const keyText = await ctx.fs.readFileIfExists(b.ddnsKey);
  let keyOk = false;
  try {
    const key = keyText === undefined ? undefined : parseTsigKeyFile(keyText);
    keyOk = secret !== undefined && key?.secret === Buffer.from(secret, 'base64url').toString('base64');
  } catch {
    // An unreadable key file is reported below.
  }
  checks.push(
    keyOk
      ? { name: 'ddns key', ok: true }
      : { name: 'ddns key', ok: false, problem: `${b.ddnsKey} is missing or does not hold the setup secret` },
  );
  if (ctx.staging) return checks;
  const active = await ctx.services.isActive(b.unit);
  checks.push(
    active
      ? { name: `service ${b.unit}`, ok: true }
      : { name: `service ${b.unit}`, ok: false, problem: `${b.unit} is not running` },
  );
  const ad = await connectAsAdministrator(ctx);
  try {
    const missing = await missingRecords(ctx, ad);
    const names = [...missing.zones, ...missing.records.map((r) => describeRecord(r.record))];
    checks.push(
      names.length === 0
        ? { name: 'records', ok: true }
        : { name: 'records', ok: false, problem: `missing: ${names.join(', ')}` },
    );
  } finally {
    await ad.close();
  }
  return checks;
}

/** The `dns` module. */
export const dnsModule: SetupModule = {
  id: 'dns',
  title: { de: 'DNS-Server (BIND mit Samba-DLZ)', en: 'DNS server (BIND with Samba DLZ)' },
  dependsOn: ['samba_ad'],
  plan: planOf,
  apply,
  verify,
};

// `samba_ad`: the Active Directory domain. smb.conf is rendered whole (RFC2307, the RPC port range
// outside the firewall's random ports, LDAPS with the `ca` certificate, every folder named so a
// staging root can hold a DC) and checked with testparm; a domain that is not there is provisioned
// into those folders; then, on the running DC, the real Administrator password, the invis schema
// and `CN=invis-Server` tree, the invis groups and the read-only bind account.
import {
  type AdClient,
  createAdClient,
  DHCP_SERVER,
  DHCP_SERVICE,
  DHCP_SUBNET,
  f,
  isAdError,
  UAC,
} from '@invis/ad-client';
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
import { parseCidr } from '../net';
import { generateSecret } from '../secrets';
import { certificatePaths } from './ca';
import { dhcpModel } from './dhcp';

/** Groups every invis server has (the original's setup made them; ad-client protects them). */
export const INVIS_GROUPS: readonly { name: string; description: string }[] = [
  { name: 'mobilusers', description: 'Benutzer mit VPN-Zugang' },
  { name: 'verwaltung', description: 'Verwaltung' },
  { name: 'archiv', description: 'Zugriff auf das Archiv' },
  { name: 'diradmins', description: 'Verwalter der Gruppenverzeichnisse' },
];

/**
 * Service accounts setup creates, each with its password in a setup secret. `administrators`:
 * a member of the built-in Administrators, as the original's `ldap.admin` — the portal's account,
 * which creates and changes users, groups, computers, DNS records and the invis tree for the admins
 * it has authorized itself; its password is a credential of the portal's unit only. The read-only
 * account stays the one whose password the mail daemons' files carry.
 */
export const SERVICE_ACCOUNTS: readonly {
  name: string;
  secret: string;
  description: string;
  administrators?: true;
}[] = [
  {
    name: 'invis-portal',
    secret: 'ad-invis-portal',
    description: 'invis: read-only bind for Postfix, Dovecot, the DHCP sync and WebDAV',
  },
  {
    name: 'invis-portal-admin',
    secret: 'ad-invis-portal-admin',
    description: 'invis: the portal (directory changes the portal has authorized)',
    administrators: true,
  },
];

/** Samba's NetBIOS names: host, workgroup and realm from the answers. */
export function sambaNames(answers: ModuleContext['answers']): { netbios: string; workgroup: string; realm: string } {
  const netbios = answers.hostname.toUpperCase();
  const workgroup = (answers.domain.split('.')[0] ?? '').toUpperCase();
  if (workgroup.length > 15 || workgroup === netbios) {
    throw new SetupError(
      'SETUP_INVALID_ANSWERS',
      workgroup === netbios
        ? `the domain's first label (${workgroup}) is the NetBIOS domain name and must differ from the host name`
        : `the domain's first label (${workgroup}) is the NetBIOS domain name: at most 15 characters`,
      { details: { field: 'domain' } },
    );
  }
  return { netbios, workgroup, realm: answers.domain.toUpperCase() };
}

/**
 * smb.conf for the answers. Every folder comes from the profile through `hostPath`, so under
 * `--root` the file names folders below the root and a staged DC runs from there.
 * @param ctx answers, profile and the file system's `hostPath`
 * @param options `schemaUpdates`: allow schema changes (only while setup installs the invis schema)
 * @returns the file content
 */
export function renderSmbConf(
  ctx: Pick<ModuleContext, 'answers' | 'profile' | 'fs'>,
  options: { schemaUpdates?: boolean } = {},
): string {
  const { answers, profile } = ctx;
  const host = (path: string) => ctx.fs.hostPath(path);
  const { netbios, workgroup, realm } = sambaNames(answers);
  const d = profile.samba.dirs;
  const tls = certificatePaths(ctx);
  const sysvol = `${host(d.state)}/sysvol`;
  return [
    generatedMarker('@invis/setup-1', 'hash'),
    '[global]',
    `\tnetbios name = ${netbios}`,
    `\tworkgroup = ${workgroup}`,
    `\trealm = ${realm}`,
    '\tserver role = active directory domain controller',
    // The default list without the internal DNS server: BIND with Samba's DLZ module serves DNS.
    '\tserver services = s3fs, rpc, nbt, wrepl, ldap, cldap, kdc, drepl, winbindd, ntp_signd, kcc, dnsupdate',
    `\tinterfaces = lo ${answers.interfaces.intern}`,
    '\tbind interfaces only = yes',
    '\tidmap_ldb:use rfc2307 = yes',
    // Unqualified names for the system (libnss-winbind): `[homes]` finds `anna`, files show `anna`.
    '\twinbind use default domain = yes',
    // Above Linux's ephemeral ports and outside the firewall module's random ports (50001–65535
    // minus this range), so a client socket or an opened port never blocks the DC.
    '\trpc server dynamic port range = 61000-61999',
    '\ttls enabled = yes',
    `\ttls keyfile = ${host(tls.certs.ldap.key)}`,
    `\ttls certfile = ${host(tls.certs.ldap.cert)}`,
    `\ttls cafile = ${host(tls.caCert)}`,
    '\ttls priority = NORMAL:-VERS-SSL3.0:-VERS-TLS1.0:-VERS-TLS1.1',
    `\tprivate dir = ${host(d.private)}`,
    `\tlock directory = ${host(d.lock)}`,
    `\tstate directory = ${host(d.state)}`,
    `\tcache directory = ${host(d.cache)}`,
    `\tbinddns dir = ${host(d.bindDns)}`,
    `\tpid directory = ${host(d.pid)}`,
    `\tncalrpc dir = ${host(d.ncalrpc)}`,
    `\twinbindd socket directory = ${host(d.winbindd)}`,
    `\tntp signd socket directory = ${host(profile.samba.ntpSigndSocket)}`,
    `\tlog file = ${host(d.log)}/log.%m`,
    ...(options.schemaUpdates ? ['\tdsdb:schema update allowed = true'] : []),
    // The file server's shares and the print server's sections, each in the file its module owns
    // (empty until that module runs; see writeConf).
    `\tinclude = ${host(profile.shares.sharesConfig)}`,
    `\tinclude = ${host(profile.print.sambaConfig)}`,
    '',
    '[sysvol]',
    `\tpath = ${sysvol}`,
    '\tread only = no',
    '',
    '[netlogon]',
    `\tpath = ${sysvol}/${answers.domain}/scripts`,
    '\tread only = no',
    '',
  ].join('\n');
}

function directoriesOf(ctx: ModuleContext): { path: string; mode: number }[] {
  const d = ctx.profile.samba.dirs;
  const config = ctx.profile.samba.config;
  return [
    { path: config.slice(0, config.lastIndexOf('/')), mode: 0o755 },
    { path: d.state, mode: 0o755 },
    { path: d.lock, mode: 0o755 },
    { path: d.private, mode: 0o700 },
    { path: d.cache, mode: 0o755 },
    { path: d.bindDns, mode: 0o770 },
    { path: d.pid, mode: 0o755 },
    { path: d.ncalrpc, mode: 0o755 },
    { path: d.winbindd, mode: 0o755 },
    { path: d.log, mode: 0o755 },
    // Samba refuses to start the signing service when this folder is not 0750.
    { path: ctx.profile.samba.ntpSigndSocket, mode: 0o750 },
  ];
}

const provisioned = (ctx: ModuleContext) => ctx.fs.exists(`${ctx.profile.samba.dirs.private}/sam.ldb`);

function provisionArgs(ctx: ModuleContext, adminPass: string): string[] {
  const { workgroup, realm } = sambaNames(ctx.answers);
  const address = parseCidr(ctx.answers.lan.address)?.address ?? '';
  return [
    'domain',
    'provision',
    `--configfile=${ctx.fs.hostPath(ctx.profile.samba.config)}`,
    '--use-rfc2307',
    '--server-role=dc',
    '--dns-backend=BIND9_DLZ',
    `--realm=${realm}`,
    `--domain=${workgroup}`,
    `--host-name=${ctx.answers.hostname}`,
    `--host-ip=${address}`,
    `--adminpass=${adminPass}`,
  ];
}

/** What the directory lacks (read on the running DC). */
interface DirectoryGaps {
  schema: boolean;
  groups: string[];
  accounts: string[];
  /** `CN=DHCP Config` (the iscDhcpService that the dhcp module and the portal's reservations live under) is missing. */
  dhcpService: boolean;
  /**
   * `invis-portal` cannot read the invis tree's attributes: the invis schema classes carry no
   * default security descriptor, so their objects lack the "Authenticated Users may read" a
   * built-in class (container, user) gives — and the reservations would stay invisible to the
   * bind account the dhcp sync and the portal read with.
   */
  treeUnreadable: boolean;
}

/** Inherited by every object below `CN=invis-Server`: Authenticated Users read (the built-in classes' default). */
const TREE_READ_ACE = '(A;CI;RPLCLORC;;;AU)';

function ldapsUrl(ctx: ModuleContext): string {
  return `ldaps://${parseCidr(ctx.answers.lan.address)?.address ?? ''}:636`;
}

/**
 * A client of the server's DC over LDAPS (LAN address, CA of `ca`), bound as Administrator with
 * the `ad-administrator` secret; for the modules that write into the directory after `samba_ad`.
 * @param ctx the module context
 * @returns the client (close it)
 * @throws SetupError `SETUP_SECRET_MISSING` before init
 */
export async function connectAsAdministrator(ctx: ModuleContext): Promise<AdClient> {
  const password = await ctx.secrets.get('ad-administrator');
  if (password === undefined) throw missingSecret('ad-administrator');
  await waitForDc(ctx, adminUpn(ctx), password);
  return connect(ctx, adminUpn(ctx), password);
}

async function connect(ctx: ModuleContext, upn: string, password: string): Promise<AdClient> {
  const ca = await ctx.fs.readFile(certificatePaths(ctx).caCert);
  return createAdClient({ url: ldapsUrl(ctx), upn, password, ca, connectTimeoutMs: 3000 });
}

const adminUpn = (ctx: ModuleContext) => `administrator@${ctx.answers.domain}`;

/** Waits until the DC answers over LDAPS (after a start it takes a few seconds). */
async function waitForDc(ctx: ModuleContext, upn: string, password: string): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const ad = await connect(ctx, upn, password);
    try {
      await ad.rootDse();
      return;
    } catch (error) {
      if (!isAdError(error, 'AD_CONNECTION', 'AD_TIMEOUT') || Date.now() > deadline) throw error;
    } finally {
      await ad.close();
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function gaps(ctx: ModuleContext, ad: AdClient): Promise<DirectoryGaps> {
  const layout = await ad.invis.layout();
  const groups: string[] = [];
  for (const group of [...INVIS_GROUPS.map((g) => g.name), 'maildummies']) {
    if (!(await ad.groups.get(group))) groups.push(group);
  }
  const accounts: string[] = [];
  for (const account of SERVICE_ACCOUNTS) {
    const password = await ctx.secrets.get(account.secret);
    const user = await ad.users.get(account.name);
    const upn = `${account.name}@${ctx.answers.domain}`;
    if (
      !user ||
      password === undefined ||
      !(await binds(ad, upn, password)) ||
      (account.administrators && !(await isAdministrator(ad, account.name)))
    ) {
      accounts.push(account.name);
    }
  }
  const schema = !(await ad.exists(layout.root));
  const dhcpService = !(await ad.exists(layout.dhcpConfig)) || !(await ad.exists(lanSubnet(ctx, layout).dn));
  const portal = SERVICE_ACCOUNTS.find((a) => a.name === 'invis-portal');
  const portalPassword = portal && (await ctx.secrets.get(portal.secret));
  const treeUnreadable =
    schema ||
    dhcpService ||
    portalPassword === undefined ||
    accounts.includes('invis-portal') ||
    !(await readsAttributes(ctx, `invis-portal@${ctx.answers.domain}`, portalPassword, layout.dhcpConfig));
  return { schema, groups, accounts, dhcpService, treeUnreadable };
}

/** Whether the account is a direct member of the built-in Administrators. */
async function isAdministrator(ad: AdClient, name: string): Promise<boolean> {
  const base = await ad.baseDN();
  const found = await ad.search({
    base,
    scope: 'sub',
    filter: f.and(f.eq('sAMAccountName', name), f.eq('memberOf', `CN=Administrators,CN=Builtin,${base}`)),
    attributes: ['cn'],
  });
  return found.length > 0;
}

/** Whether `upn` reads the `cn` of `dn` (an unreadable attribute comes back missing). */
async function readsAttributes(ctx: ModuleContext, upn: string, password: string, dn: string): Promise<boolean> {
  const ad = await connect(ctx, upn, password);
  try {
    return (await ad.get(dn, ['cn']))?.get('cn') !== undefined;
  } finally {
    await ad.close();
  }
}

async function binds(ad: AdClient, name: string, password: string): Promise<boolean> {
  try {
    await ad.verifyBind(name, password);
    return true;
  } catch (error) {
    if (isAdError(error, 'AD_INVALID_CREDENTIALS', 'AD_ACCOUNT_DISABLED', 'AD_ACCOUNT_LOCKED')) return false;
    throw error;
  }
}

function gapCommands(found: DirectoryGaps): PlannedCommand[] {
  const ldap = (what: string, reason: string): PlannedCommand => ({ command: 'ldaps', args: [what], reason });
  return [
    ...(found.schema ? [ldap('install invis schema and CN=invis-Server', 'not in the directory')] : []),
    ...found.groups.map((g) => ldap(`create group ${g}`, 'missing')),
    ...found.accounts.map((a) => ldap(`set up service account ${a}`, 'missing or its password does not bind')),
    ...(found.dhcpService ? [ldap('create the DHCP service CN=DHCP Config', 'missing')] : []),
    ...(found.treeUnreadable
      ? [ldap(`allow Authenticated Users to read CN=invis-Server ${TREE_READ_ACE}`, 'invis-portal cannot read it')]
      : []),
  ];
}

async function planOf(ctx: ModuleContext): Promise<ModulePlan> {
  const plan: ModulePlan = { files: [], services: [], commands: [], directories: [] };
  for (const dir of directoriesOf(ctx)) if (!(await ctx.fs.exists(dir.path))) plan.directories.push(dir.path);
  const config = ctx.profile.samba.config;
  const file = fileChange(config, await ctx.fs.readFileIfExists(config), renderSmbConf(ctx));
  plan.files.push(file);
  // Like every module, a staging root gets no service actions and no commands in its plan.
  if (ctx.staging) return plan;
  const isProvisioned = await provisioned(ctx);
  if (!isProvisioned) {
    plan.commands.push({
      command: ctx.profile.samba.sambaTool,
      // The throwaway password is random and replaced at once; the plan shows no value.
      args: provisionArgs(ctx, '<random, replaced at once>'),
      reason: 'no domain yet',
    });
  }
  const active = await ctx.services.isActive(ctx.profile.samba.unit);
  if (!active) plan.services.push({ unit: ctx.profile.samba.unit, action: 'start' });
  else if (file.action !== 'unchanged') plan.services.push({ unit: ctx.profile.samba.unit, action: 'restart' });
  if (active && isProvisioned) {
    const password = await ctx.secrets.get('ad-administrator');
    if (password === undefined) throw missingSecret('ad-administrator');
    const ad = await connect(ctx, adminUpn(ctx), password);
    try {
      plan.commands.push(...gapCommands(await gaps(ctx, ad)));
    } finally {
      await ad.close();
    }
  }
  return plan;
}

const missingSecret = (name: string) =>
  new SetupError('SETUP_SECRET_MISSING', `no secret ${name} (run init first)`, { details: { name } });

/** The files smb.conf includes; other modules own their content. */
const includedFiles = (ctx: ModuleContext): string[] => [
  ctx.profile.shares.sharesConfig,
  ctx.profile.print.sambaConfig,
];

async function writeConf(ctx: ModuleContext, content: string): Promise<void> {
  const config = ctx.profile.samba.config;
  // samba and samba-tool refuse an smb.conf whose include is missing (testparm does not): an empty
  // file stands in until the module that owns it writes it; an existing one is left alone.
  for (const file of includedFiles(ctx)) await ctx.fs.createExclusive(file, '', 0o644);
  if ((await ctx.fs.readFileIfExists(config)) === content) return;
  // testparm on a candidate beside the target, so a refused file never replaces a working one.
  const dir = config.slice(0, config.lastIndexOf('/'));
  const temp = await ctx.fs.mkdtemp(`${dir}/.invis-check-`);
  try {
    const candidate = `${temp}/smb.conf`;
    await ctx.fs.writeFileAtomic(candidate, content, { mode: 0o644 });
    const verdict = await checkSmbConf(ctx, ctx.fs.hostPath(candidate));
    if (!verdict.ok) {
      throw new SetupError('SETUP_CHECK_FAILED', `${config}: ${verdict.message ?? 'refused by testparm'}`, {
        details: { module: 'samba_ad', path: config },
      });
    }
  } finally {
    await ctx.fs.remove(temp);
  }
  await ctx.fs.writeFileAtomic(config, content, { mode: 0o644 });
}

/**
 * testparm on an smb.conf: exit 0 and no "Unknown parameter" / "Ignoring unknown" line on stderr
 * (testparm exits 0 for some of those).
 * @param ctx the runner and profile
 * @param file the file to check (a real path)
 * @returns the verdict
 */
export async function checkSmbConf(
  ctx: Pick<ModuleContext, 'runner' | 'profile'>,
  file: string,
): Promise<{ ok: boolean; message?: string }> {
  const result = await ctx.runner.run(ctx.profile.samba.testparm, ['-s', '--suppress-prompt', file], {
    timeoutMs: 30_000,
  });
  // testparm names the bad line on stderr; its last stdout line is only the server role.
  const bad = result.stderr.split('\n').find((l) => /unknown parameter|ignoring unknown|invalid|error/i.test(l));
  if (result.exitCode !== 0) return { ok: false, message: bad?.trim() ?? lastOutputLine(result) };
  return bad ? { ok: false, message: bad.trim() } : { ok: true };
}

async function provision(ctx: ModuleContext): Promise<string> {
  ctx.progress('samba_ad: provisioning the domain');
  // samba-tool takes the first password only in argv: a random one that is replaced by the real
  // secret over LDAPS as soon as the DC runs, and never stored.
  const throwaway = `${generateSecret()}aA1-`;
  const result = await ctx.runner.run(ctx.profile.samba.sambaTool, provisionArgs(ctx, throwaway), {
    timeoutMs: 300_000,
  });
  if (result.exitCode !== 0) {
    const line = `${result.stderr}\n${result.stdout}`
      .split('\n')
      .filter((l) => /error/i.test(l))
      .at(-1);
    throw new SetupError(
      'SETUP_CHECK_FAILED',
      `samba-tool domain provision failed: ${line ?? `exit ${result.exitCode}`}`,
      {
        details: { module: 'samba_ad', exitCode: result.exitCode },
      },
    );
  }
  return throwaway;
}

async function restartDc(ctx: ModuleContext): Promise<void> {
  const unit = ctx.profile.samba.unit;
  if (await ctx.services.isActive(unit)) await ctx.services.restart(unit);
  else await ctx.services.start(unit);
}

async function apply(ctx: ModuleContext): Promise<ApplyReport> {
  const started = Date.now();
  const plan = await planOf(ctx);
  const unchanged = plan.files.every((f) => f.action === 'unchanged');
  if (unchanged && plan.directories.length === 0 && plan.commands.length === 0 && plan.services.length === 0) {
    return applyReport(plan);
  }
  if (ctx.staging) {
    // A domain provisioned here would keep an Administrator password nobody knows (it is set over
    // LDAPS on the running DC), so a staging root gets the files; the server does the rest.
    for (const dir of directoriesOf(ctx)) await ctx.fs.mkdir(dir.path, dir.mode);
    await writeConf(ctx, renderSmbConf(ctx));
    return applyReport(plan, { timings: { total: Date.now() - started } });
  }
  for (const dir of directoriesOf(ctx)) await ctx.fs.mkdir(dir.path, dir.mode);
  const adminPassword = await ctx.secrets.ensure('ad-administrator');
  await writeConf(ctx, renderSmbConf(ctx));
  const throwaway = (await provisioned(ctx)) ? undefined : await provision(ctx);
  if (throwaway !== undefined || !unchanged || !(await ctx.services.isActive(ctx.profile.samba.unit))) {
    await restartDc(ctx);
  }
  if (throwaway !== undefined) {
    await waitForDc(ctx, adminUpn(ctx), throwaway);
    const ad = await connect(ctx, adminUpn(ctx), throwaway);
    try {
      await ad.users.setPassword('Administrator', adminPassword.value);
    } finally {
      await ad.close();
    }
  }
  await waitForDc(ctx, adminUpn(ctx), adminPassword.value);
  let ad = await connect(ctx, adminUpn(ctx), adminPassword.value);
  try {
    const found = await gaps(ctx, ad);
    if (found.schema) {
      ctx.progress('samba_ad: installing the invis schema (takes a minute)');
      await ad.close();
      // Schema changes are allowed only while setup installs the invis schema.
      await writeConf(ctx, renderSmbConf(ctx, { schemaUpdates: true }));
      await restartDc(ctx);
      await waitForDc(ctx, adminUpn(ctx), adminPassword.value);
      ad = await connect(ctx, adminUpn(ctx), adminPassword.value);
      await ad.invis.install();
      await ad.close();
      await writeConf(ctx, renderSmbConf(ctx));
      await restartDc(ctx);
      await waitForDc(ctx, adminUpn(ctx), adminPassword.value);
      ad = await connect(ctx, adminUpn(ctx), adminPassword.value);
    }
    for (const name of found.groups) {
      ctx.progress(`samba_ad: group ${name}`);
      if (name === 'maildummies') await ad.groups.ensureMailGroup();
      else {
        const description = INVIS_GROUPS.find((g) => g.name === name)?.description ?? name;
        await ad.groups.create({ name, description });
      }
    }
    for (const name of found.accounts) await ensureServiceAccount(ctx, ad, name);
    if (found.dhcpService) await createDhcpService(ctx, ad);
    if (found.treeUnreadable) await allowTreeRead(ctx, (await ad.invis.layout()).root);
  } finally {
    await ad.close();
  }
  return applyReport(plan, { timings: { total: Date.now() - started } });
}

/**
 * The LAN's `iscDhcpSubnet` below the DHCP service, as the original's setup made it: reservations
 * written by the portal are checked against it (inside the subnet, outside the dynamic pool).
 */
function lanSubnet(ctx: Pick<ModuleContext, 'answers'>, layout: { dhcpConfig: string }) {
  const subnet = dhcpModel(ctx.answers, []).subnets?.[0];
  const [network = '', prefix = '24'] = (subnet?.cidr ?? '').split('/');
  return {
    dn: `CN=${network},${layout.dhcpConfig}`,
    value: {
      netMask: Number(prefix),
      ranges: (subnet?.pools ?? []).map((p) => `${p.start} ${p.end}`),
    },
  };
}

/**
 * The DHCP service object of the original (`CN=DHCP Config`, an iscDhcpService whose primary is
 * the server's iscDhcpServer `CN=<fqdn>`): reservations (iscDhcpHost) are its children. Its
 * options stay empty — the dhcp module renders them from the answers.
 */
async function createDhcpService(ctx: ModuleContext, ad: AdClient): Promise<void> {
  ctx.progress('samba_ad: DHCP service object');
  const layout = await ad.invis.layout();
  const server = `CN=${ctx.answers.hostname}.${ctx.answers.domain},${layout.dhcp}`;
  // Each names the other and a DN value must name an existing object: service, server, link.
  await ad.objects.put(DHCP_SERVICE, layout.dhcpConfig, {});
  await ad.objects.put(DHCP_SERVER, server, { serviceDns: [layout.dhcpConfig] });
  await ad.objects.put(DHCP_SERVICE, layout.dhcpConfig, { primaryDn: server });
  const subnet = lanSubnet(ctx, layout);
  await ad.objects.put(DHCP_SUBNET, subnet.dn, subnet.value);
}

/**
 * Adds {@link TREE_READ_ACE} to `CN=invis-Server` with samba-tool on the DC's own database (root,
 * no credentials on a command line); Samba passes it on to every object below.
 */
async function allowTreeRead(ctx: ModuleContext, root: string): Promise<void> {
  ctx.progress('samba_ad: read access to CN=invis-Server');
  const result = await ctx.runner.run(
    ctx.profile.samba.sambaTool,
    [
      'dsacl',
      'set',
      '-H',
      ctx.fs.hostPath(`${ctx.profile.samba.dirs.private}/sam.ldb`),
      `--objectdn=${root}`,
      `--sddl=${TREE_READ_ACE}`,
    ],
    { timeoutMs: 60_000 },
  );
  if (result.exitCode !== 0) {
    throw new SetupError('SETUP_CHECK_FAILED', `samba-tool dsacl set failed: ${lastOutputLine(result)}`, {
      details: { module: 'samba_ad', exitCode: result.exitCode },
    });
  }
}

async function ensureServiceAccount(ctx: ModuleContext, ad: AdClient, name: string): Promise<void> {
  const account = SERVICE_ACCOUNTS.find((a) => a.name === name);
  if (!account) return;
  ctx.progress(`samba_ad: service account ${name}`);
  const { value: password } = await ctx.secrets.ensure(account.secret);
  const existing = await ad.users.get(name);
  // A plain user: it reads what every authenticated account reads and may write nothing; no
  // shell, its password never expires (the services would stop when it did).
  const user =
    existing ??
    (await ad.users.create({
      sAMAccountName: name,
      password,
      type: 'user',
      description: account.description,
      loginShell: '/bin/false',
    }));
  if (existing) await ad.users.setPassword(name, password);
  await ad.modify(user.dn, {
    operation: 'replace',
    attribute: 'userAccountControl',
    values: String(UAC.NORMAL_ACCOUNT | UAC.DONT_EXPIRE_PASSWORD),
  });
  if (account.administrators && !(await isAdministrator(ad, name))) {
    // On the DC's own database as root: the client refuses changes to built-in groups.
    const result = await ctx.runner.run(
      ctx.profile.samba.sambaTool,
      [
        'group',
        'addmembers',
        'Administrators',
        name,
        '-H',
        ctx.fs.hostPath(`${ctx.profile.samba.dirs.private}/sam.ldb`),
      ],
      { timeoutMs: 60_000 },
    );
    if (result.exitCode !== 0) {
      throw new SetupError('SETUP_CHECK_FAILED', `samba-tool group addmembers failed: ${lastOutputLine(result)}`, {
        details: { module: 'samba_ad', exitCode: result.exitCode },
      });
    }
  }
}

async function verify(ctx: ModuleContext): Promise<VerifyCheck[]> {
  const checks: VerifyCheck[] = [];
  const config = ctx.profile.samba.config;
  const current = await ctx.fs.readFileIfExists(config);
  checks.push(
    current === renderSmbConf(ctx)
      ? { name: config, ok: true }
      : {
          name: config,
          ok: false,
          problem: current === undefined ? 'missing' : 'differs from what setup renders (run plan)',
        },
  );
  // A staging root holds the files only (see apply).
  if (ctx.staging) return checks;
  const isProvisioned = await provisioned(ctx);
  checks.push(
    isProvisioned
      ? { name: 'domain', ok: true }
      : { name: 'domain', ok: false, problem: 'not provisioned (run apply)' },
  );
  if (!isProvisioned) return checks;
  const unit = ctx.profile.samba.unit;
  const active = await ctx.services.isActive(unit);
  checks.push(
    active
      ? { name: `service ${unit}`, ok: true }
      : { name: `service ${unit}`, ok: false, problem: `${unit} is not running` },
  );
  if (!active) return checks;
  const password = await ctx.secrets.get('ad-administrator');
  if (password === undefined) throw missingSecret('ad-administrator');
  const ad = await connect(ctx, adminUpn(ctx), password);
  try {
    const found = await gaps(ctx, ad);
    checks.push({ name: 'administrator password', ok: true });
    checks.push(
      found.schema
        ? { name: 'invis schema', ok: false, problem: 'CN=invis-Server is missing (run apply)' }
        : { name: 'invis schema', ok: true },
    );
    checks.push(
      found.groups.length === 0
        ? { name: 'groups', ok: true }
        : { name: 'groups', ok: false, problem: `missing: ${found.groups.join(', ')}` },
    );
    checks.push(
      found.accounts.length === 0
        ? { name: 'service accounts', ok: true }
        : { name: 'service accounts', ok: false, problem: `missing or not binding: ${found.accounts.join(', ')}` },
    );
    checks.push(
      found.dhcpService
        ? { name: 'DHCP service', ok: false, problem: 'CN=DHCP Config or the LAN subnet in it is missing (run apply)' }
        : { name: 'DHCP service', ok: true },
    );
    checks.push(
      found.treeUnreadable
        ? { name: 'invis tree readable', ok: false, problem: 'invis-portal cannot read CN=invis-Server (run apply)' }
        : { name: 'invis tree readable', ok: true },
    );
  } catch (error) {
    if (!isAdError(error, 'AD_INVALID_CREDENTIALS')) throw error;
    checks.push({ name: 'administrator password', ok: false, problem: 'the ad-administrator secret does not bind' });
  } finally {
    await ad.close();
  }
  return checks;
}

/** The `samba_ad` module. */
export const sambaAdModule: SetupModule = {
  id: 'samba_ad',
  title: { de: 'Active-Directory-Domäne (Samba)', en: 'Active Directory domain (Samba)' },
  dependsOn: ['check', 'ca'],
  plan: planOf,
  apply,
  verify,
};

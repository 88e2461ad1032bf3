// `openvpn`: the VPN of an invis server — its own PKI (@invis/ovpn-pki in /var/lib/invis/pki, or
// an existing easy-rsa PKI imported once), the road-warrior server (device `vpn`, the answers'
// VPN network, UDP on the firewall's OpenVPN port, tls-crypt-v2, route and DNS of the LAN pushed,
// every connect checked against AD by `invis-setup vpn connect`) and the site server for branches
// (device `vpn-sub`, port + 1, one ccd entry with iroute per branch of the answers, no other
// client: ccd-exclusive), Debian's `openvpn-server@` units, and the daily certificate check timer
// (`invis-setup vpn check`: CRL renewal and expiry warnings).
import { type ApplyReport, applyReport, fileChange, generatedMarker, lastOutputLine } from '@invis/host';
import {
  buildServerFiles,
  createPki,
  generateTlsCryptV2ServerKey,
  importEasyRsa,
  isOvpnPkiError,
  type Pki,
  renderCcdEntry,
  renderServerConfig,
  type ServerConfigInput,
} from '@invis/ovpn-pki';
import type { Answers } from '../answers';
import { SetupError } from '../errors';
import {
  type CheckResult,
  type DesiredFile,
  fileModule,
  type ModuleContext,
  type ModulePlan,
  noChangePlan,
  type Rendered,
  type SetupModule,
  type VerifyCheck,
} from '../module';
import { networkOf, parseCidr } from '../net';
import type { PlatformProfile } from '../profiles';
import { HARDENING, renderUnit, verifyUnit } from '../systemd';
import { externalPorts } from './firewall';

/** The timer that renews the CRL and warns about expiring certificates. */
export const VPN_CHECK_UNIT = 'invis-vpn-check';
/** Common names of branch certificates: `site-<name>` (a user certificate never gets a ccd entry). */
export const siteCertName = (site: string): string => `site-${site}`;

type VpnAnswers = NonNullable<Answers['vpn']>;

/** The server's full name: the server certificate's CN (and what bundles verify). */
export const serverCertName = (answers: Answers): string => `${answers.hostname}.${answers.domain}`;

/** The two OpenVPN instances (config names below the server folder, units `openvpn-server@<name>`). */
export function vpnInstances(profile: PlatformProfile): { roadWarrior: string; site: string } {
  return { roadWarrior: profile.openvpn.roadWarrior, site: profile.openvpn.site };
}

/** The unit of an instance. */
export const instanceUnit = (profile: PlatformProfile, instance: string): string =>
  `${profile.openvpn.unitTemplate}${instance}`;

/** The PKI of the VPN (rooted under `--root`). */
export function vpnPki(ctx: Pick<ModuleContext, 'fs' | 'clock' | 'profile'>): Pki {
  return createPki({ dir: ctx.profile.openvpn.pkiDir, fs: ctx.fs, clock: ctx.clock });
}

/** Where the tls-crypt-v2 server key lives (inside the 0700 PKI folder). */
export const tlsCryptV2KeyPath = (profile: PlatformProfile): string => `${profile.openvpn.pkiDir}/tc-v2-server.key`;

const lanOf = (answers: Answers) => {
  const lan = parseCidr(answers.lan.address) as NonNullable<ReturnType<typeof parseCidr>>;
  return { address: lan.address, network: networkOf(lan).cidr };
};

/**
 * The inputs of both server configs (pure): road warrior on the answers' VPN network and port,
 * site server on port + 1 with the branches; both drop to `nobody` and the VPN group, which may
 * read the LDAP password copy the connect check needs.
 * @param answers the answers (with a VPN network)
 * @param vpn the answers' VPN section
 * @param profile paths
 * @param files the deployed key material (from `buildServerFiles`)
 * @returns road-warrior and site config inputs
 */
export function serverConfigs(
  answers: Answers,
  vpn: VpnAnswers,
  profile: PlatformProfile,
  files: ServerConfigInput['files'],
): { roadWarrior: ServerConfigInput; site: ServerConfigInput } {
  const lan = lanOf(answers);
  const port = externalPorts(answers).openvpn;
  const { openvpn } = answers;
  const branches = openvpn.sites.flatMap((s) => s.subnets);
  const common = { proto: 'udp' as const, files, user: 'nobody', group: profile.openvpn.group, verb: 3 };
  return {
    roadWarrior: {
      ...common,
      role: 'road-warrior',
      device: 'vpn',
      port,
      network: vpn.network,
      push: {
        // The LAN and the branches behind the site server; the server answers DNS and WINS.
        routes: [lan.network, ...branches],
        dns: [lan.address],
        domain: answers.domain,
        wins: [lan.address],
      },
    },
    site: {
      ...common,
      role: 'site',
      device: 'vpn-sub',
      port: port + 1,
      network: openvpn.siteNetwork,
      sites: openvpn.sites.map((s) => ({ name: siteCertName(s.name), subnets: s.subnets })),
      clientConfigDir: profile.openvpn.ccdDir,
      push: { routes: [lan.network, vpn.network], dns: [lan.address], domain: answers.domain, wins: [] },
    },
  };
}

/**
 * The road-warrior config: the library's server config plus the AD check at every connect
 * (`client-connect`, run as the dropped user; it refuses when it cannot decide).
 * @param input the road-warrior config input
 * @param profile the connect command
 * @returns the config file
 */
export function renderRoadWarriorConfig(input: ServerConfigInput, profile: PlatformProfile): string {
  return `${renderServerConfig(input)}# Every connect: the account must be enabled in AD and in mobilusers (fails closed).\nscript-security 2\nclient-connect "${profile.openvpn.connectCommand.join(' ')}"\n`;
}

/**
 * The site config: the library's site server plus `ccd-exclusive`, so only the branches of the
 * answers (each with its ccd entry) connect — never a road-warrior certificate.
 * @param input the site config input
 * @returns the config file
 */
export function renderSiteConfig(input: ServerConfigInput): string {
  return `${renderServerConfig(input)}# Only certificates with a ccd entry (the branches) may connect.\nccd-exclusive\n`;
}

/**
 * The check timer's units: daily, `invis-setup vpn check` as root (it signs the CRL with the PKI's
 * key), writing only the PKI, the deployed CRL and the job state.
 * @param profile paths and the setup command
 * @returns service and timer
 */
export function renderVpnCheckUnits(profile: PlatformProfile): { service: string; timer: string } {
  const service = renderUnit('Renews the VPN CRL and warns about expiring VPN certificates.', {
    Unit: [['Description', 'invis: VPN CRL renewal and certificate expiry check']],
    Service: [
      ['Type', 'oneshot'],
      ['ExecStart', [...profile.setupCommand, 'vpn', 'check'].join(' ')],
      // Postfix's sendmail hands the warning to the setgid postdrop: no NoNewPrivileges and no
      // RestrictSUIDSGID here; the maildrop folder is writable when Postfix is installed.
      ...HARDENING.filter(([key]) => key !== 'NoNewPrivileges' && key !== 'RestrictSUIDSGID'),
      [
        'ReadWritePaths',
        `${profile.openvpn.pkiDir} ${profile.openvpn.keysDir} ${profile.jobsDir} -${profile.openvpn.maildrop}`,
      ],
      ['CapabilityBoundingSet', ''],
    ],
  });
  const timer = renderUnit('Runs the VPN certificate check once a day.', {
    Unit: [['Description', 'invis: VPN certificate check, daily']],
    Timer: [
      ['OnBootSec', '5min'],
      ['OnUnitActiveSec', '1d'],
      ['AccuracySec', '1h'],
      ['Persistent', 'yes'],
    ],
    Install: [['WantedBy', 'timers.target']],
  });
  return { service, timer };
}

/**
 * The drop-in of both OpenVPN units: Debian's `LimitNPROC=10` counts every thread of `nobody`,
 * and the connect check is a Node.js program with a dozen threads.
 * @returns the drop-in file
 */
export function renderOpenVpnDropIn(): string {
  return `${generatedMarker('@invis/setup-1', 'hash')}\n# The connect check (Node.js) needs more threads than Debian's LimitNPROC=10 allows.\n[Service]\nLimitNPROC=128\n`;
}

/** sysusers.d: the group OpenVPN drops to (it may read the LDAP password copy). */
export function renderVpnSysusers(profile: PlatformProfile): string {
  return `${generatedMarker('@invis/setup-1', 'hash')}\ng ${profile.openvpn.group} -\n`;
}

/**
 * The openvpn option parser as the checker (`--genkey` makes it stop after parsing). It checks that
 * the client-connect program exists; a staging host may lack invis-setup, so that one complaint
 * is tolerated when staging.
 */
async function checkConfig(ctx: ModuleContext, candidate: string): Promise<CheckResult> {
  const dir = candidate.slice(0, candidate.lastIndexOf('/'));
  const result = await ctx.runner.run(
    ctx.profile.openvpn.openvpn,
    ['--cd', dir, '--config', candidate, '--verb', '0', '--genkey', 'secret', '/dev/null'],
    { timeoutMs: 30_000 },
  );
  if (result.exitCode === 0) return { ok: true };
  const command = ctx.profile.openvpn.connectCommand[0] ?? '';
  const missingConnect = result.output.includes(`--client-connect script fails with '${command}': No such file`);
  if (ctx.staging && missingConnect) return { ok: true };
  return { ok: false, message: result.output.split('\n').find((l) => /error/i.test(l)) ?? lastOutputLine(result) };
}

/** The PKI and its server material, made when missing (apply only). */
async function ensurePki(ctx: ModuleContext, pki: Pki): Promise<void> {
  const { answers, profile } = ctx;
  if (!(await pki.isInitialized())) {
    const from = answers.openvpn.importEasyRsa;
    if (from) {
      ctx.progress(`openvpn: importing the easy-rsa PKI ${from}`);
      await importEasyRsa({ from, to: { dir: profile.openvpn.pkiDir, fs: ctx.fs, clock: ctx.clock } });
    } else {
      ctx.progress('openvpn: creating the VPN PKI');
      await pki.init({ caName: `invis VPN CA ${answers.domain}` });
    }
  }
  const lan = lanOf(answers);
  const wanted = [
    { name: serverCertName(answers), server: true },
    ...answers.openvpn.sites.map((s) => ({ name: siteCertName(s.name), server: false })),
  ];
  for (const { name, server } of wanted) {
    if (await hasCurrent(pki, name)) continue;
    ctx.progress(`openvpn: issuing ${name}`);
    if (server) await pki.issueServer({ name, san: { dns: [name], ip: [lan.address] } });
    else await pki.issueClient({ name });
  }
  // A branch taken out of the answers loses its certificate (and its ccd entry below).
  const listed = new Set(wanted.map((w) => w.name));
  await pki.revokeClients((cn) => cn.startsWith(siteCertName('')) && !listed.has(cn), 'cessationOfOperation');
  await pki.ensureFreshCrl();
  const keyPath = tlsCryptV2KeyPath(profile);
  if (!(await ctx.fs.exists(keyPath))) {
    await ctx.fs.writeFileAtomic(keyPath, await generateTlsCryptV2ServerKey(ctx.runner), { mode: 0o600 });
  }
}

async function hasCurrent(pki: Pki, name: string): Promise<boolean> {
  try {
    await pki.get(name);
    return true;
  } catch (error) {
    if (isOvpnPkiError(error) && error.code === 'PKI_NOT_FOUND') return false;
    throw error;
  }
}

/** Whether the PKI holds everything the servers need (so the files can be rendered). */
async function pkiReady(ctx: ModuleContext, pki: Pki): Promise<boolean> {
  if (!(await pki.isInitialized()) || !(await ctx.fs.exists(tlsCryptV2KeyPath(ctx.profile)))) return false;
  for (const name of [serverCertName(ctx.answers), ...ctx.answers.openvpn.sites.map((s) => siteCertName(s.name))]) {
    if (!(await hasCurrent(pki, name))) return false;
  }
  return true;
}

/** Where `buildServerFiles` puts the key material (outside a CA rollover). */
function keyPaths(profile: PlatformProfile, serverName: string): ServerConfigInput['files'] {
  const dir = profile.openvpn.keysDir;
  return {
    ca: `${dir}/ca.crt`,
    cert: `${dir}/${serverName}.crt`,
    key: `${dir}/${serverName}.key`,
    crl: `${dir}/crl.pem`,
    tlsCryptV2: `${dir}/tc-v2-server.key`,
  };
}

/**
 * Every file of the module. With the PKI ready (see {@link pkiReady}) the key material comes
 * from it; without (a plan before the first apply) the key files are left out and the configs name
 * the paths `buildServerFiles` will use.
 */
async function renderFiles(ctx: ModuleContext, vpn: VpnAnswers, pki: Pki | undefined): Promise<Rendered> {
  const { profile, answers } = ctx;
  const o = profile.openvpn;
  const inst = vpnInstances(profile);
  const server = pki
    ? await buildServerFiles(pki, {
        serverName: serverCertName(answers),
        dir: o.keysDir,
        tlsCryptV2ServerKey: await ctx.fs.readFile(tlsCryptV2KeyPath(profile)),
      })
    : { files: [], paths: keyPaths(profile, serverCertName(answers)) };
  const configs = serverConfigs(answers, vpn, profile, server.paths);
  const keyFiles: DesiredFile[] = server.files.map((f) => ({
    path: f.path,
    content: f.content,
    mode: f.mode,
    ...(f.mode === 0o600 ? { secret: true } : {}),
  }));
  const units = renderVpnCheckUnits(profile);
  const unitPath = (suffix: string) => `${profile.systemd.unitDir}/${VPN_CHECK_UNIT}.${suffix}`;
  const installedLater = [profile.setupCommand[0] ?? ''];
  return {
    directories: [
      { path: o.serverDir, mode: 0o755 },
      // World-readable: OpenVPN re-reads the CRL and the ccd entries after dropping to nobody.
      { path: o.keysDir, mode: 0o755 },
      { path: o.ccdDir, mode: 0o755 },
      { path: '/etc/sysusers.d', mode: 0o755 },
      { path: profile.systemd.unitDir, mode: 0o755 },
      ...Object.values(inst).map((i) => ({
        path: `${profile.systemd.unitDir}/${instanceUnit(profile, i)}.service.d`,
        mode: 0o755,
      })),
    ],
    files: [
      { path: `/etc/sysusers.d/${o.group}.conf`, content: renderVpnSysusers(profile), mode: 0o644 },
      ...keyFiles,
      ...answers.openvpn.sites.map((s) => ({
        path: `${o.ccdDir}/${siteCertName(s.name)}`,
        content: renderCcdEntry(configs.site, siteCertName(s.name)),
        mode: 0o644,
      })),
      {
        path: `${o.serverDir}/${inst.roadWarrior}.conf`,
        content: renderRoadWarriorConfig(configs.roadWarrior, profile),
        mode: 0o644,
        check: checkConfig,
      },
      {
        path: `${o.serverDir}/${inst.site}.conf`,
        content: renderSiteConfig(configs.site),
        mode: 0o644,
        check: checkConfig,
      },
      ...Object.values(inst).map((i) => ({
        path: `${profile.systemd.unitDir}/${instanceUnit(profile, i)}.service.d/invis.conf`,
        content: renderOpenVpnDropIn(),
        mode: 0o644,
      })),
      {
        path: unitPath('service'),
        content: units.service,
        mode: 0o644,
        check: (c, candidate) => verifyUnit(c, candidate, [], installedLater),
      },
      {
        path: unitPath('timer'),
        content: units.timer,
        mode: 0o644,
        check: (c, candidate) =>
          verifyUnit(c, candidate, [{ name: `${VPN_CHECK_UNIT}.service`, content: units.service }], installedLater),
      },
    ],
    services: [],
    commands: [
      { command: 'systemd-sysusers', args: [`/etc/sysusers.d/${o.group}.conf`], reason: 'create the VPN group' },
      { command: 'systemctl', args: ['daemon-reload'], reason: 'load the VPN units' },
    ],
  };
}

/** Files whose change needs a restart of the servers (CRL and ccd are re-read at every connect). */
const needsRestart = (profile: PlatformProfile, path: string): boolean =>
  path !== `${profile.openvpn.keysDir}/crl.pem` && !path.startsWith(`${profile.openvpn.ccdDir}/`);

/** The copy of the bind account's password the connect check reads (0640 root:VPN group). */
const passwordCopy = (profile: PlatformProfile) => `${profile.openvpn.configDir}/ldap-password`;

async function groupId(ctx: ModuleContext): Promise<number> {
  const result = await ctx.runner.run('getent', ['group', ctx.profile.openvpn.group]);
  const gid = Number(result.stdout.split(':')[2]);
  if (result.exitCode !== 0 || !Number.isInteger(gid)) {
    throw new SetupError('SETUP_CHECK_FAILED', `group ${ctx.profile.openvpn.group} is missing after systemd-sysusers`, {
      details: { module: 'openvpn' },
    });
  }
  return gid;
}

const plannedPki = (ctx: ModuleContext) => ({
  command: 'pki',
  args: [
    ctx.answers.openvpn.importEasyRsa ? `import ${ctx.answers.openvpn.importEasyRsa}` : 'init',
    ctx.profile.openvpn.pkiDir,
  ],
  reason: 'the VPN PKI, server and branch certificates, tls-crypt-v2 key',
});

async function plan(ctx: ModuleContext): Promise<ModulePlan> {
  const vpn = ctx.answers.vpn;
  if (!vpn) return noChangePlan();
  const pki = vpnPki(ctx);
  const ready = await pkiReady(ctx, pki);
  const p = await filesOf(await renderFiles(ctx, vpn, ready ? pki : undefined)).plan(ctx);
  if (!ready) {
    // The key material is made in-process at apply (below the root when staging).
    for (const path of Object.values(keyPaths(ctx.profile, serverCertName(ctx.answers)))) {
      if (!(await ctx.fs.exists(path))) p.files.push(fileChange(path, undefined, '', { secret: true }));
    }
    if (!ctx.staging) p.commands.push(plannedPki(ctx));
  }
  const copy = passwordCopy(ctx.profile);
  const wanted = ctx.staging ? undefined : await ctx.secrets.get('ad-invis-portal');
  if (wanted !== undefined)
    p.files.push(fileChange(copy, await ctx.fs.readFileIfExists(copy), wanted, { secret: true }));
  for (const stale of await staleCcd(ctx)) p.files.push(fileChange(stale, 'x', undefined));
  return p;
}

const filesOf = (rendered: Rendered): SetupModule =>
  fileModule({ id: 'openvpn', title: TITLE, dependsOn: [], render: () => rendered });

/** ccd entries of branches no longer in the answers (only ours, by name). */
async function staleCcd(ctx: ModuleContext): Promise<string[]> {
  const dir = ctx.profile.openvpn.ccdDir;
  if (!(await ctx.fs.exists(dir))) return [];
  const listed = new Set(ctx.answers.openvpn.sites.map((s) => siteCertName(s.name)));
  return (await ctx.fs.readdir(dir))
    .filter((n) => n.startsWith(siteCertName('')) && !listed.has(n))
    .map((n) => `${dir}/${n}`);
}

async function apply(ctx: ModuleContext): Promise<ApplyReport> {
  const vpn = ctx.answers.vpn;
  if (!vpn) return applyReport(noChangePlan());
  const { profile } = ctx;
  const pki = vpnPki(ctx);
  const pkiWasReady = await pkiReady(ctx, pki);
  await ctx.fs.mkdir('/var/lib/invis', 0o755);
  await ensurePki(ctx, pki);
  const stale = await staleCcd(ctx);
  for (const path of stale) await ctx.fs.remove(path);
  const module = filesOf(await renderFiles(ctx, vpn, pki));
  const before = await module.plan(ctx);
  const report = await module.apply(ctx);
  if (!pkiWasReady && !ctx.staging) report.commands.push(plannedPki(ctx));
  if (ctx.staging) return report;
  // The connect check runs as nobody:<group>; it reads the bind password from this copy.
  const secret = await ctx.secrets.get('ad-invis-portal');
  if (secret === undefined) {
    throw new SetupError('SETUP_SECRET_MISSING', 'no secret ad-invis-portal (run init first)', {
      details: { name: 'ad-invis-portal' },
    });
  }
  const copy = passwordCopy(profile);
  const gid = await groupId(ctx);
  await ctx.fs.mkdir(profile.openvpn.configDir, 0o750);
  const current = await ctx.fs.readFileIfExists(copy);
  await ctx.fs.writeFileAtomic(copy, secret, { mode: 0o640, gid });
  // The folder's group too (0750 root:group): only root and OpenVPN get to the copy.
  const chgrp = await ctx.runner.run('chgrp', [String(gid), ctx.fs.hostPath(profile.openvpn.configDir)]);
  if (chgrp.exitCode !== 0) {
    throw new SetupError('SETUP_CHECK_FAILED', `chgrp ${profile.openvpn.configDir} failed: ${lastOutputLine(chgrp)}`, {
      details: { module: 'openvpn' },
    });
  }
  if (current !== secret) report.files.push(fileChange(copy, current, secret, { secret: true }));
  const restart = before.files.some((f) => f.action !== 'unchanged' && needsRestart(profile, f.path));
  const units = Object.values(vpnInstances(profile)).map((i) => instanceUnit(profile, i));
  for (const unit of units) {
    if (restart || !(await ctx.services.isActive(unit))) {
      await ctx.services.restart(unit);
      report.services.push({ unit, action: 'restart' });
    }
  }
  if (before.files.some((f) => f.action !== 'unchanged' && f.path.includes(VPN_CHECK_UNIT))) {
    await ctx.services.start(`${VPN_CHECK_UNIT}.timer`);
    report.services.push({ unit: `${VPN_CHECK_UNIT}.timer`, action: 'start' });
  }
  report.changed = report.changed || report.services.length > 0 || stale.length > 0 || !pkiWasReady;
  return report;
}

async function verify(ctx: ModuleContext): Promise<VerifyCheck[]> {
  const vpn = ctx.answers.vpn;
  if (!vpn) return [];
  const pki = vpnPki(ctx);
  if (!(await pkiReady(ctx, pki))) return [{ name: 'VPN PKI', ok: false, problem: 'missing (run apply)' }];
  const checks = await filesOf(await renderFiles(ctx, vpn, pki)).verify(ctx);
  const crl = (await pki.crl()).info;
  checks.push({
    name: 'VPN CRL',
    ok: crl.state !== 'expired',
    ...(crl.state === 'expired'
      ? { problem: `expired ${crl.nextUpdate.toISOString()}: run invis-setup vpn check` }
      : {}),
  });
  if (ctx.staging) return checks;
  const { profile } = ctx;
  for (const unit of [
    ...Object.values(vpnInstances(profile)).map((i) => instanceUnit(profile, i)),
    `${VPN_CHECK_UNIT}.timer`,
  ]) {
    const active = await ctx.services.isActive(unit);
    checks.push({ name: `service ${unit}`, ok: active, ...(active ? {} : { problem: `${unit} is not running` }) });
  }
  return checks;
}

const TITLE = { de: 'OpenVPN (Einwahl und Standorte)', en: 'OpenVPN (road warriors and branches)' };

/** The `openvpn` module (nothing to do without a VPN network in the answers). */
export const openvpnModule: SetupModule = {
  id: 'openvpn',
  title: TITLE,
  // dns: the server is the DNS server pushed to the clients.
  dependsOn: ['samba_ad', 'dns', 'firewall'],
  plan,
  apply,
  verify,
};

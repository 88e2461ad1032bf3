// `dhcp`: Kea (default) or ISC dhcpd for the LAN, rendered by @invis/dhcp-config from the answers
// (subnet, the original's dynamic pool, the server as router/DNS/NTP/WINS, the domain) plus the
// directory's `iscDhcpHost` reservations; and the directory → DHCP sync: `invis-setup sync dhcp`
// every minute from a systemd timer, pushing a changed config into the running Kea over its
// control socket (`config-reload`, no restart; dhcpd has no reload and is restarted).
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { AdClient } from '@invis/ad-client';
import { createAdClient } from '@invis/ad-client';
import {
  createDhcpDirectory,
  createDhcpdApplier,
  createKeaApplier,
  type DhcpConfig,
  type DhcpConfigInput,
  invisDevicePolicy,
  type Reservation,
  renderDhcpdConf,
  renderKeaConfig,
  validateDhcpConfig,
} from '@invis/dhcp-config';
import type { ApplyReport } from '@invis/host';
import type { Answers } from '../answers';
import { SetupError } from '../errors';
import {
  type CheckResult,
  type DesiredFile,
  fileModule,
  type ModuleContext,
  type ModulePlan,
  runChecker,
  type SetupModule,
} from '../module';
import { formatIpv4, networkOf, parseCidr, parseIpv4 } from '../net';
import type { PlatformProfile } from '../profiles';
import { HARDENING, renderUnit, verifyUnit } from '../systemd';
import { certificatePaths } from './ca';

/** The sync's units. */
export const DHCP_SYNC_UNIT = 'invis-dhcp-sync';

/**
 * The DHCP model of the answers: one subnet (the LAN) with the original's dynamic pool (.200–.220
 * in a /24, x.y.200.1–.254 in a /16), the server as router, DNS, NTP and WINS server, the domain
 * as name and search list, and the given reservations.
 * @param answers LAN address, domain, LAN interface
 * @param reservations from the directory
 * @returns the model (validated by the renderers)
 * @throws DhcpConfigError `DHCP_INVALID_CONFIG` for a LAN smaller than /24
 */
export function dhcpModel(answers: Answers, reservations: readonly Reservation[]): DhcpConfigInput {
  const lan = parseCidr(answers.lan.address) as NonNullable<ReturnType<typeof parseCidr>>;
  const net = networkOf(lan);
  const base = parseIpv4(net.network) ?? 0;
  const { pool } = invisDevicePolicy(net.prefix);
  const server = [lan.address];
  return {
    interfaces: [answers.interfaces.intern],
    options: {
      domainName: answers.domain,
      domainSearch: [answers.domain],
      domainNameServers: server,
      ntpServers: server,
      netbiosNameServers: server,
      netbiosNodeType: 8,
    },
    subnets: [
      {
        cidr: net.cidr,
        pools: [{ start: formatIpv4(base + pool.first), end: formatIpv4(base + pool.last) }],
        options: { routers: server },
      },
    ],
    reservations: [...reservations],
  };
}

/**
 * The daemon's config file for the answers and reservations.
 * @param answers the answers (which daemon, LAN, domain)
 * @param profile paths of the daemon
 * @param reservations from the directory
 * @returns path and content
 */
export function renderDhcpConfig(
  answers: Answers,
  profile: PlatformProfile,
  reservations: readonly Reservation[],
): { path: string; content: string } {
  const config = validateDhcpConfig(dhcpModel(answers, reservations));
  return answers.dhcp.server === 'kea'
    ? { path: profile.kea.config, content: renderKeaConfig(config, keaSettings(profile)) }
    : { path: profile.dhcpd.config, content: renderDhcpdConf(config) };
}

const keaSettings = (profile: PlatformProfile) => ({
  controlSocket: profile.kea.controlSocket,
  leaseFile: profile.kea.leaseFile,
});

/**
 * `kea-dhcp4 -t` checks that the interfaces exist where it runs; a staging host lacks the
 * server's, so there the check runs on a copy listening on `*` (everything else is checked).
 */
async function checkKea(ctx: ModuleContext, candidate: string): Promise<CheckResult> {
  if (!ctx.staging) return runChecker(ctx.runner, ctx.profile.kea.keaDhcp4, ['-t', candidate]);
  const text = await readFile(candidate, 'utf8');
  const json = JSON.parse(text.replace(/^\s*(#|\/\/).*$/gm, '')) as { Dhcp4: Record<string, unknown> };
  json.Dhcp4['interfaces-config'] = { interfaces: ['*'] };
  const copy = join(dirname(candidate), 'any-interface.json');
  await writeFile(copy, JSON.stringify(json), { mode: 0o644 });
  return runChecker(ctx.runner, ctx.profile.kea.keaDhcp4, ['-t', copy]);
}

/** The sync's service and timer (every minute; the sync changes nothing when nothing changed). */
export function renderSyncUnits(profile: PlatformProfile, answers: Answers): { service: string; timer: string } {
  const kea = answers.dhcp.server === 'kea';
  const service = renderUnit('Directory → DHCP: reservations from AD into the running DHCP server.', {
    Unit: [
      ['Description', 'invis: DHCP reservations from the directory'],
      ['After', 'network-online.target samba-ad-dc.service'],
      ['Wants', 'network-online.target'],
    ],
    Service: [
      ['Type', 'oneshot'],
      ['ExecStart', [...profile.setupCommand, 'sync', 'dhcp'].join(' ')],
      ...HARDENING,
      [
        'ReadWritePaths',
        kea ? `${dirname(profile.kea.config)} ${dirname(profile.kea.controlSocket)}` : dirname(profile.dhcpd.config),
      ],
      // Kea's config folder and control socket belong to _kea; dhcpd is restarted through systemd.
      ['CapabilityBoundingSet', 'CAP_DAC_OVERRIDE'],
    ],
  });
  const timer = renderUnit('Runs the directory → DHCP sync every minute.', {
    Unit: [['Description', 'invis: DHCP reservations from the directory, every minute']],
    Timer: [
      ['OnBootSec', '1min'],
      ['OnUnitActiveSec', '1min'],
      ['AccuracySec', '5s'],
    ],
    Install: [['WantedBy', 'timers.target']],
  });
  return { service, timer };
}

/** What the server's directory holds for DHCP: the reservations. */
async function directoryReservations(ad: DhcpDirectoryAd): Promise<Reservation[]> {
  return (await createDhcpDirectory({ ad }).read()).config.reservations;
}
type DhcpDirectoryAd = Parameters<typeof createDhcpDirectory>[0]['ad'];

/**
 * The directory of this server: LDAPS on the LAN address with the `ca` certificate, bound as the
 * read-only service account `invis-portal` (secret `ad-invis-portal`, made by `samba_ad`).
 * @param ctx the module context
 * @returns a connected client (close it)
 * @throws SetupError `SETUP_SECRET_MISSING` before init
 */
export async function serverDirectory(ctx: ModuleContext): Promise<AdClient> {
  const password = await ctx.secrets.get('ad-invis-portal');
  if (password === undefined) {
    throw new SetupError('SETUP_SECRET_MISSING', 'no secret ad-invis-portal (run init and apply samba_ad first)', {
      details: { name: 'ad-invis-portal' },
    });
  }
  return createAdClient({
    url: `ldaps://${parseCidr(ctx.answers.lan.address)?.address ?? ''}:636`,
    upn: `invis-portal@${ctx.answers.domain}`,
    password,
    ca: await ctx.fs.readFile(certificatePaths(ctx).caCert),
  });
}

function spec(ctx: ModuleContext, reservations: readonly Reservation[]) {
  const { profile, answers } = ctx;
  const config = renderDhcpConfig(answers, profile, reservations);
  const units = renderSyncUnits(profile, answers);
  const unitPath = (suffix: string) => `${profile.systemd.unitDir}/${DHCP_SYNC_UNIT}.${suffix}`;
  const installedLater = [profile.setupCommand[0] ?? ''];
  const files: DesiredFile[] = [
    {
      ...config,
      mode: 0o644,
      check:
        answers.dhcp.server === 'kea'
          ? checkKea
          : (c, candidate) => runChecker(c.runner, c.profile.dhcpd.dhcpd, ['-t', '-cf', candidate]),
    },
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
        verifyUnit(c, candidate, [{ name: `${DHCP_SYNC_UNIT}.service`, content: units.service }], installedLater),
    },
  ];
  const unit = answers.dhcp.server === 'kea' ? profile.kea.unit : profile.dhcpd.unit;
  return fileModule({
    id: 'dhcp',
    title: { de: 'DHCP-Server', en: 'DHCP server' },
    dependsOn: [],
    render: () => ({
      directories: [
        { path: dirname(config.path), mode: 0o755 },
        { path: profile.systemd.unitDir, mode: 0o755 },
      ],
      files,
      // Kea re-reads its file on reload (SIGHUP); dhcpd cannot and is restarted.
      services: [{ unit, action: answers.dhcp.server === 'kea' ? 'reload-or-restart' : 'restart' }],
      commands: [{ command: 'systemctl', args: ['daemon-reload'], reason: 'load the sync units' }],
    }),
    async verifyLive(c) {
      const checks = [];
      for (const u of [unit, `${DHCP_SYNC_UNIT}.timer`]) {
        const active = await c.services.isActive(u);
        checks.push({ name: `service ${u}`, ok: active, ...(active ? {} : { problem: `${u} is not running` }) });
      }
      return checks;
    },
  });
}

/** Reservations for plan/apply: none when staging (no directory), else the server's directory. */
async function reservationsFor(ctx: ModuleContext): Promise<Reservation[]> {
  if (ctx.staging) return [];
  const ad = await serverDirectory(ctx);
  try {
    return await directoryReservations(ad);
  } finally {
    await ad.close();
  }
}

/** The `dhcp` module. */
export const dhcpModule: SetupModule = {
  id: 'dhcp',
  title: { de: 'DHCP-Server', en: 'DHCP server' },
  dependsOn: ['network', 'ca', 'samba_ad'],
  plan: async (ctx): Promise<ModulePlan> => spec(ctx, await reservationsFor(ctx)).plan(ctx),
  async apply(ctx) {
    const report = await spec(ctx, await reservationsFor(ctx)).apply(ctx);
    // After daemon-reload (the module's command): the timer keeps the directory in step.
    if (report.changed && !ctx.staging) await ctx.services.start(`${DHCP_SYNC_UNIT}.timer`);
    return report;
  },
  verify: async (ctx) => spec(ctx, await reservationsFor(ctx)).verify(ctx),
};

/**
 * The directory → DHCP sync (`invis-setup sync dhcp`): reads the reservations, renders the
 * daemon's config and, when it differs, checks it with the daemon's `-t` and activates it — Kea
 * through `config-reload` on its control socket (no restart: leases and sockets stay), dhcpd by a
 * restart through the service manager. Unchanged → nothing runs.
 * @param ctx the module context (live)
 * @param ad the directory (default: {@link serverDirectory})
 * @returns the library's report (`changed`, the diff, the commands)
 * @throws DhcpConfigError `DHCP_DIRECTORY_ERROR`, `DHCP_CONFLICT`, `DHCP_CHECK_FAILED`, `DHCP_RELOAD_FAILED`
 */
export async function syncDhcp(
  ctx: ModuleContext,
  ad?: DhcpDirectoryAd & Partial<Pick<AdClient, 'close'>>,
): Promise<ApplyReport> {
  const client = ad ?? (await serverDirectory(ctx));
  let config: DhcpConfig;
  try {
    config = validateDhcpConfig(dhcpModel(ctx.answers, await directoryReservations(client)));
  } finally {
    if (!ad) await client.close?.();
  }
  const { profile } = ctx;
  const common = { runner: ctx.runner };
  const applier =
    ctx.answers.dhcp.server === 'kea'
      ? createKeaApplier({
          ...common,
          configPath: ctx.fs.hostPath(profile.kea.config),
          settings: keaSettings(profile),
          keaCommand: profile.kea.keaDhcp4,
        })
      : createDhcpdApplier({
          ...common,
          configPath: ctx.fs.hostPath(profile.dhcpd.config),
          services: ctx.services,
          serviceName: profile.dhcpd.unit,
          dhcpdCommand: profile.dhcpd.dhcpd,
        });
  return applier.apply(config);
}

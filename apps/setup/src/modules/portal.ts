// `portal`: the invis portal as a hardened systemd service under its own system user
// `invis-portal`, serving HTTPS itself on the random portal port with the `ca` module's web
// certificate. Secrets reach it through systemd credentials (LoadCredential): the web key and the
// LDAP password stay 0600 root where `ca` and init put them, and the service sees 0400 copies of
// its own in /run/credentials — no second copy on disk, nothing in the environment.
import { generatedMarker } from '@invis/host';
import { ensureMailKey, MAIL_KEY_SECRET } from '../mail-directory';
import { fileModule, type ModuleContext, type SetupModule } from '../module';
import { networkOf, parseCidr } from '../net';
import { PRIVILEGED_SOCKET, PRIVILEGED_UNIT } from '../privileged';
import type { PlatformProfile } from '../profiles';
import { HARDENING, renderUnit, verifyUnit } from '../systemd';
import { webmailOrigin } from '../webmail-render';
import { certificatePaths, SERVER_CERTIFICATES } from './ca';
import { grantPortalTransfer } from './fileserver';
import { externalPorts } from './firewall';

/** Where systemd puts the service's credentials. */
const credentials = (profile: PlatformProfile) => `/run/credentials/${profile.portal.unit}.service`;

/**
 * The portal's environment (`/etc/invis/portal.env`): HTTPS on every address at the random portal
 * port with the web certificate (no proxy in front, so no trusted proxies), inside = the LAN and
 * the VPN network, the directory over LDAPS as `invis-portal`, the status sources setup writes.
 * @param ctx profile and answers
 * @returns the file content (no secret: those are credentials)
 */
export function renderPortalEnv(ctx: Pick<ModuleContext, 'profile' | 'answers'>): string {
  const { profile, answers } = ctx;
  const paths = certificatePaths(ctx);
  const lan = parseCidr(answers.lan.address) as NonNullable<ReturnType<typeof parseCidr>>;
  const inside = [networkOf(lan).cidr, ...(answers.vpn ? [answers.vpn.network] : [])];
  const env: [string, string][] = [
    ['PORTAL_HOST', '0.0.0.0'],
    ['PORTAL_PORT', String(externalPorts(answers).portal)],
    ['PORTAL_TLS_CERT_FILE', paths.certs.web.cert],
    ['PORTAL_TLS_KEY_FILE', `${credentials(profile)}/web-key`],
    ['PORTAL_LDAP_URL', `ldaps://${lan.address}:636`],
    ['PORTAL_LDAP_CA_FILE', paths.caCert],
    // The portal's own account (an Administrators member, see samba_ad): it makes the changes the
    // portal has authorized; the read-only invis-portal stays with the mail daemons.
    ['PORTAL_LDAP_BIND', `invis-portal-admin@${answers.domain}`],
    ['PORTAL_LDAP_PASSWORD_FILE', `${credentials(profile)}/ldap-password`],
    // Users' own mail accounts: the mail key seals their provider passwords; presence and vacation
    // go to the portal's data folder, where setup's mail sync (every two minutes) reads them.
    ['PORTAL_MAIL_KEY_FILE', `${credentials(profile)}/mail-key`],
    ['PORTAL_MAIL_DOMAIN', answers.domain],
    ['PORTAL_MAIL_PRESENCE_FILE', `${profile.portal.dataDir}/mail-presence.json`],
    ['PORTAL_MAIL_SYNC_UNIT', ''],
    ['PORTAL_DATA_DIR', profile.portal.dataDir],
    // Home and group folders are root's: the fileserver module's `invis-setup sync homes` makes
    // and archives them; the portal, unprivileged, only writes the directory.
    ['PORTAL_FOLDERS', 'server'],
    ['PORTAL_INTERNAL_NETWORKS', inside.join(',')],
    ['PORTAL_TRUSTED_PROXIES', ''],
    ['PORTAL_CERT_FILES', SERVER_CERTIFICATES.map((n) => `${n}=${paths.certs[n].cert}`).join(',')],
    ['PORTAL_INETCHECK_FILE', profile.spool.inetcheck],
    ['PORTAL_JOBS_DIR', profile.jobsDir],
    // Hosts (AD + DHCP + DNS) in the LAN; the DHCP sync timer pushes reservations within a minute
    // (the portal's own user may not start units, so no sync unit is named).
    ['PORTAL_LAN_SUBNET', networkOf(lan).cidr],
    ...(answers.dhcp.server === 'kea' ? [['PORTAL_DHCP_LEASE_FILE', profile.kea.leaseFile] as [string, string]] : []),
    ['PORTAL_DHCP_SYNC_UNIT', ''],
    // `[servername]` in the home page's web-app tiles: the LAN name inside, the DDNS name outside.
    ['PORTAL_INTERNAL_NAME', `${answers.hostname}.${answers.domain}`],
    ['PORTAL_APP_ORIGINS', answers.mail.webmail ? webmailOrigin(answers) : ''],
    // Root's part through invis-privileged.socket: the DHCP and mail syncs at once after a change
    // (the timers stay as the safety net), and with a VPN network the VPN page on root's PKI.
    ['PORTAL_PRIVILEGED_SOCKET', PRIVILEGED_SOCKET],
    ['PORTAL_VPN_PRIVILEGED', answers.vpn ? 'true' : 'false'],
    // The transfer area: the fileserver module gives invis-portal an ACL on downloads/uploads
    // (the portal writes nothing else in the shares); uploads pass the mail filter's clamd.
    ['PORTAL_TRANSFER_DIR', profile.shares.portal],
    ['PORTAL_TRANSFER_QUARANTINE_DIR', `${profile.portal.dataDir}/quarantine`],
    ['PORTAL_TRANSFER_SCANNER', answers.mail.filter === 'rspamd' ? 'clamdscan' : 'none'],
    ...(answers.ddns ? [['PORTAL_EXTERNAL_NAME', answers.ddns.fqdn] as [string, string]] : []),
  ];
  return [
    generatedMarker('@invis/setup-1', 'hash'),
    '# The portal serves HTTPS itself (no proxy in front); secrets come as systemd credentials.',
    ...env.map(([k, v]) => `${k}=${v}`),
    '',
  ].join('\n');
}

/**
 * The portal's unit: its own user, hardened, only its data folder writable, no capabilities (the
 * random port is above 1024), the web key and the LDAP password as credentials.
 * @param ctx profile and answers
 * @returns the unit file
 */
export function renderPortalUnit(ctx: Pick<ModuleContext, 'profile' | 'answers' | 'secrets'>): string {
  const { profile } = ctx;
  const { portal } = profile;
  const paths = certificatePaths(ctx);
  return renderUnit('The invis portal (web UI and REST API).', {
    Unit: [
      ['Description', 'invis portal'],
      ['After', 'network-online.target samba-ad-dc.service'],
      ['Wants', 'network-online.target'],
    ],
    Service: [
      ['Type', 'simple'],
      ['User', portal.user],
      ['Group', portal.user],
      ['EnvironmentFile', portal.envFile],
      ['ExecStart', portal.execStart.join(' ')],
      ['LoadCredential', `web-key:${paths.certs.web.key}`],
      ['LoadCredential', `ldap-password:${ctx.secrets.pathOf('ad-invis-portal-admin')}`],
      ['LoadCredential', `mail-key:${ctx.secrets.pathOf(MAIL_KEY_SECRET)}`],
      ['Restart', 'on-failure'],
      ...HARDENING,
      // `-`: the transfer area exists only with the fileserver module.
      ['ReadWritePaths', `${portal.dataDir} -${profile.shares.portal}`],
      ['CapabilityBoundingSet', ''],
      ['AmbientCapabilities', ''],
    ],
    Install: [['WantedBy', 'multi-user.target']],
  });
}

/**
 * The portal's door to root: a socket only root and the group `invis-portal` may open (systemd
 * creates it root:invis-portal 0660 in /run/invis), and per connection (Accept=yes) one
 * `invis-setup privileged` with the connection as stdin/stdout that answers one request and
 * exits. The service is root (it writes the PKI, the CRL and what the syncs write), hardened as
 * far as those syncs allow: /usr and /boot read-only, no devices, no kernel or namespace tricks.
 * @param profile the platform (the setup command)
 * @returns the socket unit and its service template
 */
export function renderPrivilegedUnits(profile: PlatformProfile): { socket: string; service: string } {
  const socket = renderUnit('The portal asks root through this socket (invis-setup privileged).', {
    Unit: [['Description', 'invis: privileged requests of the portal']],
    Socket: [
      ['ListenStream', PRIVILEGED_SOCKET],
      ['SocketUser', 'root'],
      ['SocketGroup', profile.portal.user],
      ['SocketMode', '0660'],
      ['DirectoryMode', '0755'],
      ['Accept', 'yes'],
      // A handful at once (an admin issuing bundles while a sync runs); more wait in the backlog.
      ['MaxConnections', '8'],
    ],
    Install: [['WantedBy', 'sockets.target']],
  });
  // Everything of HARDENING but the read-only /etc, /var and /home: the syncs write there.
  const hardening = HARDENING.filter(([key]) => key !== 'ProtectSystem' && key !== 'ProtectHome');
  const service = renderUnit('One privileged request of the portal (started by invis-privileged.socket).', {
    Unit: [
      ['Description', 'invis: one privileged request of the portal'],
      ['After', 'network-online.target samba-ad-dc.service'],
    ],
    Service: [
      ['Type', 'simple'],
      ['ExecStart', [...profile.setupCommand, 'privileged'].join(' ')],
      ['StandardInput', 'socket'],
      ['StandardOutput', 'socket'],
      ['StandardError', 'journal'],
      // A sync may take its time; a stuck request may not stay forever.
      ['RuntimeMaxSec', '300'],
      ...hardening,
      ['ProtectSystem', 'yes'],
    ],
  });
  return { socket, service };
}

/** sysusers.d entry: the system user `invis-portal` with its data folder as home. */
export function renderPortalSysusers(profile: PlatformProfile): string {
  const { user, dataDir } = profile.portal;
  return `${generatedMarker('@invis/setup-1', 'hash')}\nu ${user} - "invis portal" ${dataDir} /usr/sbin/nologin\n`;
}

const unitPath = (profile: PlatformProfile) => `${profile.systemd.unitDir}/${profile.portal.unit}.service`;
const privilegedPath = (profile: PlatformProfile, suffix: 'socket' | '@.service') =>
  `${profile.systemd.unitDir}/${PRIVILEGED_UNIT}${suffix === 'socket' ? '.socket' : suffix}`;

const spec = fileModule({
  id: 'portal',
  title: { de: 'Portal', en: 'Portal' },
  dependsOn: ['ca', 'samba_ad', 'firewall'],
  render: (ctx) => {
    const { profile } = ctx;
    const privileged = renderPrivilegedUnits(profile);
    const installedLater = [profile.setupCommand[0] ?? ''];
    return {
      directories: [
        { path: '/etc/invis', mode: 0o755 },
        { path: '/etc/sysusers.d', mode: 0o755 },
        { path: profile.systemd.unitDir, mode: 0o755 },
      ],
      files: [
        { path: `/etc/sysusers.d/${profile.portal.user}.conf`, content: renderPortalSysusers(profile), mode: 0o644 },
        { path: profile.portal.envFile, content: renderPortalEnv(ctx), mode: 0o644 },
        {
          path: unitPath(profile),
          content: renderPortalUnit(ctx),
          mode: 0o644,
          check: (c, candidate) => verifyUnit(c, candidate, [], [profile.portal.execStart[0] ?? '']),
        },
        {
          path: privilegedPath(profile, '@.service'),
          content: privileged.service,
          mode: 0o644,
          check: (c, candidate) => verifyUnit(c, candidate, [], installedLater),
        },
        {
          path: privilegedPath(profile, 'socket'),
          content: privileged.socket,
          mode: 0o644,
          check: (c, candidate) =>
            verifyUnit(
              c,
              candidate,
              [{ name: `${PRIVILEGED_UNIT}@.service`, content: privileged.service }],
              installedLater,
            ),
        },
      ],
      services: [],
      commands: [
        {
          command: 'systemd-sysusers',
          args: [`/etc/sysusers.d/${profile.portal.user}.conf`],
          reason: 'create the portal user',
        },
        { command: 'systemctl', args: ['daemon-reload'], reason: 'load the portal unit' },
      ],
    };
  },
  async verifyLive(ctx) {
    const checks = [];
    for (const unit of [ctx.profile.portal.unit, `${PRIVILEGED_UNIT}.socket`]) {
      const active = await ctx.services.isActive(unit);
      checks.push({ name: `service ${unit}`, ok: active, ...(active ? {} : { problem: `${unit} is not running` }) });
    }
    return checks;
  },
});

/** The `portal` module: the files, then (after sysusers and daemon-reload) a restart of the portal. */
export const portalModule: SetupModule = {
  ...spec,
  async apply(ctx) {
    // The unit loads the mail key as a credential: it must exist before the portal starts.
    await ensureMailKey(ctx);
    const report = await spec.apply(ctx);
    // After sysusers: the transfer area's ACL for the portal user, when the fileserver came first.
    await grantPortalTransfer(ctx);
    if (report.changed && !ctx.staging) {
      // The socket after sysusers (its group) and daemon-reload; then the portal that uses it.
      await ctx.services.restart(`${PRIVILEGED_UNIT}.socket`);
      await ctx.services.restart(ctx.profile.portal.unit);
    }
    return report;
  },
};

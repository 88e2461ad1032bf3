// `webdav`: the shares over WebDAV (what branch servers and @invis/owncloud-sync sync against, as
// no ownCloud server is in Debian): Apache 2.4 mod_dav_fs over TLS with the `ca` module's web
// certificate, users authenticated against AD over LDAPS (searched as the read-only account
// invis-portal, then bound as themselves), and per share the same groups as over SMB. One site
// file of setup's own in Debian's Apache layout; it loads the modules it needs itself, so nothing
// is enabled in mods-enabled and the admin's other Apache sites stay as they are.
import { writeFile } from 'node:fs/promises';
import { applyReport, generatedMarker, type PlannedCommand } from '@invis/host';
import { SetupError } from '../errors';
import { type InvisShare, invisShareLayout, layoutFolders } from '../fileserver-layout';
import {
  type CheckResult,
  fileModule,
  type ModuleContext,
  type ModulePlan,
  runChecker,
  type SetupModule,
  type VerifyCheck,
} from '../module';
import { parseCidr } from '../net';
import { certificatePaths } from './ca';

/** Apache modules the site needs; each is loaded by the site unless the admin's config already does. */
const APACHE_MODULES = [
  'authz_core',
  'authz_user',
  'authn_core',
  'auth_basic',
  'alias',
  'ssl',
  'ldap',
  'authnz_ldap',
  'dav',
  'dav_fs',
];

/** Methods that only read; every other method writes (PUT, DELETE, MKCOL, MOVE, COPY, PROPPATCH, LOCK, …). */
const READ_METHODS = 'GET HEAD OPTIONS PROPFIND';

/** How long Apache trusts a cached LDAP answer: a removed group member or changed password counts after this. */
const LDAP_CACHE_SECONDS = 60;

/** The domain's base DN (`firma.loc` → `DC=firma,DC=loc`). */
export const baseDn = (domain: string): string =>
  domain
    .split('.')
    .map((l) => `DC=${l}`)
    .join(',');

/**
 * The DN of an invis group: setup and the portal create groups in `CN=Users` (ad-client's
 * default). A group an admin moved elsewhere is not found, so access is refused, never widened.
 * @param name the group's sAMAccountName (letters, digits, blank, `_ . $ -`; nothing a DN escapes)
 * @param domain the AD domain
 * @returns the group's DN
 */
export const groupDn = (name: string, domain: string): string => `CN=${name},CN=Users,${baseDn(domain)}`;

/** The LAN address WebDAV listens on (not the WAN side, not every address). */
const lanAddress = (ctx: Pick<ModuleContext, 'answers'>): string =>
  (parseCidr(ctx.answers.lan.address) as NonNullable<ReturnType<typeof parseCidr>>).address;

/** A share as WebDAV serves it: the fileserver's layout entry, reduced to what Apache decides on. */
export type DavShare = Pick<InvisShare, 'name' | 'path'> & {
  /** AD groups that read and write (`Domain Users`: every enabled domain user). */
  groups: readonly string[];
  /** AD groups that only read. */
  readOnlyGroups: readonly string[];
};

/**
 * The shares WebDAV serves: those whose folder is a team folder of the layout (its group's
 * access and default ACL govern everything in it). `gruppen` and `portal` hold per-group and
 * per-user folders that only file permissions keep apart; Apache reads as one user for everyone,
 * so it would see into all of them — they are not served.
 * @param ctx the profile
 * @returns the shares
 */
export function davShares(ctx: Pick<ModuleContext, 'profile'>): DavShare[] {
  const teamFolders = new Set(layoutFolders(ctx).flatMap((f) => (f.aclGroup ? [f.path] : [])));
  return invisShareLayout(ctx)
    .filter((s) => teamFolders.has(s.path))
    .map((s) => ({ name: s.name, path: s.path, groups: s.groups, readOnlyGroups: s.readOnlyGroups }));
}

/**
 * Who may read and who may write a share, as `Require` lines — the SMB rules of the share: its
 * groups read and write, its read-only groups only read (GET, HEAD, OPTIONS, PROPFIND), nobody
 * else gets in. `Domain Users` is every user the LDAP filter lets in (`valid-user`): AD lists
 * nobody in that group's `member`, it is everyone's primary group.
 * @param share the share
 * @param domain the AD domain
 * @returns the lines of the share's `<LocationMatch>`
 */
export function requireLines(share: DavShare, domain: string): string[] {
  const group = (g: string) =>
    g === 'Domain Users' ? 'Require valid-user' : `Require ldap-group ${groupDn(g, domain)}`;
  const indent = (l: string) => `\t${l}`;
  const readers = [...new Set([...share.groups, ...share.readOnlyGroups].map(group))];
  // Writers are limited only when some group may just read: then the share's groups (none: nobody).
  const writers = share.readOnlyGroups.length === 0 ? undefined : share.groups.map(group);
  return [
    '<RequireAll>',
    ...['<RequireAny>', ...readers.map(indent), '</RequireAny>'].map(indent),
    ...(writers === undefined
      ? []
      : ['<RequireAny>', indent(`Require method ${READ_METHODS}`), ...writers.map(indent), '</RequireAny>'].map(
          indent,
        )),
    '</RequireAll>',
  ];
}

/**
 * The Apache site: `Listen` on the LAN address, a TLS virtual host with the web certificate, Basic
 * authentication against AD over LDAPS (only enabled people, not computers: `objectCategory=person`
 * and the disabled bit unset), every share at `/dav/<name>/` with `Dav On`, no symlinks followed,
 * no .htaccess, and its `Require` lines. Range PUTs (`Content-Range`) are mod_dav_fs's own.
 * @param ctx answers and profile
 * @param shares what to serve
 * @param place maps a server path to where the checker finds it (identity for the file on disk)
 * @returns the file content
 */
export function renderWebdavSite(
  ctx: Pick<ModuleContext, 'answers' | 'profile' | 'secrets'>,
  shares: readonly DavShare[],
  place: (path: string) => string = (p) => p,
): string {
  const { answers, profile } = ctx;
  const w = profile.webdav;
  const tls = certificatePaths(ctx);
  const lan = lanAddress(ctx);
  const host = `${answers.hostname}.${answers.domain}`;
  const endpoint = `${lan}:${answers.webdav.port}`;
  const filter = '(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))';
  const lines = [
    generatedMarker('@invis/setup-1', 'hash'),
    '# WebDAV access to the invis shares (invis-setup module webdav): TLS, AD users, per-share groups as over SMB.',
    ...APACHE_MODULES.flatMap((m) => [
      `<IfModule !${m}_module>`,
      `\tLoadModule ${m}_module ${w.modulesDir}/mod_${m}.so`,
      '</IfModule>',
    ]),
    `Listen ${endpoint} https`,
    `LDAPTrustedGlobalCert CA_BASE64 ${place(tls.caCert)}`,
    `LDAPCacheTTL ${LDAP_CACHE_SECONDS}`,
    `LDAPOpCacheTTL ${LDAP_CACHE_SECONDS}`,
    `<VirtualHost ${endpoint}>`,
    `\tServerName ${host}`,
    // An empty folder: anything outside /dav/<share> is refused by Debian's <Directory />.
    `\tDocumentRoot ${place(w.documentRoot)}`,
    '\tSSLEngine on',
    `\tSSLCertificateFile ${place(tls.certs.web.cert)}`,
    `\tSSLCertificateKeyFile ${place(tls.certs.web.key)}`,
    '\tSSLProtocol -all +TLSv1.2 +TLSv1.3',
    `\tDavLockDB \${APACHE_LOCK_DIR}/${w.lockName}`,
    `\tErrorLog \${APACHE_LOG_DIR}/${w.logName}-error.log`,
    `\tCustomLog \${APACHE_LOG_DIR}/${w.logName}-access.log combined`,
    '\t<Location /dav>',
    '\t\tAuthType Basic',
    '\t\tAuthName "invis"',
    '\t\tAuthBasicProvider ldap',
    // A user whose password is right but who may not use the share gets 403, not another password prompt.
    '\t\tAuthzSendForbiddenOnFailure On',
    `\t\tAuthLDAPURL "ldaps://${lan}:636/${baseDn(answers.domain)}?sAMAccountName?sub?${filter}"`,
    `\t\tAuthLDAPBindDN ${profile.portal.user}@${answers.domain}`,
    // Read by Apache's root parent at start through a pipe: the password is in no file of Apache's.
    `\t\tAuthLDAPBindPassword "exec:${w.cat} ${place(ctx.secrets.pathOf('ad-invis-portal'))}"`,
    '\t</Location>',
    ...shares.flatMap((share) => [
      `\tAlias /dav/${share.name} ${place(share.path)}`,
      `\t<Directory ${place(share.path)}>`,
      '\t\tDav On',
      '\t\tOptions None',
      '\t\tAllowOverride None',
      '\t</Directory>',
      `\t<LocationMatch "^/dav/${share.name}(/|$)">`,
      ...requireLines(share, answers.domain).map((l) => `\t\t${l}`),
      '\t</LocationMatch>',
    ]),
    '</VirtualHost>',
    '',
  ];
  return lines.join('\n');
}

/**
 * Runs `apache2 -t` on the site as the only config besides an MPM and a main error log: the site with its paths placed
 * below the staging root (certificates, secret, shares), Debian's envvars as defines.
 * @param ctx the context
 * @param shares what the site serves
 * @param candidate the written candidate (its folder takes the placed copy and the test's lock and log)
 * @returns the verdict
 */
export async function checkWebdavSite(
  ctx: ModuleContext,
  shares: readonly DavShare[],
  candidate: string,
): Promise<CheckResult> {
  const dir = candidate.slice(0, candidate.lastIndexOf('/'));
  const placed = `${dir}/placed.conf`;
  await writeFile(
    placed,
    renderWebdavSite(ctx, shares, (p) => ctx.fs.hostPath(p)),
    { mode: 0o600 },
  );
  const w = ctx.profile.webdav;
  return runChecker(ctx.runner, w.apache2, [
    '-t',
    '-C',
    `Define APACHE_LOCK_DIR ${dir}`,
    '-C',
    `Define APACHE_LOG_DIR ${dir}`,
    '-C',
    `LoadModule mpm_event_module ${w.modulesDir}/mod_mpm_event.so`,
    // apache2.conf's main error log, which this check leaves out.
    '-C',
    `ErrorLog ${dir}/error.log`,
    '-f',
    placed,
  ]);
}

/**
 * The `setfacl` steps still missing (live, not when staging): Apache's user on each served share's
 * folder and as its default for what is made in it — never more than the share's group may (`-n`
 * keeps the mask), and not recursive: a folder inside that its owner closed (e.g.
 * `archiv/sicherungen`, root only) stays closed to WebDAV. Read with `getfacl`, so a second apply
 * runs nothing and an entry removed behind setup's back is planned again.
 * @param ctx the context
 * @returns the commands
 */
async function aclSteps(ctx: ModuleContext): Promise<PlannedCommand[]> {
  if (ctx.staging) return [];
  const { user } = ctx.profile.webdav;
  const steps: PlannedCommand[] = [];
  for (const share of davShares(ctx)) {
    const acl = await ctx.runner.run(ctx.profile.shares.getfacl, ['-c', '-E', '-p', share.path]);
    if (acl.exitCode !== 0) {
      throw new SetupError('SETUP_CHECK_FAILED', `getfacl ${share.path}: ${acl.output.trim()}`, {
        details: { module: 'webdav', path: share.path },
      });
    }
    const entries = acl.stdout.split('\n').map((l) => l.trim());
    if (entries.includes(`user:${user}:rwx`) && entries.includes(`default:user:${user}:rwx`)) continue;
    steps.push({
      command: ctx.profile.shares.setfacl,
      args: ['-n', '-m', `u:${user}:rwx,d:u:${user}:rwx`, share.path],
      reason: `${user} (Apache) reaches ${share.path}; what it makes there gets the share's group and mode`,
    });
  }
  return steps;
}

const spec = fileModule({
  id: 'webdav',
  title: { de: 'WebDAV-Zugang zu den Freigaben', en: 'WebDAV access to the shares' },
  dependsOn: ['ca', 'samba_ad', 'fileserver'],
  render: (ctx) => {
    const { profile } = ctx;
    const shares = davShares(ctx);
    return {
      directories: [
        { path: profile.webdav.sitesDir, mode: 0o755 },
        { path: profile.webdav.documentRoot, mode: 0o755 },
      ],
      files: [
        {
          path: `${profile.webdav.sitesDir}/${profile.webdav.site}`,
          content: renderWebdavSite(ctx, shares),
          mode: 0o644,
          check: (c, candidate) => checkWebdavSite(c, shares, candidate),
        },
      ],
      services: [{ unit: profile.webdav.unit, action: 'reload-or-restart' }],
      commands: [],
    };
  },
});

/** The `webdav` module: the site (Apache reloaded), then Apache's ACL entries on the shares. */
export const webdavModule: SetupModule = {
  ...spec,
  async plan(ctx): Promise<ModulePlan> {
    const plan = await spec.plan(ctx);
    return { ...plan, commands: [...plan.commands, ...(await aclSteps(ctx))] };
  },
  async apply(ctx) {
    const report = await spec.apply(ctx);
    const steps = await aclSteps(ctx);
    for (const step of steps) {
      const result = await ctx.runner.run(step.command, step.args);
      if (result.exitCode !== 0) {
        throw new SetupError('SETUP_CHECK_FAILED', `setfacl ${step.args.at(-1)}: ${result.output.trim()}`, {
          details: { module: 'webdav', exitCode: result.exitCode },
        });
      }
    }
    if (steps.length === 0) return report;
    return applyReport({ ...report, commands: [...report.commands, ...steps] }, { timings: report.timings });
  },
  async verify(ctx): Promise<VerifyCheck[]> {
    const checks = await spec.verify(ctx);
    if (ctx.staging) return checks;
    const unit = ctx.profile.webdav.unit;
    const active = await ctx.services.isActive(unit);
    const missing = await aclSteps(ctx);
    return [
      ...checks,
      { name: `service ${unit}`, ok: active, ...(active ? {} : { problem: `${unit} is not running` }) },
      ...missing.map((m) => ({
        name: `acl ${m.args.at(-1)}`,
        ok: false,
        problem: `no ${ctx.profile.webdav.user} entries (run apply)`,
      })),
    ];
  },
};

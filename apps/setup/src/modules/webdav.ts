// `webdav`: the shares over WebDAV (what branch servers and @invis/owncloud-sync sync against, as
// no ownCloud server is in Debian): Apache 2.4 mod_dav_fs over TLS with the `ca` module's web
// certificate, users authenticated against AD over LDAPS (searched as the read-only account
// invis-portal, then bound as themselves), and per share the same groups as over SMB. One site
// file of setup's own in Debian's Apache layout; it loads the modules it needs itself, so nothing
// is enabled in mods-enabled and the admin's other Apache sites stay as they are.
import { writeFile } from 'node:fs/promises';
import { type ApplyReport, applyReport, generatedMarker, type PlannedCommand } from '@invis/host';
import { SetupError } from '../errors';
import { type InvisShare, invisShareLayout, layoutFolders } from '../fileserver-layout';
import {
  type CheckResult,
  fileModule,
  type ModuleContext,
  type ModulePlan,
  type Rendered,
  runChecker,
  type SetupModule,
  type VerifyCheck,
} from '../module';
import { parseCidr } from '../net';
import { type DavGroupFolder, readDavGroupFolders } from '../webdav-groups';
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

/** Who may read and write: AD groups (`Domain Users`: every enabled domain user). */
export interface DavAccess {
  /** AD groups that read and write. */
  groups: readonly string[];
  /** AD groups that only read. */
  readOnlyGroups: readonly string[];
}

/** A share as WebDAV serves it: the fileserver's layout entry, reduced to what Apache decides on. */
export type DavShare = Pick<InvisShare, 'name' | 'path'> &
  DavAccess & {
    /**
     * How Apache, one reader for everyone, is kept to the SMB rules: `team` — a team folder whose
     * group ACL governs everything in it, Apache's user gets entries on it; `open` — read-only
     * for everyone, Apache reads through the folders' own bits (what is closed on disk stays
     * closed); `groups` — one folder per group below it, each served to its group only.
     */
    kind: 'team' | 'open' | 'groups';
  };

/**
 * The shares WebDAV serves: the team folders of the layout, `portal` (read-only for every user,
 * as over SMB) and `gruppen` (each group folder to its group). A share that fits none of these is
 * not served.
 * @param ctx the profile
 * @returns the shares
 */
export function davShares(ctx: Pick<ModuleContext, 'profile'>): DavShare[] {
  const teamFolders = new Set(layoutFolders(ctx).flatMap((f) => (f.aclGroup ? [f.path] : [])));
  const { gruppen, portal } = ctx.profile.shares;
  return invisShareLayout(ctx).flatMap((s) => {
    const readOnly = s.groups.length === 0;
    const kind = teamFolders.has(s.path)
      ? 'team'
      : s.path === gruppen
        ? 'groups'
        : s.path === portal && readOnly
          ? 'open'
          : undefined;
    return kind ? [{ name: s.name, path: s.path, groups: s.groups, readOnlyGroups: s.readOnlyGroups, kind }] : [];
  });
}

/** A team folder of the layout inside a served share, with the group its ACL gives. */
interface TeamSubfolder {
  path: string;
  /** Below the share's folder (`portal/verzeichnisvorlagen`). */
  relative: string;
  group: string;
}

/**
 * The layout's team folders inside a team share (`archiv/user`, `media/portal`, …), parents
 * first. Apache's user gets entries on each, so WebDAV reaches them as SMB does.
 * @param ctx the profile
 * @param share the share
 * @returns the folders
 */
function teamSubfolders(ctx: Pick<ModuleContext, 'profile'>, share: DavShare): TeamSubfolder[] {
  return layoutFolders(ctx).flatMap((f) =>
    f.aclGroup && f.path.startsWith(`${share.path}/`)
      ? [{ path: f.path, relative: f.path.slice(share.path.length + 1), group: f.aclGroup }]
      : [],
  );
}

/**
 * Rules for the team folders inside a share whose group is not one of the share's writers (the
 * folder templates: `media/portal` is diradmins' in a share of every user): that group writes,
 * the share's other users only read — as the folder's permissions decide over SMB. A folder below
 * one with a rule for the same group needs none of its own.
 * @param ctx the profile
 * @param share the share
 * @returns `[relative path, access]` in the order the site lists them (after the share's own)
 */
export function subfolderRules(ctx: Pick<ModuleContext, 'profile'>, share: DavShare): [string, DavAccess][] {
  if (share.kind !== 'team') return [];
  const rules: [string, DavAccess][] = [];
  for (const f of teamSubfolders(ctx, share)) {
    if (share.groups.includes(f.group)) continue;
    if (rules.some(([relative, access]) => f.relative.startsWith(`${relative}/`) && access.groups[0] === f.group)) {
      continue;
    }
    const readers = [...share.groups, ...share.readOnlyGroups].filter((g) => g !== f.group);
    rules.push([f.relative, { groups: [f.group], readOnlyGroups: readers }]);
  }
  return rules;
}

/** `text` as a literal inside a regex (group folder names may hold `.`, `$`, parentheses). */
const regexLiteral = (text: string): string => text.replace(/[.$^()[\]{}*+?|\\]/g, '\\$&');

/**
 * Who may read and who may write a share, as `Require` lines — the SMB rules of the share: its
 * groups read and write, its read-only groups only read (GET, HEAD, OPTIONS, PROPFIND), nobody
 * else gets in. `Domain Users` is every user the LDAP filter lets in (`valid-user`): AD lists
 * nobody in that group's `member`, it is everyone's primary group.
 * @param share who reads and writes
 * @param domain the AD domain
 * @returns the lines of the share's `<LocationMatch>`
 */
export function requireLines(share: DavAccess, domain: string): string[] {
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
 * The `gruppen` share refuses everything; after it (later sections win) each group folder admits
 * its group — a folder without a rule of its own (a new one before the sync, an archived one)
 * stays refused.
 * @param ctx answers and profile
 * @param shares what to serve
 * @param groupFolders the folders below `gruppen` and their groups
 * @param place maps a server path to where the checker finds it (identity for the file on disk)
 * @returns the file content
 */
export function renderWebdavSite(
  ctx: Pick<ModuleContext, 'answers' | 'profile' | 'secrets'>,
  shares: readonly DavShare[],
  groupFolders: readonly DavGroupFolder[],
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
      // The group share's root lists no folder: Apache, one reader for all, would list every
      // group's (SMB hides the unreadable ones per user). Each group folder has its own URL.
      ...(share.kind === 'groups'
        ? ['\t\tRequire all denied']
        : requireLines(share, answers.domain).map((l) => `\t\t${l}`)),
      '\t</LocationMatch>',
      ...subfolderRules(ctx, share).flatMap(([relative, access]) => [
        `\t<LocationMatch "^/dav/${share.name}/${regexLiteral(relative)}(/|$)">`,
        ...requireLines(access, answers.domain).map((l) => `\t\t${l}`),
        '\t</LocationMatch>',
      ]),
      ...(share.kind === 'groups'
        ? groupFolders.flatMap((g) => [
            `\t<LocationMatch "^/dav/${share.name}/${regexLiteral(g.folder)}(/|$)">`,
            ...requireLines({ groups: [g.group], readOnlyGroups: [] }, answers.domain).map((l) => `\t\t${l}`),
            '\t</LocationMatch>',
          ])
        : []),
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
 * @param groupFolders the group folders it serves
 * @param candidate the written candidate (its folder takes the placed copy and the test's lock and log)
 * @returns the verdict
 */
export async function checkWebdavSite(
  ctx: ModuleContext,
  shares: readonly DavShare[],
  groupFolders: readonly DavGroupFolder[],
  candidate: string,
): Promise<CheckResult> {
  const dir = candidate.slice(0, candidate.lastIndexOf('/'));
  const placed = `${dir}/placed.conf`;
  await writeFile(
    placed,
    renderWebdavSite(ctx, shares, groupFolders, (p) => ctx.fs.hostPath(p)),
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

/** A folder Apache's user gets entries on; `tree`: also on everything already in it. */
interface AclTarget {
  path: string;
  tree: boolean;
}

/**
 * Where Apache's user needs entries: each team share's folder and the layout's team folders in
 * it, not recursively (a folder inside that its owner closed, e.g. `archiv/sicherungen`, root
 * only, stays closed to WebDAV); each
 * served group folder with what is in it already (a template the portal copied, files made over
 * SMB before the sync), as SMB lets the group into all of it.
 * @param ctx the profile
 * @param groupFolders the served group folders (none: only the team shares)
 * @param teamShares whether the team shares are wanted too
 * @returns the folders
 */
function aclTargets(
  ctx: Pick<ModuleContext, 'profile'>,
  groupFolders: readonly DavGroupFolder[],
  teamShares: boolean,
): AclTarget[] {
  const shares = davShares(ctx);
  const gruppen = shares.find((s) => s.kind === 'groups');
  return [
    ...(teamShares
      ? [
          ...new Set(
            shares
              .filter((s) => s.kind === 'team')
              .flatMap((s) => [s.path, ...teamSubfolders(ctx, s).map((f) => f.path)]),
          ),
        ].map((path) => ({ path, tree: false }))
      : []),
    ...(gruppen ? groupFolders.map((g) => ({ path: `${gruppen.path}/${g.folder}`, tree: true })) : []),
  ];
}

/**
 * The `setfacl` steps still missing (live, not when staging): Apache's user on each folder and as
 * its default for what is made in it — never more than the folder's group may (`-n` keeps the
 * mask), no link followed (`-P`). Read with `getfacl` on the folder itself, so a second run does
 * nothing and an entry removed behind setup's back is planned again.
 * @param ctx the context
 * @param targets the folders
 * @returns the commands
 */
async function aclSteps(ctx: ModuleContext, targets: readonly AclTarget[]): Promise<PlannedCommand[]> {
  if (ctx.staging) return [];
  const { user } = ctx.profile.webdav;
  const steps: PlannedCommand[] = [];
  for (const target of targets) {
    const acl = await ctx.runner.run(ctx.profile.shares.getfacl, ['-c', '-E', '-p', target.path]);
    if (acl.exitCode !== 0) {
      throw new SetupError('SETUP_CHECK_FAILED', `getfacl ${target.path}: ${acl.output.trim()}`, {
        details: { module: 'webdav', path: target.path },
      });
    }
    const entries = acl.stdout.split('\n').map((l) => l.trim());
    if (entries.includes(`user:${user}:rwx`) && entries.includes(`default:user:${user}:rwx`)) continue;
    steps.push({
      command: ctx.profile.shares.setfacl,
      // `X`: folders (and files already executable) get x, other files rw within the mask.
      args: ['-P', '-n', ...(target.tree ? ['-R'] : []), '-m', `u:${user}:rwX,d:u:${user}:rwx`, '--', target.path],
      reason: `${user} (Apache) reaches ${target.path}; what it makes there gets the folder's group and mode`,
    });
  }
  return steps;
}

/** Runs the `setfacl` steps; the first that fails stops with its output. */
async function runAclSteps(ctx: ModuleContext, steps: readonly PlannedCommand[]): Promise<void> {
  for (const step of steps) {
    const result = await ctx.runner.run(step.command, step.args);
    if (result.exitCode !== 0) {
      throw new SetupError('SETUP_CHECK_FAILED', `setfacl ${step.args.at(-1)}: ${result.output.trim()}`, {
        details: { module: 'webdav', exitCode: result.exitCode },
      });
    }
  }
}

const TITLE = { de: 'WebDAV-Zugang zu den Freigaben', en: 'WebDAV access to the shares' };

/** The module's files for the given group folders: the site (checked with apache2 -t), Apache reloaded. */
function renderWebdav(ctx: ModuleContext, groupFolders: readonly DavGroupFolder[]): Rendered {
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
        content: renderWebdavSite(ctx, shares, groupFolders),
        mode: 0o644,
        check: (c, candidate) => checkWebdavSite(c, shares, groupFolders, candidate),
      },
    ],
    // Debian's reload is `apachectl graceful`: requests in flight finish.
    services: [{ unit: profile.webdav.unit, action: 'reload-or-restart' }],
    commands: [],
  };
}

/** The served group folders: none when staging (no directory to ask). */
async function groupFoldersOf(ctx: ModuleContext): Promise<DavGroupFolder[]> {
  return ctx.staging ? [] : (await readDavGroupFolders(ctx)).served;
}

/** The site as a file module; `directories: false` for the sync, which may write the site only. */
const siteModule = (groupFolders: readonly DavGroupFolder[], directories = true) =>
  fileModule({
    id: 'webdav',
    title: TITLE,
    dependsOn: [],
    render: (ctx) => {
      const rendered = renderWebdav(ctx, groupFolders);
      return directories ? rendered : { ...rendered, directories: [] };
    },
  });

/** What `syncDavGroups` did: the site's report, and the group folders left out (not served). */
export interface DavGroupsSyncReport {
  report: ApplyReport;
  served: string[];
  skipped: string[];
}

/**
 * The group folders after the portal created or deleted groups (root, from `invis-setup sync
 * homes` every minute): Apache's entries on new group folders first, then the site rendered for
 * the folders there are now — written and Apache gracefully reloaded only when it changed, checked
 * with apache2 -t before, the previous site back when the reload fails. Nothing when the webdav
 * module is not applied (no site).
 * @param ctx the module context (live)
 * @returns what changed, or undefined without the site
 */
export async function syncDavGroups(ctx: ModuleContext): Promise<DavGroupsSyncReport | undefined> {
  const { webdav } = ctx.profile;
  if (!(await ctx.fs.exists(`${webdav.sitesDir}/${webdav.site}`))) return undefined;
  const { served, skipped } = await readDavGroupFolders(ctx);
  const steps = await aclSteps(ctx, aclTargets(ctx, served, false));
  await runAclSteps(ctx, steps);
  // Only the site: its folders exist (apply made them), and the sync may not write elsewhere.
  const report = await siteModule(served, false).apply(ctx);
  return {
    report: steps.length === 0 ? report : applyReport({ ...report, commands: [...report.commands, ...steps] }),
    served: served.map((g) => g.folder),
    skipped,
  };
}

/** The `webdav` module: the site (Apache reloaded), then Apache's ACL entries on the shares and group folders. */
export const webdavModule: SetupModule = {
  id: 'webdav',
  title: TITLE,
  dependsOn: ['ca', 'samba_ad', 'fileserver'],
  async plan(ctx): Promise<ModulePlan> {
    const groupFolders = await groupFoldersOf(ctx);
    const plan = await siteModule(groupFolders).plan(ctx);
    return { ...plan, commands: [...plan.commands, ...(await aclSteps(ctx, aclTargets(ctx, groupFolders, true)))] };
  },
  async apply(ctx) {
    const groupFolders = await groupFoldersOf(ctx);
    // Entries first: a group folder the new site admits is already reachable for Apache.
    const steps = await aclSteps(ctx, aclTargets(ctx, groupFolders, true));
    await runAclSteps(ctx, steps);
    const report = await siteModule(groupFolders).apply(ctx);
    if (steps.length === 0) return report;
    return applyReport({ ...report, commands: [...report.commands, ...steps] }, { timings: report.timings });
  },
  async verify(ctx): Promise<VerifyCheck[]> {
    const groupFolders = await groupFoldersOf(ctx);
    const checks = await siteModule(groupFolders).verify(ctx);
    if (ctx.staging) return checks;
    const unit = ctx.profile.webdav.unit;
    const active = await ctx.services.isActive(unit);
    const missing = await aclSteps(ctx, aclTargets(ctx, groupFolders, true));
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

// `fileserver`: the invis share layout under /srv/shares (owners from the directory's RFC2307
// gidNumbers, setgid modes, default POSIX ACLs), smb.shares.conf rendered by @invis/samba-shares
// and included from the DC's smb.conf, and the logon scripts in the DC's netlogon share.
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { type ApplyReport, applyReport, lastOutputLine } from '@invis/host';
import { checkSharesConf, isSharesError, renderSharesConf } from '@invis/samba-shares';
import { SetupError } from '../errors';
import {
  type LayoutFolder,
  type LayoutGroup,
  LOGON_SCRIPTS,
  layoutFolders,
  renderLogonScript,
  renderShareModel,
} from '../fileserver-layout';
import { HOMES_SYNC_UNIT } from '../homes';
import {
  type CheckResult,
  fileModule,
  type ModuleContext,
  type ModulePlan,
  type Rendered,
  type SetupModule,
  type VerifyCheck,
} from '../module';
import { renderUnit, verifyUnit } from '../systemd';
import { connectAsAdministrator, sambaNames } from './samba-ad';

/** The DC's netlogon folder (`<sysvol>/<domain>/scripts`). */
export const netlogonDir = (ctx: Pick<ModuleContext, 'answers' | 'profile'>): string =>
  `${ctx.profile.shares.sysvol}/${ctx.answers.domain}/scripts`;

/** testparm on the shares text, in a folder beside the candidate (a real path). */
async function checkShares(ctx: ModuleContext, candidate: string, text: string): Promise<CheckResult> {
  try {
    await checkSharesConf(text, {
      dir: candidate.slice(0, candidate.lastIndexOf('/')),
      runner: ctx.runner,
      testparm: ctx.profile.samba.testparm,
    });
    return { ok: true };
  } catch (e) {
    if (isSharesError(e)) return { ok: false, message: e.message };
    throw e;
  }
}

/**
 * The module's files: smb.shares.conf (checked with testparm through a small main smb.conf that
 * includes it) and one logon script per account type; after a change the running DC is told to
 * reload its configuration.
 * @param ctx answers and profile
 * @returns the rendered files
 */
/**
 * The homes sync's service and timer: every minute `invis-setup sync homes` gives new accounts
 * their home and profile folders and WebDAV the rules of new group folders (root work the
 * unprivileged portal cannot do).
 * @param ctx profile (the setup command, the folders it writes)
 * @returns both units
 */
export function renderHomesSyncUnits(ctx: Pick<ModuleContext, 'profile'>): { service: string; timer: string } {
  const { profile } = ctx;
  const service = renderUnit('Home and profile folders for new directory accounts.', {
    Unit: [
      ['Description', 'invis: home and profile folders of new accounts'],
      ['After', 'samba-ad-dc.service'],
    ],
    Service: [
      ['Type', 'oneshot'],
      ['ExecStart', [...profile.setupCommand, 'sync', 'homes'].join(' ')],
      ['ProtectSystem', 'strict'],
      ['PrivateTmp', 'yes'],
      ['NoNewPrivileges', 'yes'],
      // WebDAV's group folders (Apache's ACL entries) and its site; `-`: no Apache, no site folder.
      [
        'ReadWritePaths',
        `${profile.shares.homes} ${profile.shares.profiles} ${profile.shares.gruppen} -${profile.webdav.sitesDir}`,
      ],
      ['CapabilityBoundingSet', 'CAP_CHOWN CAP_FOWNER CAP_DAC_OVERRIDE'],
    ],
  });
  const timer = renderUnit('Runs the homes sync every minute.', {
    Unit: [['Description', 'invis: home and profile folders, every minute']],
    Timer: [
      ['OnBootSec', '1min'],
      ['OnUnitActiveSec', '1min'],
      ['AccuracySec', '5s'],
    ],
    Install: [['WantedBy', 'timers.target']],
  });
  return { service, timer };
}

export function renderFileserver(ctx: ModuleContext): Rendered {
  const sharesText = renderSharesConf(renderShareModel(ctx));
  const { netbios } = sambaNames(ctx.answers);
  const config = ctx.profile.shares.sharesConfig;
  const scripts = netlogonDir(ctx);
  const homes = renderHomesSyncUnits(ctx);
  const unitDir = ctx.profile.systemd.unitDir;
  const installedLater = [ctx.profile.setupCommand[0] ?? ''];
  return {
    files: [
      {
        path: config,
        content: sharesText,
        mode: 0o644,
        check: (c, candidate) => checkShares(c, candidate, sharesText),
      },
      ...LOGON_SCRIPTS.map((script) => ({
        path: `${scripts}/${script.file}`,
        content: renderLogonScript(netbios, script),
        mode: 0o644,
      })),
      {
        path: `${unitDir}/${HOMES_SYNC_UNIT}.service`,
        content: homes.service,
        mode: 0o644,
        check: (c, candidate) => verifyUnit(c, candidate, [], installedLater),
      },
      {
        path: `${unitDir}/${HOMES_SYNC_UNIT}.timer`,
        content: homes.timer,
        mode: 0o644,
        check: (c, candidate) =>
          verifyUnit(c, candidate, [{ name: `${HOMES_SYNC_UNIT}.service`, content: homes.service }], installedLater),
      },
    ],
    directories: [
      { path: config.slice(0, config.lastIndexOf('/')), mode: 0o755 },
      { path: scripts, mode: 0o755 },
      { path: unitDir, mode: 0o755 },
    ],
    services: [],
    commands: [
      {
        command: ctx.profile.shares.smbcontrol,
        args: ['-s', ctx.fs.hostPath(ctx.profile.samba.config), 'smbd', 'reload-config'],
        reason: 'the DC serves the changed shares',
      },
      { command: 'systemctl', args: ['daemon-reload'], reason: 'load the homes sync units' },
    ],
  };
}

const files = fileModule({
  id: 'fileserver',
  title: { de: 'Dateiserver', en: 'File server' },
  dependsOn: ['samba_ad'],
  render: renderFileserver,
});

/** The gids of the layout's groups, read (and given where missing) in the directory. */
async function groupIds(ctx: ModuleContext): Promise<Map<LayoutGroup, number>> {
  const ad = await connectAsAdministrator(ctx);
  try {
    const ids = new Map<LayoutGroup, number>();
    const groups = new Set(layoutFolders(ctx).flatMap((f) => [f.group, f.aclGroup]));
    // As the original's portal did lazily: a group without RFC2307 gid gets RID + 20000 now.
    for (const group of groups) if (group) ids.set(group, await ad.groups.ensureGid(group));
    return ids;
  } finally {
    await ad.close();
  }
}

/** chown + chmod through a descriptor opened without following links (a planted link is refused). */
async function setOwnerAndMode(
  path: string,
  uid: number | undefined,
  gid: number | undefined,
  mode: number,
): Promise<void> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, constants.O_RDONLY | constants.O_DIRECTORY | constants.O_NOFOLLOW);
  } catch (cause) {
    throw new SetupError('SETUP_CHECK_FAILED', `${path} is not a folder (or is a symbolic link)`, {
      cause,
      details: { module: 'fileserver', path },
    });
  }
  try {
    if (uid !== undefined && gid !== undefined) await handle.chown(uid, gid);
    // After chown: chown clears setgid.
    await handle.chmod(mode);
  } finally {
    await handle.close();
  }
}

/** `setfacl -m` access and default entries: owner/group rwx, others none, the group rwx. `-P`: no links followed. */
function aclArgs(path: string, gid: number): string[] {
  return ['-P', '-m', `g:${gid}:rwx,d:u::rwx,d:g::rwx,d:o::---,d:g:${gid}:rwx,d:m::rwx`, '--', path];
}

/**
 * The transfer area for the unprivileged portal (`invis-portal`, made by the `portal` module): an
 * access and default ACL entry rwx on `downloads` and `uploads`, so it makes the per-user folders
 * and writes uploads there — and nowhere else in the shares. Nothing when the folders or the user
 * are missing yet (the module that comes second grants it); `setfacl -m` changes nothing twice.
 * @param ctx the module context
 * @returns whether the entries were set
 * @throws SetupError SETUP_CHECK_FAILED when setfacl fails
 */
export async function grantPortalTransfer(ctx: ModuleContext): Promise<boolean> {
  const { shares, portal } = ctx.profile;
  const folders = [shares.portalDownloads, shares.portalUploads];
  if (ctx.staging) return false;
  for (const folder of folders) if (!(await ctx.fs.exists(folder))) return false;
  if ((await ctx.runner.run('getent', ['passwd', portal.user])).exitCode !== 0) return false;
  const user = portal.user;
  const result = await ctx.runner.run(shares.setfacl, [
    '-P',
    '-m',
    `u:${user}:rwx,d:u:${user}:rwx`,
    '--',
    ...folders.map((f) => ctx.fs.hostPath(f)),
  ]);
  if (result.exitCode !== 0) {
    throw new SetupError('SETUP_CHECK_FAILED', `setfacl for ${user} on the transfer area: ${lastOutputLine(result)}`, {
      details: { module: 'fileserver', path: shares.portal },
    });
  }
  return true;
}

async function modeOf(ctx: ModuleContext, path: string): Promise<number | undefined> {
  const result = await ctx.runner.run('stat', ['-c', '%a %g', '--', ctx.fs.hostPath(path)]);
  if (result.exitCode !== 0) return undefined;
  return Number.parseInt(result.stdout.trim().split(' ')[0] ?? '', 8);
}

/** Folders whose mode differs from the layout (or that are missing). */
async function folderGaps(ctx: ModuleContext): Promise<LayoutFolder[]> {
  const gaps: LayoutFolder[] = [];
  for (const folder of layoutFolders(ctx)) {
    if (!(await ctx.fs.exists(folder.path)) || (await modeOf(ctx, folder.path)) !== folder.mode) gaps.push(folder);
  }
  return gaps;
}

async function applyFolders(ctx: ModuleContext, folders: readonly LayoutFolder[]): Promise<void> {
  if (folders.length === 0) return;
  // Staging: no directory to ask for gids, and owners need root; the modes are set.
  const ids = ctx.staging ? new Map<LayoutGroup, number>() : await groupIds(ctx);
  for (const folder of folders) {
    ctx.progress(`fileserver: ${folder.path}`);
    await ctx.fs.mkdir(folder.path, 0o755);
    const gid = folder.group ? ids.get(folder.group) : 0;
    await setOwnerAndMode(
      ctx.fs.hostPath(folder.path),
      ctx.staging ? undefined : 0,
      ctx.staging ? undefined : gid,
      folder.mode,
    );
    const aclGid = folder.aclGroup && ids.get(folder.aclGroup);
    if (aclGid !== undefined) {
      const result = await ctx.runner.run(ctx.profile.shares.setfacl, aclArgs(ctx.fs.hostPath(folder.path), aclGid));
      if (result.exitCode !== 0) {
        throw new SetupError('SETUP_CHECK_FAILED', `setfacl ${folder.path}: ${lastOutputLine(result)}`, {
          details: { module: 'fileserver', path: folder.path },
        });
      }
    }
  }
}

async function plan(ctx: ModuleContext): Promise<ModulePlan> {
  const filePlan = await files.plan(ctx);
  const gaps = await folderGaps(ctx);
  for (const folder of gaps) {
    if (!(await ctx.fs.exists(folder.path))) filePlan.directories.push(folder.path);
    else
      filePlan.commands.push({
        command: 'chmod',
        args: [folder.mode.toString(8), folder.path],
        reason: 'mode differs',
      });
  }
  return filePlan;
}

async function apply(ctx: ModuleContext): Promise<ApplyReport> {
  const before = await plan(ctx);
  // Folders first: the shares Samba reloads point at them.
  await applyFolders(ctx, await folderGaps(ctx));
  const report = await files.apply(ctx);
  await grantPortalTransfer(ctx);
  // New accounts get their folders within a minute from now on.
  if (report.changed && !ctx.staging) await ctx.services.start(`${HOMES_SYNC_UNIT}.timer`);
  return applyReport({ ...before, files: report.files }, { ...(report.timings ? { timings: report.timings } : {}) });
}

async function verify(ctx: ModuleContext): Promise<VerifyCheck[]> {
  const checks = await files.verify(ctx);
  for (const folder of layoutFolders(ctx)) {
    const mode = (await ctx.fs.exists(folder.path)) ? await modeOf(ctx, folder.path) : undefined;
    checks.push(
      mode === folder.mode
        ? { name: folder.path, ok: true }
        : {
            name: folder.path,
            ok: false,
            problem: mode === undefined ? 'missing' : `mode ${mode.toString(8)}, expected ${folder.mode.toString(8)}`,
          },
    );
  }
  if (ctx.staging) return checks;
  const main = await ctx.fs.readFileIfExists(ctx.profile.samba.config);
  const included = main?.includes(`include = ${ctx.fs.hostPath(ctx.profile.shares.sharesConfig)}`) ?? false;
  checks.push(
    included
      ? { name: 'smb.conf includes the shares', ok: true }
      : {
          name: 'smb.conf includes the shares',
          ok: false,
          problem: `no include of ${ctx.profile.shares.sharesConfig}`,
        },
  );
  return checks;
}

/** The `fileserver` module. */
export const fileserverModule: SetupModule = {
  id: 'fileserver',
  title: files.title,
  dependsOn: files.dependsOn,
  plan,
  apply,
  verify,
};

// The invis file-server layout as data: the folders under /srv/shares with their owning AD group,
// mode and default ACL, the SMB shares on them, and the logon scripts that map the original's
// drive letters. Pure: the `fileserver` module applies it; webdav, nfs, print and backup read it.
import type { ShareInput } from '@invis/samba-shares';
import type { ModuleContext } from './module';
import { sambaNames } from './modules/samba-ad';

/** AD groups the layout names (the `samba_ad` module creates the invis ones; `Domain *` are built in). */
export type LayoutGroup = 'Domain Users' | 'Domain Admins' | 'verwaltung' | 'archiv' | 'diradmins';

/** One folder of the layout. */
export interface LayoutFolder {
  path: string;
  /** Owning group (owner is root); absent = root:root. */
  group?: LayoutGroup;
  /** Permission bits with setgid/sticky (`0o2770`). */
  mode: number;
  /**
   * Group that gets `rwx` as an access and a default ACL entry, so files made by any member (also
   * over NFS or WebDAV, where Samba's masks do not apply) stay group-writable.
   */
  aclGroup?: LayoutGroup;
}

/** One SMB share of the layout, with who may use it — the one answer for SMB, WebDAV and NFS. */
export interface InvisShare {
  /** SMB share name (`\\server\<name>`), also the WebDAV path segment. */
  name: string;
  path: string;
  /** Owning AD group of the folder. */
  group: LayoutGroup | undefined;
  /** AD groups with read-write access (share level). */
  groups: LayoutGroup[];
  /** AD groups with read-only access (share level). */
  readOnlyGroups: LayoutGroup[];
  /** Mode of folders created in the share (setgid keeps the group). */
  dirMode: number;
  /** Mode of files created in the share. */
  fileMode: number;
  /** Whether deleted files go to `<share>/.recycle`. */
  recycle: boolean;
}

const DIR_MODE = 0o2770;
const FILE_MODE = 0o660;

/**
 * The folders of the invis layout, parents first.
 * @param ctx the profile
 * @returns every folder setup creates under the shares root (homes' parent included)
 */
export function layoutFolders(ctx: Pick<ModuleContext, 'profile'>): LayoutFolder[] {
  const s = ctx.profile.shares;
  const team = (path: string, group: LayoutGroup, mode = DIR_MODE): LayoutFolder => ({
    path,
    group,
    mode,
    aclGroup: group,
  });
  return [
    { path: s.root, mode: 0o755 },
    team(s.aktuell, 'Domain Users'),
    team(s.archiv, 'archiv'),
    team(s.projektarchiv, 'archiv'),
    team(s.archivUser, 'archiv'),
    team(s.archivGruppen, 'archiv'),
    // Backups hold the directory's secrets: root only, never the archiv group.
    { path: s.sicherungen, mode: 0o700 },
    // Group folders (root:<group> 2770 + default ACL) are made by sync homes at the portal's request; members only traverse here.
    { path: s.gruppen, mode: 0o755 },
    team(s.media, 'Domain Users'),
    { path: s.media.concat('/portal'), group: 'diradmins', mode: 0o2775, aclGroup: 'diradmins' },
    { path: s.verzeichnisvorlagen, group: 'diradmins', mode: 0o2775, aclGroup: 'diradmins' },
    // Per-user folders below these and below profiles are made with the account (portal, setup).
    { path: s.portal, mode: 0o755 },
    // 775: the group bits are the ACL mask of the portal user's entry (grantPortalTransfer); the
    // owning group is root's.
    { path: s.portalDownloads, mode: 0o775 },
    { path: s.portalUploads, mode: 0o775 },
    // Nobody but root creates names here: a profile folder exists only for its own user.
    { path: s.profiles, mode: 0o755 },
    { path: s.service, group: 'diradmins', mode: 0o2775, aclGroup: 'diradmins' },
    // Sticky: everyone drops files, only the owner deletes them.
    team(s.transfer, 'Domain Users', 0o3770),
    team(s.verwaltung, 'verwaltung'),
    { path: s.homes, mode: 0o755 },
  ];
}

/**
 * The shares of the invis layout with their share-level access.
 * @param ctx the profile
 * @returns the shares in the order smb.shares.conf lists them
 */
export function invisShareLayout(ctx: Pick<ModuleContext, 'profile'>): InvisShare[] {
  const s = ctx.profile.shares;
  const share = (
    name: string,
    path: string,
    group: LayoutGroup | undefined,
    access: { rw?: LayoutGroup[]; ro?: LayoutGroup[]; recycle?: boolean; fileMode?: number; dirMode?: number },
  ): InvisShare => ({
    name,
    path,
    group,
    groups: access.rw ?? [],
    readOnlyGroups: access.ro ?? [],
    dirMode: access.dirMode ?? DIR_MODE,
    fileMode: access.fileMode ?? FILE_MODE,
    recycle: access.recycle ?? true,
  });
  return [
    share('aktuell', s.aktuell, 'Domain Users', { rw: ['Domain Users'] }),
    share('archiv', s.archiv, 'archiv', { rw: ['archiv'] }),
    share('projekte', s.projektarchiv, 'archiv', { rw: ['archiv'] }),
    share('gruppen', s.gruppen, undefined, { rw: ['Domain Users'] }),
    share('media', s.media, 'Domain Users', { rw: ['Domain Users'] }),
    share('portal', s.portal, undefined, { ro: ['Domain Users'], recycle: false }),
    share('service', s.service, 'diradmins', {
      rw: ['diradmins', 'Domain Admins'],
      ro: ['Domain Users'],
      recycle: false,
      dirMode: 0o2775,
      fileMode: 0o664,
    }),
    share('transfer', s.transfer, 'Domain Users', { rw: ['Domain Users'], recycle: false }),
    share('verwaltung', s.verwaltung, 'verwaltung', { rw: ['verwaltung'] }),
  ];
}

/**
 * smb.shares.conf as the model of @invis/samba-shares: the layout's shares with share-level
 * access (`valid users`, and `read list`/`write list` where rights differ), `[homes]` (only the
 * owner) and `[profiles]` (roaming profiles, each user only in their own folder).
 * @param ctx answers (NetBIOS domain) and profile
 * @returns the shares
 */
export function renderShareModel(ctx: Pick<ModuleContext, 'answers' | 'profile'>): ShareInput[] {
  const { workgroup } = sambaNames(ctx.answers);
  const principal = (name: LayoutGroup) => ({ kind: 'group' as const, name, domain: workgroup });
  // An AD DC's default VFS modules (Windows ACLs in xattrs, DFS): a share that lists modules must keep them.
  const vfsObjects = ['dfs_samba4', 'acl_xattr'];
  const recycle = { exclude: ['*.tmp', '*.temp', '~$*', '*.~*'], excludeDir: ['tmp', 'temp'] };
  const shares: ShareInput[] = invisShareLayout(ctx).map((s) => {
    const readOnly = s.groups.length === 0;
    const mixed = s.groups.length > 0 && s.readOnlyGroups.length > 0;
    return {
      name: s.name,
      path: s.path,
      validUsers: [...s.groups, ...s.readOnlyGroups].map(principal),
      readOnly: mixed ? true : readOnly,
      ...(mixed ? { writeList: s.groups.map(principal) } : {}),
      createMask: s.fileMode,
      directoryMask: s.dirMode,
      forceCreateMode: s.fileMode & 0o660,
      forceDirectoryMode: s.dirMode & 0o2770,
      inheritAcls: true,
      // Folders a user may not open are not listed (the group folders below `gruppen`).
      ...(s.name === 'gruppen' ? { hideUnreadable: true } : {}),
      vfsObjects,
      ...(s.recycle ? { recycle } : {}),
      // Files made over SMB get the share's group and mode as over WebDAV and NFS: the group forced,
      // and Windows ACL edits kept in the NT ACL instead of rewritten into POSIX permissions (which
      // gave every file `770` and Domain Users rwx). The kernel still enforces the folders' modes.
      ...(s.group && s.group !== 'Domain Users' ? { forceGroup: s.group } : {}),
      options: { 'acl_xattr:ignore system acls': 'yes' },
    };
  });
  return [
    ...shares,
    {
      name: 'homes',
      comment: 'Home',
      path: `${ctx.profile.shares.homes}/%S`,
      browseable: false,
      readOnly: false,
      validUsers: [{ kind: 'shareUser' }],
      createMask: 0o600,
      directoryMask: 0o700,
      vfsObjects,
      recycle: { ...recycle, repository: '.recycle' },
    },
    {
      name: 'profiles',
      comment: 'Profile',
      path: ctx.profile.shares.profiles,
      browseable: false,
      readOnly: false,
      validUsers: [principal('Domain Users')],
      createMask: 0o600,
      directoryMask: 0o700,
      vfsObjects,
      // Roaming profiles must not be cached offline by the client (profile corruption).
      options: { 'csc policy': 'disable' },
    },
  ];
}

/** Drive letters of the original's logon scripts; `U:` is the home (`net use U: /home`). */
export const DRIVE_LETTERS: readonly { letter: string; share: string }[] = [
  { letter: 'O', share: 'archiv' },
  { letter: 'P', share: 'projekte' },
  { letter: 'V', share: 'aktuell' },
  { letter: 'T', share: 'transfer' },
  { letter: 'M', share: 'media' },
  { letter: 'Q', share: 'gruppen' },
  { letter: 'R', share: 'portal' },
];

/** Logon scripts per account type (the names the portal's `scriptPath` uses). */
export const LOGON_SCRIPTS: readonly {
  file: string;
  extra: readonly { letter: string; share: string }[];
  guest?: true;
}[] = [
  { file: 'user.cmd', extra: [] },
  { file: 'verwaltung.cmd', extra: [{ letter: 'W', share: 'verwaltung' }] },
  {
    file: 'admin.cmd',
    extra: [
      { letter: 'W', share: 'verwaltung' },
      { letter: 'S', share: 'service' },
    ],
  },
  { file: 'gast.cmd', extra: [], guest: true },
];

/**
 * One logon script: CRLF line ends (cmd.exe), the marker as a `rem` line (ASCII: the script is
 * read in the OEM code page), one `net use` per drive; `U:` maps the home the account names.
 * @param netbios the server's NetBIOS name
 * @param script the script's drives
 * @returns the file content
 */
export function renderLogonScript(netbios: string, script: (typeof LOGON_SCRIPTS)[number]): string {
  const drives = script.guest
    ? DRIVE_LETTERS.filter((d) => d.share === 'transfer' || d.share === 'media')
    : [...DRIVE_LETTERS, ...script.extra];
  const lines = [
    '@echo off',
    'rem generated by @invis/setup-1 - do not edit',
    ...drives.map((d) => `net use ${d.letter}: \\\\${netbios}\\${d.share} /persistent:no >nul 2>&1`),
    ...(script.guest ? [] : ['net use U: /home /persistent:no >nul 2>&1']),
    '',
  ];
  return lines.join('\r\n');
}

// Pure render of the shares file: one section per share, parameters in a fixed order, so the
// same model always gives the same bytes (apply compares text to skip unchanged files).
import { generatedMarker } from '@invis/host';
import { type Principal, resolveShares, type Share, type ShareInput } from './model';

/** The first line of every file this package renders. */
export const SHARES_MARKER: string = generatedMarker('@invis/samba-shares', 'hash');

/**
 * One principal in smb.conf list syntax: `@"DOM\group"`, `+group`, `"DOM\user"`, `%S`.
 * Quoted when it holds a domain or a blank, so the list's separators cannot split it.
 * @param p the principal
 * @returns its list token
 */
export function renderPrincipal(p: Principal): string {
  if (p.kind === 'shareUser') return '%S';
  const bare = p.domain === undefined ? p.name : `${p.domain}\\${p.name}`;
  const token = p.domain !== undefined || p.name.includes(' ') ? `"${bare}"` : bare;
  return p.kind === 'group' ? `${p.prefix}${token}` : token;
}

const yesNo = (b: boolean): string => (b ? 'yes' : 'no');
/** `0770`: four octal digits, as testparm prints masks. */
export const octal = (mode: number): string => `0${mode.toString(8).padStart(3, '0')}`;

function shareLines(share: Share): string[] {
  const out: [string, string][] = [];
  const put = (key: string, value: string | undefined): void => {
    if (value !== undefined) out.push([key, value]);
  };
  const bool = (key: string, value: boolean | undefined): void =>
    put(key, value === undefined ? undefined : yesNo(value));
  const list = (key: string, value: readonly Principal[] | undefined): void =>
    put(key, value?.map(renderPrincipal).join(', '));
  const mode = (key: string, value: number | undefined): void =>
    put(key, value === undefined ? undefined : octal(value));

  put('path', share.path);
  put('comment', share.comment);
  bool('browseable', share.browseable);
  bool('read only', share.readOnly);
  bool('guest ok', share.guestOk);
  bool('guest only', share.guestOnly);
  bool('printable', share.printable);
  list('valid users', share.validUsers);
  list('invalid users', share.invalidUsers);
  list('read list', share.readList);
  list('write list', share.writeList);
  list('admin users', share.adminUsers);
  put('force user', share.forceUser);
  put('force group', share.forceGroup);
  mode('create mask', share.createMask);
  mode('directory mask', share.directoryMask);
  mode('force create mode', share.forceCreateMode);
  mode('force directory mode', share.forceDirectoryMode);
  bool('inherit acls', share.inheritAcls);
  bool('inherit permissions', share.inheritPermissions);
  bool('hide unreadable', share.hideUnreadable);
  bool('access based share enum', share.accessBasedShareEnum);
  const vfs = [...(share.vfsObjects ?? []), ...(share.recycle ? ['recycle'] : [])];
  put('vfs objects', vfs.length > 0 ? vfs.join(' ') : undefined);
  const r = share.recycle;
  if (r) {
    put('recycle:repository', r.repository);
    bool('recycle:keeptree', r.keeptree);
    bool('recycle:versions', r.versions);
    bool('recycle:touch', r.touch);
    put('recycle:exclude', r.exclude.length > 0 ? r.exclude.join(',') : undefined);
    put('recycle:exclude_dir', r.excludeDir.length > 0 ? r.excludeDir.join(',') : undefined);
    put('recycle:maxsize', r.maxsize > 0 ? String(r.maxsize) : undefined);
    mode('recycle:directory_mode', r.directoryMode);
  }
  for (const key of Object.keys(share.options ?? {}).sort()) put(key, share.options?.[key]);
  return [`[${share.name}]`, ...out.map(([k, v]) => `\t${k} = ${v}`)];
}

/**
 * Renders `smb.shares.conf`: the marker line, then one section per share in the given order.
 * @param shares the shares (validated here)
 * @returns the file text (ends with a newline)
 * @throws SharesError `SHARES_INVALID_SHARE` for a model that does not validate
 * @example renderSharesConf([{ name: 'aktuell', path: '/srv/shares/aktuell', recycle: {} }])
 */
export function renderSharesConf(shares: readonly ShareInput[]): string {
  const resolved = resolveShares(shares);
  const sections = resolved.map((s) => shareLines(s).join('\n'));
  return `${[SHARES_MARKER, '', ...sections.flatMap((s, i) => (i === 0 ? [s] : ['', s]))].join('\n')}\n`;
}

// Parse of an existing shares file (for migration from the original's smb.shares.conf): Samba's
// line syntax, its synonyms and list quoting, into the typed model. Unknown parameters land in
// `options`; anything the model cannot hold safely is an error, never silently dropped.
import { SharesError } from './errors';
import { type PrincipalInput, resolveShares, type Share, type ShareInput, TYPED_PARAMETERS } from './model';

const parseError = (line: number, message: string): SharesError =>
  new SharesError('SHARES_PARSE_ERROR', `line ${line}: ${message}`, { details: { line } });

/** Splits a Samba list on blanks and commas; double quotes group (and are removed). */
export function splitSambaList(value: string): string[] {
  const out: string[] = [];
  let current = '';
  let quoted = false;
  let has = false;
  for (const ch of value) {
    if (ch === '"') {
      quoted = !quoted;
      has = true;
    } else if (!quoted && (ch === ' ' || ch === ',' || ch === '\t')) {
      if (has) out.push(current);
      current = '';
      has = false;
    } else {
      current += ch;
      has = true;
    }
  }
  if (quoted) throw new SharesError('SHARES_PARSE_ERROR', `unbalanced quote in list: ${value.slice(0, 80)}`);
  if (has) out.push(current);
  return out;
}

/**
 * Reads one list token (`@DOM\group`, `+group`, `DOM\user`, `%S`) as a principal.
 * @param token one element of a Samba user list, quotes already removed
 * @returns the principal (validated later by the model)
 * @throws SharesError `SHARES_PARSE_ERROR` for forms the model does not hold (`&netgroup`, other macros)
 */
export function parsePrincipal(token: string): PrincipalInput {
  if (token === '%S') return { kind: 'shareUser' };
  let rest = token;
  let prefix: '@' | '+' | undefined;
  if (rest.startsWith('@') || rest.startsWith('+')) {
    prefix = rest[0] as '@' | '+';
    rest = rest.slice(1);
  }
  if (rest.startsWith('&') || rest.startsWith('@') || rest.startsWith('+') || rest.includes('%')) {
    throw new SharesError('SHARES_PARSE_ERROR', `unsupported user list entry ${token.slice(0, 80)}`);
  }
  const slash = rest.indexOf('\\');
  const [domain, name] = slash >= 0 ? [rest.slice(0, slash), rest.slice(slash + 1)] : [undefined, rest];
  const base = { name, ...(domain === undefined ? {} : { domain }) };
  return prefix === undefined ? { kind: 'user', ...base } : { kind: 'group', prefix, ...base };
}

function parseBool(value: string, line: number): boolean {
  const v = value.toLowerCase();
  if (['yes', 'true', '1', 'on'].includes(v)) return true;
  if (['no', 'false', '0', 'off'].includes(v)) return false;
  throw parseError(line, `not a boolean: ${value.slice(0, 40)}`);
}

function parseMode(value: string, line: number): number {
  if (!/^0?[0-7]{1,4}$/.test(value)) throw parseError(line, `not an octal mode: ${value.slice(0, 40)}`);
  return Number.parseInt(value, 8);
}

interface Draft {
  name: string;
  fields: Record<string, unknown>;
  options: Record<string, string>;
  /** Whether `vfs objects` lists `recycle`. */
  recycleModule: boolean;
  /** `recycle:*` options, wherever they appear in the section. */
  recycle: Record<string, unknown>;
  line: number;
}

function setParameter(share: Draft, key: string, value: string, line: number): void {
  const bool = (): boolean => parseBool(value, line);
  const mode = (): number => parseMode(value, line);
  const principals = (): PrincipalInput[] => splitSambaList(value).map(parsePrincipal);
  const recycle = (): Record<string, unknown> => share.recycle;
  switch (key) {
    case 'path':
    case 'directory':
      share.fields.path = value;
      return;
    case 'comment':
      share.fields.comment = value;
      return;
    case 'browseable':
    case 'browsable':
      share.fields.browseable = bool();
      return;
    case 'read only':
      share.fields.readOnly = bool();
      return;
    case 'writeable':
    case 'writable':
    case 'write ok':
      share.fields.readOnly = !bool();
      return;
    case 'guest ok':
    case 'public':
      share.fields.guestOk = bool();
      return;
    case 'guest only':
    case 'only guest':
      share.fields.guestOnly = bool();
      return;
    case 'printable':
    case 'print ok':
      share.fields.printable = bool();
      return;
    case 'valid users':
      share.fields.validUsers = principals();
      return;
    case 'invalid users':
      share.fields.invalidUsers = principals();
      return;
    case 'read list':
      share.fields.readList = principals();
      return;
    case 'write list':
      share.fields.writeList = principals();
      return;
    case 'admin users':
      share.fields.adminUsers = principals();
      return;
    case 'force user':
      share.fields.forceUser = value;
      return;
    case 'force group':
    case 'group':
      share.fields.forceGroup = value;
      return;
    case 'create mask':
    case 'create mode':
      share.fields.createMask = mode();
      return;
    case 'directory mask':
    case 'directory mode':
      share.fields.directoryMask = mode();
      return;
    case 'force create mode':
      share.fields.forceCreateMode = mode();
      return;
    case 'force directory mode':
      share.fields.forceDirectoryMode = mode();
      return;
    case 'inherit acls':
      share.fields.inheritAcls = bool();
      return;
    case 'inherit permissions':
      share.fields.inheritPermissions = bool();
      return;
    case 'hide unreadable':
      share.fields.hideUnreadable = bool();
      return;
    case 'access based share enum':
      share.fields.accessBasedShareEnum = bool();
      return;
    case 'vfs objects':
    case 'vfs object': {
      const modules = splitSambaList(value);
      share.recycleModule = modules.includes('recycle');
      share.fields.vfsObjects = modules.filter((m) => m !== 'recycle');
      return;
    }
    case 'recycle:repository':
      recycle().repository = value;
      return;
    case 'recycle:keeptree':
      recycle().keeptree = bool();
      return;
    case 'recycle:versions':
      recycle().versions = bool();
      return;
    case 'recycle:touch':
      recycle().touch = bool();
      return;
    case 'recycle:exclude':
      recycle().exclude = splitSambaList(value);
      return;
    case 'recycle:exclude_dir':
      recycle().excludeDir = splitSambaList(value);
      return;
    case 'recycle:maxsize':
      if (!/^\d{1,15}$/.test(value)) throw parseError(line, `not a size: ${value.slice(0, 40)}`);
      recycle().maxsize = Number(value);
      return;
    case 'recycle:directory_mode':
      recycle().directoryMode = mode();
      return;
    default:
      if (key.startsWith('recycle:')) throw parseError(line, `unknown recycle option ${key}`);
      if (TYPED_PARAMETERS.includes(key)) throw parseError(line, `${key} not handled`);
      share.options[key] = value;
  }
}

/**
 * Parses a shares file (`smb.shares.conf`): `[name]` sections with `key = value` lines, `#`/`;`
 * comments, `\` continuation lines, Samba's synonyms (`writable`, `browsable`, `public`, …).
 * Recycle options are read only where `vfs objects` lists `recycle` (vfs_recycle ignores them otherwise).
 * @param text the file
 * @returns the validated shares in file order
 * @throws SharesError `SHARES_PARSE_ERROR` (syntax, `[global]`, a parameter outside a section,
 *   a bad boolean/mode, an unsupported list entry) or `SHARES_INVALID_SHARE` (values the model refuses)
 * @example parseSharesConf('[aktuell]\n\tpath = /srv/shares/aktuell\n')
 */
export function parseSharesConf(text: string): Share[] {
  if (text.includes('\0')) throw new SharesError('SHARES_PARSE_ERROR', 'the file contains NUL bytes');
  const lines = text.replaceAll('\r\n', '\n').split('\n');
  const drafts: Draft[] = [];
  let current: Draft | undefined;
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = (lines[i] ?? '').trim();
    while (line.endsWith('\\') && i + 1 < lines.length) {
      i++;
      line = `${line.slice(0, -1)} ${(lines[i] ?? '').trim()}`.trim();
    }
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.startsWith('[')) {
      const match = /^\[([^\]]*)\]$/.exec(line);
      if (!match) throw parseError(lineNo, 'a section header must be `[name]`');
      const name = (match[1] ?? '').trim();
      if (name.toLowerCase() === 'global') throw parseError(lineNo, 'a shares file holds no [global] section');
      current = { name, fields: {}, options: {}, recycleModule: false, recycle: {}, line: lineNo };
      drafts.push(current);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq <= 0) throw parseError(lineNo, 'expected `name = value`');
    if (!current) throw parseError(lineNo, 'a parameter before the first [share]');
    const key = line.slice(0, eq).trim().toLowerCase().replace(/\s+/g, ' ');
    const value = line.slice(eq + 1).trim();
    if (value === '') continue;
    setParameter(current, key, value, lineNo);
  }
  return resolveShares(drafts.map(finishDraft));
}

function finishDraft(draft: Draft): ShareInput {
  const hasRecycleOptions = Object.keys(draft.recycle).length > 0;
  // vfs_recycle reads its options only when loaded: options without the module are a mistake
  // in the file that migration must not carry over silently.
  if (hasRecycleOptions && !draft.recycleModule) {
    throw parseError(draft.line, `[${draft.name}] has recycle: options but no recycle in vfs objects`);
  }
  return {
    name: draft.name,
    ...draft.fields,
    ...(draft.recycleModule ? { recycle: draft.recycle } : {}),
    ...(Object.keys(draft.options).length > 0 ? { options: draft.options } : {}),
  } as ShareInput;
}

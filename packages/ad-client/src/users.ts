// Users: list, get, create (invis account types guest / mail / user / admin, password,
// RFC2307), update (whitelisted fields only), rename, enable/disable, unlock, password reset and
// own change, password expiry, delete. A create that fails midway removes what it made.
import { childDn, dnEquals, parentDn } from './dn';
import { allocatePosixId, type DomainInfo, type PosixIdScheme } from './domain';
import type { AdEntry } from './entry';
import { AdError, isAdError } from './errors';
import { f, type LdapFilter } from './filter';
import type { GroupsApi } from './groups';
import type { AdAttributes, AdChange, LdapOperations } from './ldap';
import type { PasswordPolicy } from './policy';
import { checkSamAccountName, checkText } from './validate';
import { decodeGuid, decodeSid, encodeUnicodePwd, fileTimeToDate, parseGeneralizedTime, ridOf, UAC } from './values';

/** invis account types (the original's 0 Gast, 1 Mailkonto, 3 Windows+Unix, 6 WinAdmin+Unix). */
export type AccountType = 'guest' | 'mail' | 'user' | 'admin';

export const ACCOUNT_TYPES: readonly AccountType[] = ['guest', 'mail', 'user', 'admin'];

/** Password state of an account. */
export interface PasswordExpiry {
  /** `never`: does not expire; `valid`: expires at `expiresAt`; `expired`; `mustChange`: pwdLastSet = 0. */
  state: 'never' | 'valid' | 'expired' | 'mustChange';
  expiresAt?: Date;
  /** Whole days left (floor), only for `valid`. */
  daysLeft?: number;
  /** When the password was last set. */
  lastSet?: Date;
}

/** A user as the library reports it. */
export interface AdUser {
  dn: string;
  sAMAccountName: string;
  userPrincipalName?: string;
  cn: string;
  displayName?: string;
  givenName?: string;
  sn?: string;
  description?: string;
  mail?: string;
  otherMailbox: string[];
  company?: string;
  department?: string;
  office?: string;
  telephoneNumber?: string;
  type: AccountType;
  /**
   * The account type as the original invis portal's user list computes it (0 Gast, 1 Mailkonto,
   * 2 Windows, 3 Windows+Unix, 4 …+Groupware, 5 WinAdmin, 6 WinAdmin+Unix, 7 …+Groupware,
   * 8 MasterAdmin). `type` folds these into four; an update never changes this one.
   */
  invisType: number;
  enabled: boolean;
  locked: boolean;
  userAccountControl: number;
  primaryGroupId?: number;
  memberOf: string[];
  sid?: string;
  rid?: number;
  guid?: string;
  uidNumber?: number;
  gidNumber?: number;
  loginShell?: string;
  unixHomeDirectory?: string;
  whenCreated?: Date;
  pwdLastSet?: Date;
}

/** Profile fields a create or update may set (never arbitrary attributes: no mass assignment). */
export interface UserProfile {
  displayName?: string;
  givenName?: string;
  sn?: string;
  description?: string;
  /** Main (external) address; default `<name>@<domain>` (then no otherMailbox). */
  mail?: string;
  /** Further addresses; when `mail` is external the original puts `<name>@<domain>` here. */
  otherMailbox?: string[];
  company?: string;
  department?: string;
  /** physicalDeliveryOfficeName */
  office?: string;
  telephoneNumber?: string;
}

export interface CreateUserInput extends UserProfile {
  /** Logon name (sAMAccountName): 1–20 characters, none of `"/\[]:;|=,+*?<>@`, no control characters. */
  sAMAccountName: string;
  password: string;
  /** Default `user`. */
  type?: AccountType;
  /** CN of the object; default display name, else "given sn", else the logon name. */
  cn?: string;
  /** Container; default `CN=Users,<base>`. */
  parent?: string;
  /** Default true. */
  enabled?: boolean;
  /** User must change the password at next logon (pwdLastSet = 0). */
  mustChangePassword?: boolean;
  /** Default `/bin/bash` (`/bin/false` for mail-only accounts). */
  loginShell?: string;
  /** Default `/home/<name>`. */
  unixHomeDirectory?: string;
  /** Windows profile/home on an invis file server (homeDrive U:, \\host\name, \\host\profiles\name, user.cmd). */
  windowsHome?: { server: string; drive?: string; scriptPath?: string };
}

export interface ListUsersOptions {
  /** Only these account types. */
  types?: readonly AccountType[];
  /** Extra criteria (ANDed). */
  filter?: LdapFilter;
  /** Search base (default the domain). */
  base?: string;
  /** Include disabled accounts (default true). */
  includeDisabled?: boolean;
  /** Include computer-like and built-in service accounts such as krbtgt (default false). */
  includeSystem?: boolean;
  /**
   * Read only these attributes (faster for big lists); fields of attributes not read stay
   * undefined. The ones the account type is derived from are always read.
   */
  attributes?: readonly string[];
}

/** Attributes read for an AdUser. */
export const USER_ATTRIBUTES: readonly string[] = [
  'sAMAccountName',
  'userPrincipalName',
  'cn',
  'displayName',
  'givenName',
  'sn',
  'description',
  'mail',
  'otherMailbox',
  'company',
  'department',
  'physicalDeliveryOfficeName',
  'telephoneNumber',
  'userAccountControl',
  'msDS-User-Account-Control-Computed',
  'lockoutTime',
  'primaryGroupID',
  'memberOf',
  'objectSid',
  'objectGUID',
  'uidNumber',
  'gidNumber',
  'loginShell',
  'unixHomeDirectory',
  'whenCreated',
  'pwdLastSet',
  'zarafaAccount',
];

/** Attributes the account type and state are derived from. */
const TYPE_ATTRIBUTES = [
  'sAMAccountName',
  'userAccountControl',
  'primaryGroupID',
  'gidNumber',
  'memberOf',
  'loginShell',
  'zarafaAccount',
];

// The original portal's user type: a sum of flags (adajax.php userList) mapped by a table.
const FLAG = { guest: 1, mail: 2, windows: 4, unix: 8, groupware: 16, admin: 32, master: 64 } as const;
const INVIS_TYPE_BY_FLAGS = new Map<number, number>([
  [FLAG.guest, 0],
  ...[
    FLAG.mail,
    FLAG.mail | FLAG.groupware,
    FLAG.windows | FLAG.groupware,
    FLAG.mail | FLAG.windows | FLAG.groupware,
  ].map((v) => [v, 1] as [number, number]),
  [FLAG.windows, 2],
  [FLAG.windows | FLAG.unix, 3],
  [FLAG.windows | FLAG.unix | FLAG.groupware, 4],
  [FLAG.windows | FLAG.admin, 5],
  [FLAG.admin | FLAG.unix, 6],
  [FLAG.windows | FLAG.admin | FLAG.unix, 6],
  [FLAG.admin | FLAG.unix | FLAG.groupware, 7],
  [FLAG.windows | FLAG.admin | FLAG.unix | FLAG.groupware, 7],
  ...[0, FLAG.groupware, FLAG.admin, FLAG.admin | FLAG.groupware, FLAG.admin | FLAG.windows].map(
    (v) => [FLAG.master | v, 8] as [number, number],
  ),
  [FLAG.master | FLAG.admin | FLAG.windows | FLAG.groupware, 8],
]);

/**
 * The original portal's numeric account type (0–8) from the attributes its user list reads;
 * an unknown combination is 0, as there.
 */
export function invisUserTypeOf(e: {
  primaryGroupId?: number;
  gidNumber?: number;
  memberOf: readonly string[];
  loginShell?: string;
  groupware?: boolean;
}): number {
  const inGroup = (cn: string): boolean => {
    const prefix = `cn=${cn.toLowerCase()},`;
    return e.memberOf.some((m) => m.toLowerCase().startsWith(prefix));
  };
  let v = 0;
  if (e.primaryGroupId === 514) v |= FLAG.guest;
  if (e.primaryGroupId === 513) v |= FLAG.windows;
  if (e.primaryGroupId === 512 || inGroup('Domain Admins')) v |= FLAG.admin;
  if (e.gidNumber === 9500 || e.gidNumber === 600 || inGroup('maildummies')) v |= FLAG.mail;
  if (e.loginShell === '/bin/bash') v |= FLAG.unix;
  if (e.groupware) v |= FLAG.groupware;
  if (inGroup('Enterprise Admins')) v |= FLAG.master;
  return INVIS_TYPE_BY_FLAGS.get(v) ?? 0;
}

function checkProfile(p: UserProfile): void {
  for (const k of [
    'displayName',
    'givenName',
    'sn',
    'description',
    'mail',
    'company',
    'department',
    'office',
    'telephoneNumber',
  ] as const)
    checkText(k, p[k]);
  for (const m of p.otherMailbox ?? []) checkText('otherMailbox', m);
  if (p.mail !== undefined && p.mail !== '' && !/^[^\s@]+@[^\s@]+$/.test(p.mail))
    throw new AdError('AD_INVALID_INPUT', 'mail must be an e-mail address.', { details: { field: 'mail' } });
}

const PROFILE_ATTR: Record<keyof UserProfile, string> = {
  displayName: 'displayName',
  givenName: 'givenName',
  sn: 'sn',
  description: 'description',
  mail: 'mail',
  otherMailbox: 'otherMailbox',
  company: 'company',
  department: 'department',
  office: 'physicalDeliveryOfficeName',
  telephoneNumber: 'telephoneNumber',
};

/** Derives the invis account type from group facts (as the original's user_list). */
export function accountTypeOf(
  e: { primaryGroupId?: number; gidNumber?: number; memberOf: readonly string[] },
  mailGid: number,
): AccountType {
  const inGroup = (cn: string): boolean => {
    const prefix = `cn=${cn.toLowerCase()},`;
    return e.memberOf.some((m) => m.toLowerCase().startsWith(prefix));
  };
  if (e.primaryGroupId === 514) return 'guest';
  if (e.gidNumber === mailGid || e.gidNumber === 600 || inGroup('maildummies')) return 'mail';
  if (e.primaryGroupId === 512 || inGroup('Domain Admins')) return 'admin';
  return 'user';
}

/** Sets an optional field only when it has a value (absent fields stay absent, not undefined). */
function put<K extends keyof AdUser>(u: AdUser, key: K, value: AdUser[K] | undefined): void {
  if (value !== undefined) u[key] = value;
}

/**
 * Whether an account with RID `rid` may take the uid RID + base although `holders` also have it:
 * yes when each of them has a higher RID, i.e. was created after this account by a create that
 * guessed this number and will move away from it (see users.create); an older holder has the
 * number by hand and keeps it.
 */
function ownsRidBasedId(holders: readonly AdEntry[], selfDn: string, rid: number): boolean {
  return holders.every((h) => {
    if (dnEquals(h.dn, selfDn)) return true;
    const sid = h.getBuffer('objectSid');
    return sid !== undefined && ridOf(sid) > rid;
  });
}

export function toUser(e: AdEntry, mailGid: number): AdUser {
  // Built field by field in a fixed order (the same keys, in the same order, as before; absent
  // optional fields are left out): this runs for every entry of a list, so no temporary objects.
  const uac = e.getNumber('userAccountControl') ?? 0;
  const computed = e.getNumber('msDS-User-Account-Control-Computed') ?? 0;
  const sidBuf = e.getBuffer('objectSid');
  const sid = sidBuf ? decodeSid(sidBuf) : undefined;
  const guidBuf = e.getBuffer('objectGUID');
  const when = e.get('whenCreated');
  const primaryGroupId = e.getNumber('primaryGroupID');
  const gidNumber = e.getNumber('gidNumber');
  const memberOf = e.getAll('memberOf');
  const u = { dn: e.dn, sAMAccountName: e.get('sAMAccountName') ?? '' } as AdUser;
  put(u, 'userPrincipalName', e.get('userPrincipalName'));
  u.cn = e.get('cn') ?? '';
  put(u, 'displayName', e.get('displayName'));
  put(u, 'givenName', e.get('givenName'));
  put(u, 'sn', e.get('sn'));
  put(u, 'description', e.get('description'));
  put(u, 'mail', e.get('mail'));
  u.otherMailbox = e.getAll('otherMailbox');
  put(u, 'company', e.get('company'));
  put(u, 'department', e.get('department'));
  put(u, 'office', e.get('physicalDeliveryOfficeName'));
  put(u, 'telephoneNumber', e.get('telephoneNumber'));
  u.type = accountTypeOf({ primaryGroupId, gidNumber, memberOf }, mailGid);
  const loginShell = e.get('loginShell');
  u.invisType = invisUserTypeOf({
    ...(primaryGroupId === undefined ? {} : { primaryGroupId }),
    ...(gidNumber === undefined ? {} : { gidNumber }),
    memberOf,
    ...(loginShell === undefined ? {} : { loginShell }),
    groupware: e.get('zarafaAccount') === '1',
  });
  u.enabled = (uac & UAC.ACCOUNTDISABLE) === 0;
  u.locked = (computed & UAC.LOCKOUT) !== 0;
  u.userAccountControl = uac;
  if (primaryGroupId !== undefined) u.primaryGroupId = primaryGroupId;
  u.memberOf = memberOf;
  if (sid !== undefined) {
    u.sid = sid;
    u.rid = Number(sid.slice(sid.lastIndexOf('-') + 1));
  }
  if (guidBuf?.length === 16) u.guid = decodeGuid(guidBuf);
  const uid = e.getNumber('uidNumber');
  if (uid !== undefined) u.uidNumber = uid;
  if (gidNumber !== undefined) u.gidNumber = gidNumber;
  put(u, 'loginShell', loginShell);
  put(u, 'unixHomeDirectory', e.get('unixHomeDirectory'));
  if (when) u.whenCreated = parseGeneralizedTime(when);
  const pwdLastSet = fileTimeToDate(e.get('pwdLastSet'));
  if (pwdLastSet !== undefined) u.pwdLastSet = pwdLastSet;
  return u;
}

/** Computes the password state from pwdLastSet, userAccountControl and the domain's maxPwdAge. */
export function passwordExpiryOf(
  user: { userAccountControl: number; pwdLastSet?: Date },
  pwdLastSetRaw: string | undefined,
  maxPwdAgeMs: number | undefined,
  now: Date,
): PasswordExpiry {
  const lastSet = user.pwdLastSet;
  if (pwdLastSetRaw === '0') return { state: 'mustChange' };
  if ((user.userAccountControl & UAC.DONT_EXPIRE_PASSWORD) !== 0 || maxPwdAgeMs === undefined || !lastSet)
    return { state: 'never', ...(lastSet ? { lastSet } : {}) };
  const expiresAt = new Date(lastSet.getTime() + maxPwdAgeMs);
  if (expiresAt.getTime() <= now.getTime()) return { state: 'expired', expiresAt, lastSet };
  return {
    state: 'valid',
    expiresAt,
    lastSet,
    daysLeft: Math.floor((expiresAt.getTime() - now.getTime()) / 86_400_000),
  };
}

/**
 * How a new user's CN is formed: as the original's `$AD_CN_ATTRIBUTE` (`userPrincipalName` →
 * `<uid>@<domain>`, `sAMAccountName` → `<uid>`, `displayName`), or `auto`: as the directory's
 * existing users are named (see README "On an existing invis server").
 */
export type CnNaming = 'auto' | 'userPrincipalName' | 'sAMAccountName' | 'displayName';

/** Accounts the original's setup creates with samba-tool (their CN says nothing about the portal's naming). */
const SETUP_ACCOUNTS = new Set(['ldap.admin', 'junk', 'postmaster']);

export interface UsersApiDeps {
  ad: LdapOperations;
  /** Default `auto`. */
  cnNaming?: CnNaming;
  domain: () => Promise<DomainInfo>;
  ids: PosixIdScheme;
  groups: GroupsApi;
  policy: () => Promise<PasswordPolicy>;
}

/** User operations (see README). */
export interface UsersApi {
  list(options?: ListUsersOptions): Promise<AdUser[]>;
  /** By sAMAccountName (case-insensitive); undefined when absent. */
  get(sAMAccountName: string): Promise<AdUser | undefined>;
  /** Finds by sAMAccountName or UPN (`name@domain`). */
  find(login: string): Promise<AdUser | undefined>;
  create(input: CreateUserInput): Promise<AdUser>;
  update(
    sAMAccountName: string,
    changes: UserProfile & { loginShell?: string; unixHomeDirectory?: string },
  ): Promise<AdUser>;
  /** New logon name (sAMAccountName + UPN) and/or new CN. */
  rename(sAMAccountName: string, to: { sAMAccountName?: string; cn?: string }): Promise<AdUser>;
  enable(sAMAccountName: string): Promise<void>;
  disable(sAMAccountName: string): Promise<void>;
  unlock(sAMAccountName: string): Promise<void>;
  /** Administrator reset; `mustChange` forces a change at next logon. */
  setPassword(sAMAccountName: string, password: string, options?: { mustChange?: boolean }): Promise<void>;
  /** The user's own change, bound as the user (delete old + add new). */
  changePassword(sAMAccountName: string, oldPassword: string, newPassword: string): Promise<void>;
  passwordExpiry(sAMAccountName: string): Promise<PasswordExpiry>;
  delete(sAMAccountName: string): Promise<void>;
}

export function createUsersApi(deps: UsersApiDeps): UsersApi {
  const { ad, ids } = deps;
  const byName = (name: string): LdapFilter =>
    f.and(f.eq('objectCategory', 'person'), f.eq('objectClass', 'user'), f.eq('sAMAccountName', name));

  const getEntry = async (
    name: string,
    attributes: readonly string[] = USER_ATTRIBUTES,
  ): Promise<AdEntry | undefined> => {
    if (typeof name !== 'string' || name === '' || name.length > 256) return undefined;
    return ad.searchOne({ filter: byName(name), attributes });
  };
  const need = async (name: string, attributes?: readonly string[]): Promise<AdEntry> => {
    const e = await getEntry(name, attributes);
    if (!e)
      throw new AdError('AD_NO_SUCH_OBJECT', `There is no user ${JSON.stringify(name)}.`, { details: { user: name } });
    return e;
  };
  const get = async (name: string): Promise<AdUser | undefined> => {
    const e = await getEntry(name);
    return e ? toUser(e, ids.mailGid) : undefined;
  };

  /** RID of the last account this client created (to guess the next one). */
  let lastRid: number | undefined;

  const addOrExplain = async (dn: string, name: string, attrs: AdAttributes): Promise<void> => {
    try {
      await ad.add(dn, attrs);
    } catch (e) {
      if (isAdError(e, 'AD_ENTRY_EXISTS') && /samAccountName/i.test(String((e.cause as Error | undefined)?.message)))
        throw new AdError('AD_ENTRY_EXISTS', `The logon name ${JSON.stringify(name)} is already in use.`, {
          cause: e,
          details: { user: name, ldapCode: 68 },
        });
      throw e;
    }
  };

  const setPasswordChanges = (password: string, mustChange?: boolean): AdChange[] => [
    { operation: 'replace', attribute: 'unicodePwd', values: encodeUnicodePwd(password) },
    ...(mustChange ? [{ operation: 'replace' as const, attribute: 'pwdLastSet', values: '0' }] : []),
  ];

  const setUac = async (name: string, fn: (uac: number) => number): Promise<void> => {
    const e = await need(name, ['userAccountControl']);
    const uac = e.getNumber('userAccountControl') ?? UAC.NORMAL_ACCOUNT;
    const next = fn(uac);
    if (next !== uac) await ad.modify(e.dn, { operation: 'replace', attribute: 'userAccountControl', values: next });
  };

  /**
   * How this directory names its users' CNs (read once from its users): the original's portal
   * uses `$AD_CN_ATTRIBUTE` (default userPrincipalName → `CN=<uid>@<domain>`); a directory without
   * such users gets the library's naming (display name, else "given sn").
   */
  let naming: Promise<CnNaming> | undefined;
  const cnNaming = (): Promise<CnNaming> => {
    if (deps.cnNaming && deps.cnNaming !== 'auto') return Promise.resolve(deps.cnNaming);
    naming ??= (async () => {
      const found = await ad.search({
        filter: f.and(f.eq('objectCategory', 'person'), f.eq('objectClass', 'user'), f.present('userPrincipalName')),
        attributes: ['cn', 'sAMAccountName', 'userPrincipalName'],
      });
      const count = { userPrincipalName: 0, sAMAccountName: 0 };
      for (const e of found) {
        const cn = (e.get('cn') ?? '').toLowerCase();
        const sam = (e.get('sAMAccountName') ?? '').toLowerCase();
        // the original's setup makes these with samba-tool, not with the portal's naming
        if (SETUP_ACCOUNTS.has(sam)) continue;
        if (cn === (e.get('userPrincipalName') ?? '').toLowerCase()) count.userPrincipalName++;
        else if (cn === sam && sam !== 'administrator') count.sAMAccountName++;
      }
      if (count.userPrincipalName === 0 && count.sAMAccountName === 0) return 'displayName';
      return count.userPrincipalName >= count.sAMAccountName ? 'userPrincipalName' : 'sAMAccountName';
    })().catch((e: unknown) => {
      naming = undefined;
      throw e;
    });
    return naming;
  };

  return {
    async list(options = {}) {
      const types = options.types;
      const filter = f.and(
        f.eq('objectCategory', 'person'),
        f.eq('objectClass', 'user'),
        !options.includeSystem && f.not(f.bitAnd('userAccountControl', UAC.INTERDOMAIN_TRUST_ACCOUNT)),
        !options.includeSystem && f.not(f.eq('sAMAccountName', 'krbtgt')),
        options.includeDisabled === false && f.not(f.bitAnd('userAccountControl', UAC.ACCOUNTDISABLE)),
        options.filter,
      );
      const attributes = options.attributes
        ? [...new Set([...options.attributes, ...TYPE_ATTRIBUTES])]
        : USER_ATTRIBUTES;
      const users: AdUser[] = [];
      // page by page: each page is mapped while the DC already produces the next one
      for await (const page of ad.searchPages({ filter, attributes, ...(options.base ? { base: options.base } : {}) }))
        for (const e of page) {
          const u = toUser(e, ids.mailGid);
          if (!types || types.includes(u.type)) users.push(u);
        }
      return users;
    },

    get,

    async find(login) {
      if (typeof login !== 'string' || login === '') return undefined;
      if (!login.includes('@')) return get(login);
      const e = await ad.searchOne({
        filter: f.and(f.eq('objectCategory', 'person'), f.eq('objectClass', 'user'), f.eq('userPrincipalName', login)),
        attributes: USER_ATTRIBUTES,
      });
      if (e) return toUser(e, ids.mailGid);
      const [local, domainPart] = login.split('@');
      const dom = await deps.domain();
      return domainPart?.toLowerCase() === dom.dnsDomain && local ? get(local) : undefined;
    },

    async create(input) {
      const type = input.type ?? 'user';
      if (!ACCOUNT_TYPES.includes(type))
        throw new AdError('AD_INVALID_INPUT', `Unknown account type ${JSON.stringify(type)}.`, {
          details: { field: 'type' },
        });
      checkSamAccountName(input.sAMAccountName);
      checkProfile(input);
      checkText('loginShell', input.loginShell);
      checkText('unixHomeDirectory', input.unixHomeDirectory);
      const pwd = encodeUnicodePwd(input.password);
      const dom = await deps.domain();
      const name = input.sAMAccountName;
      const naming = input.cn === undefined ? await cnNaming() : 'displayName';
      const cn =
        input.cn ??
        (naming === 'userPrincipalName'
          ? `${name}@${dom.dnsDomain}`
          : naming === 'sAMAccountName'
            ? name
            : (input.displayName ?? ([input.givenName, input.sn].filter(Boolean).join(' ') || name)));
      checkText('cn', cn);
      if (cn.trim() === '')
        throw new AdError('AD_INVALID_INPUT', 'The name (cn) must not be empty.', { details: { field: 'cn' } });
      const parent = input.parent ?? `CN=Users,${dom.baseDN}`;
      const dn = childDn(parent, cn);
      const localMail = `${name}@${dom.dnsDomain}`;
      const mail = input.mail || localMail;
      const other = [...(input.otherMailbox ?? [])];
      if (input.mail && input.mail.toLowerCase() !== localMail.toLowerCase() && !other.includes(localMail))
        other.push(localMail);
      const enabled = input.enabled ?? true;
      const uac = UAC.NORMAL_ACCOUNT | (enabled ? 0 : UAC.ACCOUNTDISABLE);
      const home = input.windowsHome;
      // The original gives guests no RFC2307 attributes at all (no Unix login over sssd).
      const posix = type !== 'guest';
      // The group the account's gid comes from; looked up before anything is written.
      if (type === 'mail') await deps.groups.ensureMailGroup();
      const gid = !posix ? undefined : type === 'mail' ? ids.mailGid : await deps.groups.ensureGid('Domain Users');

      const loginShell = input.loginShell ?? (type === 'mail' ? '/bin/false' : '/bin/bash');
      const unixHomeDirectory = input.unixHomeDirectory ?? `/home/${name}`;
      // The uid its RID will most likely give (the DC hands out RIDs in order): written with the
      // add, so the usual create is one write instead of two; checked and corrected below.
      const guess = lastRid === undefined || !posix ? undefined : lastRid + 1 + ids.base;
      // no pre-check: the DC refuses a logon name in use (68, also when two creates race)
      await addOrExplain(dn, name, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user'],
        cn,
        sAMAccountName: name,
        userPrincipalName: localMail,
        displayName: input.displayName ?? cn,
        givenName: input.givenName || undefined,
        sn: input.sn || undefined,
        description: input.description || undefined,
        mail,
        otherMailbox: other,
        company: input.company || undefined,
        department: input.department || undefined,
        physicalDeliveryOfficeName: input.office || undefined,
        telephoneNumber: input.telephoneNumber || undefined,
        unicodePwd: pwd,
        userAccountControl: uac,
        ...(input.mustChangePassword ? { pwdLastSet: '0' } : {}),
        ...(home
          ? {
              homeDrive: home.drive ?? 'U:',
              homeDirectory: `\\\\${home.server}\\${name}`,
              profilePath: `\\\\${home.server}\\profiles\\${name}`,
              scriptPath: home.scriptPath ?? 'user.cmd',
            }
          : {}),
        ...(posix
          ? {
              uidNumber: guess,
              gidNumber: gid,
              loginShell,
              unixHomeDirectory,
              msSFU30Name: name,
              msSFU30NisDomain: dom.nisDomain,
            }
          : {}),
      });
      let created: AdUser | undefined;
      try {
        // Read the new account back and, in the same search, every holder of the guessed uid.
        const found = await ad.search({
          filter: f.or(f.eq('distinguishedName', dn), guess !== undefined && f.eq('uidNumber', guess)),
          attributes: USER_ATTRIBUTES,
        });
        const entry = found.find((e) => dnEquals(e.dn, dn));
        const sid = entry?.getBuffer('objectSid');
        if (!entry || !sid) throw new AdError('AD_NO_SUCH_OBJECT', `The new user ${name} cannot be read back.`);
        const rid = ridOf(sid);
        lastRid = rid;
        const target = rid + ids.base;
        const holders = !posix
          ? []
          : target === guess
            ? found.filter((e) => e !== entry)
            : await ad.search({ filter: f.eq('uidNumber', target), attributes: ['objectSid'] });
        if (posix) {
          const uid = ownsRidBasedId(holders, dn, rid) ? target : await allocatePosixId(ad, 'uid', ids.base);
          if (uid !== guess) await ad.modify(dn, { operation: 'replace', attribute: 'uidNumber', values: uid });
          created = { ...toUser(entry, ids.mailGid), uidNumber: uid };
        } else created = toUser(entry, ids.mailGid);
        if (type !== 'user')
          await deps.groups.setPrimaryGroup(
            dn,
            type === 'mail' ? 'maildummies' : type === 'guest' ? 'Domain Guests' : 'Domain Admins',
            type !== 'admin',
          );
      } catch (e) {
        // no partial account: remove what this create made
        await ad.delete(dn).catch(() => undefined);
        throw e;
      }
      if (!created) throw new AdError('AD_NO_SUCH_OBJECT', `The new user ${name} cannot be read back.`);
      if (type === 'user') return created;
      // the primary group changed the memberships: read them again
      return (await get(name)) ?? created;
    },

    async update(name, changes) {
      checkProfile(changes);
      checkText('loginShell', changes.loginShell);
      checkText('unixHomeDirectory', changes.unixHomeDirectory);
      const e = await need(name, ['1.1']);
      const mods: AdChange[] = [];
      for (const [key, attr] of Object.entries(PROFILE_ATTR) as [keyof UserProfile, string][]) {
        if (!(key in changes)) continue;
        const v = changes[key];
        mods.push({ operation: 'replace', attribute: attr, values: v === '' ? [] : (v ?? []) });
      }
      if (changes.loginShell !== undefined)
        mods.push({ operation: 'replace', attribute: 'loginShell', values: changes.loginShell });
      if (changes.unixHomeDirectory !== undefined)
        mods.push({ operation: 'replace', attribute: 'unixHomeDirectory', values: changes.unixHomeDirectory });
      await ad.modify(e.dn, mods);
      return (await get(name)) as AdUser;
    },

    async rename(name, to) {
      const e = await need(name, ['userPrincipalName', 'msSFU30Name']);
      const dom = await deps.domain();
      let dn = e.dn;
      const newName = to.sAMAccountName;
      if (newName !== undefined && newName !== name) {
        checkSamAccountName(newName);
        if (await getEntry(newName, ['1.1']))
          throw new AdError('AD_ENTRY_EXISTS', `A user with the logon name ${JSON.stringify(newName)} already exists.`);
        await ad.modify(dn, [
          { operation: 'replace', attribute: 'sAMAccountName', values: newName },
          { operation: 'replace', attribute: 'userPrincipalName', values: `${newName}@${dom.dnsDomain}` },
          ...(e.has('msSFU30Name')
            ? [{ operation: 'replace' as const, attribute: 'msSFU30Name', values: newName }]
            : []),
        ]);
      }
      if (to.cn !== undefined) {
        checkText('cn', to.cn);
        if (to.cn.trim() === '') throw new AdError('AD_INVALID_INPUT', 'The name (cn) must not be empty.');
        dn = await ad.rename(dn, { newName: to.cn });
      }
      return (await get(newName ?? name)) as AdUser;
    },

    enable: (name) => setUac(name, (u) => u & ~UAC.ACCOUNTDISABLE),
    disable: (name) => setUac(name, (u) => u | UAC.ACCOUNTDISABLE),

    async unlock(name) {
      const e = await need(name, ['1.1']);
      await ad.modify(e.dn, { operation: 'replace', attribute: 'lockoutTime', values: '0' });
    },

    async setPassword(name, password, options = {}) {
      const changes = setPasswordChanges(password, options.mustChange);
      const e = await need(name, ['1.1']);
      await ad.modify(e.dn, changes);
    },

    async changePassword(name, oldPassword, newPassword) {
      const oldPwd = encodeUnicodePwd(oldPassword);
      const newPwd = encodeUnicodePwd(newPassword);
      const e = await need(name, ['userPrincipalName']);
      const login = e.get('userPrincipalName') ?? e.dn;
      await ad.withBind(login, oldPassword, (asUser) =>
        asUser.modify(e.dn, [
          { operation: 'delete', attribute: 'unicodePwd', values: oldPwd },
          { operation: 'add', attribute: 'unicodePwd', values: newPwd },
        ]),
      );
    },

    async passwordExpiry(name) {
      const e = await need(name, ['userAccountControl', 'pwdLastSet']);
      const policy = await deps.policy();
      const uac = e.getNumber('userAccountControl') ?? 0;
      const lastSet = fileTimeToDate(e.get('pwdLastSet'));
      return passwordExpiryOf(
        { userAccountControl: uac, ...(lastSet ? { pwdLastSet: lastSet } : {}) },
        e.get('pwdLastSet'),
        policy.maxAgeMs,
        ad.now(),
      );
    },

    async delete(name) {
      const e = await need(name, ['1.1']);
      const dom = await deps.domain();
      if (dnEquals(parentDn(e.dn), `CN=Users,${dom.baseDN}`) && /^(administrator|krbtgt|guest)$/i.test(name))
        throw new AdError('AD_PROTECTED', `The built-in account ${name} cannot be deleted.`, {
          details: { user: name },
        });
      try {
        await ad.delete(e.dn);
      } catch (err) {
        if (isAdError(err, 'AD_NO_SUCH_OBJECT')) return;
        throw err;
      }
    },
  };
}

// The portal's Directory on top of @invis/ad-client: every name goes through ad-client's
// filter/DN escaping, every change is a fixed attribute list (no client-supplied attribute
// maps), and AdError codes become PortalError codes.
import {
  type AdChange,
  type AdClient,
  type AdEntry,
  AdError,
  childDn,
  encodeUnicodePwd,
  f,
  fileTimeToDate,
  GROUP_TYPE,
  intervalToMs,
  isAdError,
  rdnValue,
  ridOf,
  UAC,
} from '@invis/ad-client';
import type {
  AccountType,
  AuthResult,
  Directory,
  DirectoryGroup,
  DirectoryUser,
  GroupType,
  NewGroup,
  NewUser,
  UserProfilePatch,
} from './directory';
import { PortalError, type PortalErrorCode } from './errors';

/** Options of {@link createAdDirectory}. */
export interface AdDirectoryOptions {
  ad: AdClient;
  /** DNS domain for UPNs and default mail addresses, e.g. `invis.test`. */
  domain: string;
  /** RFC2307 id = RID + this (invis: 20000). */
  idBase?: number;
  /** How long the user list is reused for search/paging (writes through the portal clear it). */
  listTtlMs?: number;
}

const USER_ATTRS = [
  'sAMAccountName',
  'displayName',
  'givenName',
  'sn',
  'description',
  'mail',
  'department',
  'physicalDeliveryOfficeName',
  'telephoneNumber',
  'userAccountControl',
  'msDS-User-Account-Control-Computed',
  'pwdLastSet',
  'primaryGroupID',
  'memberOf',
  'labeledURI',
] as const;
const GROUP_ATTRS = ['cn', 'sAMAccountName', 'description', 'mail', 'groupType', 'member', 'isCriticalSystemObject'];

const PATCH_ATTRS: Record<keyof Omit<UserProfilePatch, 'links'>, string> = {
  displayName: 'displayName',
  givenName: 'givenName',
  surname: 'sn',
  description: 'description',
  mail: 'mail',
  department: 'department',
  office: 'physicalDeliveryOfficeName',
  telephone: 'telephoneNumber',
};

const AD_TO_PORTAL: Partial<Record<AdError['code'], PortalErrorCode>> = {
  AD_NO_SUCH_OBJECT: 'PORTAL_NOT_FOUND',
  AD_ENTRY_EXISTS: 'PORTAL_CONFLICT',
  AD_VALUE_EXISTS: 'PORTAL_CONFLICT',
  AD_PASSWORD_POLICY: 'PORTAL_PASSWORD_REJECTED',
  AD_INVALID_CREDENTIALS: 'PORTAL_INVALID_CREDENTIALS',
  AD_INSUFFICIENT_RIGHTS: 'PORTAL_FORBIDDEN',
  AD_PROTECTED: 'PORTAL_FORBIDDEN',
  AD_INVALID_INPUT: 'PORTAL_VALIDATION',
  AD_INVALID_DN: 'PORTAL_VALIDATION',
  AD_INVALID_FILTER: 'PORTAL_VALIDATION',
  AD_CONNECTION: 'PORTAL_DIRECTORY_UNAVAILABLE',
  AD_TIMEOUT: 'PORTAL_DIRECTORY_UNAVAILABLE',
  AD_TLS: 'PORTAL_DIRECTORY_UNAVAILABLE',
  AD_CLOSED: 'PORTAL_DIRECTORY_UNAVAILABLE',
};

/** Maps an ad-client error to the portal's; the AdError stays as `cause`. */
export function toPortalError(e: unknown): unknown {
  if (!(e instanceof AdError)) return e;
  const code = AD_TO_PORTAL[e.code] ?? 'PORTAL_INTERNAL';
  return new PortalError(code, code === 'PORTAL_INTERNAL' ? 'directory error' : e.message, {
    cause: e,
    data: { adCode: e.code },
  });
}

const AUTH_REASONS: Partial<Record<AdError['code'], Exclude<AuthResult, { ok: true }>['reason']>> = {
  AD_INVALID_CREDENTIALS: 'invalid',
  AD_ACCOUNT_DISABLED: 'disabled',
  AD_ACCOUNT_EXPIRED: 'disabled',
  AD_LOGON_RESTRICTED: 'disabled',
  AD_ACCOUNT_LOCKED: 'locked',
  AD_PASSWORD_EXPIRED: 'expired',
  AD_PASSWORD_MUST_CHANGE: 'must-change',
};

const lower = (s: string): string => s.toLowerCase();
// One collator for all sorting: `localeCompare(…, 'de')` builds a new one per call (slow for 5,000 users).
const byName = new Intl.Collator('de').compare;

/** A named constant from ad-client's flag tables (typed as records, so looked up once here). */
function flag(table: Readonly<Record<string, number>>, name: string): number {
  const v = table[name];
  if (v === undefined) throw new PortalError('PORTAL_INTERNAL', `unknown flag ${name}`);
  return v;
}
const DISABLED = flag(UAC, 'ACCOUNTDISABLE');
const LOCKOUT = flag(UAC, 'LOCKOUT');
const NO_EXPIRY = flag(UAC, 'DONT_EXPIRE_PASSWORD');
const NORMAL = flag(UAC, 'NORMAL_ACCOUNT');
const GT_BUILTIN = flag(GROUP_TYPE, 'BUILTIN_LOCAL');
const GT_GLOBAL = flag(GROUP_TYPE, 'GLOBAL');
const GT_SECURITY = flag(GROUP_TYPE, 'SECURITY');

/**
 * Creates the portal's directory on an ad-client connection bound as the portal's service
 * account.
 * @example const directory = createAdDirectory({ ad: createAdClient({...}), domain: 'invis.test' });
 */
export function createAdDirectory(options: AdDirectoryOptions): Directory {
  const { ad, domain } = options;
  const idBase = options.idBase ?? 20_000;
  const ttl = options.listTtlMs ?? 10_000;
  let list: { at: number; users: Promise<(DirectoryUser & { dn: string })[]>; refreshing: boolean } | null = null;
  let maxPwdAgeMs: Promise<number | undefined> | null = null;
  const usersBase = async (): Promise<string> => `CN=Users,${await ad.baseDN()}`;

  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (e) {
        throw toPortalError(e);
      }
    };
  const changed = (): void => {
    list = null;
  };

  const passwordMaxAge = (): Promise<number | undefined> => {
    maxPwdAgeMs ??= ad
      .baseDN()
      .then((base) => ad.get(base, ['maxPwdAge']))
      .then((e) => intervalToMs(e?.get('maxPwdAge')));
    return maxPwdAgeMs;
  };

  const toUser = (e: AdEntry, maxAge: number | undefined): DirectoryUser & { dn: string } => {
    const uac = e.getNumber('userAccountControl') ?? 0;
    const computed = e.getNumber('msDS-User-Account-Control-Computed') ?? 0;
    const groups = e.getAll('memberOf').map(rdnValue);
    const groupSet = new Set(groups.map(lower));
    const primary = e.getNumber('primaryGroupID');
    const accountType: AccountType =
      primary === 514 || groupSet.has('domain guests')
        ? 'guest'
        : groupSet.has('maildummies')
          ? 'mail'
          : primary === 512 || groupSet.has('domain admins')
            ? 'admin'
            : 'user';
    const lastSet = fileTimeToDate(e.get('pwdLastSet'));
    const expires =
      uac & NO_EXPIRY || maxAge === undefined
        ? null
        : lastSet
          ? new Date(lastSet.getTime() + maxAge).toISOString()
          : new Date(0).toISOString();
    const sam = e.get('sAMAccountName') ?? '';
    return {
      dn: e.dn,
      username: sam,
      displayName: e.get('displayName') ?? sam,
      givenName: e.get('givenName') ?? '',
      surname: e.get('sn') ?? '',
      description: e.get('description') ?? '',
      mail: e.get('mail') ?? '',
      department: e.get('department') ?? '',
      office: e.get('physicalDeliveryOfficeName') ?? '',
      telephone: e.get('telephoneNumber') ?? '',
      accountType,
      enabled: (uac & DISABLED) === 0,
      locked: ((computed | uac) & LOCKOUT) !== 0,
      passwordExpiresAt: expires,
      groups: groups.sort(byName),
      links: e.getAll('labeledURI').map((v) => {
        const i = v.indexOf(' ');
        return i < 0 ? { url: v, label: v } : { url: v.slice(0, i), label: v.slice(i + 1) };
      }),
    };
  };

  const userFilter = (username?: string) =>
    f.and(
      f.eq('objectCategory', 'person'),
      f.eq('objectClass', 'user'),
      username !== undefined && f.eq('sAMAccountName', username),
    );

  const findUser = async (username: string): Promise<(DirectoryUser & { dn: string }) | null> => {
    const [entry, maxAge] = await Promise.all([
      ad.searchOne({ filter: userFilter(username), attributes: USER_ATTRS }),
      passwordMaxAge(),
    ]);
    return entry ? toUser(entry, maxAge) : null;
  };
  const userDn = async (username: string): Promise<string> => {
    const u = await ad.searchOne({ filter: userFilter(username), attributes: ['sAMAccountName'] });
    if (!u) throw new PortalError('PORTAL_NOT_FOUND', `no user ${username}`, { data: { username } });
    return u.dn;
  };
  const groupEntry = async (name: string): Promise<AdEntry | undefined> =>
    ad.searchOne({
      filter: f.and(f.eq('objectClass', 'group'), f.eq('sAMAccountName', name)),
      attributes: GROUP_ATTRS,
    });
  const groupDn = async (name: string): Promise<string> => {
    const g = await groupEntry(name);
    if (!g) throw new PortalError('PORTAL_NOT_FOUND', `no group ${name}`, { data: { name } });
    return g.dn;
  };
  const loadUsers = (): Promise<(DirectoryUser & { dn: string })[]> =>
    Promise.all([ad.search({ filter: userFilter(), attributes: USER_ATTRS }), passwordMaxAge()]).then(
      ([entries, maxAge]) => entries.map((e) => toUser(e, maxAge)).sort((a, b) => byName(a.username, b.username)),
    );
  // Stale-while-revalidate: after the first load, readers never wait for the DC; a refresh runs
  // in the background once the list is older than the TTL. Writes through the portal drop the
  // list, so the next read shows them.
  const allUsers = (): Promise<(DirectoryUser & { dn: string })[]> => {
    const t = Date.now();
    if (!list) {
      const users = loadUsers();
      const entry = { at: t, users, refreshing: false };
      list = entry;
      users.catch(() => {
        if (list === entry) list = null;
      });
      return users;
    }
    const current = list;
    if (t - current.at > ttl && !current.refreshing) {
      current.refreshing = true;
      loadUsers().then(
        (users) => {
          if (list === current) list = { at: Date.now(), users: Promise.resolve(users), refreshing: false };
        },
        () => {
          current.refreshing = false;
        },
      );
    }
    return current.users;
  };
  const strip = ({ dn: _, ...u }: DirectoryUser & { dn: string }): DirectoryUser => u;
  const ridId = async (dn: string): Promise<number> => {
    const e = await ad.get(dn, ['objectSid']);
    const sid = e?.getBuffer('objectSid');
    if (!sid) throw new PortalError('PORTAL_INTERNAL', 'new object has no SID');
    return ridOf(sid) + idBase;
  };
  const setMembers = async (group: string, add: string[], remove: string[]): Promise<void> => {
    const changes: AdChange[] = [];
    if (add.length) changes.push({ operation: 'add', attribute: 'member', values: add });
    if (remove.length) changes.push({ operation: 'delete', attribute: 'member', values: remove });
    if (changes.length) await ad.modify(group, changes);
  };

  const toGroup = async (e: AdEntry): Promise<DirectoryGroup> => {
    const byDn = new Map((await allUsers()).map((u) => [lower(u.dn), u.username]));
    const gt = e.getNumber('groupType') ?? 0;
    const builtin = e.get('isCriticalSystemObject') === 'TRUE' || (gt & GT_BUILTIN) !== 0;
    const mail = e.get('mail') ?? '';
    const type: DirectoryGroup['type'] = builtin
      ? 'other'
      : (gt & GT_SECURITY) === 0
        ? 'distribution'
        : mail
          ? 'team-mail'
          : 'team';
    return {
      name: e.get('sAMAccountName') ?? e.get('cn') ?? '',
      description: e.get('description') ?? '',
      type,
      mail,
      members: e
        .getAll('member')
        .map((dn) => byDn.get(lower(dn)) ?? rdnValue(dn))
        .sort(byName),
    };
  };

  const linkValues = (links: UserProfilePatch['links']): string[] =>
    (links ?? []).map((l) => `${l.url} ${l.label}`.trim());
  const patchChanges = (patch: UserProfilePatch): AdChange[] => {
    const changes: AdChange[] = [];
    for (const [key, attribute] of Object.entries(PATCH_ATTRS) as [keyof typeof PATCH_ATTRS, string][]) {
      const value = patch[key];
      if (value !== undefined) changes.push({ operation: 'replace', attribute, values: value === '' ? [] : value });
    }
    if (patch.links !== undefined)
      changes.push({ operation: 'replace', attribute: 'labeledURI', values: linkValues(patch.links) });
    return changes;
  };

  const ACCOUNT_GROUP: Record<AccountType, string | null> = {
    guest: 'Domain Guests',
    mail: 'maildummies',
    user: null,
    admin: 'Domain Admins',
  };

  return {
    authenticate: async (username, password) => {
      try {
        const u = await ad.searchOne({ filter: userFilter(username), attributes: ['sAMAccountName'] });
        // Unknown names bind as a UPN that does not exist: same answer and similar timing.
        await ad.verifyBind(u?.dn ?? `${username}@${domain}`, password);
        return { ok: true };
      } catch (e) {
        const reason = isAdError(e) ? AUTH_REASONS[e.code] : undefined;
        if (reason) return { ok: false, reason };
        throw toPortalError(e);
      }
    },

    changePassword: wrap(async (username, oldPassword, newPassword) => {
      const dn = await userDn(username);
      try {
        await ad.verifyBind(dn, oldPassword);
      } catch (e) {
        // An expired password is still the right password: the change below is allowed.
        if (!isAdError(e, 'AD_PASSWORD_EXPIRED', 'AD_PASSWORD_MUST_CHANGE')) throw e;
      }
      // delete(old)+add(new) is a password *change*: the DC checks the old value and the policy.
      await ad.modify(dn, [
        { operation: 'delete', attribute: 'unicodePwd', values: encodeUnicodePwd(oldPassword) },
        { operation: 'add', attribute: 'unicodePwd', values: encodeUnicodePwd(newPassword) },
      ]);
      changed();
    }),

    getUser: wrap(async (username) => {
      const u = await findUser(username);
      return u ? strip(u) : null;
    }),

    listUsers: wrap(async ({ search, offset, limit }) => {
      const needle = lower(search);
      const all = await allUsers();
      const hits = needle
        ? all.filter((u) => lower(u.username).includes(needle) || lower(u.displayName).includes(needle))
        : all;
      return { total: hits.length, items: hits.slice(offset, offset + limit).map(strip) };
    }),

    createUser: wrap(async (input: NewUser) => {
      const base = await usersBase();
      const dn = childDn(base, input.username);
      const mailOnly = input.accountType === 'mail';
      await ad.add(dn, {
        objectClass: 'user',
        sAMAccountName: input.username,
        userPrincipalName: `${input.username}@${domain}`,
        givenName: input.givenName,
        sn: input.surname,
        displayName: input.displayName || `${input.givenName} ${input.surname}`,
        description: input.description || undefined,
        mail: input.mail || `${input.username}@${domain}`,
        department: input.department || undefined,
        physicalDeliveryOfficeName: input.office || undefined,
        telephoneNumber: input.telephone || undefined,
        labeledURI: input.links?.length ? linkValues(input.links) : undefined,
        unicodePwd: encodeUnicodePwd(input.password),
        userAccountControl: NORMAL,
        loginShell: mailOnly ? '/bin/false' : '/bin/bash',
        unixHomeDirectory: `/home/${input.username}`,
      });
      changed();
      try {
        const uid = await ridId(dn);
        await ad.modify(dn, [
          { operation: 'replace', attribute: 'uidNumber', values: uid },
          { operation: 'replace', attribute: 'gidNumber', values: idBase + 513 },
        ]);
        const group = ACCOUNT_GROUP[input.accountType];
        if (group) await setMembers(await groupDn(group), [dn], []);
        if (input.accountType === 'guest') {
          await ad.modify(dn, { operation: 'replace', attribute: 'primaryGroupID', values: 514 });
        }
      } catch (e) {
        // No half-made accounts: remove what was created.
        await ad.delete(dn).catch(() => undefined);
        throw e;
      }
      const created = await findUser(input.username);
      if (!created) throw new PortalError('PORTAL_INTERNAL', 'created user not found');
      return strip(created);
    }),

    updateUser: wrap(async (username, patch) => {
      const dn = await userDn(username);
      const changes = patchChanges(patch);
      if (changes.length) await ad.modify(dn, changes);
      changed();
      const u = await findUser(username);
      if (!u) throw new PortalError('PORTAL_NOT_FOUND', `no user ${username}`);
      return strip(u);
    }),

    setEnabled: wrap(async (username, enabled) => {
      const dn = await userDn(username);
      const e = await ad.get(dn, ['userAccountControl']);
      const uac = e?.getNumber('userAccountControl') ?? NORMAL;
      const next = enabled ? uac & ~DISABLED : uac | DISABLED;
      await ad.modify(dn, { operation: 'replace', attribute: 'userAccountControl', values: next });
      changed();
    }),

    unlock: wrap(async (username) => {
      await ad.modify(await userDn(username), { operation: 'replace', attribute: 'lockoutTime', values: 0 });
      changed();
    }),

    resetPassword: wrap(async (username, password, mustChange) => {
      const dn = await userDn(username);
      await ad.modify(dn, [
        { operation: 'replace', attribute: 'unicodePwd', values: encodeUnicodePwd(password) },
        // pwdLastSet: 0 forces a change at next logon, -1 means "now".
        { operation: 'replace', attribute: 'pwdLastSet', values: mustChange ? 0 : -1 },
      ]);
      changed();
    }),

    deleteUser: wrap(async (username) => {
      await ad.delete(await userDn(username));
      changed();
    }),

    isMember: wrap(async (username, group) => {
      const g = await groupEntry(group);
      if (!g) return false;
      const hit = await ad.searchOne({
        filter: f.and(userFilter(username), f.inChain('memberOf', g.dn)),
        attributes: ['sAMAccountName'],
      });
      return hit !== undefined;
    }),

    listGroups: wrap(async () => {
      const entries = await ad.search({ filter: f.eq('objectClass', 'group'), attributes: GROUP_ATTRS });
      const groups = await Promise.all(entries.map(toGroup));
      return groups.sort((a, b) => byName(a.name, b.name));
    }),

    getGroup: wrap(async (name) => {
      const e = await groupEntry(name);
      return e ? toGroup(e) : null;
    }),

    createGroup: wrap(async (input: NewGroup) => {
      const dn = childDn(await usersBase(), input.name);
      const type: GroupType = input.type;
      const security = type !== 'distribution';
      await ad.add(dn, {
        objectClass: 'group',
        sAMAccountName: input.name,
        description: input.description || undefined,
        groupType: security ? GT_GLOBAL | GT_SECURITY : GT_GLOBAL,
        mail: type === 'team' ? undefined : `${input.name}@${domain}`,
      });
      try {
        await ad.modify(dn, { operation: 'replace', attribute: 'gidNumber', values: await ridId(dn) });
        const members = await Promise.all((input.members ?? []).map(userDn));
        await setMembers(dn, members, []);
      } catch (e) {
        await ad.delete(dn).catch(() => undefined);
        throw e;
      }
      const e = await groupEntry(input.name);
      if (!e) throw new PortalError('PORTAL_INTERNAL', 'created group not found');
      return toGroup(e);
    }),

    updateGroup: wrap(async (name, patch) => {
      const g = await groupEntry(name);
      if (!g) throw new PortalError('PORTAL_NOT_FOUND', `no group ${name}`, { data: { name } });
      if (patch.description !== undefined) {
        await ad.modify(g.dn, {
          operation: 'replace',
          attribute: 'description',
          values: patch.description === '' ? [] : patch.description,
        });
      }
      if (patch.members !== undefined) {
        const wanted = await Promise.all(patch.members.map(userDn));
        const current = new Set(g.getAll('member').map(lower));
        const wantedSet = new Set(wanted.map(lower));
        await setMembers(
          g.dn,
          wanted.filter((dn) => !current.has(lower(dn))),
          g.getAll('member').filter((dn) => !wantedSet.has(lower(dn))),
        );
      }
      changed();
      const after = await groupEntry(name);
      if (!after) throw new PortalError('PORTAL_NOT_FOUND', `no group ${name}`);
      return toGroup(after);
    }),

    deleteGroup: wrap(async (name) => {
      const g = await groupEntry(name);
      if (!g) throw new PortalError('PORTAL_NOT_FOUND', `no group ${name}`, { data: { name } });
      const sid = (await ad.get(g.dn, ['objectSid']))?.getBuffer('objectSid');
      // Built-in groups (critical system objects, RIDs below 1000) are never deleted.
      if (g.get('isCriticalSystemObject') === 'TRUE' || (sid && ridOf(sid) < 1000)) {
        throw new PortalError('PORTAL_FORBIDDEN', `${name} is a built-in group`, { data: { name } });
      }
      await ad.delete(g.dn);
      changed();
    }),
  };
}

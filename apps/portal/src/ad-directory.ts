// The portal's Directory on @invis/ad-client's users, groups and authenticate: account types,
// RFC2307 ids, group kinds, protection of built-in groups and all escaping live there. This
// file maps shapes (AdUser → DirectoryUser), adds personal links (labeledURI), the
// expired-password change, and turns AdError codes into PortalError codes.
import {
  type AdClient,
  type AdError,
  type AdGroup,
  type AdUser,
  encodeUnicodePwd,
  GROUP_TYPE,
  isAdError,
  type PasswordExpiry,
  passwordExpiryOf,
  rdnValue,
} from '@invis/ad-client';
import type { AuthResult, Directory, DirectoryGroup, DirectoryUser, Principal, UserProfilePatch } from './directory';
import { PortalError, type PortalErrorCode } from './errors';
import { staleWhileRevalidate } from './swr';

/** Options of {@link createAdDirectory}. */
export interface AdDirectoryOptions {
  ad: AdClient;
  /** How long the user list is reused for search/paging (writes through the portal clear it). */
  listTtlMs?: number;
  /**
   * NetBIOS name of the invis file server: Windows accounts (user, admin) then get homeDrive U:,
   * `\\<server>\<user>`, the roaming profile and `user.cmd`, as the original's types 3 and 6.
   */
  windowsFileServer?: string;
}

const AD_TO_PORTAL: Partial<Record<AdError['code'], PortalErrorCode>> = {
  AD_NO_SUCH_OBJECT: 'PORTAL_NOT_FOUND',
  AD_ENTRY_EXISTS: 'PORTAL_CONFLICT',
  AD_VALUE_EXISTS: 'PORTAL_CONFLICT',
  AD_PASSWORD_POLICY: 'PORTAL_PASSWORD_REJECTED',
  AD_INVALID_CREDENTIALS: 'PORTAL_INVALID_CREDENTIALS',
  // A bind as the user (own password change) reports the account state like a login does.
  AD_ACCOUNT_DISABLED: 'PORTAL_ACCOUNT_DISABLED',
  AD_ACCOUNT_EXPIRED: 'PORTAL_ACCOUNT_DISABLED',
  AD_LOGON_RESTRICTED: 'PORTAL_ACCOUNT_DISABLED',
  AD_ACCOUNT_LOCKED: 'PORTAL_ACCOUNT_LOCKED',
  AD_PASSWORD_EXPIRED: 'PORTAL_PASSWORD_EXPIRED',
  AD_PASSWORD_MUST_CHANGE: 'PORTAL_PASSWORD_EXPIRED',
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

// Fixed texts: an AdError's message can name the bind DN, the DC's address or TLS details,
// and these answers also reach clients that are not logged in.
const FIXED_TEXT: Partial<Record<PortalErrorCode, string>> = {
  PORTAL_NOT_FOUND: 'not found',
  PORTAL_CONFLICT: 'exists already',
  PORTAL_PASSWORD_REJECTED: 'the password policy refused the new password',
  PORTAL_INVALID_CREDENTIALS: 'wrong user name or password',
  PORTAL_ACCOUNT_DISABLED: 'account disabled',
  PORTAL_ACCOUNT_LOCKED: 'account locked',
  PORTAL_PASSWORD_EXPIRED: 'password expired; change it',
  PORTAL_FORBIDDEN: 'not allowed by the directory',
  PORTAL_VALIDATION: 'the directory refused the value',
  PORTAL_DIRECTORY_UNAVAILABLE: 'directory unavailable',
};

/**
 * Maps an ad-client error to the portal's with a fixed text per code; the AdError stays as
 * `cause`, and its details go to the server log only (failures, not everyday answers).
 */
export function toPortalError(e: unknown): unknown {
  if (!isAdError(e)) return e;
  const code = AD_TO_PORTAL[e.code] ?? 'PORTAL_INTERNAL';
  if (code === 'PORTAL_DIRECTORY_UNAVAILABLE' || code === 'PORTAL_INTERNAL') {
    console.error(`portal: directory error ${e.code}: ${e.message}`);
  }
  return new PortalError(code, FIXED_TEXT[code] ?? 'directory error', { cause: e });
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
const BUILTIN_LOCAL = GROUP_TYPE.BUILTIN_LOCAL ?? 1;

function expiryIso(p: PasswordExpiry): string | null {
  if (p.state === 'never') return null;
  if (p.state === 'mustChange') return new Date(0).toISOString();
  return p.expiresAt?.toISOString() ?? null;
}

// The primary group is not in memberOf; name the well-known ones (RIDs 512–514).
const PRIMARY_GROUPS: Readonly<Record<number, string>> = {
  512: 'Domain Admins',
  513: 'Domain Users',
  514: 'Domain Guests',
};
function withPrimary(groups: string[], primaryGroupId: number | undefined): string[] {
  const primary = primaryGroupId === undefined ? undefined : PRIMARY_GROUPS[primaryGroupId];
  return primary && !groups.some((g) => lower(g) === lower(primary)) ? [...groups, primary] : groups;
}

function toLinks(values: readonly string[]): DirectoryUser['links'] {
  return values.map((v) => {
    const i = v.indexOf(' ');
    return i < 0 ? { url: v, label: v } : { url: v.slice(0, i), label: v.slice(i + 1) };
  });
}
const linkValues = (links: UserProfilePatch['links']): string[] =>
  (links ?? []).map((l) => `${l.url} ${l.label}`.trim());

function toUser(u: AdUser, passwordExpiresAt: string | null, links: DirectoryUser['links']): DirectoryUser {
  return {
    username: u.sAMAccountName,
    displayName: u.displayName ?? u.sAMAccountName,
    givenName: u.givenName ?? '',
    surname: u.sn ?? '',
    description: u.description ?? '',
    mail: u.mail ?? '',
    department: u.department ?? '',
    office: u.office ?? '',
    telephone: u.telephoneNumber ?? '',
    accountType: u.type,
    enabled: u.enabled,
    locked: u.locked,
    passwordExpiresAt,
    groups: withPrimary(u.memberOf.map(rdnValue), u.primaryGroupId).sort(byName),
    links,
  };
}

/** ad-client's profile fields from the portal's patch (only the fields that were given). */
function profileOf(patch: UserProfilePatch) {
  const fields = {
    displayName: patch.displayName,
    givenName: patch.givenName,
    sn: patch.surname,
    description: patch.description,
    mail: patch.mail,
    department: patch.department,
    office: patch.office,
    telephoneNumber: patch.telephone,
  };
  return Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
}

/**
 * Creates the portal's directory on an ad-client connection bound as the portal's service
 * account.
 * @example const directory = createAdDirectory({ ad: createAdClient({ url, upn, password, ca }) });
 */
export function createAdDirectory(options: AdDirectoryOptions): Directory {
  const { ad } = options;
  const ttl = options.listTtlMs ?? 10_000;
  type Listed = DirectoryUser & { dn: string };

  const wrap =
    <A extends unknown[], R>(fn: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      try {
        return await fn(...args);
      } catch (e) {
        throw toPortalError(e);
      }
    };
  const changed = (): void => userList.invalidate();

  const loadUsers = async (): Promise<Listed[]> => {
    const [users, policy] = await Promise.all([ad.users.list(), ad.policy.get()]);
    const now = ad.now();
    return users
      .map((u) => ({
        ...toUser(u, expiryIso(passwordExpiryOf(u, undefined, policy.maxAgeMs, now)), []),
        dn: u.dn,
      }))
      .sort((a, b) => byName(a.username, b.username));
  };
  // Readers never wait for the DC after the first load; writes through the portal invalidate.
  const userList = staleWhileRevalidate(loadUsers, ttl);
  const allUsers = (): Promise<Listed[]> => userList.get();

  const needUser = async (username: string): Promise<AdUser> => {
    const u = await ad.users.get(username);
    if (!u) throw new PortalError('PORTAL_NOT_FOUND', `no user ${username}`, { details: { username } });
    return u;
  };
  const getUser = async (username: string): Promise<DirectoryUser | null> => {
    const u = await ad.users.get(username);
    if (!u) return null;
    const [expiry, extra] = await Promise.all([
      ad.users.passwordExpiry(u.sAMAccountName),
      ad.get(u.dn, ['labeledURI']),
    ]);
    return toUser(u, expiryIso(expiry), toLinks(extra?.getAll('labeledURI') ?? []));
  };
  const needDirectoryUser = async (username: string): Promise<DirectoryUser> => {
    const u = await getUser(username);
    if (!u) throw new PortalError('PORTAL_NOT_FOUND', `no user ${username}`, { details: { username } });
    return u;
  };
  const setLinks = async (username: string, links: UserProfilePatch['links']): Promise<void> => {
    if (links === undefined) return;
    const u = await needUser(username);
    await ad.modify(u.dn, { operation: 'replace', attribute: 'labeledURI', values: linkValues(links) });
  };

  const toGroup = async (g: AdGroup): Promise<DirectoryGroup> => {
    const byDn = new Map((await allUsers()).map((u) => [lower(u.dn), u.username]));
    const builtin = (g.rid !== undefined && g.rid < 1000) || (g.groupType & BUILTIN_LOCAL) !== 0;
    return {
      name: g.name,
      description: g.description ?? '',
      type: builtin ? 'other' : g.kind === 'distribution' ? 'distribution' : g.mail ? 'team-mail' : 'team',
      mail: g.mail ?? '',
      gid: g.gidNumber ?? null,
      members: g.members.map((dn) => byDn.get(lower(dn)) ?? rdnValue(dn)).sort(byName),
    };
  };
  const needGroup = async (name: string): Promise<AdGroup> => {
    const g = await ad.groups.get(name);
    if (!g) throw new PortalError('PORTAL_NOT_FOUND', `no group ${name}`, { details: { name } });
    return g;
  };
  const mailOf = async (name: string): Promise<string> => {
    const dns = (await ad.baseDN()).split(',').map((rdn) => rdn.replace(/^DC=/i, ''));
    return `${name}@${dns.join('.')}`;
  };

  return {
    authenticate: async (username, password) => {
      try {
        const auth = await ad.authenticate(username, password);
        return { ok: true, username: auth.user.sAMAccountName, groups: auth.groupNames };
      } catch (e) {
        const reason = isAdError(e) ? AUTH_REASONS[e.code] : undefined;
        if (reason) return { ok: false, reason };
        throw toPortalError(e);
      }
    },

    changePassword: wrap(async (username, oldPassword, newPassword) => {
      const u = await needUser(username);
      try {
        await ad.verifyBind(u.dn, oldPassword);
      } catch (e) {
        // An expired password cannot bind, so ad-client's own change (bound as the user) is
        // impossible; the DC still checks the old value in the delete+add below.
        if (!isAdError(e, 'AD_PASSWORD_EXPIRED', 'AD_PASSWORD_MUST_CHANGE')) throw e;
        await ad.modify(u.dn, [
          { operation: 'delete', attribute: 'unicodePwd', values: encodeUnicodePwd(oldPassword) },
          { operation: 'add', attribute: 'unicodePwd', values: encodeUnicodePwd(newPassword) },
        ]);
        changed();
        return;
      }
      await ad.users.changePassword(u.sAMAccountName, oldPassword, newPassword);
      changed();
    }),

    getUser: wrap(getUser),

    principal: wrap(async (kind, name): Promise<Principal | null> => {
      const found = kind === 'user' ? await ad.users.get(name) : await ad.groups.get(name);
      if (!found) return null;
      const [memberOf, extra] = await Promise.all([
        ad.groups.groupsOf(found.dn, { transitive: true }),
        ad.get(found.dn, ['adminCount']),
      ]);
      const user = 'sAMAccountName' in found ? found : null;
      const group = 'groupType' in found ? found : null;
      return {
        name: user ? user.sAMAccountName : (group?.name ?? name),
        enabled: user ? user.enabled : true,
        rid: found.rid ?? null,
        adminCount: Number(extra?.get('adminCount') ?? 0) > 0,
        builtin: group ? (group.groupType & BUILTIN_LOCAL) !== 0 : false,
        memberOf: memberOf.map((g) => ({ name: g.name, rid: g.rid ?? null })),
      };
    }),

    listUsers: wrap(async ({ search, offset, limit }) => {
      const needle = lower(search);
      const all = await allUsers();
      const hits = needle
        ? all.filter((u) => lower(u.username).includes(needle) || lower(u.displayName).includes(needle))
        : all;
      return { total: hits.length, items: hits.slice(offset, offset + limit).map(({ dn: _, ...u }) => u) };
    }),

    createUser: wrap(async (input) => {
      const created = await ad.users.create({
        ...profileOf(input),
        // The original's default display name: "first last".
        displayName: input.displayName || `${input.givenName} ${input.surname}`,
        sAMAccountName: input.username,
        cn: input.username,
        password: input.password,
        type: input.accountType,
        ...(options.windowsFileServer && (input.accountType === 'user' || input.accountType === 'admin')
          ? { windowsHome: { server: options.windowsFileServer } }
          : {}),
      });
      changed();
      try {
        await setLinks(created.sAMAccountName, input.links);
      } catch (e) {
        // No half-made accounts.
        await ad.users.delete(created.sAMAccountName).catch(() => undefined);
        throw e;
      }
      return needDirectoryUser(created.sAMAccountName);
    }),

    updateUser: wrap(async (username, patch) => {
      const profile = profileOf(patch);
      if (Object.keys(profile).length) await ad.users.update(username, profile);
      await setLinks(username, patch.links);
      changed();
      return needDirectoryUser(username);
    }),

    setEnabled: wrap(async (username, enabled) => {
      await (enabled ? ad.users.enable(username) : ad.users.disable(username));
      changed();
    }),

    unlock: wrap(async (username) => {
      await ad.users.unlock(username);
      changed();
    }),

    resetPassword: wrap(async (username, password, mustChange) => {
      await ad.users.setPassword(username, password, { mustChange });
      changed();
    }),

    deleteUser: wrap(async (username) => {
      await ad.users.delete(username);
      changed();
    }),

    listGroups: wrap(async () => {
      const groups = await Promise.all((await ad.groups.list()).map(toGroup));
      return groups.sort((a, b) => byName(a.name, b.name));
    }),

    getGroup: wrap(async (name) => {
      const g = await ad.groups.get(name);
      return g ? toGroup(g) : null;
    }),

    createGroup: wrap(async (input) => {
      const created = await ad.groups.create({
        name: input.name,
        ...(input.description ? { description: input.description } : {}),
        kind: input.type === 'distribution' ? 'distribution' : 'security',
        ...(input.type === 'team' ? {} : { mail: await mailOf(input.name) }),
        ...(input.members?.length ? { members: input.members } : {}),
      });
      changed();
      return toGroup(created);
    }),

    updateGroup: wrap(async (name, patch) => {
      await needGroup(name);
      if (patch.description !== undefined) await ad.groups.update(name, { description: patch.description });
      if (patch.members !== undefined) {
        for (const m of patch.members) await needUser(m);
        await ad.groups.setMembers(name, patch.members);
      }
      changed();
      return toGroup(await needGroup(name));
    }),

    deleteGroup: wrap(async (name) => {
      await ad.groups.delete(name);
      changed();
    }),
  };
}

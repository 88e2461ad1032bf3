// Groups: CRUD, types (security/distribution; global/domain-local/universal), membership
// add/remove/set (diff-based), nested membership (LDAP_MATCHING_RULE_IN_CHAIN), gidNumber =
// RID + 20000 as the original, protection of built-in and invis system groups.
import { childDn, dnEquals, parseDn } from './dn';
import { type DomainInfo, type PosixIdScheme, posixIdFor, readRid } from './domain';
import type { AdEntry } from './entry';
import { AdError, isAdError } from './errors';
import { f } from './filter';
import type { AdChange, LdapOperations } from './ldap';
import { checkSamAccountName, checkText } from './validate';
import { decodeSid, encodeSid, GROUP_TYPE } from './values';

export type GroupKind = 'security' | 'distribution';
export type GroupScope = 'global' | 'domainLocal' | 'universal';

export interface AdGroup {
  dn: string;
  name: string;
  cn: string;
  description?: string;
  mail?: string;
  kind: GroupKind;
  scope: GroupScope;
  groupType: number;
  sid?: string;
  rid?: number;
  gidNumber?: number;
  /** Direct members (DNs). */
  members: string[];
  /** Built-in/critical or an invis system group: cannot be deleted. */
  protected: boolean;
}

export interface CreateGroupInput {
  /** sAMAccountName and CN (1–64 characters for the CN; ≤ 256 for the logon name is AD's limit, we keep ≤ 64). */
  name: string;
  description?: string;
  /** Group mail address (the original's "Team+Gruppenmail" and "Mail-Verteiler"). */
  mail?: string;
  /** Default `security`. */
  kind?: GroupKind;
  /** Default `global`. */
  scope?: GroupScope;
  /** Initial members (DNs or sAMAccountNames). */
  members?: readonly string[];
  /** Container; default `CN=Users,<base>`. */
  parent?: string;
  /** gidNumber; default RID + 20000 (security groups only, as the original). */
  gidNumber?: number;
}

export interface GroupsApi {
  list(options?: { kind?: GroupKind; base?: string }): Promise<AdGroup[]>;
  get(name: string): Promise<AdGroup | undefined>;
  create(input: CreateGroupInput): Promise<AdGroup>;
  update(name: string, changes: { description?: string; mail?: string }): Promise<AdGroup>;
  rename(name: string, newName: string): Promise<AdGroup>;
  /** @throws AdError `AD_PROTECTED` for built-in and invis system groups */
  delete(name: string): Promise<void>;
  /** Adds members (DNs or sAMAccountNames); ones already present are skipped. */
  addMembers(name: string, members: readonly string[]): Promise<void>;
  /** Removes members; ones not present are skipped. */
  removeMembers(name: string, members: readonly string[]): Promise<void>;
  /** Makes the membership exactly `members` with the smallest add/delete (one atomic modify). */
  setMembers(name: string, members: readonly string[]): Promise<{ added: string[]; removed: string[] }>;
  /** Members; `transitive` resolves nested groups (users, groups and contacts, in-chain rule). */
  members(name: string, options?: { transitive?: boolean }): Promise<string[]>;
  /** Groups an object (DN) belongs to; `transitive` includes nesting and the primary group. */
  groupsOf(dn: string, options?: { transitive?: boolean }): Promise<AdGroup[]>;
  /** Gives a group its gidNumber (RID + 20000, maildummies 9500) if it has none; returns it. */
  ensureGid(name: string): Promise<number>;
  /** Creates `maildummies` (gid 9500) if missing; returns its name. */
  ensureMailGroup(): Promise<string>;
  /** Makes `group` the primary group of `userDn` (member first); optionally drops the old primary membership. */
  setPrimaryGroup(userDn: string, group: string, dropOldPrimary: boolean): Promise<void>;
}

/** Groups the invis setup creates; protected from deletion like the built-ins. */
export const INVIS_SYSTEM_GROUPS: readonly string[] = [
  'maildummies',
  'mobilusers',
  'verwaltung',
  'archiv',
  'diradmins',
];

const GROUP_ATTRS = [
  'sAMAccountName',
  'cn',
  'description',
  'mail',
  'groupType',
  'objectSid',
  'gidNumber',
  'member',
  'isCriticalSystemObject',
];

export function groupTypeValue(kind: GroupKind, scope: GroupScope): number {
  const s =
    scope === 'global' ? GROUP_TYPE.GLOBAL : scope === 'domainLocal' ? GROUP_TYPE.DOMAIN_LOCAL : GROUP_TYPE.UNIVERSAL;
  return (s ?? 2) | (kind === 'security' ? (GROUP_TYPE.SECURITY ?? 0) : 0) | 0;
}

const isDn = (s: string): boolean => {
  try {
    return parseDn(s).length > 0;
  } catch {
    return false;
  }
};

export interface GroupsApiDeps {
  ad: LdapOperations;
  domain: () => Promise<DomainInfo>;
  ids: PosixIdScheme;
  protectedGroups?: readonly string[];
}

export function createGroupsApi(deps: GroupsApiDeps): GroupsApi {
  const { ad, ids } = deps;
  const protectedNames = new Set((deps.protectedGroups ?? INVIS_SYSTEM_GROUPS).map((n) => n.toLowerCase()));
  const gidCache = new Map<string, number>();
  /**
   * Which of the Kopano/Zarafa schema names this directory has. The original's group list shows a
   * group as a mail group only with `zarafaAccount: 1` (and adLDAP gives every group the
   * `zarafaGroup` class); where the schema has them we write them too. Read once.
   */
  let zarafa: Promise<Set<string>> | undefined;
  const zarafaSchema = (): Promise<Set<string>> => {
    zarafa ??= (async () => {
      const schemaDN = (await ad.rootDse()).get('schemaNamingContext');
      if (!schemaDN) return new Set<string>();
      const found = await ad.search({
        base: schemaDN,
        scope: 'one',
        filter: f.anyOf('lDAPDisplayName', ['zarafaAccount', 'zarafaGroup']),
        attributes: ['lDAPDisplayName'],
      });
      return new Set(found.map((e) => (e.get('lDAPDisplayName') ?? '').toLowerCase()));
    })().catch((e: unknown) => {
      zarafa = undefined;
      throw e;
    });
    return zarafa;
  };

  const toGroup = (e: AdEntry): AdGroup => {
    const gt = e.getNumber('groupType') ?? 0;
    const sidBuf = e.getBuffer('objectSid');
    const sid = sidBuf ? decodeSid(sidBuf) : undefined;
    const rid = sid ? Number(sid.slice(sid.lastIndexOf('-') + 1)) : undefined;
    const name = e.get('sAMAccountName') ?? e.get('cn') ?? '';
    const description = e.get('description');
    const mail = e.get('mail');
    const gidNumber = e.getNumber('gidNumber');
    return {
      dn: e.dn,
      name,
      cn: e.get('cn') ?? name,
      ...(description === undefined ? {} : { description }),
      ...(mail === undefined ? {} : { mail }),
      kind: gt & (GROUP_TYPE.SECURITY ?? 0) ? 'security' : 'distribution',
      scope: gt & 8 ? 'universal' : gt & 4 ? 'domainLocal' : 'global',
      groupType: gt,
      ...(sid === undefined ? {} : { sid, rid }),
      ...(gidNumber === undefined ? {} : { gidNumber }),
      members: e.getAll('member'),
      protected:
        e.getBoolean('isCriticalSystemObject') === true ||
        (rid !== undefined && rid < 1000) ||
        protectedNames.has(name.toLowerCase()),
    };
  };

  const entry = async (name: string): Promise<AdEntry | undefined> => {
    if (typeof name !== 'string' || name === '' || name.length > 256) return undefined;
    return ad.searchOne({
      filter: f.and(f.eq('objectClass', 'group'), f.eq('sAMAccountName', name)),
      attributes: GROUP_ATTRS,
    });
  };
  const need = async (name: string): Promise<AdEntry> => {
    const e = await entry(name);
    if (!e)
      throw new AdError('AD_NO_SUCH_OBJECT', `There is no group ${JSON.stringify(name)}.`, {
        details: { group: name },
      });
    return e;
  };

  /** DNs for member references given as DN or sAMAccountName. */
  const resolveMembers = async (refs: readonly string[]): Promise<string[]> => {
    const out: string[] = [];
    for (const ref of refs) {
      if (ref.includes('=') && isDn(ref)) {
        // a DN (a logon name cannot contain "=")
        out.push(ref);
        continue;
      }
      const e = await ad.searchOne({ filter: f.eq('sAMAccountName', ref), attributes: ['1.1'] });
      if (!e)
        throw new AdError('AD_NO_SUCH_OBJECT', `There is no account ${JSON.stringify(ref)} to add.`, {
          details: { member: ref },
        });
      out.push(e.dn);
    }
    return out;
  };

  const get = async (name: string): Promise<AdGroup | undefined> => {
    const e = await entry(name);
    return e ? toGroup(e) : undefined;
  };

  const api: GroupsApi = {
    async list(options = {}) {
      const filter = f.and(
        f.eq('objectClass', 'group'),
        options.kind === 'security' && f.bitAnd('groupType', 0x80000000),
        options.kind === 'distribution' && f.not(f.bitAnd('groupType', 0x80000000)),
      );
      const found = await ad.search({
        filter,
        attributes: GROUP_ATTRS,
        ...(options.base ? { base: options.base } : {}),
      });
      return found.map(toGroup);
    },

    get,

    async create(input) {
      checkSamAccountName(input.name, 64);
      checkText('cn', input.name);
      checkText('description', input.description);
      checkText('mail', input.mail);
      if (input.mail && !/^[^\s@]+@[^\s@]+$/.test(input.mail))
        throw new AdError('AD_INVALID_INPUT', 'mail must be an e-mail address.', { details: { field: 'mail' } });
      const kind = input.kind ?? 'security';
      const scope = input.scope ?? 'global';
      const dom = await deps.domain();
      const dn = childDn(input.parent ?? `CN=Users,${dom.baseDN}`, input.name);
      if (await entry(input.name))
        throw new AdError('AD_ENTRY_EXISTS', `A group or account named ${JSON.stringify(input.name)} already exists.`);
      const members = await resolveMembers(input.members ?? []);
      const z = input.mail ? await zarafaSchema() : new Set<string>();
      const mailGroup = z.has('zarafaaccount') && z.has('zarafagroup');
      await ad.add(dn, {
        objectClass: ['top', 'group', ...(mailGroup ? ['zarafaGroup'] : [])],
        ...(mailGroup ? { zarafaAccount: '1' } : {}),
        cn: input.name,
        sAMAccountName: input.name,
        groupType: groupTypeValue(kind, scope),
        description: input.description || undefined,
        mail: input.mail || undefined,
        member: members,
      });
      try {
        if (kind === 'security') {
          const gid = input.gidNumber ?? (await posixIdFor(ad, dn, 'group', ids));
          await ad.modify(dn, [
            { operation: 'replace', attribute: 'gidNumber', values: gid },
            { operation: 'replace', attribute: 'msSFU30Name', values: input.name },
            { operation: 'replace', attribute: 'msSFU30NisDomain', values: dom.nisDomain },
          ]);
        }
      } catch (e) {
        await ad.delete(dn).catch(() => undefined);
        throw e;
      }
      return (await get(input.name)) as AdGroup;
    },

    async update(name, changes) {
      checkText('description', changes.description);
      checkText('mail', changes.mail);
      const e = await need(name);
      const mods: AdChange[] = [];
      if ('description' in changes)
        mods.push({ operation: 'replace', attribute: 'description', values: changes.description || [] });
      if ('mail' in changes) mods.push({ operation: 'replace', attribute: 'mail', values: changes.mail || [] });
      await ad.modify(e.dn, mods);
      return (await get(name)) as AdGroup;
    },

    async rename(name, newName) {
      checkSamAccountName(newName, 64);
      const e = await need(name);
      if (toGroup(e).protected)
        throw new AdError('AD_PROTECTED', `The group ${name} is a system group and keeps its name.`);
      if (await entry(newName))
        throw new AdError('AD_ENTRY_EXISTS', `A group named ${JSON.stringify(newName)} already exists.`);
      await ad.modify(e.dn, [
        { operation: 'replace', attribute: 'sAMAccountName', values: newName },
        ...(e.has('gidNumber') ? [{ operation: 'replace' as const, attribute: 'msSFU30Name', values: newName }] : []),
      ]);
      await ad.rename(e.dn, { newName });
      return (await get(newName)) as AdGroup;
    },

    async delete(name) {
      const e = await need(name);
      const g = toGroup(e);
      if (g.protected)
        throw new AdError(
          'AD_PROTECTED',
          `The group ${name} is a built-in or invis system group and cannot be deleted.`,
          {
            details: { group: name },
          },
        );
      await ad.delete(e.dn);
    },

    async addMembers(name, members) {
      const e = await need(name);
      const dns = await resolveMembers(members);
      const have = e.getAll('member');
      const add = dns.filter((d) => !have.some((h) => dnEquals(h, d)));
      if (add.length) await ad.modify(e.dn, { operation: 'add', attribute: 'member', values: add });
    },

    async removeMembers(name, members) {
      const e = await need(name);
      const dns = await resolveMembers(members);
      const have = e.getAll('member');
      const del = have.filter((h) => dns.some((d) => dnEquals(h, d)));
      if (del.length) await ad.modify(e.dn, { operation: 'delete', attribute: 'member', values: del });
    },

    async setMembers(name, members) {
      const e = await need(name);
      const want = await resolveMembers(members);
      const have = e.getAll('member');
      const added = want.filter((w) => !have.some((h) => dnEquals(h, w)));
      const removed = have.filter((h) => !want.some((w) => dnEquals(h, w)));
      const changes: AdChange[] = [
        ...(removed.length ? [{ operation: 'delete' as const, attribute: 'member', values: removed }] : []),
        ...(added.length ? [{ operation: 'add' as const, attribute: 'member', values: added }] : []),
      ];
      await ad.modify(e.dn, changes);
      return { added, removed };
    },

    async members(name, options = {}) {
      const e = await need(name);
      if (!options.transitive) return e.getAll('member');
      const found = await ad.search({ filter: f.inChain('memberOf', e.dn), attributes: ['1.1'] });
      return found.map((x) => x.dn);
    },

    async groupsOf(dn, options = {}) {
      if (!options.transitive) {
        const found = await ad.search({
          filter: f.and(f.eq('objectClass', 'group'), f.eq('member', dn)),
          attributes: GROUP_ATTRS,
        });
        return found.map(toGroup);
      }
      const found = await ad.search({
        filter: f.and(f.eq('objectClass', 'group'), f.inChain('member', dn)),
        attributes: GROUP_ATTRS,
      });
      const groups = found.map(toGroup);
      // the primary group is not in `member`: add it (and what it is nested in)
      const self = await ad.get(dn, ['primaryGroupID']);
      const pg = self?.getNumber('primaryGroupID');
      if (pg !== undefined) {
        const dom = await deps.domain();
        const primary = await ad.searchOne({
          filter: f.eq('objectSid', encodeSid(`${dom.sid}-${pg}`)),
          attributes: GROUP_ATTRS,
        });
        if (primary && !groups.some((g) => dnEquals(g.dn, primary.dn))) {
          groups.push(toGroup(primary));
          const outer = await ad.search({
            filter: f.and(f.eq('objectClass', 'group'), f.inChain('member', primary.dn)),
            attributes: GROUP_ATTRS,
          });
          for (const o of outer.map(toGroup)) if (!groups.some((g) => dnEquals(g.dn, o.dn))) groups.push(o);
        }
      }
      return groups;
    },

    async ensureGid(name) {
      const cached = gidCache.get(name.toLowerCase());
      if (cached !== undefined) return cached;
      const e = await need(name);
      let gid = e.getNumber('gidNumber');
      if (gid === undefined) {
        const dom = await deps.domain();
        gid = name.toLowerCase() === 'maildummies' ? ids.mailGid : (await readRid(ad, e.dn)) + ids.base;
        try {
          await ad.modify(e.dn, [
            { operation: 'add', attribute: 'gidNumber', values: gid },
            { operation: 'replace', attribute: 'msSFU30Name', values: name },
            { operation: 'replace', attribute: 'msSFU30NisDomain', values: dom.nisDomain },
          ]);
        } catch (err) {
          // a concurrent caller set it first
          if (!isAdError(err, 'AD_VALUE_EXISTS', 'AD_CONSTRAINT_VIOLATION')) throw err;
          gid = (await need(name)).getNumber('gidNumber') ?? gid;
        }
      }
      gidCache.set(name.toLowerCase(), gid);
      return gid;
    },

    async ensureMailGroup() {
      if (!(await entry('maildummies'))) {
        try {
          await api.create({ name: 'maildummies', description: 'Mail-only accounts (invis)', gidNumber: ids.mailGid });
        } catch (e) {
          if (!isAdError(e, 'AD_ENTRY_EXISTS')) throw e;
        }
      }
      return 'maildummies';
    },

    async setPrimaryGroup(userDn, group, dropOldPrimary) {
      const g = await need(group);
      const rid = await readRid(ad, g.dn);
      const user = await ad.get(userDn, ['primaryGroupID']);
      const old = user?.getNumber('primaryGroupID');
      if (old === rid) return;
      if (!g.getAll('member').some((m) => dnEquals(m, userDn)))
        await ad.modify(g.dn, { operation: 'add', attribute: 'member', values: userDn });
      await ad.modify(userDn, { operation: 'replace', attribute: 'primaryGroupID', values: rid });
      if (dropOldPrimary && old !== undefined) {
        // the DC turns the old primary group into an explicit membership; the original removes it
        const dom = await deps.domain();
        const oldGroup = await ad.searchOne({
          filter: f.eq('objectSid', encodeSid(`${dom.sid}-${old}`)),
          attributes: ['member'],
        });
        if (oldGroup?.getAll('member').some((m) => dnEquals(m, userDn)))
          await ad.modify(oldGroup.dn, { operation: 'delete', attribute: 'member', values: userDn });
      }
    },
  };
  return api;
}

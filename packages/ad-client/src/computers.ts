// Computer accounts with the RFC2307 attributes the original's `membermod`/`mmall` set
// (uidNumber = RID, gidNumber 515, /bin/false, /dev/null, nfs/ SPN), and organizational units.
import { childDn, parseDn } from './dn';
import { type DomainInfo, type PosixIdScheme, posixIdFor } from './domain';
import type { AdEntry } from './entry';
import { AdError, isAdError } from './errors';
import { f } from './filter';
import type { AdChange, LdapOperations } from './ldap';
import { checkText } from './validate';
import { decodeSid, ridOf, UAC } from './values';

export interface AdComputer {
  dn: string;
  /** Host name without `$` (e.g. `pc01`). */
  name: string;
  sAMAccountName: string;
  dnsHostName?: string;
  description?: string;
  enabled: boolean;
  sid?: string;
  rid?: number;
  uidNumber?: number;
  gidNumber?: number;
  servicePrincipalName: string[];
  operatingSystem?: string;
}

export interface ComputersApi {
  list(options?: { base?: string; withoutPosix?: boolean }): Promise<AdComputer[]>;
  get(name: string): Promise<AdComputer | undefined>;
  /** Creates a workstation account with RFC2307 attributes (uid = RID, gid 515) and the nfs/ SPN. */
  create(input: { name: string; description?: string; parent?: string }): Promise<AdComputer>;
  /** Adds the RFC2307 attributes to an existing account that lacks them (the original's `membermod`). */
  addPosix(name: string): Promise<AdComputer>;
  /** `addPosix` for every computer without the posixAccount class, DCs left out (the original's `mmall`); returns the names changed. */
  addPosixToAll(): Promise<string[]>;
  delete(name: string): Promise<void>;
}

export interface AdOu {
  dn: string;
  name: string;
  description?: string;
}

export interface OusApi {
  list(options?: { base?: string }): Promise<AdOu[]>;
  create(input: { name: string; parent?: string; description?: string }): Promise<AdOu>;
  /** Moves an OU (or any object) below a new parent; returns the new DN. */
  move(dn: string, newParent: string): Promise<string>;
  rename(dn: string, newName: string): Promise<string>;
  /** Deletes an OU; with `recursive` everything below it too. */
  delete(dn: string, options?: { recursive?: boolean }): Promise<void>;
}

const HOST_RE = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,13}[A-Za-z0-9])?$/;
const COMPUTER_ATTRS = [
  'cn',
  'sAMAccountName',
  'dNSHostName',
  'description',
  'userAccountControl',
  'objectSid',
  'uidNumber',
  'gidNumber',
  'servicePrincipalName',
  'operatingSystem',
  'objectClass',
];

/** Validates a NetBIOS computer name (1–15 characters, letters, digits, hyphen). */
export function checkHostName(name: string): void {
  if (typeof name !== 'string' || !HOST_RE.test(name))
    throw new AdError(
      'AD_INVALID_INPUT',
      'A computer name has 1–15 letters, digits or hyphens and does not start or end with a hyphen.',
      { details: { field: 'name' } },
    );
}

export function createComputersApi(deps: {
  ad: LdapOperations;
  domain: () => Promise<DomainInfo>;
  ids: PosixIdScheme;
}): ComputersApi {
  const { ad, ids } = deps;
  const toComputer = (e: AdEntry): AdComputer => {
    const sam = e.get('sAMAccountName') ?? '';
    const sidBuf = e.getBuffer('objectSid');
    const sid = sidBuf ? decodeSid(sidBuf) : undefined;
    const opt = <T>(k: string, v: T | undefined): Record<string, T> => (v === undefined ? {} : { [k]: v });
    return {
      dn: e.dn,
      name: sam.replace(/\$$/, ''),
      sAMAccountName: sam,
      ...opt('dnsHostName', e.get('dNSHostName')),
      ...opt('description', e.get('description')),
      enabled: ((e.getNumber('userAccountControl') ?? 0) & UAC.ACCOUNTDISABLE) === 0,
      ...(sid ? { sid, rid: Number(sid.slice(sid.lastIndexOf('-') + 1)) } : {}),
      ...opt('uidNumber', e.getNumber('uidNumber')),
      ...opt('gidNumber', e.getNumber('gidNumber')),
      servicePrincipalName: e.getAll('servicePrincipalName'),
      ...opt('operatingSystem', e.get('operatingSystem')),
    } as AdComputer;
  };
  const entry = async (name: string): Promise<AdEntry | undefined> => {
    if (typeof name !== 'string' || !HOST_RE.test(name.replace(/\$$/, ''))) return undefined;
    return ad.searchOne({
      filter: f.and(f.eq('objectClass', 'computer'), f.eq('sAMAccountName', `${name.replace(/\$$/, '')}$`)),
      attributes: COMPUTER_ATTRS,
    });
  };
  const need = async (name: string): Promise<AdEntry> => {
    const e = await entry(name);
    if (!e)
      throw new AdError('AD_NO_SUCH_OBJECT', `There is no computer ${JSON.stringify(name)}.`, {
        details: { computer: name },
      });
    return e;
  };
  const posixChanges = async (e: AdEntry): Promise<AdChange[]> => {
    const dom = await deps.domain();
    const host = (e.get('sAMAccountName') ?? '').replace(/\$$/, '').toLowerCase();
    // The entry carries its objectSid: no second read for the RID.
    const sid = e.getBuffer('objectSid');
    const uid = await posixIdFor(ad, e.dn, 'computer', ids, sid ? ridOf(sid) : undefined);
    const spn = `nfs/${host}.${dom.dnsDomain}`;
    const hasPosixClass = e.getAll('objectClass').some((c) => c.toLowerCase() === 'posixaccount');
    return [
      // the original's mmall selects computers by this class: without it they are extended again
      ...(hasPosixClass ? [] : [{ operation: 'add' as const, attribute: 'objectClass', values: 'posixAccount' }]),
      { operation: 'replace', attribute: 'uidNumber', values: uid },
      { operation: 'replace', attribute: 'gidNumber', values: ids.computerGid },
      { operation: 'replace', attribute: 'loginShell', values: '/bin/false' },
      { operation: 'replace', attribute: 'unixHomeDirectory', values: '/dev/null' },
      { operation: 'replace', attribute: 'msSFU30Name', values: e.get('sAMAccountName') ?? host },
      { operation: 'replace', attribute: 'msSFU30NisDomain', values: dom.nisDomain },
      ...(e.get('description')
        ? []
        : [{ operation: 'replace' as const, attribute: 'description', values: 'Computer' }]),
      ...(e.getAll('servicePrincipalName').some((s) => s.toLowerCase() === spn.toLowerCase())
        ? []
        : [{ operation: 'add' as const, attribute: 'servicePrincipalName', values: spn }]),
    ];
  };
  const api: ComputersApi = {
    async list(options = {}) {
      const found = await ad.search({
        filter: f.and(
          f.eq('objectClass', 'computer'),
          // as mmall: without the posixAccount class, domain controllers (the server itself) left out
          options.withoutPosix === true && f.not(f.eq('objectClass', 'posixAccount')),
          options.withoutPosix === true && f.not(f.bitAnd('userAccountControl', UAC.SERVER_TRUST_ACCOUNT)),
        ),
        attributes: COMPUTER_ATTRS,
        ...(options.base ? { base: options.base } : {}),
      });
      return found.map(toComputer);
    },
    async get(name) {
      const e = await entry(name);
      return e ? toComputer(e) : undefined;
    },
    async create(input) {
      checkHostName(input.name);
      checkText('description', input.description);
      const dom = await deps.domain();
      if (await entry(input.name))
        throw new AdError('AD_ENTRY_EXISTS', `A computer named ${input.name} already exists.`, {
          details: { computer: input.name },
        });
      const host = input.name.toLowerCase();
      const dn = childDn(input.parent ?? `CN=Computers,${dom.baseDN}`, input.name.toUpperCase());
      await ad.add(dn, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user', 'computer'],
        cn: input.name.toUpperCase(),
        sAMAccountName: `${input.name.toUpperCase()}$`,
        userAccountControl: UAC.WORKSTATION_TRUST_ACCOUNT,
        dNSHostName: `${host}.${dom.dnsDomain}`,
        description: input.description || 'Computer',
      });
      try {
        await ad.modify(dn, await posixChanges(await need(input.name)));
      } catch (e) {
        await ad.delete(dn).catch(() => undefined);
        throw e;
      }
      return toComputer(await need(input.name));
    },
    async addPosix(name) {
      const e = await need(name);
      await ad.modify(e.dn, await posixChanges(e));
      return toComputer(await need(name));
    },
    async addPosixToAll() {
      const missing = await api.list({ withoutPosix: true });
      const done: string[] = [];
      for (const c of missing) {
        await api.addPosix(c.name);
        done.push(c.name);
      }
      return done;
    },
    async delete(name) {
      const e = await need(name);
      const uac = e.getNumber('userAccountControl') ?? 0;
      if (uac & UAC.SERVER_TRUST_ACCOUNT)
        throw new AdError('AD_PROTECTED', `${name} is a domain controller; demote it instead of deleting it.`);
      await ad.delete(e.dn, { recursive: true });
    },
  };
  return api;
}

export function createOusApi(deps: { ad: LdapOperations; domain: () => Promise<DomainInfo> }): OusApi {
  const { ad } = deps;
  return {
    async list(options = {}) {
      const found = await ad.search({
        filter: f.eq('objectClass', 'organizationalUnit'),
        attributes: ['ou', 'description'],
        ...(options.base ? { base: options.base } : {}),
      });
      return found.map((e) => {
        const description = e.get('description');
        return { dn: e.dn, name: e.get('ou') ?? '', ...(description === undefined ? {} : { description }) };
      });
    },
    async create(input) {
      checkText('cn', input.name);
      checkText('description', input.description);
      if (!input.name || input.name.trim() === '')
        throw new AdError('AD_INVALID_INPUT', 'The OU name must not be empty.');
      const dom = await deps.domain();
      const dn = childDn(input.parent ?? dom.baseDN, input.name, 'OU');
      await ad.add(dn, {
        objectClass: ['top', 'organizationalUnit'],
        ou: input.name,
        description: input.description || undefined,
      });
      return { dn, name: input.name, ...(input.description ? { description: input.description } : {}) };
    },
    async move(dn, newParent) {
      parseDn(newParent);
      return ad.rename(dn, { newParent });
    },
    async rename(dn, newName) {
      checkText('cn', newName);
      return ad.rename(dn, { newName });
    },
    async delete(dn, options = {}) {
      try {
        await ad.delete(dn, options.recursive ? { recursive: true } : {});
      } catch (e) {
        if (isAdError(e, 'AD_NOT_LEAF'))
          throw new AdError('AD_NOT_LEAF', `The OU ${dn} is not empty; move its objects away or delete recursively.`, {
            cause: e,
            details: { dn },
          });
        throw e;
      }
    },
  };
}

// Facts about the domain that many operations need (DNS name, NetBIOS/NIS name, SID), read
// once per client, and the RFC2307 id allocation of the original invis-Server.
import { childDn } from './dn';
import { AdError, isAdError } from './errors';
import { f } from './filter';
import type { LdapOperations } from './ldap';
import { decodeSid, ridOf } from './values';

/** Naming facts of the domain. */
export interface DomainInfo {
  baseDN: string;
  /** e.g. `invis.test` (UPN suffix, mail domain default) */
  dnsDomain: string;
  /** e.g. `INVIS` */
  netbiosName: string;
  /** NIS domain as the original sets it (first DNS label, e.g. `invis`) */
  nisDomain: string;
  /** Domain SID `S-1-5-21-…` */
  sid: string;
}

/** Reads the domain facts (one search on the domain object, one in the partitions container). */
export async function readDomainInfo(ad: LdapOperations): Promise<DomainInfo> {
  const baseDN = await ad.baseDN();
  const dom = await ad.get(baseDN, ['objectSid']);
  const sidBuf = dom?.getBuffer('objectSid');
  if (!sidBuf) throw new AdError('AD_NO_SUCH_OBJECT', `The domain object ${baseDN} has no objectSid.`);
  const dnsDomain = baseDN
    .split(',')
    .map((p) => p.replace(/^\s*DC=/i, ''))
    .join('.')
    .toLowerCase();
  const root = await ad.rootDse();
  const config = root.get('configurationNamingContext');
  let netbiosName = (dnsDomain.split('.')[0] ?? '').toUpperCase();
  if (config) {
    const xref = await ad.searchOne({
      base: childDn(config, 'Partitions'),
      scope: 'one',
      filter: f.and(f.eq('objectClass', 'crossRef'), f.eq('nCName', baseDN)),
      attributes: ['nETBIOSName'],
    });
    netbiosName = xref?.get('nETBIOSName') ?? netbiosName;
  }
  return {
    baseDN,
    dnsDomain,
    netbiosName,
    nisDomain: (dnsDomain.split('.')[0] ?? '').toLowerCase(),
    sid: decodeSid(sidBuf),
  };
}

/** The RFC2307 numbering of the original invis-Server. */
export interface PosixIdScheme {
  /** uid/gid = RID + base for users and groups (default 20000, `$SFU_GUID_BASE`). */
  base: number;
  /** gid of the mail-only accounts' group `maildummies` (default 9500). */
  mailGid: number;
  /** gid of computer accounts (default 515 = Domain Computers RID). */
  computerGid: number;
}

export const DEFAULT_POSIX_IDS: PosixIdScheme = Object.freeze({ base: 20000, mailGid: 9500, computerGid: 515 });

/** Reads the RID of an object. */
export async function readRid(ad: LdapOperations, dn: string): Promise<number> {
  const e = await ad.get(dn, ['objectSid']);
  const sid = e?.getBuffer('objectSid');
  if (!sid) throw new AdError('AD_NO_SUCH_OBJECT', `No objectSid on ${dn}`, { details: { dn } });
  return ridOf(sid);
}

/** Whether `id` is already used as `attr` (uidNumber/gidNumber) by an object other than `selfDn`. */
async function idTaken(
  ad: LdapOperations,
  attr: 'uidNumber' | 'gidNumber',
  id: number,
  selfDn?: string,
): Promise<boolean> {
  const found = await ad.search({ filter: f.eq(attr, id), attributes: ['1.1'], sizeLimit: 2 });
  return found.some((e) => selfDn === undefined || e.dn.toLowerCase() !== selfDn.toLowerCase());
}

/**
 * Allocates a fresh uid/gid from the IDMU counter (`msSFU30MaxUidNumber`/`msSFU30MaxGidNumber`
 * on the ypservers domain object) with compare-and-swap (delete old value + add new value in one
 * modify), so concurrent callers — other processes included — never get the same number. Used
 * when the RID-based number is already taken by a hand-assigned id.
 * @throws AdError `AD_ID_ALLOCATION` when no number could be allocated
 */
export async function allocatePosixId(
  ad: LdapOperations,
  kind: 'uid' | 'gid',
  floor: number = DEFAULT_POSIX_IDS.base,
): Promise<number> {
  const baseDN = await ad.baseDN();
  const counterAttr = kind === 'uid' ? 'msSFU30MaxUidNumber' : 'msSFU30MaxGidNumber';
  const idAttr = kind === 'uid' ? 'uidNumber' : 'gidNumber';
  const yp = await ad.searchOne({
    base: `CN=ypservers,CN=ypServ30,CN=RpcServices,CN=System,${baseDN}`,
    scope: 'one',
    filter: f.eq('objectClass', 'msSFU30DomainInfo'),
    attributes: [counterAttr],
  });
  if (!yp)
    throw new AdError(
      'AD_ID_ALLOCATION',
      'No NIS domain object under CN=ypservers; was the domain provisioned with --use-rfc2307?',
    );
  for (let attempt = 0; attempt < 50; attempt++) {
    const cur = (await ad.get(yp.dn, [counterAttr]))?.getNumber(counterAttr);
    let candidate: number;
    try {
      if (cur === undefined) {
        // first use: start above every id in use
        const used = await ad.search({ filter: f.ge(idAttr, floor), attributes: [idAttr] });
        candidate = Math.max(floor, ...used.map((e) => e.getNumber(idAttr) ?? 0)) + 1;
        await ad.modify(yp.dn, { operation: 'add', attribute: counterAttr, values: candidate + 1 });
      } else {
        candidate = Math.max(cur, floor);
        await ad.modify(yp.dn, [
          { operation: 'delete', attribute: counterAttr, values: cur },
          { operation: 'add', attribute: counterAttr, values: candidate + 1 },
        ]);
      }
    } catch (e) {
      // someone else moved the counter first: read it again
      if (isAdError(e, 'AD_NO_SUCH_ATTRIBUTE', 'AD_VALUE_EXISTS', 'AD_CONSTRAINT_VIOLATION')) continue;
      throw e;
    }
    if (!(await idTaken(ad, idAttr, candidate))) return candidate;
  }
  throw new AdError('AD_ID_ALLOCATION', `Could not allocate a ${idAttr}: too much contention or all taken.`);
}

/**
 * The RFC2307 number of an account as the original assigns it: RID + base for users and
 * groups, the plain RID for computers. If a hand-assigned id already uses that number, a fresh
 * one comes from {@link allocatePosixId}. RIDs are unique and handed out by the DC, so two
 * concurrent creates never collide.
 */
export async function posixIdFor(
  ad: LdapOperations,
  dn: string,
  kind: 'user' | 'group' | 'computer',
  scheme: PosixIdScheme = DEFAULT_POSIX_IDS,
  knownRid?: number,
): Promise<number> {
  const rid = knownRid ?? (await readRid(ad, dn));
  const id = kind === 'computer' ? rid : rid + scheme.base;
  const attr = kind === 'group' ? 'gidNumber' : 'uidNumber';
  if (!(await idTaken(ad, attr, id, dn))) return id;
  return allocatePosixId(ad, kind === 'group' ? 'gid' : 'uid', scheme.base);
}

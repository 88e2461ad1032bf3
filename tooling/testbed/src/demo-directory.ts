import { AlreadyExistsError, Attribute, Change, Client } from 'ldapts';
import type { SambaDcInfo } from './samba';

/** A person of the demo company, as seeded into the demo directory. */
export interface DemoUser {
  sAMAccountName: string;
  givenName: string;
  sn: string;
  groups: string[];
}

/** The demo company "Tischlerei Muster": a few people and the invis groups they use. */
export const DEMO_USERS: readonly DemoUser[] = [
  { sAMAccountName: 'anna.schmidt', givenName: 'Anna', sn: 'Schmidt', groups: ['Domain Admins', 'mobilusers'] },
  { sAMAccountName: 'bernd.mueller', givenName: 'Bernd', sn: 'Müller', groups: ['Werkstatt'] },
  { sAMAccountName: 'clara.weber', givenName: 'Clara', sn: 'Weber', groups: ['Buero', 'mobilusers'] },
];
export const DEMO_GROUPS: readonly string[] = ['Werkstatt', 'Buero', 'mobilusers'];
export const DEMO_PASSWORD = 'Demo!Passw0rt-2026';

/** What was read back from the directory. */
export interface DirectorySnapshot {
  users: { sAMAccountName: string; displayName: string; uidNumber: string; memberOf: string[] }[];
  groups: { name: string; gidNumber: string; members: number }[];
}

/** What seeding needs of a directory: any AD DC reachable over LDAPS with an admin bind. */
export type DemoDirectoryAccess = Pick<SambaDcInfo, 'ldapsUrl' | 'caPem' | 'adminDN' | 'adminPassword' | 'baseDN'>;

function adminClient(info: DemoDirectoryAccess): Client {
  return new Client({ url: info.ldapsUrl, tlsOptions: { ca: info.caPem }, timeout: 10_000, connectTimeout: 5000 });
}

/**
 * Seeds the demo users and groups over LDAPS (RFC2307 ids from 20000 + n, as a stand-in until
 * @invis/ad-client allocates them from RIDs). Plain ldapts: the testbed must not depend on the
 * libraries it tests. A group that exists already (an invis server's `mobilusers`, made by
 * setup) is used as it is.
 */
export async function seedDemoDirectory(info: DemoDirectoryAccess): Promise<void> {
  const client = adminClient(info);
  await client.bind(info.adminDN, info.adminPassword);
  try {
    const users = `CN=Users,${info.baseDN}`;
    let gid = 20_100;
    for (const name of DEMO_GROUPS) {
      try {
        await client.add(`CN=${name},${users}`, {
          objectClass: 'group',
          sAMAccountName: name,
          groupType: '-2147483646',
          gidNumber: String(gid++),
        });
      } catch (error) {
        if (!(error instanceof AlreadyExistsError)) throw error;
      }
    }
    let uid = 20_200;
    for (const u of DEMO_USERS) {
      const dn = `CN=${u.givenName} ${u.sn},${users}`;
      const text: Record<string, string> = {
        objectClass: 'user',
        sAMAccountName: u.sAMAccountName,
        userPrincipalName: `${u.sAMAccountName}@invis.test`,
        givenName: u.givenName,
        sn: u.sn,
        displayName: `${u.givenName} ${u.sn}`,
        userAccountControl: '512',
        uidNumber: String(uid++),
        gidNumber: '20513',
        loginShell: '/bin/bash',
        unixHomeDirectory: `/home/${u.sAMAccountName}`,
      };
      // The password travels as UTF-16LE bytes in quotes, set in the same add as the UAC.
      await client.add(dn, [
        ...Object.entries(text).map(([type, value]) => new Attribute({ type, values: [value] })),
        new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${DEMO_PASSWORD}"`, 'utf16le')] }),
      ]);
      for (const g of u.groups) {
        await client.modify(
          `CN=${g},${users}`,
          new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [dn] }) }),
        );
      }
    }
  } finally {
    await client.unbind();
  }
}

/** Reads the demo people and groups back over LDAPS. */
export async function readDemoDirectory(info: SambaDcInfo): Promise<DirectorySnapshot> {
  const client = adminClient(info);
  await client.bind(info.adminDN, info.adminPassword);
  try {
    const list = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)]);
    const cn = (dn: string): string => /^CN=([^,]+)/.exec(dn)?.[1] ?? dn;
    const people = await client.search(info.baseDN, {
      filter: '(&(objectCategory=person)(objectClass=user)(uidNumber=*))',
      attributes: ['sAMAccountName', 'displayName', 'uidNumber', 'memberOf'],
      paged: { pageSize: 500 },
    });
    const groups = await client.search(info.baseDN, {
      filter: '(&(objectClass=group)(gidNumber=*))',
      attributes: ['cn', 'gidNumber', 'member'],
      paged: { pageSize: 500 },
    });
    return {
      users: people.searchEntries
        .map((e) => ({
          sAMAccountName: String(e.sAMAccountName),
          displayName: String(e.displayName),
          uidNumber: String(e.uidNumber),
          memberOf: list(e.memberOf).map(cn).sort(),
        }))
        .sort((a, b) => a.sAMAccountName.localeCompare(b.sAMAccountName)),
      groups: groups.searchEntries
        .map((e) => ({ name: String(e.cn), gidNumber: String(e.gidNumber), members: list(e.member).length }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    };
  } finally {
    await client.unbind();
  }
}

// A test DC prepared the way the original invis-Server setup (`scripts/samba_ad` of
// invisserver/invisAD-setup) prepares it, then filled with objects in the exact shapes the
// original's setup, portal (`adajax.php` + adLDAP) and scripts (`mmall`) write. Facts taken from
// the original's public source; the code and the data below are our own.
//
// Setup facts reproduced:
// - schema: `ldbadd` on sam.ldb with the DC stopped, attributes of every `*-ad-attributes-schema.ldif`,
//   classes of every `*-ad-objectclasses-schema.ldif`. That pattern misses
//   `07-sudo-ad-objectclass-schema.ldif`, so `sudoRole` is NOT installed (its attributes are). The
//   DHCP class files carry no objectClassCategory (stored as absent, i.e. 0).
// - the Kopano/Zarafa AD schema (`zarafa_schema_add.sh`, LDIFs from Zarafa ADS, not in the
//   repository): only the attributes and classes the portal uses are reproduced.
// - groups mobilusers, maildummies, verwaltung, archiv, diradmins; service accounts ldap.admin
//   (Administrators), junk and postmaster (maildummies, out of Domain Users), all `samba-tool`.
// - the containers of 01_initial.ldif, the DHCP objects of 02/03, the portal and provider seeds.
// - the portal's lazy RFC2307 extension of maildummies (gid 9500) and $SMB_GROUPSTOEXTEND.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { TestbedError } from './errors';
import { run } from './process';
import { launchSamba, type SambaDcInfo, stopSambaByPidFile } from './samba';

/** An attribute definition as the original's schema LDIF carries it. */
export interface OriginalSchemaAttribute {
  set: string;
  name: string;
  oid: string;
  syntax: string;
  omSyntax: number;
  single: boolean;
  guid?: string;
}

/** A class definition as the original's schema LDIF carries it. */
export interface OriginalSchemaClass {
  set: string;
  name: string;
  oid: string;
  category: 'structural' | 'auxiliary' | 'abstract';
  subClassOf: string;
  possSuperiors: readonly string[];
  must: readonly string[];
  may: readonly string[];
  guid?: string;
}

export interface OriginalInvisOptions {
  /** The invis schema (names, OIDs, GUIDs of the original's files; e.g. ad-client's `INVIS_SCHEMA`). */
  schema: { attributes: readonly OriginalSchemaAttribute[]; classes: readonly OriginalSchemaClass[] };
}

/** What the prepared directory holds, by kind; every DN is the one the original writes. */
export interface OriginalInvis {
  baseDN: string;
  dnsDomain: string;
  nisDomain: string;
  /** Seven users, one per original account type (0 Gast … 8 MasterAdmin, without the rejected 2 and 5). */
  users: Record<
    'guest' | 'mail' | 'winUnix' | 'winUnixGroupware' | 'winAdminUnix' | 'winAdminUnixGroupware' | 'master',
    { sAMAccountName: string; dn: string; type: number }
  >;
  /** Groups by the original's group types: 0 Team, 1 Team+Gruppenmail, 2 Mail-Verteiler. */
  groups: Record<'team' | 'teamMail' | 'distribution', { name: string; dn: string; type: number }>;
  /** `pcposix` went through `mmall`; `pcnew` was joined and not yet. */
  computers: Record<'posix' | 'plain', { name: string; dn: string }>;
  /** `CN=DHCP Config,CN=DHCP-Server,CN=invis-Server,<base>` */
  dhcpServiceDN: string;
  /** Password of every user made here. */
  userPassword: string;
}

const SFU_BASE = 20000;
const PASSWORD = 'Orig!nal-Invis2026';
const ZARAFA_ATTRIBUTES = [
  // Zarafa's PEN 1.3.6.1.4.1.26278; integer syntax ("1"/"0"), which is what the portal compares.
  ['zarafaAdmin', '1.3.6.1.4.1.26278.1.1.2.1'],
  ['zarafaSharedStoreOnly', '1.3.6.1.4.1.26278.1.1.2.2'],
  ['zarafaAccount', '1.3.6.1.4.1.26278.1.1.2.3'],
] as const;

function ldifEntry(
  dn: string,
  attrs: Record<string, string | number | boolean | readonly string[] | undefined>,
): string {
  const lines = [`dn: ${dn}`];
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined) continue;
    for (const one of Array.isArray(v) ? v : [v]) {
      const text = typeof one === 'boolean' ? (one ? 'TRUE' : 'FALSE') : String(one);
      // base64 for anything LDIF cannot carry plainly (umlauts, leading space/colon)
      lines.push(
        /^[\x20-\x7e]*$/.test(text) && !/^[ :<]/.test(text)
          ? `${k}: ${text}`
          : `${k}:: ${Buffer.from(text).toString('base64')}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

function schemaLdif(
  schemaDN: string,
  attributes: readonly OriginalSchemaAttribute[],
  classes: readonly OriginalSchemaClass[],
): { attributes: string; classes: string[] } {
  const a = attributes.map((x) =>
    ldifEntry(`CN=${x.name},${schemaDN}`, {
      objectClass: ['top', 'attributeSchema'],
      cn: x.name,
      attributeID: x.oid,
      attributeSyntax: x.syntax,
      oMSyntax: x.omSyntax,
      isSingleValued: x.single,
      lDAPDisplayName: x.name,
      ...(x.guid ? { 'schemaIDGUID:': x.guid } : {}),
    }),
  );
  // a class names its superiors, which the DC must know already: one ldbadd per level, as the
  // original's numbered files (01- … 06-dhcp-ad-objectclasses-schema.ldif) do
  const names = new Set(classes.map((x) => x.name.toLowerCase()));
  const level = new Map<string, number>();
  const depth = (x: OriginalSchemaClass): number => {
    const known = level.get(x.name);
    if (known !== undefined) return known;
    level.set(x.name, 0);
    const deps = [x.subClassOf, ...x.possSuperiors].filter((d) => d !== x.name && names.has(d.toLowerCase()));
    const d = Math.max(
      0,
      ...deps.map(
        (n) => 1 + depth(classes.find((y) => y.name.toLowerCase() === n.toLowerCase()) as OriginalSchemaClass),
      ),
    );
    level.set(x.name, d);
    return d;
  };
  const c = classes.map((x) =>
    ldifEntry(`CN=${x.name},${schemaDN}`, {
      objectClass: ['top', 'classSchema'],
      cn: x.name,
      governsID: x.oid,
      // the DHCP class files state no objectClassCategory except for the auxiliary iscDhcpOptions
      objectClassCategory:
        x.set === 'dhcp' && x.category === 'structural'
          ? undefined
          : { structural: 1, abstract: 2, auxiliary: 3 }[x.category],
      subClassOf: x.subClassOf,
      possSuperiors: x.possSuperiors.length ? x.possSuperiors : undefined,
      mustContain: x.must.length ? x.must : undefined,
      mayContain: x.may.length ? x.may : undefined,
      lDAPDisplayName: x.name,
      defaultObjectCategory: `CN=${x.name},${schemaDN}`,
      ...(x.guid ? { 'schemaIDGUID:': x.guid } : {}),
    }),
  );
  // (the key `schemaIDGUID:` makes the line `schemaIDGUID:: <base64>`, LDIF's binary form)
  const levels: string[][] = [];
  classes.forEach((x, i) => {
    const d = depth(x);
    levels[d] = [...(levels[d] ?? []), c[i] as string];
  });
  return { attributes: a.join('\n'), classes: levels.map((l) => l.join('\n')) };
}

/**
 * Turns a running testbed DC (`startSambaDc`) into an existing invis server as the original left
 * it (see the file comment), then restarts it. Takes a few seconds (the schema goes in offline).
 * @param dc the DC's info; it is stopped and started again on the same address
 * @param options the invis schema definitions
 * @returns the names and DNs of what was made
 */
export async function prepareOriginalInvis(dc: SambaDcInfo, options: OriginalInvisOptions): Promise<OriginalInvis> {
  const baseDN = dc.baseDN;
  const dnsDomain = dc.realm.toLowerCase();
  const nisDomain = dnsDomain.split('.')[0] as string;
  const schemaDN = `CN=Schema,CN=Configuration,${baseDN}`;
  const sam = join(dc.dir, 'dc', 'private', 'sam.ldb');
  const work = join(dc.dir, 'original-invis');
  await run('mkdir', ['-p', work]);
  const ldbadd = async (name: string, text: string): Promise<void> => {
    const file = join(work, name);
    await writeFile(file, text);
    const out = await run('ldbadd', ['-H', sam, file, '--option=dsdb:schema update allowed=true']);
    // ldbadd stops at the first refused record and still exits 0
    const want = text.split(/^dn: /m).length - 1;
    if (!out.includes(`Added ${want} records`))
      throw new TestbedError('TESTBED_FIXTURE', `ldbadd ${name}: ${out.trim()} of ${want}`);
  };

  await stopSambaByPidFile(dc);
  // the original's file patterns: attributes of every set, classes of every set but sudo
  const sets = new Set(['dhcp', 'invis', 'postfix']);
  const zarafaAttrs: OriginalSchemaAttribute[] = ZARAFA_ATTRIBUTES.map(([name, oid]) => ({
    set: 'zarafa',
    name,
    oid,
    syntax: '2.5.5.9',
    omSyntax: 2,
    single: true,
  }));
  const zarafaClasses: OriginalSchemaClass[] = [
    ['zarafaUser', '1.3.6.1.4.1.26278.1.1.0.0'],
    ['zarafaGroup', '1.3.6.1.4.1.26278.1.2.0.0'],
  ].map(([name, oid]) => ({
    set: 'zarafa',
    name: name as string,
    oid: oid as string,
    category: 'auxiliary',
    subClassOf: 'top',
    possSuperiors: [],
    must: [],
    may: ZARAFA_ATTRIBUTES.map(([n]) => n),
  }));
  const schema = schemaLdif(
    schemaDN,
    [...options.schema.attributes, ...zarafaAttrs],
    [...options.schema.classes.filter((c) => sets.has(c.set)), ...zarafaClasses],
  );
  await ldbadd('attributes.ldif', schema.attributes);
  for (const [i, text] of schema.classes.entries()) await ldbadd(`classes-${i}.ldif`, text);
  // users and groups name the Zarafa classes in objectClass (adLDAP adds zarafaUser/zarafaGroup)

  const invis = `CN=invis-Server,${baseDN}`;
  const dhcp = `CN=DHCP-Server,${invis}`;
  const dhcpServiceDN = `CN=DHCP Config,${dhcp}`;
  const info = `CN=Informationen,${invis}`;
  const fqdn = `dc1.${dnsDomain}`;
  const container = (dn: string, description: string): string =>
    ldifEntry(dn, { objectClass: ['top', 'container'], cn: dn.slice(3, dn.indexOf(',')), description });
  await ldbadd(
    'data.ldif',
    [
      container(invis, 'Basisknoten fuer invis-Server LDAP Erweiterungen'),
      container(dhcp, 'Basis fuer den DHCP-Server'),
      container(info, 'Basis fuer abrufbare Informationen'),
      container(`CN=Kontakt,${invis}`, 'Basis fuer LDAP-Adressbuch'),
      container(`CN=internes_Adressbuch,CN=Kontakt,${invis}`, 'Basis fuer internes LDAP-Adressbuch'),
      container(`CN=externes_Adressbuch,CN=Kontakt,${invis}`, 'Basis fuer internes LDAP-Adressbuch'),
      container(`CN=AdditionalUserInformation,${invis}`, 'Basis fuer ergaenzende Benutzerinrfomationen - cornaz'),
      container(`CN=Sudo-Rules,${invis}`, 'Basis fuer Sudo Regeln'),
      ldifEntry(`CN=${fqdn},${dhcp}`, { cn: fqdn, objectClass: ['top', 'iscDhcpServer'] }),
      ldifEntry(dhcpServiceDN, {
        cn: 'DHCP Config',
        objectClass: ['top', 'iscDhcpService', 'iscDhcpOptions'],
        iscDhcpPrimaryDN: `CN=${fqdn},${dhcp}`,
        iscDhcpStatements: [
          'ddns-update-style interim',
          'ignore client-updates',
          'default-lease-time 86400',
          'max-lease-time 604800',
          'authoritative',
        ],
        iscDhcpOption: [
          `domain-name "${dnsDomain}"`,
          'domain-name-servers 192.168.220.10',
          'broadcast-address 192.168.220.255',
          'routers 192.168.220.10',
          'netbios-name-servers 192.168.220.10',
          'netbios-node-type 8',
          'subnet-mask 255.255.255.0',
          'smtp-server 192.168.220.10',
          'ntp-servers 192.168.220.10',
          'rfc3442-classless-static-routes code 121 = array of integer 8',
          'ms-classless-static-routes code 249 = array of integer 8',
        ],
      }),
      ldifEntry(`CN=192.168.220.0,${dhcpServiceDN}`, {
        cn: '192.168.220.0',
        objectClass: ['top', 'iscDhcpSubnet'],
        iscDhcpRange: '192.168.220.200 192.168.220.220',
        iscDhcpNetMask: 24,
      }),
      // a reservation as the portal writes it (adajax.php hostCreate)
      ldifEntry(`CN=pc1,${dhcpServiceDN}`, {
        cn: 'pc1',
        objectClass: ['top', 'iscDhcpHost'],
        iscDhcpHWAddress: 'ethernet 00:1b:21:3a:4f:10',
        iscDhcpStatements: 'fixed-address 192.168.220.120',
        iscDhcpComments: 'Büro',
      }),
      container(`CN=invis-Portal,${info}`, 'Liste aller invis-Portal Einträge'),
      ldifEntry(`CN=Roundcube,CN=invis-Portal,${info}`, {
        objectClass: ['top', 'iPortEntry'],
        iPortEntryName: 'Roundcube',
        cn: 'Roundcube',
        iPortEntrySSL: false,
        iPortEntryURL: '[servername]/roundcubemail',
        iPortEntryDescription: 'Der moderne Webmailer Roundcubemail.',
        iPortEntryActive: false,
        iPortEntryPosition: 'Lokal',
        iPortEntryButton: 'Groupware',
        iPortEntryPriv: 'user',
      }),
      container(`CN=Mailproviders,${info}`, 'Liste deutscher Mailprovider'),
      ldifEntry(`CN=mailbox.org,CN=Mailproviders,${info}`, {
        objectClass: ['top', 'fspMailProvider'],
        cn: 'mailbox.org',
        fspMailProviderVendor: 'Heinlein Support GmbH',
        fspMailProviderPOP: 'pop3.mailbox.org',
        fspMailProviderIMAP: 'imap.mailbox.org',
        fspMailProviderSMTP: 'smtp.mailbox.org',
        fspMailProviderPOPSSL: true,
        fspMailProviderIMAPSSL: true,
        fspMailProviderSMTPPort: 587,
        fspMailProviderSMTPTLS: true,
        fspMailProviderUsername: 'Email-Adresse',
      }),
    ].join('\n'),
  );
  // the "chicken and egg" step of scripts/samba_ad
  await writeFile(
    join(work, 'dhcpserver.ldif'),
    `dn: CN=${fqdn},${dhcp}\nchangetype: modify\nadd: iscDhcpServiceDN\niscDhcpServiceDN: ${dhcpServiceDN}\n`,
  );
  await run('ldbmodify', ['-H', sam, join(work, 'dhcpserver.ldif')]);

  // groups and service accounts with samba-tool, as the setup does
  const tool = (...args: string[]): Promise<string> => run('samba-tool', [...args, '-s', dc.smbConf, '-H', sam]);
  for (const [g, d] of [
    ['mobilusers', 'Mitglieder dürfen sich via Internet am Portal anmelden'],
    ['maildummies', 'Nur Mailkonto'],
    ['verwaltung', 'Mitglieder haben Zugriff auf die Freigabe Verwaltung'],
    ['archiv', 'Mitglieder haben Zugriff auf die Freigabe Archiv'],
    ['diradmins', 'Mitglieder dürfen Vorlagen für Gruppenverzeichnisse verwalten'],
  ] as const)
    await tool('group', 'add', `--description=${d}`, g);
  for (const [u, sn, given, desc, group] of [
    ['ldap.admin', 'LDAP', 'Admin', 'Administrator fuer LDAP-Operationen', 'Administrators'],
    ['junk', 'Owner', 'Junk', 'Benutzer für Junk-Postfach', 'maildummies'],
    ['postmaster', 'Verwaltungspostfach', 'Postmaster', 'Postmaster Konto', 'maildummies'],
  ] as const) {
    await tool('user', 'create', u, PASSWORD, `--surname=${sn}`, `--given-name=${given}`, `--description=${desc}`);
    await tool('user', 'setexpiry', '--noexpiry', u);
    await tool('group', 'addmembers', group, u);
    if (group === 'maildummies') await tool('group', 'removemembers', 'Domain Users', u);
  }
  await launchSamba(dc, true);

  const client = new Client({ url: dc.ldapsUrl, tlsOptions: { ca: dc.caPem } });
  try {
    await client.bind(dc.adminDN, dc.adminPassword);
    const one = async (filter: string, attributes: string[]): Promise<Record<string, unknown>> => {
      const { searchEntries } = await client.search(baseDN, {
        filter,
        attributes,
        explicitBufferAttributes: ['objectSid'],
      });
      const e = searchEntries[0];
      if (!e || searchEntries.length !== 1) throw new TestbedError('TESTBED_FIXTURE', `fixture: ${filter} not unique`);
      return e;
    };
    const ridOf = async (sam: string): Promise<{ dn: string; rid: number }> => {
      const e = await one(`(sAMAccountName=${sam})`, ['objectSid']);
      const sid = e.objectSid as Buffer;
      return { dn: e.dn as string, rid: sid.readUInt32LE(sid.length - 4) };
    };
    const change = (operation: 'add' | 'delete' | 'replace', type: string, values: string | string[]): Change =>
      new Change({
        operation,
        modification: new Attribute({ type, values: Array.isArray(values) ? values : [values] }),
      });
    const replace = (dn: string, attrs: Record<string, string | string[]>): Promise<void> =>
      client.modify(
        dn,
        Object.entries(attrs).map(([type, values]) => change('replace', type, values)),
      );
    const add = (dn: string, attrs: Record<string, string | string[] | Buffer>): Promise<void> =>
      client.add(dn, attrs as never);
    const addMember = (group: string, member: string): Promise<void> =>
      one(`(&(objectCategory=group)(sAMAccountName=${group}))`, ['1.1']).then((g) =>
        client.modify(g.dn as string, change('add', 'member', member)),
      );
    const removeMember = (group: string, member: string): Promise<void> =>
      one(`(&(objectCategory=group)(sAMAccountName=${group}))`, ['1.1']).then((g) =>
        client.modify(g.dn as string, change('delete', 'member', member)),
      );

    // adajax.php on every request: maildummies (gid 9500, zarafaAccount with groupware zarafa) and $SMB_GROUPSTOEXTEND
    const md = await ridOf('maildummies');
    // (Zarafa ADS makes zarafaGroup an auxiliary class of every group; here the group names it)
    await client.modify(md.dn, change('add', 'objectClass', 'zarafaGroup'));
    await replace(md.dn, {
      msSFU30NisDomain: nisDomain,
      msSFU30Name: 'maildummies',
      gidNumber: '9500',
      zarafaAccount: '1',
    });
    for (const g of ['Domain Users', 'Domain Admins', 'Domain Guests', 'Archiv', 'Verwaltung', 'diradmins']) {
      const { dn, rid } = await ridOf(g);
      await replace(dn, { msSFU30NisDomain: nisDomain, msSFU30Name: g, gidNumber: String(rid + SFU_BASE) });
    }
    const duGid = String((await ridOf('Domain Users')).rid + SFU_BASE);

    // users exactly as userCreate() of adajax.php + adLDAPUsers::create() ($AD_CN_ATTRIBUTE
    // "userPrincipalName": CN=<uid>@<domain>; objectClass zarafaUser always, see its `or "kopano"`)
    const users = {} as OriginalInvis['users'];
    const makeUser = async (
      key: keyof OriginalInvis['users'],
      uid: string,
      type: number,
      windows: boolean,
      after: (dn: string, rid: number) => Promise<void>,
      extra: Record<string, string> = {},
    ): Promise<void> => {
      const upn = `${uid}@${dnsDomain}`;
      const dn = `CN=${upn},CN=Users,${baseDN}`;
      await add(dn, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user', 'zarafaUser'],
        cn: upn,
        sAMAccountName: uid,
        userPrincipalName: upn,
        displayName: `Vorname ${uid}`,
        givenName: 'Vorname',
        sn: uid,
        company: 'Testfirma',
        mail: upn,
        userAccountControl: '512',
        unicodePwd: Buffer.from(`"${PASSWORD}"`, 'utf16le'),
        ...(windows
          ? {
              homeDrive: 'u:',
              homeDirectory: `\\\\dc1\\${uid}`,
              profilePath: `\\\\dc1\\profiles\\${uid}`,
              scriptPath: 'user.cmd',
            }
          : {}),
        ...extra,
      });
      await after(dn, (await ridOf(uid)).rid);
      users[key] = { sAMAccountName: uid, dn, type };
    };
    const unix = (dn: string, rid: number, uid: string, more: Record<string, string> = {}): Promise<void> =>
      replace(dn, {
        msSFU30NisDomain: nisDomain,
        msSFU30Name: uid,
        loginShell: '/bin/bash',
        unixHomeDirectory: `/home/${uid}`,
        gidNumber: duGid,
        uidNumber: String(rid + SFU_BASE),
        ...more,
      });
    // 0 Gast: no RFC2307 attributes at all
    await makeUser('guest', 'o.gast', 0, false, async (dn) => {
      await addMember('Domain Guests', dn);
      await replace(dn, { primaryGroupID: '514' });
      await removeMember('Domain Users', dn);
    });
    // 1 Mailkonto
    await makeUser('mail', 'o.mail', 1, false, async (dn, rid) => {
      await addMember('maildummies', dn);
      await replace(dn, {
        msSFU30NisDomain: nisDomain,
        msSFU30Name: 'o.mail',
        primaryGroupID: String(md.rid),
        gidNumber: '9500',
        loginShell: '/bin/false',
        unixHomeDirectory: '/home/o.mail',
        uidNumber: String(rid + SFU_BASE),
        zarafaAccount: '1',
        zarafaSharedStoreOnly: '1',
      });
      await removeMember('Domain Users', dn);
    });
    // 3 Windows+Unix
    await makeUser('winUnix', 'o.user', 3, true, (dn, rid) => unix(dn, rid, 'o.user', { primaryGroupID: '513' }));
    // 4 Windows+Unix+Groupware
    await makeUser('winUnixGroupware', 'o.gw', 4, true, (dn, rid) =>
      unix(dn, rid, 'o.gw', { primaryGroupID: '513', zarafaAccount: '1' }),
    );
    // 6 WinAdmin+Unix
    await makeUser('winAdminUnix', 'o.admin', 6, true, async (dn, rid) => {
      await addMember('Domain Admins', dn);
      await unix(dn, rid, 'o.admin', { primaryGroupID: '512' });
    });
    // 7 WinAdmin+Unix+Groupware (zarafa attributes already at create)
    await makeUser(
      'winAdminUnixGroupware',
      'o.gwadmin',
      7,
      true,
      async (dn, rid) => {
        await addMember('Domain Admins', dn);
        await unix(dn, rid, 'o.gwadmin', { primaryGroupID: '512' });
      },
      { zarafaAccount: '1', zarafaAdmin: '1' },
    );
    // 8 MasterAdmin: only displayed by the portal (Administrator is one); an Enterprise Admin
    await makeUser('master', 'o.master', 8, false, async (dn) => {
      await addMember('Enterprise Admins', dn);
      await addMember('Domain Admins', dn);
      await replace(dn, { primaryGroupID: '512' });
    });

    // groups as groupCreate() + adLDAPGroups::create()
    const groups = {} as OriginalInvis['groups'];
    for (const [key, name, type] of [
      ['team', 'o-team', 0],
      ['teamMail', 'o-teammail', 1],
      ['distribution', 'o-verteiler', 2],
    ] as const) {
      const dn = `CN=${name},CN=Users,${baseDN}`;
      await add(dn, {
        cn: name,
        sAMAccountName: name,
        objectClass: ['Group', 'zarafaGroup'],
        description: `Gruppe ${name}`,
        msSFU30NisDomain: nisDomain,
        msSFU30Name: name,
      });
      const gid = String((await ridOf(name)).rid + SFU_BASE);
      const mail = `${name}@${dnsDomain}`;
      await replace(
        dn,
        type === 0
          ? { gidNumber: gid }
          : type === 1
            ? { gidNumber: gid, zarafaAccount: '1', mail }
            : { zarafaAccount: '1', groupType: '2', mail },
      );
      await addMember(name, users.winUnix.dn);
      groups[key] = { name, dn, type };
    }

    // computers: one joined and extended by mmall, one joined only
    const computers = {} as OriginalInvis['computers'];
    for (const [key, name] of [
      ['posix', 'PCPOSIX'],
      ['plain', 'PCNEW'],
    ] as const) {
      const dn = `CN=${name},CN=Computers,${baseDN}`;
      await add(dn, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user', 'computer'],
        cn: name,
        sAMAccountName: `${name}$`,
        userAccountControl: '4096',
        dNSHostName: `${name.toLowerCase()}.${dnsDomain}`,
      });
      computers[key] = { name, dn };
    }
    const pc = await ridOf('PCPOSIX$');
    await client.modify(
      pc.dn,
      (
        [
          ['objectClass', 'posixAccount'],
          ['uidNumber', String(pc.rid)],
          ['gidNumber', '515'],
          ['msSFU30NisDomain', nisDomain],
          ['loginShell', '/bin/false'],
          ['unixHomeDirectory', '/dev/null'],
          ['description', 'Computer'],
          ['servicePrincipalName', `nfs/pcposix.${dnsDomain}`],
        ] as const
      ).map(([type, value]) => change('add', type, value)),
    );
    return { baseDN, dnsDomain, nisDomain, users, groups, computers, dhcpServiceDN, userPassword: PASSWORD };
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

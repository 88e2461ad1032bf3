// The invis objects in AD: the `CN=invis-Server` tree of the original (DHCP-Server,
// Informationen/{invis-Portal,Mailproviders}, AdditionalUserInformation, Kontakt, Sudo-Rules)
// and typed object types for what other packages store there (iscDhcp*, fsp*, iPortEntry).
import { childDn } from './dn';
import { AdError } from './errors';
import type { LdapOperations } from './ldap';
import { defineObjectType, type ObjectStore, type ObjectType, type Stored } from './objects';
import { installInvisSchema, type SchemaInstallOptions, type SchemaInstallResult } from './schema';
import { checkSamAccountName } from './validate';

/** DNs of the invis tree for a base DN. */
export interface InvisDirectoryLayout {
  root: string;
  dhcp: string;
  /** `CN=DHCP Config,CN=DHCP-Server,…` (the iscDhcpService of the original) */
  dhcpConfig: string;
  informationen: string;
  portal: string;
  mailProviders: string;
  additionalUserInformation: string;
  kontakt: string;
  internalAddressBook: string;
  externalAddressBook: string;
  sudoRules: string;
  /** Per-user CorNAz container `CN=<user>,CN=AdditionalUserInformation,…` */
  userInfo(sAMAccountName: string): string;
}

/**
 * The DNs of the invis tree (`CN=invis-Server` and its containers) under a naming context.
 * @param baseDN the domain's naming context, e.g. `DC=invis,DC=test`
 * @returns every DN of the tree
 * @example invisDirectoryLayout('DC=invis,DC=test').portal // 'CN=invis-Portal,CN=Informationen,CN=invis-Server,DC=invis,DC=test'
 */
export function invisDirectoryLayout(baseDN: string): InvisDirectoryLayout {
  const root = childDn(baseDN, 'invis-Server');
  const dhcp = childDn(root, 'DHCP-Server');
  const informationen = childDn(root, 'Informationen');
  const kontakt = childDn(root, 'Kontakt');
  const additionalUserInformation = childDn(root, 'AdditionalUserInformation');
  return {
    root,
    dhcp,
    dhcpConfig: childDn(dhcp, 'DHCP Config'),
    informationen,
    portal: childDn(informationen, 'invis-Portal'),
    mailProviders: childDn(informationen, 'Mailproviders'),
    additionalUserInformation,
    kontakt,
    internalAddressBook: childDn(kontakt, 'internes_Adressbuch'),
    externalAddressBook: childDn(kontakt, 'externes_Adressbuch'),
    sudoRules: childDn(root, 'Sudo-Rules'),
    userInfo: (sam) => {
      checkSamAccountName(sam);
      return childDn(additionalUserInformation, sam);
    },
  };
}

// ---- DHCP (ISC dhcpd LDAP schema, ported to AD) ---------------------------------------------

/** Common DHCP fields. */
export interface DhcpCommon {
  statements?: string[];
  options?: string[];
  comments?: string;
}
const dhcpCommon = {
  statements: { attr: 'iscDhcpStatements', kind: 'strings' },
  options: { attr: 'iscDhcpOption', kind: 'strings' },
  comments: { attr: 'iscDhcpComments', kind: 'string' },
} as const;

export interface DhcpService extends DhcpCommon {
  primaryDn?: string;
}
export const DHCP_SERVICE: ObjectType<DhcpService> = defineObjectType<DhcpService>({
  name: 'iscDhcpService',
  objectClass: ['top', 'iscDhcpService', 'iscDhcpOptions'],
  searchClass: 'iscDhcpService',
  fields: { ...dhcpCommon, primaryDn: { attr: 'iscDhcpPrimaryDN', kind: 'dn' } },
});

export interface DhcpServer {
  serviceDns?: string[];
  statements?: string[];
  comments?: string;
}
export const DHCP_SERVER: ObjectType<DhcpServer> = defineObjectType<DhcpServer>({
  name: 'iscDhcpServer',
  objectClass: ['top', 'iscDhcpServer'],
  fields: {
    serviceDns: { attr: 'iscDhcpServiceDN', kind: 'dns' },
    statements: dhcpCommon.statements,
    comments: dhcpCommon.comments,
  },
});

export interface DhcpSubnet extends DhcpCommon {
  /** Prefix length, e.g. 24. */
  netMask: number;
  /** `"start end"` pairs. */
  ranges?: string[];
}
export const DHCP_SUBNET: ObjectType<DhcpSubnet> = defineObjectType<DhcpSubnet>({
  name: 'iscDhcpSubnet',
  objectClass: ['top', 'iscDhcpSubnet'],
  fields: {
    ...dhcpCommon,
    netMask: { attr: 'iscDhcpNetMask', kind: 'integer', required: true },
    ranges: { attr: 'iscDhcpRange', kind: 'strings' },
  },
});

export interface DhcpPool extends DhcpCommon {
  ranges: string[];
  permitList?: string[];
}
export const DHCP_POOL: ObjectType<DhcpPool> = defineObjectType<DhcpPool>({
  name: 'iscDhcpPool',
  objectClass: ['top', 'iscDhcpPool'],
  fields: {
    ...dhcpCommon,
    ranges: { attr: 'iscDhcpRange', kind: 'strings', required: true },
    permitList: { attr: 'iscDhcpPermitList', kind: 'strings' },
  },
});

export interface DhcpHost extends DhcpCommon {
  /** `ethernet aa:bb:cc:dd:ee:ff` */
  hwAddress?: string;
}
export const DHCP_HOST: ObjectType<DhcpHost> = defineObjectType<DhcpHost>({
  name: 'iscDhcpHost',
  objectClass: ['top', 'iscDhcpHost'],
  fields: { ...dhcpCommon, hwAddress: { attr: 'iscDhcpHWAddress', kind: 'string' } },
});

export const DHCP_GROUP: ObjectType<DhcpCommon> = defineObjectType<DhcpCommon>({
  name: 'iscDhcpGroup',
  objectClass: ['top', 'iscDhcpGroup'],
  fields: dhcpCommon,
});

export const DHCP_SHARED_NETWORK: ObjectType<DhcpCommon> = defineObjectType<DhcpCommon>({
  name: 'iscDhcpSharedNetwork',
  objectClass: ['top', 'iscDhcpSharedNetwork'],
  fields: dhcpCommon,
});

// ---- Mail (CorNAz) ------------------------------------------------------------------------------

export interface FetchMailAccount {
  /** External address (also the RDN). */
  extAddress: string;
  server: string;
  /** `pop3` or `imap` (SSL goes into fetchOpts as `ssl`). */
  proto: string;
  userName: string;
  /** Stored in clear text, as the original (fetchmail needs it). */
  password: string;
  /** `<user>@<internal domain>` */
  localAddress: string;
  /** e.g. `['here', 'ssl', 'fetchall']` */
  fetchOpts: string[];
}
export const FETCHMAIL_ACCOUNT: ObjectType<FetchMailAccount> = defineObjectType<FetchMailAccount>({
  name: 'fspFetchMailAccount',
  objectClass: ['top', 'fspFetchMailAccount'],
  fields: {
    extAddress: { attr: 'fspExtMailAddress', kind: 'string', required: true },
    server: { attr: 'fspExtMailServer', kind: 'string', required: true },
    proto: { attr: 'fspExtMailProto', kind: 'string', required: true },
    userName: { attr: 'fspExtMailUserName', kind: 'string', required: true },
    password: { attr: 'fspExtMailUserPW', kind: 'string', required: true },
    localAddress: { attr: 'fspLocalMailAddress', kind: 'string', required: true },
    fetchOpts: { attr: 'fspMailFetchOpts', kind: 'strings', required: true },
  },
});

export interface LocalMailRecipient {
  /** `<user>@<internal domain>` (also the RDN). */
  localAddress: string;
  /** Sender address for outbound rewriting. */
  mainAddress: string;
  localHost?: string;
}
export const LOCAL_MAIL_RECIPIENT: ObjectType<LocalMailRecipient> = defineObjectType<LocalMailRecipient>({
  name: 'fspLocalMailRecipient',
  objectClass: ['top', 'fspLocalMailRecipient'],
  fields: {
    localAddress: { attr: 'fspLocalMailAddress', kind: 'string', required: true },
    mainAddress: { attr: 'fspMainMailAddress', kind: 'string', required: true },
    localHost: { attr: 'fspLocalMailHost', kind: 'string' },
  },
});

/** One entry of the mail provider catalogue (`fspMailProvider` under `CN=Mailproviders`). */
export interface MailProviderEntry {
  vendor: string;
  pop?: string;
  imap?: string;
  smtp?: string;
  popSsl?: boolean;
  imapSsl?: boolean;
  smtpTls?: boolean;
  smtpPort?: number;
  userNameHint?: string;
  description?: string;
}
export const MAIL_PROVIDER: ObjectType<MailProviderEntry> = defineObjectType<MailProviderEntry>({
  name: 'fspMailProvider',
  objectClass: ['top', 'fspMailProvider'],
  fields: {
    vendor: { attr: 'fspMailProviderVendor', kind: 'string', required: true },
    pop: { attr: 'fspMailProviderPOP', kind: 'string' },
    imap: { attr: 'fspMailProviderIMAP', kind: 'string' },
    smtp: { attr: 'fspMailProviderSMTP', kind: 'string' },
    popSsl: { attr: 'fspMailProviderPOPSSL', kind: 'boolean' },
    imapSsl: { attr: 'fspMailProviderIMAPSSL', kind: 'boolean' },
    smtpTls: { attr: 'fspMailProviderSMTPTLS', kind: 'boolean' },
    smtpPort: { attr: 'fspMailProviderSMTPPort', kind: 'integer' },
    userNameHint: { attr: 'fspMailProviderUserName', kind: 'string' },
    description: { attr: 'fspMailProviderDescription', kind: 'string' },
  },
});

// ---- Portal ------------------------------------------------------------------------------------

export interface PortalEntry {
  name: string;
  /** Scheme-less URL; `[servername]` is a placeholder. */
  url: string;
  ssl: boolean;
  /** HTML */
  description: string;
  active: boolean;
  /** `Lokal`, `Administration`, `Dokumentation`, `Internet`, `mail` */
  position: string;
  /** `guest`, `user` or `admin` */
  priv: string;
  button: string;
  rubrik?: string;
}
export const PORTAL_ENTRY: ObjectType<PortalEntry> = defineObjectType<PortalEntry>({
  name: 'iPortEntry',
  objectClass: ['top', 'iPortEntry'],
  fields: {
    name: { attr: 'iPortEntryName', kind: 'string', required: true },
    url: { attr: 'iPortEntryURL', kind: 'string', required: true },
    ssl: { attr: 'iPortEntrySSL', kind: 'boolean', required: true },
    description: { attr: 'iPortEntryDescription', kind: 'string', required: true },
    active: { attr: 'iPortEntryActive', kind: 'boolean', required: true },
    position: { attr: 'iPortEntryPosition', kind: 'string', required: true },
    priv: { attr: 'iPortEntryPriv', kind: 'string', required: true },
    button: { attr: 'iPortEntryButton', kind: 'string', required: true },
    rubrik: { attr: 'iPortEntryLinkRubrik', kind: 'string' },
  },
});

export interface InvisInstallResult {
  schema?: SchemaInstallResult;
  /** Containers created by this run. */
  containers: string[];
}

export interface InvisApi {
  layout(): Promise<InvisDirectoryLayout>;
  /** Installs the schema (unless `schema: false`) and creates the invis container tree; idempotent. */
  install(options?: SchemaInstallOptions & { schema?: boolean }): Promise<InvisInstallResult>;
  portal: {
    list(): Promise<Stored<PortalEntry>[]>;
    get(cn: string): Promise<Stored<PortalEntry> | undefined>;
    put(cn: string, entry: PortalEntry): Promise<Stored<PortalEntry>>;
    /** The original's `swpestat <cn> TRUE|FALSE`. */
    setActive(cn: string, active: boolean): Promise<Stored<PortalEntry>>;
    delete(cn: string): Promise<void>;
  };
  mail: {
    fetchAccounts(sAMAccountName: string): Promise<Stored<FetchMailAccount>[]>;
    putFetchAccount(sAMAccountName: string, account: FetchMailAccount): Promise<Stored<FetchMailAccount>>;
    deleteFetchAccount(sAMAccountName: string, extAddress: string): Promise<void>;
    localRecipient(sAMAccountName: string): Promise<Stored<LocalMailRecipient> | undefined>;
    putLocalRecipient(sAMAccountName: string, recipient: LocalMailRecipient): Promise<Stored<LocalMailRecipient>>;
    /** Removes the user's whole CorNAz container. */
    deleteUser(sAMAccountName: string): Promise<void>;
    providers(): Promise<Stored<MailProviderEntry>[]>;
    putProvider(cn: string, provider: MailProviderEntry): Promise<Stored<MailProviderEntry>>;
  };
}

export function createInvisApi(ad: LdapOperations, store: ObjectStore): InvisApi {
  const layout = async (): Promise<InvisDirectoryLayout> => invisDirectoryLayout(await ad.baseDN());
  const needTree = async (l: InvisDirectoryLayout): Promise<void> => {
    if (!(await ad.exists(l.root)))
      throw new AdError('AD_NO_SUCH_OBJECT', `${l.root} does not exist; run ad.invis.install() first.`, {
        details: { dn: l.root },
      });
  };
  const userContainer = async (sam: string): Promise<string> => {
    const l = await layout();
    const dn = l.userInfo(sam);
    await needTree(l);
    await store.ensureContainers([{ dn }]);
    return dn;
  };
  return {
    layout,
    async install(options = {}) {
      const schema = options.schema === false ? undefined : await installInvisSchema(ad, options);
      const l = await layout();
      const containers = await store.ensureContainers([
        { dn: l.root, description: 'Basisknoten fuer invis-Server LDAP Erweiterungen' },
        { dn: l.dhcp, description: 'Basis fuer den DHCP-Server' },
        { dn: l.informationen, description: 'Basis fuer abrufbare Informationen' },
        { dn: l.portal, description: 'Liste aller invis-Portal Eintraege' },
        { dn: l.mailProviders, description: 'Mailprovider' },
        { dn: l.kontakt, description: 'Basis fuer LDAP-Adressbuch' },
        { dn: l.internalAddressBook, description: 'Basis fuer internes LDAP-Adressbuch' },
        { dn: l.externalAddressBook, description: 'Basis fuer externes LDAP-Adressbuch' },
        { dn: l.additionalUserInformation, description: 'Basis fuer ergaenzende Benutzerinformationen - cornaz' },
        { dn: l.sudoRules, description: 'Basis fuer Sudo Regeln' },
      ]);
      return { ...(schema ? { schema } : {}), containers };
    },
    portal: {
      list: async () => store.list(PORTAL_ENTRY, (await layout()).portal),
      get: async (cn) => store.get(PORTAL_ENTRY, childDn((await layout()).portal, cn)),
      put: async (cn, entry) => store.put(PORTAL_ENTRY, childDn((await layout()).portal, cn), entry),
      setActive: async (cn, active) => store.update(PORTAL_ENTRY, childDn((await layout()).portal, cn), { active }),
      delete: async (cn) => store.delete(childDn((await layout()).portal, cn)),
    },
    mail: {
      fetchAccounts: async (sam) => {
        const dn = (await layout()).userInfo(sam);
        if (!(await ad.exists(dn))) return [];
        return store.list(FETCHMAIL_ACCOUNT, dn);
      },
      putFetchAccount: async (sam, account) =>
        store.put(FETCHMAIL_ACCOUNT, childDn(await userContainer(sam), account.extAddress), account),
      deleteFetchAccount: async (sam, ext) => store.delete(childDn((await layout()).userInfo(sam), ext)),
      localRecipient: async (sam) => {
        const dn = (await layout()).userInfo(sam);
        if (!(await ad.exists(dn))) return undefined;
        const [r] = await store.list(LOCAL_MAIL_RECIPIENT, dn);
        return r;
      },
      putLocalRecipient: async (sam, recipient) => {
        const container = await userContainer(sam);
        const existing = await store.list(LOCAL_MAIL_RECIPIENT, container);
        for (const old of existing)
          if (old.cn.toLowerCase() !== recipient.localAddress.toLowerCase()) await store.delete(old.dn);
        return store.put(LOCAL_MAIL_RECIPIENT, childDn(container, recipient.localAddress), recipient);
      },
      deleteUser: async (sam) => {
        const dn = (await layout()).userInfo(sam);
        if (await ad.exists(dn)) await store.delete(dn, { recursive: true });
      },
      providers: async () => store.list(MAIL_PROVIDER, (await layout()).mailProviders),
      putProvider: async (cn, provider) =>
        store.put(MAIL_PROVIDER, childDn((await layout()).mailProviders, cn), provider),
    },
  };
}

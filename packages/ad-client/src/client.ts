// createAdClient: the entry point. Options carry the collaborators (ldapts client factory,
// clock); nothing reads process.env.
import { type Clock, systemClock } from '@invis/host';
import { type AuthResult, authenticate } from './auth';
import { type ComputersApi, createComputersApi, createOusApi, type OusApi } from './computers';
import {
  type AdTlsOptions,
  Connection,
  defaultClientFactory,
  type LdapClientFactory,
  openBoundClient,
} from './connection';
import { DEFAULT_POSIX_IDS, type DomainInfo, type PosixIdScheme, readDomainInfo } from './domain';
import { AdError } from './errors';
import { createGroupsApi, type GroupsApi } from './groups';
import { createInvisApi, type InvisApi } from './invis';
import { Directory, type LdapOperations } from './ldap';
import { createObjectStore, type ObjectStore } from './objects';
import { type PasswordPolicy, readPasswordPolicy, updatePasswordPolicy } from './policy';
import { createUsersApi, type UsersApi } from './users';

/** Options of {@link createAdClient}. */
export interface AdClientOptions {
  /** `ldaps://dc:636` (TLS from the start) or `ldap://dc:389` (StartTLS before the bind, always). */
  url: string;
  /** Bind DN of the service account (e.g. `CN=ldap.admin,CN=Users,DC=…`). Give this or `upn`. */
  bindDN?: string;
  /** UPN of the service account (`ldap.admin@invis.test`). Give this or `bindDN`. */
  upn?: string;
  password: string;
  /** PEM of the CA that signed the DC's certificate (default: Node's trust store). */
  ca?: string | Buffer | (string | Buffer)[];
  /** Further TLS options (e.g. `servername`); certificate verification is always on. */
  tlsOptions?: AdTlsOptions;
  /** Naming context, e.g. `DC=invis,DC=test`; default: read from the rootDSE. */
  baseDN?: string;
  /** TCP + TLS connect limit (default 5000 ms). */
  connectTimeoutMs?: number;
  /** Limit for every single LDAP operation (default 30000 ms); the connection is dropped after it. */
  timeoutMs?: number;
  /** Entries per page of a paged search (default and maximum 1000: AD's default MaxPageSize). */
  pageSize?: number;
  /**
   * Creates the ldapts client; for instrumentation (default `new Client(options)` with the fast
   * search-entry decoder installed).
   */
  clientFactory?: LdapClientFactory;
  /** Clock for expiry calculations (default the system clock). */
  clock?: Clock;
  /** RFC2307 numbering (default the original's: RID + 20000, maildummies 9500, computers 515). */
  posixIds?: Partial<PosixIdScheme>;
  /** Group names that cannot be deleted besides the built-ins (default the invis setup groups). */
  protectedGroups?: readonly string[];
}

/** An Active Directory client. Connects lazily, reconnects after a DC restart. */
export interface AdClient extends LdapOperations {
  /** Closes the connection; later calls fail with `AD_CLOSED`. */
  close(): Promise<void>;
  /** Domain naming facts (DNS name, NetBIOS/NIS name, SID); read once. */
  domain(): Promise<DomainInfo>;
  readonly users: UsersApi;
  readonly groups: GroupsApi;
  readonly computers: ComputersApi;
  readonly ous: OusApi;
  readonly policy: {
    get(): Promise<PasswordPolicy>;
    update(patch: Partial<PasswordPolicy>): Promise<PasswordPolicy>;
  };
  /**
   * Checks a user's password and returns identity, transitive groups and password state.
   * @throws AdError `AD_INVALID_CREDENTIALS`, `AD_ACCOUNT_DISABLED`, `AD_ACCOUNT_LOCKED`, `AD_PASSWORD_EXPIRED`, `AD_PASSWORD_MUST_CHANGE`
   */
  authenticate(login: string, password: string): Promise<AuthResult>;
  /** Typed read/write of any object type (see `defineObjectType`). */
  readonly objects: ObjectStore;
  /** The invis tree, schema install, portal entries, CorNAz mail objects. */
  readonly invis: InvisApi;
}

/**
 * Creates an Active Directory client. No network traffic until the first call.
 * @param options connection and bind data
 * @returns the client
 * @throws AdError `AD_CONFIG` for a malformed URL or missing bind name/password
 * @example
 * const ad = createAdClient({ url: 'ldaps://dc1.invis.test', upn: 'ldap.admin@invis.test', password, ca });
 * const users = await ad.search({ filter: f.eq('objectClass', 'user'), attributes: ['sAMAccountName'] });
 * await ad.close();
 */
export function createAdClient(options: AdClientOptions): AdClient {
  const bindName = options.bindDN ?? options.upn;
  if (!bindName) throw new AdError('AD_CONFIG', 'createAdClient needs bindDN or upn of the service account.');
  if (!options.password) throw new AdError('AD_CONFIG', 'createAdClient needs the password of the service account.');
  const settings = {
    url: options.url,
    bindName,
    password: options.password,
    ca: options.ca,
    tlsOptions: options.tlsOptions,
    connectTimeoutMs: options.connectTimeoutMs ?? 5000,
    timeoutMs: options.timeoutMs ?? 30000,
    clientFactory: options.clientFactory ?? defaultClientFactory,
  };
  const conn = new Connection(settings);
  let base: Promise<string> | undefined = options.baseDN ? Promise.resolve(options.baseDN) : undefined;
  const baseDN = (): Promise<string> => {
    base ??= dir.rootDse().then(
      (r) => {
        const nc = r.get('defaultNamingContext');
        if (!nc) throw new AdError('AD_CONFIG', 'The rootDSE has no defaultNamingContext; set baseDN.');
        return nc;
      },
      (e) => {
        base = undefined;
        throw e;
      },
    );
    return base;
  };
  const dir = new Directory(conn, baseDN, options.pageSize ?? 1000);
  const clock = options.clock ?? systemClock;

  const withBind: LdapOperations['withBind'] = async (name, password, fn) => {
    if (!name || !password) throw new AdError('AD_INVALID_CREDENTIALS', 'Wrong user name or password.');
    const client = await openBoundClient(settings, name, password);
    const single = new Connection({ ...settings, bindName: name, password }, client);
    const d = new Directory(single, baseDN, options.pageSize ?? 1000);
    try {
      return await fn({
        search: (o) => d.search(o),
        get: (dn, a, b) => d.get(dn, a, b),
        modify: (dn, c) => d.modify(dn, c),
      });
    } finally {
      await single.close();
    }
  };

  // The generic layer first; every feature module is built on it, never on the whole client.
  const ops: LdapOperations = {
    baseDN,
    search: (o) => dir.search(o),
    searchPages: (o) => dir.searchPages(o),
    searchOne: (o) => dir.searchOne(o),
    get: (dn, a, b) => dir.get(dn, a, b),
    exists: (dn) => dir.exists(dn),
    add: (dn, a) => dir.add(dn, a),
    modify: (dn, c) => dir.modify(dn, c),
    delete: (dn, o) => dir.delete(dn, o),
    rename: (dn, o) => dir.rename(dn, o),
    rootDse: () => dir.rootDse(),
    verifyBind: async (name, password) => {
      await withBind(name, password, async () => undefined);
    },
    withBind,
    now: () => clock.now(),
  };

  const ids: PosixIdScheme = { ...DEFAULT_POSIX_IDS, ...(options.posixIds ?? {}) };
  let domainInfo: Promise<DomainInfo> | undefined;
  const domain = (): Promise<DomainInfo> => {
    const p =
      domainInfo ??
      readDomainInfo(ops).catch((e: unknown) => {
        domainInfo = undefined;
        throw e;
      });
    domainInfo = p;
    return p;
  };
  const policy = {
    get: () => readPasswordPolicy(ops),
    update: (patch: Partial<PasswordPolicy>) => updatePasswordPolicy(ops, patch),
  };
  const groups = createGroupsApi({
    ad: ops,
    domain,
    ids,
    ...(options.protectedGroups ? { protectedGroups: options.protectedGroups } : {}),
  });
  const users = createUsersApi({ ad: ops, domain, ids, groups, policy: policy.get });
  const objects = createObjectStore(ops);
  return {
    ...ops,
    close: () => conn.close(),
    domain,
    policy,
    users,
    groups,
    computers: createComputersApi({ ad: ops, domain, ids }),
    ous: createOusApi({ ad: ops, domain }),
    authenticate: (login, password) => authenticate({ ad: ops, users, groups }, login, password),
    objects,
    invis: createInvisApi(ops, objects),
  };
}

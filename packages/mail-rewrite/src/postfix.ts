import { generatedMarker } from '@invis/host';
import { MailRewriteError } from './errors';
import { type MailConfig, relayOf, type SmtpRelay } from './model';
import { hasControlCharacters } from './text';

/** First line of every generated file (tables, rc, Sieve script, LDAP tables: all `#` comments). */
export const MARKER: string = generatedMarker('@invis/mail-rewrite', 'hash');

/** One `key value` line of a Postfix lookup table. */
export type PostfixMapEntry = readonly [key: string, value: string];

/** Lookup table types for the static maps; `texthash` needs no `postmap` but a reload. */
export type PostfixMapType = 'texthash' | 'lmdb' | 'hash';

/** The static tables this package generates, one entry list each. */
export interface PostfixMaps {
  /** `smtp_generic_maps`: local address → main external address (outbound only). */
  generic: PostfixMapEntry[];
  /** `recipient_canonical_maps`: external address → local mailbox (envelope only). */
  recipientCanonical: PostfixMapEntry[];
  /** `sender_dependent_relayhost_maps`: sender → `[host]:port` of its provider. */
  relayhost: PostfixMapEntry[];
  /** `smtp_sasl_password_maps`: sender → `login:password` (secret, 0600). */
  saslPassword: PostfixMapEntry[];
  /**
   * `smtp_tls_policy_maps`: every relay → `secure match=<name>`: TLS with a verified
   * certificate, so mailbox passwords never reach anyone but the provider.
   */
  tlsPolicy: PostfixMapEntry[];
  /**
   * `smtpd_sender_login_maps`: every local and external address → the login of the user who
   * owns it. A client may send as an address only when logged in as its owner, so nobody
   * reaches a colleague's relay and provider password.
   */
  senderLogin: PostfixMapEntry[];
}

/** Which name a user logs in with at the server's submission (Dovecot SASL): the AD account name or the local address. */
export type SubmissionLogin = 'account' | 'localAddress';

/** Options of {@link buildPostfixMaps}. */
export interface PostfixMapsOptions {
  /** The owner written to `senderLogin` (default `account`, the AD account name). */
  login?: SubmissionLogin;
}

/** Names of the static tables, also their default file names. */
export const POSTFIX_MAP_NAMES: readonly (keyof PostfixMaps)[] = [
  'generic',
  'recipientCanonical',
  'relayhost',
  'saslPassword',
  'tlsPolicy',
  'senderLogin',
];

const relayKey = (r: SmtpRelay): string => `[${r.host}]:${r.port}`;

/**
 * Builds all static Postfix tables from the configuration. One entry per key, sorted, so
 * the same input always gives byte-identical files (and no duplicate SASL lines, which the
 * original's `create-rbs-map` appended on every run).
 *
 * - outbound: the local address is rewritten to the main address only in the SMTP client
 *   (`smtp_generic_maps`), so mail between local users keeps its local addresses;
 * - relay + SASL are keyed by the local address (the sender before generic rewriting) and by
 *   every external address (clients that already send as the external address).
 *
 * - sender login: each of a user's addresses is owned by that user's login.
 *
 * @param config validated configuration ({@link parseMailConfig})
 * @param options which login owns the addresses
 * @returns entries per table
 */
export function buildPostfixMaps(config: MailConfig, options: PostfixMapsOptions = {}): PostfixMaps {
  const generic = new Map<string, string>();
  const recipientCanonical = new Map<string, string>();
  const relayhost = new Map<string, string>();
  const saslPassword = new Map<string, string>();
  const tlsPolicy = new Map<string, string>();
  const senderLogin = new Map<string, string>();
  for (const user of config.users) {
    const login = options.login === 'localAddress' ? user.localAddress : user.user;
    for (const address of [user.localAddress, ...user.accounts.map((a) => a.address)]) senderLogin.set(address, login);
    for (const account of user.accounts) {
      recipientCanonical.set(account.address, user.localAddress);
      const relay = relayOf(account, config.providers);
      if (!relay) continue;
      relayhost.set(account.address, relayKey(relay));
      saslPassword.set(account.address, `${account.login}:${account.password}`);
      tlsPolicy.set(relayKey(relay), `secure match=${relay.tlsName ?? relay.host}`);
      if (account.address === user.mainAddress) {
        generic.set(user.localAddress, account.address);
        relayhost.set(user.localAddress, relayKey(relay));
        saslPassword.set(user.localAddress, `${account.login}:${account.password}`);
      }
    }
  }
  const sorted = (m: Map<string, string>): PostfixMapEntry[] => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    generic: sorted(generic),
    recipientCanonical: sorted(recipientCanonical),
    relayhost: sorted(relayhost),
    saslPassword: sorted(saslPassword),
    tlsPolicy: sorted(tlsPolicy),
    senderLogin: sorted(senderLogin),
  };
}

const SAFE_KEY = /^[^\s#]\S*$/;
const SAFE_VALUE = /^\S(?:[^\r\n\u2028\u2029]*\S)?$/;

/**
 * Renders a Postfix lookup table source (`key<TAB>value` lines, marker first).
 * @throws MailRewriteError `MAIL_INVALID_CONFIG` if a key or value could break the line
 *   structure (the model already rules this out; this is the last line of defence)
 */
export function renderPostfixMap(entries: readonly PostfixMapEntry[]): string {
  const lines = [MARKER];
  for (const [key, value] of entries) {
    if (!SAFE_KEY.test(key) || !SAFE_VALUE.test(value) || hasControlCharacters(key + value)) {
      throw new MailRewriteError('MAIL_INVALID_CONFIG', 'a Postfix table entry contains whitespace or a line break', {
        details: { key: SAFE_KEY.test(key) ? key : '(invalid key)' },
      });
    }
    lines.push(`${key}\t${value}`);
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Parses a Postfix lookup table source as `postmap` reads it: `#` comment lines, blank
 * lines, lines starting with whitespace continue the previous one.
 * @throws MailRewriteError `MAIL_PARSE_ERROR` for a line without value
 */
export function parsePostfixMap(text: string): PostfixMapEntry[] {
  const logical: { text: string; line: number }[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (/^\s*(#|$)/.test(line)) return;
    const last = logical[logical.length - 1];
    if (/^\s/.test(line) && last) last.text += ` ${line.trim()}`;
    else logical.push({ text: line.trim(), line: i + 1 });
  });
  return logical.map(({ text: l, line }) => {
    const match = /^(\S+)\s+(.+)$/.exec(l);
    if (!match) {
      throw new MailRewriteError('MAIL_PARSE_ERROR', `line ${line}: expected "key whitespace value"`, {
        details: { line },
      });
    }
    return [match[1] as string, (match[2] as string).trim()] as const;
  });
}

/** Where the generated tables live and how they are looked up. */
export interface PostfixMapFiles {
  /** Table type of the static maps. */
  type: PostfixMapType;
  /** Source file per table. */
  files: Record<keyof PostfixMaps, string>;
  /** CA bundle (`smtp_tls_CAfile`) and/or directory (`smtp_tls_CApath`, Debian `/etc/ssl/certs`) that verify the relays. */
  trust?: { caFile?: string; caPath?: string };
  /**
   * Use these `ldap:` table files for the two address maps instead of the static ones
   * (see {@link renderLdapTables}); relay and SASL maps stay static because the
   * passwords are encrypted in AD.
   */
  ldap?: { generic: string; recipientCanonical: string };
  /** Who may relay (see {@link SubmissionOptions}). */
  submission?: SubmissionOptions;
}

/**
 * Who may send through the server. Only `trustedClients` (written as `mynetworks`: the
 * server's own fetchmail and Dovecot vacation replies) relay without a login; every other
 * client (LAN, VPN) logs in with SASL and may use only its own addresses as sender
 * (`smtpd_sender_login_maps` + `reject_*_sender_login_mismatch`).
 */
export interface SubmissionOptions {
  /** SASL server for `smtpd` logins, e.g. `{ type: 'dovecot', path: 'private/auth' }`; without it no client can relay. */
  sasl?: { type: 'dovecot' | 'cyrus'; path: string };
  /** Name of the login that owns a user's addresses (default `account`). */
  login?: SubmissionLogin;
  /** Networks trusted to relay without login (default loopback: `127.0.0.0/8`, `[::1]/128`). */
  trustedClients?: readonly string[];
}

const DEFAULT_TRUSTED_CLIENTS = ['127.0.0.0/8', '[::1]/128'];
const CIDR = /^(?:(?:\d{1,3}\.){3}\d{1,3}(?:\/\d{1,2})?|\[[0-9a-f:.]+\](?:\/\d{1,3})?)$/i;
const SASL_PATH = /^[A-Za-z0-9._/:-]+$/;

/**
 * The `main.cf` parameters that wire the tables in (apply them with `postconf -e`).
 *
 * Direction by direction: outbound the envelope sender **and** the headers (From, Reply-To, …)
 * are rewritten to the main external address, in the SMTP client only; inbound to a
 * colleague's external address only the envelope recipient is rewritten, so the To: header
 * still shows the address the sender used.
 */
export function renderMainCfSettings(maps: PostfixMapFiles): Record<string, string> {
  const t = (name: keyof PostfixMaps): string => `${maps.type}:${maps.files[name]}`;
  const trusted = maps.submission?.trustedClients ?? DEFAULT_TRUSTED_CLIENTS;
  const bad = trusted.find((n) => !CIDR.test(n));
  if (bad !== undefined || trusted.length === 0) {
    throw new MailRewriteError(
      'MAIL_INVALID_CONFIG',
      'trustedClients must be a non-empty list of networks (a.b.c.d/n)',
      {
        details: { field: 'trustedClients' },
      },
    );
  }
  const sasl = maps.submission?.sasl;
  if (sasl && !SASL_PATH.test(sasl.path)) {
    throw new MailRewriteError('MAIL_INVALID_CONFIG', 'sasl.path is not allowed in main.cf', {
      details: { field: 'sasl.path' },
    });
  }
  return {
    mynetworks: trusted.join(', '),
    ...(sasl ? { smtpd_sasl_auth_enable: 'yes', smtpd_sasl_type: sasl.type, smtpd_sasl_path: sasl.path } : {}),
    smtpd_sender_login_maps: t('senderLogin'),
    smtpd_relay_restrictions: 'permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination',
    // Logged in: only as one's own addresses. Not logged in: no address that has an owner,
    // except from the server itself (fetched mail from a colleague's external address,
    // vacation replies sent as the user).
    smtpd_sender_restrictions:
      'reject_authenticated_sender_login_mismatch, permit_mynetworks, reject_unauthenticated_sender_login_mismatch',
    smtp_generic_maps: maps.ldap ? `ldap:${maps.ldap.generic}` : t('generic'),
    recipient_canonical_maps: maps.ldap ? `ldap:${maps.ldap.recipientCanonical}` : t('recipientCanonical'),
    recipient_canonical_classes: 'envelope_recipient',
    sender_dependent_relayhost_maps: t('relayhost'),
    smtp_sender_dependent_authentication: 'yes',
    smtp_sasl_auth_enable: 'yes',
    smtp_sasl_password_maps: t('saslPassword'),
    smtp_sasl_security_options: 'noanonymous, noplaintext',
    smtp_sasl_tls_security_options: 'noanonymous',
    smtp_tls_policy_maps: t('tlsPolicy'),
    ...(maps.trust?.caFile ? { smtp_tls_CAfile: maps.trust.caFile } : {}),
    ...(maps.trust?.caPath ? { smtp_tls_CApath: maps.trust.caPath } : {}),
  };
}

/** Connection of the Postfix LDAP tables: a read-only service account over StartTLS. */
export interface LdapTableOptions {
  /** e.g. `ldap://dc1.invis-net.loc` (StartTLS is always on). */
  serverUrl: string;
  /** Base DN of the domain, e.g. `DC=invis-net,DC=loc`. */
  baseDn: string;
  /** DN of a read-only account (never the domain admin). */
  bindDn: string;
  bindPassword: string;
  /** CA file that signed the DC's certificate. */
  caFile: string;
}

const CF_VALUE = /^[^\s$](?:[^$]*[^\s$])?$/;

/**
 * Renders `ldap_table(5)` files for the two address maps against the invis objects under
 * `CN=AdditionalUserInformation,CN=invis-Server,<base>`. Install them 0640 root:postfix.
 * Values containing `$`, line breaks or surrounding blanks are refused (Postfix would expand
 * or trim them).
 * @throws MailRewriteError `MAIL_INVALID_CONFIG`
 */
export function renderLdapTables(options: LdapTableOptions): { generic: string; recipientCanonical: string } {
  for (const [name, value] of Object.entries(options)) {
    if (!CF_VALUE.test(value) || hasControlCharacters(value)) {
      throw new MailRewriteError('MAIL_INVALID_CONFIG', `${name} is not allowed in a Postfix LDAP table`, {
        details: { field: name },
      });
    }
  }
  if (!/^ldap:\/\/[^/\s]+\/?$/.test(options.serverUrl)) {
    throw new MailRewriteError('MAIL_INVALID_CONFIG', 'serverUrl must be ldap://host[:port] (StartTLS is used)', {
      details: { field: 'serverUrl' },
    });
  }
  const common = [
    MARKER,
    `server_host = ${options.serverUrl}`,
    'version = 3',
    'start_tls = yes',
    'tls_require_cert = yes',
    `tls_ca_cert_file = ${options.caFile}`,
    'bind = yes',
    `bind_dn = ${options.bindDn}`,
    `bind_pw = ${options.bindPassword}`,
    `search_base = CN=AdditionalUserInformation,CN=invis-Server,${options.baseDn}`,
    'scope = sub',
  ];
  const table = (filter: string, result: string): string =>
    `${[...common, `query_filter = ${filter}`, `result_attribute = ${result}`].join('\n')}\n`;
  return {
    generic: table('(&(objectClass=fspLocalMailRecipient)(fspLocalMailAddress=%s))', 'fspMainMailAddress'),
    recipientCanonical: table('(&(objectClass=fspFetchMailAccount)(fspExtMailAddress=%s))', 'fspLocalMailAddress'),
  };
}

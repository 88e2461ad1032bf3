// Pure renderers of the `mailserver` module: Postfix (main.cf, master.cf, the LDAP tables that
// serve mailboxes, sender logins and group addresses live from AD, the root/postmaster aliases),
// Dovecot (dovecot.conf, the LDAP passdb/userdb file, the global Junk rule) and the vmail user.
// Everything comes from the answers and the profile; secrets are passed in and only appear in
// files that are 0600 root.
import { generatedMarker } from '@invis/host';
import { type PostfixMaps, renderLdapTables, renderMainCfSettings } from '@invis/mail-rewrite';
import type { Answers } from './answers';
import { certificatePaths } from './modules/ca';
import { networkOf, parseCidr } from './net';
import type { PlatformProfile } from './profiles';

/** What the mail renderers read. */
export interface MailRenderContext {
  answers: Answers;
  profile: PlatformProfile;
}

/** Where rspamd's milter listens (the `mailfilter` module owns rspamd; see mail-coordination). */
export const RSPAMD_MILTER = 'inet:127.0.0.1:11332';

const MARK = generatedMarker('@invis/setup-1', 'hash');

/** The server's LAN address (no prefix). */
const lanAddress = (answers: Answers): string => (parseCidr(answers.lan.address)?.address ?? '').toString();

/** `DC=invis-net,DC=loc` for `invis-net.loc`. */
export function baseDn(domain: string): string {
  return domain
    .split('.')
    .map((label) => `DC=${label}`)
    .join(',');
}

/** Files below the Postfix config folder that setup owns. */
export function postfixPaths(profile: PlatformProfile) {
  const dir = profile.mail.postfix.configDir;
  const invis = `${dir}/invis`;
  const table = (name: keyof PostfixMaps) => `${invis}/${name}`;
  return {
    dir,
    invis,
    mainCf: `${dir}/main.cf`,
    masterCf: `${dir}/master.cf`,
    /** The static tables of @invis/mail-rewrite (lmdb), regenerated from AD. */
    tables: {
      generic: table('generic'),
      recipientCanonical: table('recipientCanonical'),
      relayhost: table('relayhost'),
      saslPassword: table('saslPassword'),
      tlsPolicy: table('tlsPolicy'),
      senderLogin: table('senderLogin'),
    } satisfies Record<keyof PostfixMaps, string>,
    /** Root and postmaster → the admins (lmdb, for local(8) and for the mail domain). */
    aliases: `${invis}/aliases`,
    virtualAliases: `${invis}/virtual-aliases`,
    /** Clients trusted without login: the server itself. */
    serverItself: `${invis}/server-itself.cidr`,
    ldap: {
      generic: `${invis}/ldap-generic.cf`,
      recipientCanonical: `${invis}/ldap-recipient-canonical.cf`,
      mailboxes: `${invis}/ldap-mailboxes.cf`,
      senderLogin: `${invis}/ldap-sender-login.cf`,
      groups: `${invis}/ldap-groups.cf`,
    },
  };
}

/** Files below the Dovecot config folder that setup owns. */
export function dovecotPaths(profile: PlatformProfile) {
  const dir = profile.mail.dovecot.configDir;
  return {
    dir,
    conf: `${dir}/dovecot.conf`,
    ldap: `${dir}/dovecot-ldap.conf.ext`,
    sieveDir: `${dir}/sieve`,
    junkSieve: `${dir}/sieve/invis-junk.sieve`,
  };
}

/** The networks whose clients count as inside: the server itself, the LAN and the VPN. */
export function insideNetworks(answers: Answers): string[] {
  const lan = parseCidr(answers.lan.address);
  return ['127.0.0.0/8', ...(lan ? [networkOf(lan).cidr] : []), ...(answers.vpn ? [answers.vpn.network] : [])];
}

/** Who gets root's and postmaster's mail: the answers' admins, else the domain's Administrator. */
export function adminRecipients(answers: Answers): string[] {
  return answers.mail.admins.length > 0 ? answers.mail.admins : [`administrator@${answers.domain}`];
}

const cf = (settings: readonly (readonly [string, string])[]): string =>
  settings.map(([key, value]) => `${key} = ${value}`).join('\n');

/**
 * main.cf, whole. No SMTP from the Internet (the firewall keeps 25 closed on the WAN and Postfix
 * listens on loopback and the LAN address only); mail for the domain goes over LMTP to Dovecot;
 * outbound mail is rewritten and relayed per sender by the @invis/mail-rewrite tables.
 *
 * `mynetworks` is the LAN and the VPN (the original's choice) but it only buys header rewriting
 * and unauthenticated delivery to local mailboxes (scanners, printers): relaying to the Internet
 * and sending as an address that has an owner need a login, except for the server itself
 * (fetchmail, vacation replies). Otherwise any LAN host could send as a colleague through the
 * colleague's provider account.
 * @param ctx answers and profile
 * @returns the file content
 */
export function renderMainCf(ctx: MailRenderContext): string {
  const { answers, profile } = ctx;
  const p = postfixPaths(profile);
  const certs = certificatePaths(ctx);
  const fqdn = `${answers.hostname}.${answers.domain}`;
  const rewrite = renderMainCfSettings({
    type: 'lmdb',
    files: p.tables,
    ldap: { generic: p.ldap.generic, recipientCanonical: p.ldap.recipientCanonical },
    ...(answers.mail.providerCaFile
      ? { trust: { caFile: answers.mail.providerCaFile } }
      : { trust: { caPath: '/etc/ssl/certs' } }),
    submission: { sasl: { type: 'dovecot', path: 'private/auth' }, login: 'account' },
  });
  const serverItself = `check_client_access cidr:${p.serverItself}`;
  const settings: [string, string][] = [
    ['compatibility_level', '3.6'],
    ['myhostname', fqdn],
    ['mydomain', answers.domain],
    ['myorigin', '$mydomain'],
    ['mydestination', '$myhostname, localhost.$mydomain, localhost'],
    // All interfaces: bound to the LAN address Postfix would not start before the interface is up
    // at boot. The firewall's external zone drops 25 and 587 from the WAN.
    ['inet_interfaces', 'all'],
    ['inet_protocols', 'ipv4'],
    ['smtpd_banner', '$myhostname ESMTP'],
    ['biff', 'no'],
    ['append_dot_mydomain', 'no'],
    ['readme_directory', 'no'],
    // No syslog is needed: Postfix's own postlogd writes the log.
    ['maillog_file', '/var/log/mail.log'],
    ['mailbox_size_limit', '0'],
    ['recipient_delimiter', '+'],
    ['alias_maps', `lmdb:${p.aliases}`],
    ['alias_database', `lmdb:${p.aliases}`],
    // Local mail: every AD user is a mailbox, group addresses expand to their members.
    ['virtual_mailbox_domains', answers.domain],
    ['virtual_mailbox_maps', `ldap:${p.ldap.mailboxes}`],
    ['virtual_alias_maps', `lmdb:${p.virtualAliases}, ldap:${p.ldap.groups}`],
    ['virtual_transport', 'lmtp:unix:private/dovecot-lmtp'],
    // TLS with the `ca` module's mail certificate, 1.2 at least.
    ['smtpd_tls_cert_file', certs.certs.mail.cert],
    ['smtpd_tls_key_file', certs.certs.mail.key],
    ['smtpd_tls_security_level', 'may'],
    ['smtpd_tls_auth_only', 'yes'],
    ['smtpd_tls_protocols', '>=TLSv1.2'],
    ['smtpd_tls_mandatory_protocols', '>=TLSv1.2'],
    ['smtp_tls_security_level', 'may'],
    ['smtp_tls_protocols', '>=TLSv1.2'],
    ['smtp_tls_mandatory_protocols', '>=TLSv1.2'],
    ['smtp_tls_loglevel', '1'],
    // Mail leaves only through the senders' relays ([host]:port, no MX lookups): resolve them as
    // every other program does (nsswitch: /etc/hosts, then DNS). With `dns` a relay pinned in
    // /etc/hosts is never found, and "dns, native" does not fall back on a DNS timeout.
    ['smtp_host_lookup', 'native'],
    // The rewriting, relay and SASL tables of @invis/mail-rewrite …
    ...Object.entries(rewrite).filter(
      ([key]) =>
        !['mynetworks', 'smtpd_relay_restrictions', 'smtpd_sender_restrictions', 'smtpd_sender_login_maps'].includes(
          key,
        ),
    ),
    // … with the address tables of each user's own account from AD too (a user without external
    // mailbox still owns `<account>@<domain>`).
    ['smtpd_sender_login_maps', `lmdb:${p.tables.senderLogin}, ldap:${p.ldap.senderLogin}`],
    ['mynetworks', insideNetworks(answers).join(', ')],
    ['local_header_rewrite_clients', 'permit_mynetworks, permit_sasl_authenticated'],
    ['smtpd_relay_restrictions', `permit_sasl_authenticated, ${serverItself}, reject_unauth_destination`],
    [
      'smtpd_sender_restrictions',
      `reject_authenticated_sender_login_mismatch, ${serverItself}, reject_unauthenticated_sender_login_mismatch`,
    ],
    ...(answers.mail.filter === 'rspamd'
      ? ([
          ['smtpd_milters', RSPAMD_MILTER],
          ['non_smtpd_milters', '$smtpd_milters'],
          ['milter_protocol', '6'],
          ['milter_mail_macros', 'i {mail_addr} {client_addr} {client_name} {auth_authen}'],
          // Fail closed: while the filter is down mail waits in the queue, unscanned mail never gets in.
          ['milter_default_action', 'tempfail'],
        ] as [string, string][])
      : []),
  ];
  return `${MARK}\n# Postfix of the invis server, rendered whole by invis-setup (mailserver).\n${cf(settings)}\n`;
}

/** The clients trusted without login (cidr table): the server itself. */
export function renderServerItself(): string {
  return `${MARK}\n127.0.0.0/8\tOK\n`;
}

/**
 * master.cf, whole: Debian's services without chroot (the LDAP tables and Dovecot's sockets are
 * read in place), plus submission on 587 with TLS required and SASL through Dovecot.
 * @returns the file content
 */
export function renderMasterCf(): string {
  // Columns: service type private unpriv chroot wakeup maxproc command (chroot always n).
  const svc = (
    name: string,
    type: string,
    priv: string,
    wakeup: string,
    limit: string,
    command: string,
    unpriv = '-',
  ) =>
    `${name.padEnd(10)} ${type.padEnd(5)} ${priv.padEnd(7)} ${unpriv.padEnd(7)} n       ${wakeup.padEnd(7)} ${limit.padEnd(5)} ${command}`;
  return [
    MARK,
    '# Postfix services, rendered whole by invis-setup (mailserver).',
    'smtp      inet  n       -       n       -       -     smtpd',
    'submission inet n       -       n       -       -     smtpd',
    '  -o syslog_name=postfix/submission',
    '  -o smtpd_tls_security_level=encrypt',
    '  -o smtpd_sasl_auth_enable=yes',
    '  -o smtpd_client_restrictions=permit_sasl_authenticated,reject',
    '  -o smtpd_relay_restrictions=permit_sasl_authenticated,reject',
    svc('pickup', 'unix', 'n', '60', '1', 'pickup'),
    svc('cleanup', 'unix', 'n', '-', '0', 'cleanup'),
    svc('qmgr', 'unix', 'n', '300', '1', 'qmgr'),
    svc('tlsmgr', 'unix', '-', '1000?', '1', 'tlsmgr'),
    svc('rewrite', 'unix', '-', '-', '-', 'trivial-rewrite'),
    svc('bounce', 'unix', '-', '-', '0', 'bounce'),
    svc('defer', 'unix', '-', '-', '0', 'bounce'),
    svc('trace', 'unix', '-', '-', '0', 'bounce'),
    svc('verify', 'unix', '-', '-', '1', 'verify'),
    svc('flush', 'unix', 'n', '1000?', '0', 'flush'),
    svc('proxymap', 'unix', '-', '-', '-', 'proxymap'),
    svc('proxywrite', 'unix', '-', '-', '1', 'proxymap'),
    svc('smtp', 'unix', '-', '-', '-', 'smtp'),
    svc('relay', 'unix', '-', '-', '-', 'smtp'),
    svc('showq', 'unix', 'n', '-', '-', 'showq'),
    svc('error', 'unix', '-', '-', '-', 'error'),
    svc('retry', 'unix', '-', '-', '-', 'error'),
    svc('discard', 'unix', '-', '-', '-', 'discard'),
    svc('local', 'unix', '-', '-', '-', 'local', 'n'),
    svc('virtual', 'unix', '-', '-', '-', 'virtual', 'n'),
    svc('lmtp', 'unix', '-', '-', '-', 'lmtp'),
    svc('anvil', 'unix', '-', '-', '1', 'anvil'),
    svc('scache', 'unix', '-', '-', '1', 'scache'),
    svc('postlog', 'unix-dgram', 'n', '-', '1', 'postlogd'),
    '',
  ].join('\n');
}

/** Root and postmaster (local(8) aliases) → the admins. */
export function renderAliases(answers: Answers): string {
  const to = adminRecipients(answers).join(', ');
  // postmap's `key value` form (compiled like every other table), not postalias's `key: value`.
  return `${MARK}\nroot\t${to}\npostmaster\t${to}\n`;
}

/** root@ and postmaster@ the mail domain → the admins (virtual alias table). */
export function renderVirtualAliases(answers: Answers): string {
  const to = adminRecipients(answers).join(', ');
  return `${MARK}\nroot@${answers.domain}\t${to}\npostmaster@${answers.domain}\t${to}\n`;
}

/** How Postfix and Dovecot reach the directory: LDAP with StartTLS to the DC, the `ca` CA. */
export interface DirectoryBind {
  /** The read-only account's password (`ad-invis-portal`). */
  password: string;
}

/**
 * The Postfix `ldap_table(5)` files, bound as the read-only `invis-portal`: the two address maps of
 * @invis/mail-rewrite plus mailboxes (every enabled AD user is `<account>@<domain>`), sender
 * logins (`<account>@<domain>` is owned by `<account>`) and group addresses (a group's `mail`
 * expands to its members' mailboxes). 0600 root: Postfix opens them before dropping privileges.
 * @param ctx answers and profile
 * @param bind the bind password
 * @returns file path → content
 */
export function renderPostfixLdapTables(ctx: MailRenderContext, bind: DirectoryBind): Record<string, string> {
  const { answers, profile } = ctx;
  const p = postfixPaths(profile);
  const caFile = certificatePaths(ctx).caCert;
  const base = baseDn(answers.domain);
  const connection = {
    serverUrl: `ldap://${lanAddress(answers)}`,
    baseDn: base,
    bindDn: `invis-portal@${answers.domain}`,
    bindPassword: bind.password,
    caFile,
  };
  // renderLdapTables refuses values Postfix would expand or trim; the same header serves ours.
  const rewrite = renderLdapTables(connection);
  const keep = /^(server_host|version|start_tls|tls_require_cert|tls_ca_cert_file|bind|bind_dn|bind_pw) = /;
  const header = [MARK, ...rewrite.generic.split('\n').filter((l) => keep.test(l))].join('\n');
  const table = (lines: string[]) => `${header}\n${[`search_base = ${base}`, 'scope = sub', ...lines].join('\n')}\n`;
  const person = '(objectClass=user)(!(objectClass=computer))';
  const enabled = '(!(userAccountControl:1.2.840.113556.1.4.803:=2))';
  return {
    [p.ldap.generic]: rewrite.generic,
    [p.ldap.recipientCanonical]: rewrite.recipientCanonical,
    [p.ldap.mailboxes]: table([
      `domain = ${answers.domain}`,
      `query_filter = (&${person}${enabled}(sAMAccountName=%u))`,
      'result_attribute = sAMAccountName',
      `result_format = %s@${answers.domain}`,
    ]),
    [p.ldap.senderLogin]: table([
      `domain = ${answers.domain}`,
      `query_filter = (&${person}(sAMAccountName=%u))`,
      'result_attribute = sAMAccountName',
    ]),
    [p.ldap.groups]: table([
      `query_filter = (&(objectClass=group)(mail=%s))`,
      'special_result_attribute = member',
      'leaf_result_attribute = sAMAccountName',
      'result_attribute = sAMAccountName',
      `result_format = %s@${answers.domain}`,
    ]),
  };
}

/**
 * dovecot.conf, whole: IMAP, LMTP (from Postfix) and ManageSieve; TLS ≥ 1.2 with the mail
 * certificate, no plain-text login; users are the AD accounts (`alice`, also `alice@<domain>`),
 * their Maildir below the vmail store; Sieve with vacation replies sent as the user and the global
 * Junk rule; SASL for Postfix's submission.
 * @param ctx answers and profile
 * @returns the file content
 */
export function renderDovecotConf(ctx: MailRenderContext): string {
  const { answers, profile } = ctx;
  const d = dovecotPaths(profile);
  const certs = certificatePaths(ctx);
  const spool = '/var/spool/postfix/private';
  const { user, home } = profile.mail.vmail;
  return `${MARK}
# Dovecot of the invis server, rendered whole by invis-setup (mailserver).
protocols = imap lmtp sieve
# Every interface (see main.cf's inet_interfaces); the firewall drops IMAP and Sieve from the WAN.
listen = *
log_path = /var/log/dovecot.log
ssl = required
ssl_cert = <${certs.certs.mail.cert}
ssl_key = <${certs.certs.mail.key}
ssl_min_protocol = TLSv1.2
disable_plaintext_auth = yes
auth_mechanisms = plain login
# AD account names, case-insensitive; a login with the mail domain is the same account.
auth_username_format = %Ln
mail_uid = ${user}
mail_gid = ${user}
first_valid_uid = 100
mail_location = maildir:~/Maildir
mail_home = ${home}/%Ln
postmaster_address = postmaster@${answers.domain}
hostname = ${answers.hostname}.${answers.domain}
passdb {
  driver = ldap
  args = ${d.ldap}
}
userdb {
  driver = ldap
  args = ${d.ldap}
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Junk {
    special_use = \\Junk
    auto = subscribe
  }
  mailbox Sent {
    special_use = \\Sent
    auto = subscribe
  }
  mailbox Drafts {
    special_use = \\Drafts
    auto = subscribe
  }
  mailbox Trash {
    special_use = \\Trash
    auto = subscribe
  }
}
service auth {
  unix_listener ${spool}/auth {
    mode = 0660
    user = postfix
    group = postfix
  }
}
service lmtp {
  unix_listener ${spool}/dovecot-lmtp {
    mode = 0600
    user = postfix
    group = postfix
  }
}
service managesieve-login {
  inet_listener sieve {
    port = 4190
  }
}
protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_before = ${d.junkSieve}
  sieve_vacation_send_from_recipient = yes
}
`;
}

/**
 * The LDAP file of Dovecot's passdb and userdb: passwords are checked by binding as the user
 * (a disabled or locked account cannot bind), users are looked up with the read-only account.
 * 0600 root (it holds that account's password).
 * @param ctx answers and profile
 * @param bind the bind password
 * @returns the file content
 */
export function renderDovecotLdap(ctx: MailRenderContext, bind: DirectoryBind): string {
  const { answers, profile } = ctx;
  if (/[\r\n]/.test(bind.password)) throw new Error('the bind password contains a line break');
  const caFile = certificatePaths(ctx).caCert;
  // The global catalog (3268, as the original): a subtree search from the domain root on 389 gets
  // referrals to the DNS and configuration partitions, which libldap chases and Dovecot waits on.
  return `${MARK}
uris = ldap://${lanAddress(answers)}:3268
tls = yes
tls_ca_cert_file = ${caFile}
tls_require_cert = hard
dn = invis-portal@${answers.domain}
dnpass = ${bind.password}
auth_bind = yes
auth_bind_userdn = %n@${answers.domain}
base = ${baseDn(answers.domain)}
scope = subtree
deref = never
user_filter = (&(objectClass=user)(!(objectClass=computer))(sAMAccountName=%n))
user_attrs = =home=${profile.mail.vmail.home}/%Ln
pass_filter = (&(objectClass=user)(!(objectClass=computer))(sAMAccountName=%n))
iterate_filter = (&(objectClass=user)(!(objectClass=computer)))
iterate_attrs = sAMAccountName=user
`;
}

/** The global Sieve rule that runs before the user's own: spam (`X-Spam: Yes`) goes to Junk. */
export function renderJunkSieve(): string {
  return `${MARK}
require ["fileinto", "mailbox"];
if header :is "X-Spam" "Yes" {
  fileinto :create "Junk";
  stop;
}
`;
}

/** sysusers.d entry: the system user `vmail` with the store as home. */
export function renderVmailSysusers(profile: PlatformProfile): string {
  const { user, home } = profile.mail.vmail;
  return `${MARK}\nu ${user} - "invis mail store" ${home} /usr/sbin/nologin\n`;
}

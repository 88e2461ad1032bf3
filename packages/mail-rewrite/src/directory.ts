// The invis AD objects (`fspFetchMailAccount`, `fspLocalMailRecipient`, `fspMailProvider`)
// through @invis/ad-client (`ad.invis.mail`): model ↔ records, passwords sealed.
import type {
  MailProviderEntry as AdMailProvider,
  FetchMailAccount,
  InvisApi,
  LocalMailRecipient,
  UsersApi,
} from '@invis/ad-client';
import { MailRewriteError } from './errors';
import { formatFetchOpts, parseFetchOpts } from './fetch-opts';
import {
  checkMailProvider,
  defaultFetchPort,
  type ExternalAccount,
  type FetchTls,
  type MailConfigInput,
  type MailProvider,
  type MailUser,
  type Presence,
  type Vacation,
} from './model';
import { isSealedSecret, openSecret, type SecretKey, sealSecret } from './secrets';

/** `fspFetchMailAccount` as @invis/ad-client reads and writes it. */
export type FetchMailAccountRecord = FetchMailAccount;
/** `fspLocalMailRecipient` as @invis/ad-client reads and writes it. */
export type LocalMailRecipientRecord = LocalMailRecipient;
/** `fspMailProvider` as @invis/ad-client reads and writes it. */
export type MailProviderRecord = AdMailProvider;

/** The part of ad-client's `InvisApi['mail']` (`ad.invis.mail`) this package uses. */
export type MailDirectory = Pick<
  InvisApi['mail'],
  'fetchAccounts' | 'putFetchAccount' | 'deleteFetchAccount' | 'localRecipient' | 'putLocalRecipient' | 'providers'
>;

type UserInput = NonNullable<MailConfigInput['users']>[number];
type AccountInput = NonNullable<UserInput['accounts']>[number];
type ProviderInput = NonNullable<MailConfigInput['providers']>[number];

// fspMailFetchOpts is written in the original's form: one value of fetchmail keywords that its
// rc generators paste into a `poll` line, and the settings it has no place for behind a `#`
// (a comment to fetchmail), only when they differ from the default (see fetch-opts.ts).
const TLS_KEYWORDS: Record<FetchTls, string[]> = {
  implicit: ['ssl'],
  starttls: ["sslproto 'TLS1.2+'"],
  none: ["sslproto ''"],
};
// The keywords the model reads; every other keyword of a stored value is kept on write.
const MODELLED = /^(here|ssl|fetchall|keep|sslproto\s.*)$/i;

function tlsOf(keywords: readonly string[], proto: string): FetchTls {
  if (keywords.includes('ssl') || proto.endsWith('s')) return 'implicit';
  if (keywords.some((k) => /^sslproto\s+(''|"")$/.test(k))) return 'none';
  // The original wrote no TLS keyword for plain POP3/IMAP; fetchmail 6.4 then tries STARTTLS.
  return 'starttls';
}

/**
 * An account as `fspFetchMailAccount` record, with the password sealed to its owner and address.
 * `fspMailFetchOpts` is one value as the original writes it (`here ssl fetchall`), our settings
 * behind `#`.
 * @param account validated account
 * @param owner the user the account belongs to (AD account name and local address)
 * @param key server key ({@link sealSecret})
 * @param stored the account's record as stored so far: keywords the model does not know, and
 *   the spelling of an unchanged TLS setting (the original's "no keyword" for STARTTLS), are kept
 */
export function toFetchMailAccountRecord(
  account: ExternalAccount,
  owner: Pick<MailUser, 'user' | 'localAddress'>,
  key: SecretKey,
  stored?: Pick<FetchMailAccountRecord, 'fetchOpts' | 'proto'>,
): FetchMailAccountRecord {
  const { localAddress } = owner;
  const before = stored ? parseFetchOpts(stored.fetchOpts).keywords : [];
  const tlsKept = stored !== undefined && tlsOf(before, stored.proto.toLowerCase()) === account.tls;
  const keywords = [
    'here',
    ...(tlsKept ? before.filter((k) => k === 'ssl' || /^sslproto\s/i.test(k)) : TLS_KEYWORDS[account.tls]),
    ...(account.fetchAll ? ['fetchall'] : []),
    ...(account.keep ? ['keep'] : []),
    ...before.filter((k) => !MODELLED.test(k)),
  ];
  const invis: Array<[string, string]> = [];
  if (account.port !== defaultFetchPort(account.protocol, account.tls)) invis.push(['port', String(account.port)]);
  for (const f of account.folders) invis.push(['folder', f]);
  if (account.provider !== undefined) invis.push(['provider', account.provider]);
  if (account.smtp) invis.push(['smtp', `${account.smtp.host}:${account.smtp.port}`]);
  if (account.tlsServerName !== undefined) invis.push(['tlsname', account.tlsServerName]);
  return {
    extAddress: account.address,
    server: account.server,
    proto: account.protocol,
    userName: account.login,
    password: sealSecret(account.password, key, { owner: owner.user, address: account.address }),
    localAddress,
    fetchOpts: [formatFetchOpts({ keywords, invis })],
  };
}

/**
 * Reads an `fspFetchMailAccount` record (ours or the original's) as model input. Without an
 * explicit provider the catalogue entry whose POP3/IMAP host is the account's server supplies
 * the relay. Validation happens in `parseMailConfig`.
 * @param owner AD account name of the user whose container the record was read from
 * @returns the account input and whether its password was clear text or sealed in the
 *   version 1 format (re-seal it on write)
 * @throws MailRewriteError `MAIL_SECRET_DECRYPT` (also when the record was moved from another
 *   user), `MAIL_PARSE_ERROR` for a malformed `invis:` setting
 */
export function fromFetchMailAccountRecord(
  record: FetchMailAccountRecord,
  key: SecretKey,
  owner: string,
  providers: readonly MailProvider[] = [],
): { account: AccountInput; legacySecret: boolean } {
  const { keywords, invis } = parseFetchOpts(record.fetchOpts);
  const ext = (name: string): string[] => invis.filter(([n]) => n === name).map(([, v]) => v);
  const proto = record.proto.trim().toLowerCase();
  const tls = tlsOf(keywords, proto);
  const protocol = proto.startsWith('imap') ? 'imap' : 'pop3';
  const server = record.server.trim().toLowerCase();
  const [port] = ext('port');
  const [smtp] = ext('smtp');
  const [tlsServerName] = ext('tlsname');
  const provider =
    ext('provider')[0] ??
    providers.find((p) => (protocol === 'imap' ? p.imap?.host : p.pop3?.host) === server && p.smtp)?.id;
  const { password, legacy } = openSecret(record.password, key, { owner, address: record.extAddress });
  const smtpAt = smtp?.lastIndexOf(':') ?? -1;
  return {
    account: {
      address: record.extAddress.trim(),
      server,
      protocol,
      tls,
      ...(tlsServerName !== undefined ? { tlsServerName } : {}),
      ...(port !== undefined ? { port: Number(port) } : {}),
      login: record.userName.trim(),
      password,
      keep: keywords.includes('keep'),
      fetchAll: keywords.includes('fetchall'),
      folders: ext('folder'),
      ...(provider !== undefined ? { provider } : {}),
      ...(smtp !== undefined && smtpAt > 0
        ? { smtp: { host: smtp.slice(0, smtpAt), port: Number(smtp.slice(smtpAt + 1)) } }
        : {}),
    },
    legacySecret: legacy,
  };
}

/** The user's `fspLocalMailRecipient` (main = local address when no main address is chosen). */
export function toLocalMailRecipientRecord(user: MailUser): LocalMailRecipientRecord {
  return {
    localAddress: user.localAddress,
    mainAddress: user.mainAddress ?? user.localAddress,
    localHost: 'localhost',
  };
}

/** A catalogue entry as `fspMailProvider` (the schema has no ports for POP3/IMAP and no OAuth2 flag). */
export function toMailProviderRecord(p: MailProvider): MailProviderRecord {
  return {
    vendor: p.vendor,
    ...(p.pop3 ? { pop: p.pop3.host, popSsl: p.pop3.tls } : {}),
    ...(p.imap ? { imap: p.imap.host, imapSsl: p.imap.tls } : {}),
    ...(p.smtp ? { smtp: p.smtp.host, smtpPort: p.smtp.port, smtpTls: true } : {}),
    ...(p.userNameHint !== undefined ? { userNameHint: p.userNameHint } : {}),
    ...(p.description !== undefined ? { description: p.description } : {}),
  };
}

/**
 * An `fspMailProvider` record as catalogue input. SMTP is always used with STARTTLS (default
 * 587). Texts are trimmed: the original's seed catalogue stores `mx.freenet.de ` with a blank.
 */
export function fromMailProviderRecord(cn: string, r: MailProviderRecord): ProviderInput {
  const text = (s: string | undefined): string | undefined => s?.trim() || undefined;
  const [pop, imap, smtp, userNameHint, description] = [r.pop, r.imap, r.smtp, r.userNameHint, r.description].map(text);
  return {
    id: cn.trim(),
    vendor: text(r.vendor) ?? '',
    ...(pop ? { pop3: { host: pop, tls: r.popSsl ?? false } } : {}),
    ...(imap ? { imap: { host: imap, tls: r.imapSsl ?? false } } : {}),
    // The seed data has 25/465 for some providers; submission with STARTTLS is 587 everywhere.
    ...(smtp
      ? { smtp: { host: smtp, port: r.smtpPort === 25 || r.smtpPort === 465 ? 587 : (r.smtpPort ?? 587) } }
      : {}),
    oauth2: false,
    ...(userNameHint ? { userNameHint } : {}),
    ...(description ? { description } : {}),
  };
}

/** The part of ad-client's `UsersApi` (`ad.users`) the store uses for `mail`/`otherMailbox`. */
export type MailUserAccounts = Pick<UsersApi, 'get' | 'update'>;

/** The provider catalogue as read: the valid entries and the ones left out. */
export interface ProviderCatalogue {
  providers: MailProvider[];
  /** Entries that fail validation even after trimming (`id` = their `cn`; paths and reasons, never values). */
  rejected: Array<{ id: string; issues: string[] }>;
}

/** Reads and writes the mail data of users through an ad-client `InvisApi['mail']` and `ad.users`. */
export interface MailDirectoryStore {
  /** The provider catalogue; one bad entry is reported in `rejected`, never rejects the others. */
  readProviders(): Promise<ProviderCatalogue>;
  /**
   * One user as model input. Presence and vacation are not in the invis schema (the original
   * kept them in files): pass what the caller stores.
   * @returns the input and the addresses whose password was still clear text
   */
  readUser(
    sAMAccountName: string,
    state: { presence?: Presence; vacation?: Vacation },
    providers: readonly MailProvider[],
  ): Promise<{ user: UserInput; legacySecrets: string[] } | undefined>;
  /**
   * Writes the recipient and every account (passwords sealed), deletes accounts no longer
   * listed, and sets the AD user's `mail` (main address, else the local one) and `otherMailbox`
   * (the user's other addresses) as the original's mail pages do; values of `otherMailbox` that
   * were never the user's mail addresses are kept. Unchanged objects are not written.
   * @throws MailRewriteError `MAIL_INVALID_CONFIG` when the AD user does not exist
   */
  writeUser(user: MailUser): Promise<void>;
}

const same = (a: string, b: string): boolean => a.toLowerCase() === b.toLowerCase();

// The original's mail pages keep `mail` = the sender address and `otherMailbox` = every other
// address of the user (the local one while an external one is `mail`): its Postfix lookups
// `(mail=%s)` and `(otherMailbox=%s)` find the user by any of them.
function mailAttributes(
  user: MailUser,
  current: { mail?: string | undefined; otherMailbox: readonly string[] },
  previous: readonly string[],
): { mail: string; otherMailbox: string[] } {
  const mail = user.mainAddress ?? user.localAddress;
  const own = [user.localAddress, ...user.accounts.map((a) => a.address)];
  const managed = [...own, ...previous];
  const isManaged = (o: string): boolean => managed.some((m) => same(m, o));
  // A `mail` that was never one of the user's mail addresses moves to otherMailbox, as on the
  // original's main-address page; the original's placeholders for "none" do not.
  const foreignMail = current.mail && current.mail !== '-' && !isManaged(current.mail) ? [current.mail] : [];
  const otherMailbox: string[] = [];
  // Existing values keep their order, so an unchanged user is not written.
  for (const o of [...current.otherMailbox, ...foreignMail, ...own]) {
    const wanted = isManaged(o) ? own.some((m) => same(m, o)) : true;
    if (wanted && !same(o, mail) && !otherMailbox.some((x) => same(x, o))) otherMailbox.push(o);
  }
  return { mail, otherMailbox };
}

// Whether a stored account already holds `next` with the same password sealed in the current
// format: then it is not written again (a fresh seal would change the value on every save).
function unchangedAccount(
  before: FetchMailAccountRecord,
  next: FetchMailAccountRecord,
  password: string,
  binding: { key: SecretKey; owner: string },
): boolean {
  const fields = ['extAddress', 'server', 'proto', 'userName', 'localAddress'] as const;
  if (fields.some((f) => before[f] !== next[f])) return false;
  if (before.fetchOpts.length !== 1 || before.fetchOpts[0] !== next.fetchOpts[0]) return false;
  if (!isSealedSecret(before.password)) return false;
  try {
    const opened = openSecret(before.password, binding.key, { owner: binding.owner, address: next.extAddress });
    return !opened.legacy && opened.password === password;
  } catch {
    return false; // not ours (other key, moved): write it anew
  }
}

/**
 * @param options `directory`: `ad.invis.mail` and `users`: `ad.users` of an @invis/ad-client
 *   `AdClient`; `key`: the server key
 * @example
 * const mail = createMailDirectoryStore({ directory: ad.invis.mail, users: ad.users, key });
 * await mail.writeUser(config.users[0]);
 */
export function createMailDirectoryStore(options: {
  directory: MailDirectory;
  users: MailUserAccounts;
  key: SecretKey;
}): MailDirectoryStore {
  const { directory, users, key } = options;
  return {
    async readProviders() {
      const catalogue: ProviderCatalogue = { providers: [], rejected: [] };
      for (const record of await directory.providers()) {
        const checked = checkMailProvider(fromMailProviderRecord(record.cn, record));
        if ('provider' in checked) catalogue.providers.push(checked.provider);
        else catalogue.rejected.push({ id: record.cn, issues: checked.issues });
      }
      return catalogue;
    },
    async readUser(sam, state, providers) {
      const recipient = await directory.localRecipient(sam);
      if (!recipient) return undefined;
      const read = (await directory.fetchAccounts(sam)).map((r) => fromFetchMailAccountRecord(r, key, sam, providers));
      const local = recipient.localAddress.trim();
      const main = recipient.mainAddress.trim();
      return {
        user: {
          user: sam,
          localAddress: local,
          ...(!same(main, local) ? { mainAddress: main } : {}),
          ...(state.presence ? { presence: state.presence } : {}),
          ...(state.vacation ? { vacation: state.vacation } : {}),
          accounts: read.map((r) => r.account),
        },
        legacySecrets: read.filter((r) => r.legacySecret).map((r) => r.account.address),
      };
    },
    async writeUser(user) {
      const account = await users.get(user.user);
      if (!account) {
        throw new MailRewriteError('MAIL_INVALID_CONFIG', `no AD user ${user.user}`, { details: { user: user.user } });
      }
      const recipient = await directory.localRecipient(user.user);
      const stored = await directory.fetchAccounts(user.user);
      const record = toLocalMailRecipientRecord(user);
      if (
        !recipient ||
        recipient.localAddress !== record.localAddress ||
        recipient.mainAddress !== record.mainAddress
      ) {
        // The original's portal stores its IMAP server name as fspLocalMailHost: keep it.
        await directory.putLocalRecipient(user.user, {
          ...record,
          localHost: recipient?.localHost || record.localHost,
        });
      }
      for (const a of user.accounts) {
        const before = stored.find((r) => same(r.extAddress, a.address));
        const next = toFetchMailAccountRecord(a, user, key, before);
        if (!before || !unchangedAccount(before, next, a.password, { key, owner: user.user })) {
          await directory.putFetchAccount(user.user, next);
        }
      }
      for (const old of stored) {
        if (!user.accounts.some((a) => same(a.address, old.extAddress))) {
          await directory.deleteFetchAccount(user.user, old.extAddress);
        }
      }
      const previous = [
        ...(recipient ? [recipient.localAddress, recipient.mainAddress] : []),
        ...stored.map((r) => r.extAddress),
      ];
      const next = mailAttributes(user, account, previous);
      const unchanged =
        account.mail !== undefined &&
        same(account.mail, next.mail) &&
        account.otherMailbox.length === next.otherMailbox.length &&
        account.otherMailbox.every((o, i) => same(o, next.otherMailbox[i] ?? ''));
      if (!unchanged) await users.update(user.user, next);
    },
  };
}

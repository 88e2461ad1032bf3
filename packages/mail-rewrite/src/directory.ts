// The invis AD objects (`fspFetchMailAccount`, `fspLocalMailRecipient`, `fspMailProvider`)
// through @invis/ad-client (`ad.invis.mail`): model ↔ records, passwords sealed.
import type {
  MailProviderEntry as AdMailProvider,
  FetchMailAccount,
  InvisApi,
  LocalMailRecipient,
} from '@invis/ad-client';
import {
  defaultFetchPort,
  type ExternalAccount,
  type FetchTls,
  type MailConfigInput,
  type MailProvider,
  type MailUser,
  type Presence,
  type Vacation,
} from './model';
import { openSecret, type SecretKey, sealSecret } from './secrets';

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

// Values of fspMailFetchOpts the original understands are fetchmail keywords it pastes into
// its rc line; settings it has no place for are stored as `invis:` values, and only when they
// differ from the default, so ordinary accounts stay readable by an old portal.
const EXT = 'invis:';
const TLS_OPTS: Record<FetchTls, string[]> = {
  implicit: ['ssl'],
  starttls: ["sslproto 'TLS1.2+'"],
  none: ["sslproto ''"],
};

/**
 * An account as `fspFetchMailAccount` record, with the password sealed to its owner and address.
 * @param account validated account
 * @param owner the user the account belongs to (AD account name and local address)
 * @param key server key ({@link sealSecret})
 */
export function toFetchMailAccountRecord(
  account: ExternalAccount,
  owner: Pick<MailUser, 'user' | 'localAddress'>,
  key: SecretKey,
): FetchMailAccountRecord {
  const { localAddress } = owner;
  return {
    extAddress: account.address,
    server: account.server,
    proto: account.protocol,
    userName: account.login,
    password: sealSecret(account.password, key, { owner: owner.user, address: account.address }),
    localAddress,
    fetchOpts: [
      'here',
      ...TLS_OPTS[account.tls],
      ...(account.fetchAll ? ['fetchall'] : []),
      ...(account.keep ? ['keep'] : []),
      ...(account.port !== defaultFetchPort(account.protocol, account.tls) ? [`${EXT}port=${account.port}`] : []),
      ...account.folders.map((f) => `${EXT}folder=${f}`),
      ...(account.provider !== undefined ? [`${EXT}provider=${account.provider}`] : []),
      ...(account.smtp ? [`${EXT}smtp=${account.smtp.host}:${account.smtp.port}`] : []),
      ...(account.tlsServerName !== undefined ? [`${EXT}tlsname=${account.tlsServerName}`] : []),
    ],
  };
}

/**
 * Reads an `fspFetchMailAccount` record (ours or the original's) as model input. Without an
 * explicit provider the catalogue entry whose POP3/IMAP host is the account's server supplies
 * the relay. Validation happens in `parseMailConfig`.
 * @param owner AD account name of the user whose container the record was read from
 * @returns the account input and whether its password was clear text or sealed in the
 *   version 1 format (re-seal it on write)
 * @throws MailRewriteError `MAIL_SECRET_DECRYPT` (also when the record was moved from another user)
 */
export function fromFetchMailAccountRecord(
  record: FetchMailAccountRecord,
  key: SecretKey,
  owner: string,
  providers: readonly MailProvider[] = [],
): { account: AccountInput; legacySecret: boolean } {
  const opts = record.fetchOpts.map((o) => o.trim());
  const ext = (name: string): string[] =>
    opts.filter((o) => o.startsWith(`${EXT}${name}=`)).map((o) => o.slice(EXT.length + name.length + 1));
  const proto = record.proto.toLowerCase();
  const tls: FetchTls =
    opts.includes('ssl') || proto.endsWith('s')
      ? 'implicit'
      : opts.some((o) => /^sslproto\s+(''|"")$/.test(o))
        ? 'none'
        : // The original wrote no TLS option for plain POP3/IMAP; fetchmail then tries STARTTLS.
          'starttls';
  const protocol = proto.startsWith('imap') ? 'imap' : 'pop3';
  const server = record.server.toLowerCase();
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
      address: record.extAddress,
      server: record.server,
      protocol,
      tls,
      ...(tlsServerName !== undefined ? { tlsServerName } : {}),
      ...(port !== undefined ? { port: Number(port) } : {}),
      login: record.userName,
      password,
      keep: opts.includes('keep'),
      fetchAll: opts.includes('fetchall'),
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

/** An `fspMailProvider` record as catalogue input. SMTP is always used with STARTTLS (default 587). */
export function fromMailProviderRecord(cn: string, r: MailProviderRecord): ProviderInput {
  return {
    id: cn,
    vendor: r.vendor,
    ...(r.pop ? { pop3: { host: r.pop, tls: r.popSsl ?? false } } : {}),
    ...(r.imap ? { imap: { host: r.imap, tls: r.imapSsl ?? false } } : {}),
    // The seed data has 25/465 for some providers; submission with STARTTLS is 587 everywhere.
    ...(r.smtp
      ? { smtp: { host: r.smtp, port: r.smtpPort === 25 || r.smtpPort === 465 ? 587 : (r.smtpPort ?? 587) } }
      : {}),
    oauth2: false,
    ...(r.userNameHint ? { userNameHint: r.userNameHint } : {}),
    ...(r.description ? { description: r.description } : {}),
  };
}

/** Reads and writes the mail data of users through an ad-client `InvisApi['mail']`. */
export interface MailDirectoryStore {
  /** The provider catalogue as model input. */
  readProviders(): Promise<ProviderInput[]>;
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
  /** Writes the recipient and every account (passwords sealed), deletes accounts no longer listed. */
  writeUser(user: MailUser): Promise<void>;
}

/**
 * @param options `directory`: `ad.invis.mail` of an @invis/ad-client `AdClient`; `key`: the server key
 * @example
 * const mail = createMailDirectoryStore({ directory: ad.invis.mail, key });
 * await mail.writeUser(config.users[0]);
 */
export function createMailDirectoryStore(options: { directory: MailDirectory; key: SecretKey }): MailDirectoryStore {
  const { directory, key } = options;
  return {
    async readProviders() {
      return (await directory.providers()).map((p) => fromMailProviderRecord(p.cn, p));
    },
    async readUser(sam, state, providers) {
      const recipient = await directory.localRecipient(sam);
      if (!recipient) return undefined;
      const read = (await directory.fetchAccounts(sam)).map((r) => fromFetchMailAccountRecord(r, key, sam, providers));
      const main = recipient.mainAddress.toLowerCase();
      return {
        user: {
          user: sam,
          localAddress: recipient.localAddress,
          ...(main !== recipient.localAddress.toLowerCase() ? { mainAddress: recipient.mainAddress } : {}),
          ...(state.presence ? { presence: state.presence } : {}),
          ...(state.vacation ? { vacation: state.vacation } : {}),
          accounts: read.map((r) => r.account),
        },
        legacySecrets: read.filter((r) => r.legacySecret).map((r) => r.account.address),
      };
    },
    async writeUser(user) {
      await directory.putLocalRecipient(user.user, toLocalMailRecipientRecord(user));
      const keep = new Set(user.accounts.map((a) => a.address));
      for (const a of user.accounts) {
        await directory.putFetchAccount(user.user, toFetchMailAccountRecord(a, user, key));
      }
      for (const old of await directory.fetchAccounts(user.user)) {
        if (!keep.has(old.extAddress.toLowerCase())) await directory.deleteFetchAccount(user.user, old.extAddress);
      }
    },
  };
}

import { z } from 'zod';
import { MailRewriteError } from './errors';
import { hasControlCharacters } from './text';

// Every value below ends up inside a Postfix table, a fetchmail rc or a Sieve script. The
// patterns are deliberately narrower than RFC 5321 so that no value can carry whitespace,
// quotes, backslashes, commas, colons or line breaks into those files; the renderers still
// quote what they write (defence in depth).

const LOCAL_PART = '[a-z0-9_%+-]+(?:\\.[a-z0-9_%+-]+)*';
const LABEL = '[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?';
const DOMAIN = `(?:${LABEL}\\.)+[a-z][a-z0-9-]{0,62}`;
const IPV4 = '(?:(?:25[0-5]|2[0-4]\\d|1?\\d?\\d)\\.){3}(?:25[0-5]|2[0-4]\\d|1?\\d?\\d)';

// `local@domain`, lower case, no quotes, spaces or control characters.
const mailAddressSchema = z
  .string()
  .max(254)
  .regex(new RegExp(`^${LOCAL_PART}@${DOMAIN}$`, 'i'), 'not a plain mail address (no quotes, spaces or line breaks)')
  .transform((s) => s.toLowerCase());

const domainSchema = z
  .string()
  .max(253)
  .regex(new RegExp(`^${DOMAIN}$`, 'i'), 'not a domain name')
  .transform((s) => s.toLowerCase());

const hostSchema = z
  .string()
  .max(253)
  .regex(new RegExp(`^(?:${IPV4}|(?:${LABEL}\\.)*${LABEL})$`, 'i'), 'not a host name or IPv4 address')
  .transform((s) => s.toLowerCase());

// Login name at a provider: usually an address, sometimes a customer number.
const loginSchema = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9._%+@=~!-]+$/, 'login may contain letters, digits and . _ % + @ = ~ ! - only');

// A mailbox password: any printable text including quotes, backslashes and inner spaces.
// Leading/trailing whitespace is refused because Postfix tables trim it.
const secretSchema = z
  .string()
  .min(1)
  .max(512)
  .refine((s) => !hasControlCharacters(s), 'password must not contain control characters or line breaks')
  .refine((s) => s.trim() === s, 'password must not start or end with whitespace');

// One line of printable text (subjects, vendor names, folder names).
const textLineSchema = z
  .string()
  .min(1)
  .max(200)
  .refine((s) => !hasControlCharacters(s), 'must be one line without control characters');

// Multi-line text (vacation body): line feeds and tabs, no other control characters.
const textBlockSchema = z
  .string()
  .min(1)
  .max(10_000)
  .refine((s) => !hasControlCharacters(s.replace(/\r\n/g, '\n'), '\n\t'), {
    message: 'must not contain control characters other than line feed and tab',
  });

// An AD account name (`sAMAccountName`), used for per-user file names.
const userNameSchema = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'user name may contain letters, digits and . _ - only');

const portSchema = z.number().int().min(1).max(65535);
const isoDateSchema = z.iso.date();

/** Fetch protocol (`fspExtMailProto`). */
export type FetchProtocol = 'pop3' | 'imap';
/** TLS when fetching: `implicit` (POP3S/IMAPS), `starttls`, or `none` (only for a loopback server, see {@link parseMailConfig}). */
export type FetchTls = 'implicit' | 'starttls' | 'none';

const smtpRelaySchema = z.object({
  host: hostSchema,
  port: portSchema.default(587),
  tlsName: hostSchema.optional(),
});

const externalAccountSchema = z.object({
  /** The external address (`fspExtMailAddress`, RDN of the `fspFetchMailAccount`). */
  address: mailAddressSchema,
  /** Server to fetch from (`fspExtMailServer`). */
  server: hostSchema,
  protocol: z.enum(['pop3', 'imap']),
  /** Defaults to 995/993 with implicit TLS, else 110/143. */
  port: portSchema.optional(),
  tls: z.enum(['implicit', 'starttls', 'none']).default('implicit'),
  tlsServerName: hostSchema.optional(),
  login: loginSchema,
  password: secretSchema,
  /** Leave fetched mail on the server. */
  keep: z.boolean().default(false),
  /** Fetch old (seen) messages too. */
  fetchAll: z.boolean().default(false),
  /** IMAP folders to fetch (default INBOX only). */
  folders: z.array(textLineSchema).max(50).default([]),
  /** Provider catalogue id (`cn` of the `fspMailProvider`) for the SMTP relay. */
  provider: z.string().max(64).optional(),
  /** Explicit relay; wins over the provider's. */
  smtp: smtpRelaySchema.optional(),
});

/** Vacation auto-reply (Sieve `vacation`). */
const vacationSchema = z
  .object({
    subject: textLineSchema,
    body: textBlockSchema,
    /** First day (inclusive, server local date). */
    start: isoDateSchema.optional(),
    /** Last day (inclusive). */
    end: isoDateSchema.optional(),
    /** Minimum days between two replies to the same sender. */
    days: z.number().int().min(1).max(60).default(7),
  })
  .refine((v) => !v.start || !v.end || v.start <= v.end, { message: 'start must not be after end', path: ['end'] });

/** Presence (CorNAz): present = fetched; absent = mail stays at the provider; vacation = fetched + auto-reply. */
export type Presence = 'present' | 'absent' | 'vacation';

const mailUserSchema = z.object({
  /** AD account name. */
  user: userNameSchema,
  /** Local mailbox address (`fspLocalMailAddress`). */
  localAddress: mailAddressSchema,
  /** Chosen sender address (`fspMainMailAddress`); one of the accounts' addresses. */
  mainAddress: mailAddressSchema.optional(),
  presence: z.enum(['present', 'absent', 'vacation']).default('present'),
  vacation: vacationSchema.optional(),
  accounts: z.array(externalAccountSchema).max(100).default([]),
});

const serviceSchema = z.object({ host: hostSchema, port: portSchema.optional(), tls: z.boolean().default(true) });

/** One entry of the provider catalogue (`fspMailProvider`). */
const providerSchema = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9._-]+$/),
  vendor: textLineSchema,
  pop3: serviceSchema.optional(),
  imap: serviceSchema.optional(),
  smtp: smtpRelaySchema.optional(),
  /** The provider requires or offers OAuth2 (XOAUTH2) for its mailboxes. */
  oauth2: z.boolean().default(false),
  userNameHint: textLineSchema.optional(),
  description: textLineSchema.optional(),
});

const mailConfigSchema = z.object({
  /** Internal mail domain, e.g. `invis-net.loc`. */
  localDomain: domainSchema,
  users: z.array(mailUserSchema).default([]),
  providers: z.array(providerSchema).default([]),
});

/** An outgoing relay (provider submission server). Always STARTTLS: SASL passwords never travel in clear. */
export interface SmtpRelay {
  host: string;
  /** Default 587. */
  port: number;
  /** Name the relay's certificate must carry (default `host`); needed when `host` is an IP address. */
  tlsName?: string | undefined;
}

/** An external mailbox (`fspFetchMailAccount`). */
export interface ExternalAccount {
  /** The external address (`fspExtMailAddress`, RDN of the AD object). */
  address: string;
  /** Server to fetch from (`fspExtMailServer`). */
  server: string;
  protocol: FetchProtocol;
  /** Defaults to 995/993 with implicit TLS, else 110/143. */
  port: number;
  tls: FetchTls;
  /** Name the server certificate must carry when it differs from `server` (fetchmail `sslcommonname`). */
  tlsServerName?: string | undefined;
  login: string;
  /** Clear text in the model; encrypted at rest (see `sealSecret`). */
  password: string;
  /** Leave fetched mail on the server. */
  keep: boolean;
  /** Fetch old (seen) messages too. */
  fetchAll: boolean;
  /** IMAP folders to fetch (empty = INBOX). */
  folders: string[];
  /** Provider catalogue id (`cn` of the `fspMailProvider`) that supplies the SMTP relay. */
  provider?: string | undefined;
  /** Explicit relay; wins over the provider's. */
  smtp?: SmtpRelay | undefined;
}

/** Vacation auto-reply (Sieve `vacation`). */
export interface Vacation {
  subject: string;
  body: string;
  /** First day, `YYYY-MM-DD`, inclusive, server-local date. */
  start?: string | undefined;
  /** Last day, inclusive. */
  end?: string | undefined;
  /** Minimum days between two replies to the same sender (default 7). */
  days: number;
}

/** A local user (`fspLocalMailRecipient`) with their external accounts. */
export interface MailUser {
  /** AD account name (`sAMAccountName`). */
  user: string;
  /** Local mailbox address (`fspLocalMailAddress`). */
  localAddress: string;
  /** Chosen sender address (`fspMainMailAddress`), one of the accounts' addresses. */
  mainAddress?: string | undefined;
  presence: Presence;
  vacation?: Vacation | undefined;
  accounts: ExternalAccount[];
}

/** A fetch service in the provider catalogue. */
export interface ProviderService {
  host: string;
  port?: number | undefined;
  tls: boolean;
}

/** One entry of the provider catalogue (`fspMailProvider`). */
export interface MailProvider {
  id: string;
  vendor: string;
  pop3?: ProviderService | undefined;
  imap?: ProviderService | undefined;
  smtp?: SmtpRelay | undefined;
  /** The provider offers or requires OAuth2 (XOAUTH2). */
  oauth2: boolean;
  userNameHint?: string | undefined;
  description?: string | undefined;
}

/** The validated, normalised configuration every renderer takes. */
export interface MailConfig {
  /** Internal mail domain, e.g. `invis-net.loc`. */
  localDomain: string;
  users: MailUser[];
  providers: MailProvider[];
}

/** Input of {@link parseMailConfig}: like {@link MailConfig} with defaults optional. */
export type MailConfigInput = {
  localDomain: string;
  users?: Array<
    Omit<MailUser, 'presence' | 'accounts' | 'vacation'> & {
      presence?: Presence;
      vacation?: Omit<Vacation, 'days'> & { days?: number };
      accounts?: Array<
        Omit<ExternalAccount, 'port' | 'tls' | 'keep' | 'fetchAll' | 'folders' | 'smtp'> &
          Partial<Pick<ExternalAccount, 'port' | 'tls' | 'keep' | 'fetchAll' | 'folders'>> & {
            smtp?: { host: string; port?: number; tlsName?: string };
          }
      >;
    }
  >;
  providers?: Array<
    Omit<MailProvider, 'oauth2' | 'smtp'> & {
      oauth2?: boolean;
      smtp?: { host: string; port?: number; tlsName?: string };
    }
  >;
};

/** Default port for a fetch protocol and TLS mode. */
export function defaultFetchPort(protocol: FetchProtocol, tls: FetchTls): number {
  if (protocol === 'pop3') return tls === 'implicit' ? 995 : 110;
  return tls === 'implicit' ? 993 : 143;
}

/**
 * Validates and normalises a mail configuration: syntax (see the schemas), ports, and the
 * cross-field rules: unique user names and addresses, local addresses in the local domain,
 * the main address is one of the user's accounts and has an SMTP relay, vacation presence
 * needs a vacation text, known provider ids, and `tls: 'none'` only for a loopback server
 * (`127.0.0.0/8` or `localhost`): a mailbox password never crosses a network in clear.
 *
 * @param input untrusted data (portal form, answer file, AD)
 * @returns the normalised configuration
 * @throws MailRewriteError `MAIL_INVALID_CONFIG` with the offending paths (never the values)
 * @example
 * const config = parseMailConfig({ localDomain: 'invis-net.loc', users: [] });
 */
export function parseMailConfig(input: unknown): MailConfig {
  const parsed = mailConfigSchema.safeParse(input);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new MailRewriteError('MAIL_INVALID_CONFIG', `invalid mail configuration: ${issues.join('; ')}`, {
      cause: parsed.error,
      details: { issues },
    });
  }
  const { localDomain, providers } = parsed.data;
  const users: MailUser[] = parsed.data.users.map((u) => ({
    ...u,
    accounts: u.accounts.map((a) => ({ ...a, port: a.port ?? defaultFetchPort(a.protocol, a.tls) })),
  }));
  const config: MailConfig = { localDomain, users, providers };
  const problems = crossCheck(config);
  if (problems.length > 0) {
    throw new MailRewriteError('MAIL_INVALID_CONFIG', `invalid mail configuration: ${problems.join('; ')}`, {
      details: { issues: problems },
    });
  }
  return config;
}

/**
 * Validates one provider catalogue entry alone (the catalogue is read entry by entry: one bad
 * entry must not reject the others).
 * @returns the entry, or the paths and reasons of its problems (never the values)
 */
export function checkMailProvider(input: unknown): { provider: MailProvider } | { issues: string[] } {
  const parsed = providerSchema.safeParse(input);
  if (parsed.success) return { provider: parsed.data };
  return { issues: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
}

const LOOPBACK_IPV4 = new RegExp(`^(?=127\\.)${IPV4}$`);

// Without TLS the mailbox password and the mail travel in clear: only a server on this machine
// (an SSH tunnel, stunnel, a test server) may be reached that way. Fail closed: a name other
// than `localhost` could resolve anywhere.
function isLoopback(host: string): boolean {
  return host === 'localhost' || LOOPBACK_IPV4.test(host);
}

function crossCheck(config: MailConfig): string[] {
  const problems: string[] = [];
  const providerIds = new Set(config.providers.map((p) => p.id));
  const seen = new Map<string, string>();
  const claim = (key: string, path: string): void => {
    const previous = seen.get(key);
    if (previous) problems.push(`${path}: ${key.split(' ')[0]} already used at ${previous}`);
    else seen.set(key, path);
  };
  if (new Set(config.providers.map((p) => p.id)).size !== config.providers.length) {
    problems.push('providers: duplicate id');
  }
  config.users.forEach((u, i) => {
    const at = `users.${i}`;
    claim(`user ${u.user.toLowerCase()}`, `${at}.user`);
    claim(`address ${u.localAddress}`, `${at}.localAddress`);
    if (!u.localAddress.endsWith(`@${config.localDomain}`)) {
      problems.push(`${at}.localAddress: must be in ${config.localDomain}`);
    }
    u.accounts.forEach((a, j) => {
      claim(`address ${a.address}`, `${at}.accounts.${j}.address`);
      if (a.address.endsWith(`@${config.localDomain}`)) {
        problems.push(`${at}.accounts.${j}.address: an external address cannot be in ${config.localDomain}`);
      }
      if (a.tls === 'none' && !isLoopback(a.server)) {
        problems.push(
          `${at}.accounts.${j}.tls: plain text only to a server on this machine (127.0.0.0/8, localhost); use implicit or starttls`,
        );
      }
      if (a.provider !== undefined && !providerIds.has(a.provider)) {
        problems.push(`${at}.accounts.${j}.provider: unknown provider`);
      }
    });
    if (u.mainAddress !== undefined) {
      const main = u.accounts.find((a) => a.address === u.mainAddress);
      if (!main) problems.push(`${at}.mainAddress: must be the address of one of the user's accounts`);
      else if (!relayOf(main, config.providers)) {
        problems.push(`${at}.mainAddress: the main account needs an SMTP relay (smtp or provider with smtp)`);
      }
    }
    if (u.presence === 'vacation' && !u.vacation) problems.push(`${at}.vacation: required while on vacation`);
  });
  return problems;
}

/** The SMTP relay used when sending as `account`: its own, else its provider's. */
export function relayOf(account: ExternalAccount, providers: readonly MailProvider[]): SmtpRelay | undefined {
  return account.smtp ?? providers.find((p) => p.id === account.provider)?.smtp;
}

/** Whether the user's accounts are polled (present or on vacation). */
export function isFetched(user: MailUser): boolean {
  return user.presence !== 'absent';
}

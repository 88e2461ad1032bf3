// The mail data of the directory as @invis/mail-rewrite's model: every AD user with an invis
// recipient object (`fspLocalMailRecipient`), their provider mailboxes (`fspFetchMailAccount`,
// passwords sealed with the server's mail key), the provider catalogue, and presence/vacation from
// the state file the portal writes (not in the invis schema, as in the original).
import { lstat } from 'node:fs/promises';
import type { AdClient } from '@invis/ad-client';
import {
  createMailDirectoryStore,
  generateSecretKey,
  isMailRewriteError,
  type MailConfig,
  type PresenceFile,
  parseMailConfig,
  parsePresenceFile,
  parseSecretKey,
  type SecretKey,
} from '@invis/mail-rewrite';
import { SetupError } from './errors';
import type { ModuleContext } from './module';

/** The setup secret holding the mail key (base64 of 32 bytes) that seals the mailbox passwords in AD. */
export const MAIL_KEY_SECRET = 'mail-key';

/**
 * The presence file: in the portal's data folder, because the portal writes it as its own user
 * (its unit may write nothing else); root reads it, never through a link.
 */
export const presencePath = (ctx: Pick<ModuleContext, 'profile'>): string =>
  `${ctx.profile.portal.dataDir}/mail-presence.json`;

/** Presence and vacation per AD account name. */
export type PresenceState = PresenceFile;

/**
 * Reads the presence file; a missing file means everyone is present.
 * @param ctx the module context
 * @returns presence per account (keys lower-cased)
 * @throws SetupError `SETUP_STATE_CORRUPT` when the file is not valid JSON of that shape
 */
export async function readPresence(ctx: Pick<ModuleContext, 'fs' | 'profile'>): Promise<PresenceState> {
  const path = presencePath(ctx);
  // The portal's user owns the folder: a link there could make root read any file.
  const entry = await lstat(ctx.fs.hostPath(path)).catch(() => undefined);
  if (entry && !entry.isFile()) {
    throw new SetupError('SETUP_STATE_CORRUPT', `${path} is not a plain file`, { details: { path } });
  }
  const text = await ctx.fs.readFileIfExists(path);
  if (text === undefined) return {};
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new SetupError('SETUP_STATE_CORRUPT', `${path} is not JSON`, { cause, details: { path } });
  }
  let entries: PresenceFile;
  try {
    entries = parsePresenceFile(data);
  } catch (cause) {
    const issues = isMailRewriteError(cause) ? ((cause.details.issues as string[] | undefined) ?? []) : [];
    throw new SetupError('SETUP_STATE_CORRUPT', `${path}: ${issues.join('; ')}`, { details: { path, issues } });
  }
  return Object.fromEntries(Object.entries(entries).map(([k, v]) => [k.toLowerCase(), v]));
}

/**
 * The mail key, made (CSPRNG, 0600 in the secrets folder) when it does not exist yet.
 * @param ctx the module context
 * @returns the key
 * @throws MailRewriteError `MAIL_SECRET_KEY` when the stored key is not 32 bytes of base64
 */
export async function ensureMailKey(ctx: Pick<ModuleContext, 'fs' | 'secrets'>): Promise<SecretKey> {
  const stored = await ctx.secrets.get(MAIL_KEY_SECRET);
  if (stored !== undefined) return parseSecretKey(stored);
  const key = generateSecretKey();
  const path = ctx.secrets.pathOf(MAIL_KEY_SECRET);
  await ctx.fs.mkdir(path.slice(0, path.lastIndexOf('/')), 0o700);
  await ctx.fs.writeFileAtomic(path, `${Buffer.from(key).toString('base64')}\n`, { mode: 0o600 });
  return key;
}

/** The mail configuration read from the directory, and what was left out. */
export interface DirectoryMail {
  config: MailConfig;
  /** Catalogue entries that failed validation (`cn` and reasons). */
  rejectedProviders: { id: string; issues: string[] }[];
}

/**
 * Reads the mail configuration from the directory: every user with a recipient object, their
 * accounts, the catalogue, presence from the state file. The whole configuration is validated at
 * once (fail closed: one bad user stops the run, nothing half-applied).
 * @param ctx the module context (answers, profile, fs)
 * @param ad a client bound with read access to the invis tree
 * @param key the mail key
 * @returns the configuration
 * @throws MailRewriteError `MAIL_INVALID_CONFIG`, `MAIL_SECRET_DECRYPT`; SetupError `SETUP_STATE_CORRUPT`
 */
export async function readDirectoryMail(
  ctx: Pick<ModuleContext, 'fs' | 'profile' | 'answers'>,
  ad: AdClient,
  key: SecretKey,
): Promise<DirectoryMail> {
  const store = createMailDirectoryStore({ directory: ad.invis.mail, users: ad.users, key });
  const presence = await readPresence(ctx);
  const catalogue = await store.readProviders();
  const users = [];
  for (const account of await ad.users.list()) {
    const state = presence[account.sAMAccountName.toLowerCase()];
    const read = await store.readUser(
      account.sAMAccountName,
      state ? { presence: state.presence, ...(state.vacation ? { vacation: state.vacation } : {}) } : {},
      catalogue.providers,
    );
    if (read) users.push(read.user);
  }
  const config = parseMailConfig({ localDomain: ctx.answers.domain, providers: catalogue.providers, users });
  return { config, rejectedProviders: catalogue.rejected };
}

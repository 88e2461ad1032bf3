// @invis/mail-rewrite: Postfix address rewriting, per-sender relays, fetchmail configuration and vacation from invis mail accounts.
// Public API: every exported symbol is listed here by name.
export {
  createMailApplier,
  type MailApplier,
  type MailApplierOptions,
  type MailApplyPlan,
  type MailApplyReport,
  type MailPaths,
  type Owner,
} from './apply';
export {
  createMailDirectoryStore,
  type FetchMailAccountRecord,
  fromFetchMailAccountRecord,
  fromMailProviderRecord,
  type LocalMailRecipientRecord,
  type MailDirectory,
  type MailDirectoryStore,
  type MailProviderRecord,
  type MailUserAccounts,
  type ProviderCatalogue,
  toFetchMailAccountRecord,
  toLocalMailRecipientRecord,
  toMailProviderRecord,
} from './directory';
export { isMailRewriteError, MailRewriteError, type MailRewriteErrorCode } from './errors';
export {
  buildFetchmailRc,
  type FetchmailOptions,
  type FetchmailPoll,
  type FetchmailRc,
  type FetchmailUser,
  parseFetchmailRc,
  quoteFetchmail,
  renderFetchmailRc,
} from './fetchmail';
export {
  defaultFetchPort,
  type ExternalAccount,
  type FetchProtocol,
  type FetchTls,
  isFetched,
  type MailConfig,
  type MailConfigInput,
  type MailProvider,
  type MailUser,
  type Presence,
  type ProviderService,
  parseMailConfig,
  relayOf,
  type SmtpRelay,
  type Vacation,
} from './model';
export {
  buildPostfixMaps,
  type LdapTableOptions,
  POSTFIX_MAP_NAMES,
  type PostfixMapEntry,
  type PostfixMapFiles,
  type PostfixMaps,
  type PostfixMapsOptions,
  type PostfixMapType,
  parsePostfixMap,
  renderLdapTables,
  renderMainCfSettings,
  renderPostfixMap,
  type SubmissionLogin,
  type SubmissionOptions,
} from './postfix';
export { type PresenceFile, parsePresenceFile } from './presence';
export {
  generateSecretKey,
  isSealedSecret,
  openSecret,
  parseSecretKey,
  type SecretBinding,
  type SecretKey,
  sealSecret,
} from './secrets';
export { quoteSieve, renderVacationSieve } from './sieve';

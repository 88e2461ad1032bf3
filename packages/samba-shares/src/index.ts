// @invis/samba-shares: Samba file-server shares: typed model, smb.shares.conf render and parse, testparm validation, atomic apply with reload
// Public API: every exported symbol is listed here by name.
export {
  checkSharesConf,
  createSharesApplier,
  type SharesApplier,
  type SharesApplierOptions,
  testparmCheck,
} from './apply';
export { isSharesError, SharesError, type SharesErrorCode, type SharesErrorJson, type SharesIssue } from './errors';
export {
  FOLDER_REQUESTS_FILE,
  type FolderRequests,
  isPlainFolderName,
  parseFolderRequests,
  renderFolderRequests,
} from './folder-requests';
export { createFolderFromTemplate, type FolderFromTemplateOptions } from './folders';
export {
  type Principal,
  type PrincipalInput,
  type RecycleBin,
  type RecycleBinInput,
  resolveShares,
  type Share,
  type ShareInput,
  TYPED_PARAMETERS,
} from './model';
export { parsePrincipal, parseSharesConf, splitSambaList } from './parse';
export { octal, renderPrincipal, renderSharesConf, SHARES_MARKER } from './render';

// The typed share model. Every value ends up on one line of smb.conf, so the schemas refuse
// what could break out of that line or that section (line breaks, NUL, brackets in names, a
// trailing backslash that would continue the line) — fail closed, never escape.
import { z } from 'zod';
import { SharesError, type SharesIssue } from './errors';

// Printable text on one line; Samba trims values, so leading/trailing blanks would not survive.
/** C0/C1 controls, DEL and the Unicode line separators: anything that could end or corrupt a line. */
function hasControl(s: string): boolean {
  for (const ch of s) {
    const c = ch.codePointAt(0) as number;
    if (c < 0x20 || (c >= 0x7f && c <= 0x9f) || c === 0x2028 || c === 0x2029) return true;
  }
  return false;
}
const lineValue = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .refine((s) => !hasControl(s), 'must be one line without control characters (no newline, NUL, tab)')
    .refine((s) => s.trim() === s, 'must not start or end with blanks')
    .refine((s) => !s.endsWith('\\'), 'must not end with a backslash (smb.conf would continue the line)');

// User and group names as AD and winbind know them: inner blanks allowed ("domain users"), no
// quotes, backslashes, commas, @ or + (those are list syntax), `$` for machine accounts.
const accountName = z
  .string()
  .max(64)
  .regex(
    /^[A-Za-z0-9_.$-](?:[A-Za-z0-9 _.$-]{0,62}[A-Za-z0-9_.$-])?$/,
    'not an account name (letters, digits, blank, _ . $ - only)',
  );

// NetBIOS domain name, upper case as Windows writes it.
const netbiosDomain = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,14}$/, 'not a NetBIOS domain name (1–15 letters, digits, -)')
  .transform((s) => s.toUpperCase());

/** A resolved principal: an AD group, a user, or `%S` (the user named like the share, for `[homes]`). */
export type Principal =
  | {
      kind: 'group';
      name: string;
      /** NetBIOS domain, upper case (`MUSTER`); absent = the name alone. */
      domain?: string | undefined;
      /** `@` (NIS netgroup, then Unix group — what winbind resolves) or `+` (Unix group only). */
      prefix: '@' | '+';
    }
  | { kind: 'user'; name: string; domain?: string | undefined }
  | { kind: 'shareUser' };

/** A principal as the caller writes it (`prefix` defaults to `@`). */
export type PrincipalInput =
  | { kind: 'group'; name: string; domain?: string | undefined; prefix?: '@' | '+' | undefined }
  | { kind: 'user'; name: string; domain?: string | undefined }
  | { kind: 'shareUser' };

const principalSchema: z.ZodType<Principal, PrincipalInput> = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('group'),
      name: accountName,
      domain: netbiosDomain.optional(),
      /** `@` (default: NIS netgroup, then Unix group — what winbind resolves) or `+` (Unix group only). */
      prefix: z.enum(['@', '+']).default('@'),
    })
    .strict(),
  z.object({ kind: z.literal('user'), name: accountName, domain: netbiosDomain.optional() }).strict(),
  // `%S`: the user whose name is the share's name (the `[homes]` idiom).
  z.object({ kind: z.literal('shareUser') }).strict(),
]);

const principalList = z
  .array(principalSchema)
  .max(500)
  .optional()
  .transform((list) => (list === undefined || list.length === 0 ? undefined : list));

// Permission bits 0–07777.
const modeSchema = z.number().int().min(0).max(0o7777);

/** Share names Samba would misread or Windows refuses: `[]`, `\`, `/`, quotes, `:` … and `global`. */
const shareName = z
  .string()
  .min(1)
  .max(80)
  .regex(
    /^[A-Za-z0-9_.$-](?:[A-Za-z0-9 _.$-]*[A-Za-z0-9_.$-])?$/,
    'share name may hold letters, digits, blank, _ . $ - only',
  )
  .refine((s) => s.toLowerCase() !== 'global', '`global` is not a share');

// Absolute path, `%` for Samba's substitutions (%U, %S); no `..`, no blanks at either end.
const pathSchema = lineValue(1024)
  .refine(
    (s) => /^\/[A-Za-z0-9._%/ +@~-]*$/.test(s),
    'must be an absolute path of letters, digits, blank and . _ % / + @ ~ -',
  )
  .refine((s) => !s.split('/').includes('..'), 'must not contain `..`');

const vfsModule = z.string().regex(/^[a-z][a-z0-9_]{0,40}$/, 'not a VFS module name');

const recyclePattern = z
  .string()
  .regex(/^[A-Za-z0-9*?._~$-]{1,64}$/, 'pattern may hold letters, digits and * ? . _ ~ $ - only');

/** The recycle bin (vfs_recycle) after validation; see {@link RecycleBinInput} for the meaning. */
export interface RecycleBin {
  repository: string;
  keeptree: boolean;
  versions: boolean;
  touch: boolean;
  exclude: string[];
  excludeDir: string[];
  maxsize: number;
  directoryMode?: number | undefined;
}

/** The recycle bin as the caller writes it; every field has a default. */
export interface RecycleBinInput {
  /** Folder below the share root that takes deleted files; `%U` per user. Default `.recycle`. */
  repository?: string | undefined;
  /** Keep the folder structure of deleted files. Default true. */
  keeptree?: boolean | undefined;
  /** Keep every deleted version of a name (`Copy #1 of …`). Default true. */
  versions?: boolean | undefined;
  /** Set the access time on delete, so housekeeping counts from the delete. Default true. */
  touch?: boolean | undefined;
  /** Files deleted for good, not kept (`*.tmp`). */
  exclude?: string[] | undefined;
  /** Folders whose files are deleted for good. */
  excludeDir?: string[] | undefined;
  /** Larger files (bytes) are deleted for good; 0 (default) = no limit. */
  maxsize?: number | undefined;
  /** Mode of folders the recycle bin creates. */
  directoryMode?: number | undefined;
}

const recycleSchema: z.ZodType<RecycleBin, RecycleBinInput> = z
  .object({
    /** Folder below the share root that takes deleted files; `%U` per user. Default `.recycle`. */
    repository: lineValue(255)
      .refine(
        (s) => /^[A-Za-z0-9._%/-]+$/.test(s) && !s.startsWith('/'),
        'must be a relative folder (letters, digits, . _ % / -)',
      )
      .refine((s) => !s.split('/').includes('..'), 'must not contain `..`')
      .default('.recycle'),
    /** Keep the folder structure of deleted files. Default true. */
    keeptree: z.boolean().default(true),
    /** Keep every deleted version of a name (`Copy #1 of …`). Default true. */
    versions: z.boolean().default(true),
    /** Update the access time on delete (so housekeeping counts from the delete). Default true. */
    touch: z.boolean().default(true),
    /** Files deleted for good, not kept (`*.tmp`). */
    exclude: z.array(recyclePattern).max(100).default([]),
    /** Folders whose files are deleted for good. */
    excludeDir: z.array(recyclePattern).max(100).default([]),
    /** Larger files (bytes) are deleted for good; 0 = no limit. */
    maxsize: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).default(0),
    /** Mode of folders the recycle bin creates. */
    directoryMode: modeSchema.optional(),
  })
  .strict();

/** Parameters the typed fields own (with Samba's synonyms): never allowed in `options`. */
export const TYPED_PARAMETERS: readonly string[] = [
  'path',
  'directory',
  'comment',
  'browseable',
  'browsable',
  'read only',
  'writeable',
  'writable',
  'write ok',
  'guest ok',
  'public',
  'guest only',
  'only guest',
  'printable',
  'print ok',
  'valid users',
  'invalid users',
  'read list',
  'write list',
  'admin users',
  'force user',
  'force group',
  'group',
  'create mask',
  'create mode',
  'directory mask',
  'directory mode',
  'force create mode',
  'force directory mode',
  'inherit acls',
  'inherit permissions',
  'hide unreadable',
  'access based share enum',
  'vfs objects',
  'vfs object',
];

// Parameters that pull in other files or sections: a shares file never carries them.
const STRUCTURAL = new Set(['include', 'copy', 'config file']);

const optionKey = z
  .string()
  .regex(/^[a-z][a-z0-9_]*(?:[ :][a-z0-9_]+)*$/, 'parameter name: lower-case words joined by single blanks or `:`')
  .refine((k) => !TYPED_PARAMETERS.includes(k) && !k.startsWith('recycle:'), 'has a typed field; use it')
  .refine((k) => !STRUCTURAL.has(k), 'include/copy/config file are not allowed in a shares file');

/**
 * One share as the caller writes it. Absent fields are not written (Samba's default applies).
 * Principal lists render as `valid users = @"DOM\group", "DOM\user"`; modes are numbers (`0o770`).
 */
export interface ShareInput {
  /** Section name: letters, digits, blank, `_ . $ -`; not `global`. */
  name: string;
  /** The folder; required except for `[homes]` (Samba then uses each user's home). */
  path?: string | undefined;
  comment?: string | undefined;
  browseable?: boolean | undefined;
  readOnly?: boolean | undefined;
  guestOk?: boolean | undefined;
  guestOnly?: boolean | undefined;
  /** A print share (`[printers]`): clients spool jobs into `path`. */
  printable?: boolean | undefined;
  /** Only these may connect. */
  validUsers?: PrincipalInput[] | undefined;
  invalidUsers?: PrincipalInput[] | undefined;
  /** Read-only for these, whatever `readOnly` says. */
  readList?: PrincipalInput[] | undefined;
  /** Writable for these, whatever `readOnly` says. */
  writeList?: PrincipalInput[] | undefined;
  adminUsers?: PrincipalInput[] | undefined;
  forceUser?: string | undefined;
  forceGroup?: string | undefined;
  createMask?: number | undefined;
  directoryMask?: number | undefined;
  forceCreateMode?: number | undefined;
  forceDirectoryMode?: number | undefined;
  inheritAcls?: boolean | undefined;
  inheritPermissions?: boolean | undefined;
  hideUnreadable?: boolean | undefined;
  accessBasedShareEnum?: boolean | undefined;
  /** VFS modules in stacking order; `recycle` comes from the `recycle` field. On an AD DC keep `dfs_samba4 acl_xattr`. */
  vfsObjects?: string[] | undefined;
  /** The recycle bin (vfs_recycle); absent = deleted files are gone. */
  recycle?: RecycleBinInput | undefined;
  /** Parameters without a typed field, by Samba's lower-case name. */
  options?: Record<string, string> | undefined;
}

/** The fields of {@link ShareInput} that name principals. */
type PrincipalField = 'validUsers' | 'invalidUsers' | 'readList' | 'writeList' | 'adminUsers';

/** One share after validation (the fields of {@link ShareInput}; lists never empty, recycle with defaults). */
export type Share = Omit<ShareInput, PrincipalField | 'recycle'> & {
  [K in PrincipalField]?: Principal[] | undefined;
} & { recycle?: RecycleBin | undefined };

const shareSchema: z.ZodType<Share, ShareInput> = z
  .object({
    name: shareName,
    /** The folder; required except for `[homes]` (Samba then uses each user's home). */
    path: pathSchema.optional(),
    comment: lineValue(256).optional(),
    browseable: z.boolean().optional(),
    readOnly: z.boolean().optional(),
    guestOk: z.boolean().optional(),
    guestOnly: z.boolean().optional(),
    /** A print share (`[printers]`): clients spool jobs into `path`. */
    printable: z.boolean().optional(),
    validUsers: principalList,
    invalidUsers: principalList,
    readList: principalList,
    writeList: principalList,
    adminUsers: principalList,
    forceUser: accountName.optional(),
    forceGroup: accountName.optional(),
    createMask: modeSchema.optional(),
    directoryMask: modeSchema.optional(),
    forceCreateMode: modeSchema.optional(),
    forceDirectoryMode: modeSchema.optional(),
    inheritAcls: z.boolean().optional(),
    inheritPermissions: z.boolean().optional(),
    hideUnreadable: z.boolean().optional(),
    accessBasedShareEnum: z.boolean().optional(),
    /** VFS modules in stacking order; `recycle` comes from the `recycle` field. On an AD DC keep `dfs_samba4 acl_xattr`. */
    vfsObjects: z
      .array(vfsModule)
      .max(20)
      .optional()
      .refine((l) => !l?.includes('recycle'), 'use the `recycle` field instead of listing `recycle`')
      .refine((l) => l === undefined || new Set(l).size === l.length, 'a module is listed twice')
      .transform((l) => (l === undefined || l.length === 0 ? undefined : l)),
    /** The recycle bin (vfs_recycle); absent = deleted files are gone. */
    recycle: recycleSchema.optional(),
    /** Parameters without a typed field, by Samba's lower-case name. */
    options: z
      .record(optionKey, lineValue(1024))
      .optional()
      .transform((o) => (o === undefined || Object.keys(o).length === 0 ? undefined : o)),
  })
  .strict()
  .refine((s) => s.path !== undefined || s.name.toLowerCase() === 'homes', {
    message: 'path is required (only [homes] may leave it out)',
    path: ['path'],
  });

const sharesSchema = z
  .array(shareSchema)
  .max(1000)
  .superRefine((shares, ctx) => {
    const seen = new Set<string>();
    shares.forEach((share, i) => {
      const key = share.name.toLowerCase();
      if (seen.has(key))
        ctx.addIssue({ code: 'custom', message: `share [${share.name}] twice (names ignore case)`, path: [i, 'name'] });
      seen.add(key);
    });
  });

/**
 * Validates shares and fills the recycle bin's defaults.
 * @param input the shares
 * @returns the resolved shares, in the given order
 * @throws SharesError `SHARES_INVALID_SHARE` with every problem in `issues`
 * @example resolveShares([{ name: 'aktuell', path: '/srv/shares/aktuell' }])
 */
export function resolveShares(input: readonly ShareInput[]): Share[] {
  const result = sharesSchema.safeParse(input);
  if (result.success) return result.data;
  const issues: SharesIssue[] = result.error.issues.map((issue) => ({
    path: `shares${issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('')}`,
    message: issue.message,
  }));
  throw new SharesError(
    'SHARES_INVALID_SHARE',
    `invalid shares: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`,
    {
      issues,
    },
  );
}

// zod schemas of the REST API. Every request schema is strict: unknown fields are a 400,
// so a client can never smuggle an attribute into the directory (the original's mass assignment).
import { z } from '@hono/zod-openapi';
import { ACCOUNT_TYPES, GROUP_TYPES } from '../directory';
import { SERVICE_ACTIONS, SERVICE_NAMES } from '../services';
import { TOKEN_SCOPES } from '../tokens';

// AD limits: sAMAccountName ≤ 20 (users) / 64 (groups); no control characters anywhere.
const noControl = (s: string): boolean => ![...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
const text = (max: number) => z.string().max(max).refine(noControl, 'control characters are not allowed');
// Characters AD refuses in sAMAccountName; refusing them here gives a clear 400 instead.
const accountName = (max: number) =>
  text(max)
    .min(1)
    .refine((s) => !/["/\\[\]:;|=,+*?<>@]/.test(s) && s.trim() === s, 'not a valid account name');
export const Username = accountName(20).openapi({ example: 'anna.schmidt' });
export const GroupName = accountName(64).openapi({ example: 'Werkstatt' });
const Password = z.string().min(1).max(256).openapi({ format: 'password' });
// Descriptions may hold anything printable (also `<script>` or `*)(`): they are data, shown escaped.
const Free = text(1024);

export const ErrorSchema = z
  .object({
    code: z.string().openapi({ example: 'PORTAL_FORBIDDEN' }),
    message: z.string(),
    details: z
      .record(z.string(), z.unknown())
      .optional()
      .openapi({ description: 'Safe facts about the error, e.g. `retryAfterSeconds` of PORTAL_THROTTLED' }),
  })
  .catchall(z.unknown())
  .openapi('Error');

const Link = z.strictObject({ url: text(2048).min(1), label: text(256) }).openapi('Link');

export const UserSchema = z
  .object({
    username: z.string(),
    displayName: z.string(),
    givenName: z.string(),
    surname: z.string(),
    description: z.string(),
    mail: z.string(),
    department: z.string(),
    office: z.string(),
    telephone: z.string(),
    accountType: z.enum(ACCOUNT_TYPES),
    enabled: z.boolean(),
    locked: z.boolean(),
    passwordExpiresAt: z.string().nullable(),
    groups: z.array(z.string()),
    links: z.array(z.object({ url: z.string(), label: z.string() })),
  })
  .openapi('User');

const profile = {
  displayName: Free.optional(),
  givenName: Free.optional(),
  surname: Free.optional(),
  description: Free.optional(),
  mail: z.union([z.email().max(256), z.literal('')]).optional(),
  department: Free.optional(),
  office: Free.optional(),
  telephone: text(64).optional(),
  links: z.array(Link).max(50).optional(),
};

export const UserPatch = z.strictObject(profile).openapi('UserPatch');
export const OwnProfilePatch = z
  .strictObject({
    displayName: profile.displayName,
    telephone: profile.telephone,
    office: profile.office,
    links: profile.links,
  })
  .openapi('OwnProfilePatch');
export const NewUserSchema = z
  .strictObject({
    ...profile,
    username: Username,
    givenName: text(64).min(1),
    surname: text(64).min(1),
    password: Password,
    accountType: z.enum(ACCOUNT_TYPES),
  })
  .openapi('NewUser');

export const GroupSchema = z
  .object({
    name: z.string(),
    description: z.string(),
    type: z.enum([...GROUP_TYPES, 'other']),
    mail: z.string(),
    gid: z.number().nullable(),
    members: z.array(z.string()),
  })
  .openapi('Group');
export const NewGroupSchema = z
  .strictObject({
    name: GroupName,
    description: Free.optional(),
    type: z.enum(GROUP_TYPES),
    members: z.array(Username).max(5000).optional(),
    /** Group share: `none` (default), `empty`, or `template:<folder template>`. */
    share: text(300)
      .regex(/^(none|empty|template:[^/\\]{1,255})$/)
      .optional(),
  })
  .openapi('NewGroup');
export const GroupPatch = z
  .strictObject({ description: Free.optional(), members: z.array(Username).max(5000).optional() })
  .openapi('GroupPatch');

export const Login = z.strictObject({ username: Username, password: Password }).openapi('Login');
export const ExpiredPasswordChange = z
  .strictObject({ username: Username, oldPassword: Password, newPassword: Password })
  .openapi('ExpiredPasswordChange');
export const OwnPasswordChange = z
  .strictObject({ oldPassword: Password, newPassword: Password })
  .openapi('OwnPasswordChange');
export const PasswordReset = z
  .strictObject({ password: Password, mustChange: z.boolean().optional() })
  .openapi('PasswordReset');
export const Enabled = z.strictObject({ enabled: z.boolean() }).openapi('Enabled');
export const Empty = z.strictObject({}).openapi('Empty');
export const DeleteGroupOptions = z
  .strictObject({ archiveShare: z.boolean().optional() })
  .openapi('DeleteGroupOptions');
export const DeleteUserOptions = z.strictObject({ archiveHome: z.boolean().optional() }).openapi('DeleteUserOptions');
/** Query of routes that take none: any parameter is an error. */
export const NoQuery = z.strictObject({});

export const SessionSchema = z
  .object({
    authenticated: z.boolean(),
    csrfToken: z.string(),
    user: z
      .object({
        username: z.string(),
        displayName: z.string(),
        isAdmin: z.boolean(),
        mobile: z.boolean(),
        passwordExpiresAt: z.string().nullable(),
      })
      .nullable(),
  })
  .openapi('Session');

export const PageQuery = z.strictObject({
  search: text(100).optional().default(''),
  page: z.coerce.number().int().min(1).max(100_000).optional().default(1),
  pageSize: z.coerce.number().int().min(1).max(200).optional().default(50),
});
export const UserPageSchema = z.object({ total: z.number(), items: z.array(UserSchema) }).openapi('UserPage');

export const AuditEntrySchema = z
  .object({
    id: z.number(),
    at: z.string(),
    actor: z.string(),
    address: z.string(),
    action: z.string(),
    target: z.string(),
    outcome: z.enum(['ok', 'failed']),
    before: z.unknown(),
    after: z.unknown(),
  })
  .openapi('AuditEntry');
export const AuditPageSchema = z.object({ total: z.number(), items: z.array(AuditEntrySchema) }).openapi('AuditPage');

export const ServiceStateSchema = z
  .object({
    name: z.enum(SERVICE_NAMES as [string, ...string[]]),
    unit: z.string(),
    state: z.enum(['active', 'inactive', 'failed', 'activating', 'unknown']),
  })
  .openapi('ServiceState');
export const ServiceParams = z.strictObject({
  name: z.enum(SERVICE_NAMES as [string, ...string[]]).openapi({ param: { name: 'name', in: 'path' } }),
  action: z.enum(SERVICE_ACTIONS).openapi({ param: { name: 'action', in: 'path' } }),
});

export const TokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    owner: z.string(),
    scopes: z.array(z.enum(TOKEN_SCOPES)),
    createdAt: z.string(),
    expiresAt: z.string(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .openapi('ApiToken');
export const NewTokenSchema = z
  .strictObject({
    name: text(100).min(1),
    scopes: z.array(z.enum(TOKEN_SCOPES)).min(1),
    /** Lifetime; default 90 days. */
    expiresInDays: z.number().int().min(1).max(365).optional(),
  })
  .openapi('NewApiToken');

const unknownState = z.object({ state: z.literal('unknown') });
/** One background job's last run (`@invis/host` job state). */
export const JobStateSchema = z
  .object({
    name: z.string(),
    startedAt: z.string(),
    finishedAt: z.string(),
    result: z.enum(['ok', 'warning', 'failed']),
    message: z.string(),
    nextRunAt: z.string().optional(),
    lastSuccessAt: z.string().optional(),
    details: z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()])).optional(),
  })
  .openapi('JobState');

export const StatusSchema = z
  .object({
    hostname: z.string(),
    kernel: z.string(),
    time: z.string(),
    uptimeSeconds: z.number(),
    load: z.array(z.number()),
    disks: z.array(
      z.union([
        z.object({
          path: z.string(),
          state: z.literal('ok'),
          totalBytes: z.number(),
          freeBytes: z.number(),
          usedPercent: z.number(),
        }),
        unknownState.extend({ path: z.string() }),
      ]),
    ),
    raid: z.union([
      z.object({
        state: z.enum(['ok', 'degraded']),
        arrays: z.array(z.object({ name: z.string(), status: z.string() })),
      }),
      unknownState,
    ]),
    services: z.array(ServiceStateSchema),
    certificates: z.array(
      z.union([
        z.object({ name: z.string(), state: z.literal('ok'), notAfter: z.string(), daysLeft: z.number() }),
        unknownState.extend({ name: z.string() }),
      ]),
    ),
    backup: z.union([z.object({ state: z.literal('ok'), finishedAt: z.string() }), unknownState]),
    internet: z.union([z.object({ state: z.literal('ok'), text: z.string(), checkedAt: z.string() }), unknownState]),
    jobs: z.array(JobStateSchema),
  })
  .openapi('Status');

/** Path parameter schemas. */
export const UserParam = z.strictObject({ username: Username.openapi({ param: { name: 'username', in: 'path' } }) });
export const GroupParam = z.strictObject({ name: GroupName.openapi({ param: { name: 'name', in: 'path' } }) });
export const TokenParam = z.strictObject({
  id: z
    .string()
    .regex(/^[0-9a-f]{16}$/)
    .openapi({ param: { name: 'id', in: 'path' } }),
});

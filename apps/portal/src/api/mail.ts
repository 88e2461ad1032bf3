import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { audited, authorize, type PortalContext, type PortalEnv, sessionUser } from '../context';
import { PortalError } from '../errors';
import { NewMailAccountSchema, VacationInputSchema } from '../mail-accounts';
import { ERRORS, jsonBody, jsonResponse, SECURITY } from './helpers';
import { NoQuery, UserParam } from './schemas';

const VacationSchema = z.object({
  subject: z.string(),
  body: z.string(),
  start: z.string().optional(),
  end: z.string().optional(),
  days: z.number(),
});
const UserMailSchema = z
  .object({
    user: z.string(),
    localAddress: z.string(),
    senderAddress: z.string(),
    presence: z.enum(['present', 'absent', 'vacation']),
    vacation: VacationSchema.nullable(),
    accounts: z.array(
      z.object({
        address: z.string(),
        server: z.string(),
        protocol: z.enum(['pop3', 'imap']),
        port: z.number(),
        login: z.string(),
        keep: z.boolean(),
        provider: z.string().nullable(),
      }),
    ),
  })
  .openapi('UserMail');
const ServiceSchema = z.object({ host: z.string(), port: z.number().optional(), tls: z.boolean() });
const ProviderSchema = z
  .object({
    id: z.string(),
    vendor: z.string(),
    pop3: ServiceSchema.optional(),
    imap: ServiceSchema.optional(),
    oauth2: z.boolean(),
    userNameHint: z.string().optional(),
    description: z.string().optional(),
  })
  .openapi('MailProvider');
const AddressParam = z.strictObject({
  address: z
    .string()
    .email()
    .openapi({ param: { name: 'address', in: 'path' } }),
});

/** CorNAz, or PORTAL_NOT_FOUND on a portal without the mail server. */
export function requireMail(c: PortalContext) {
  const mail = c.get('deps').mail;
  if (!mail) throw new PortalError('PORTAL_NOT_FOUND', 'this portal manages no mail accounts');
  return mail;
}

/** A user's own mail accounts, sender address, presence and vacation; the admin's view of anyone's. */
export function registerMailRoutes(app: OpenAPIHono<PortalEnv>): void {
  const own = <M extends 'get' | 'post' | 'put' | 'delete', P extends string, E extends object = object>(
    method: M,
    path: P,
    summary: string,
    extra: E = {} as E,
  ) =>
    createRoute({
      method,
      path,
      tags: ['mail'],
      summary,
      security: SECURITY,
      request: { query: NoQuery, ...extra },
      responses: { 200: jsonResponse(UserMailSchema), ...ERRORS },
    });

  app.openapi(own('get', '/api/me/mail', 'My mail accounts, sender address, presence and vacation'), async (c) => {
    return c.json(await requireMail(c).get(sessionUser(c).username), 200);
  });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/mail/providers',
      tags: ['mail'],
      summary: 'The provider catalogue (servers to prefill)',
      security: SECURITY,
      request: { query: NoQuery },
      responses: { 200: jsonResponse(ProviderSchema.array()), ...ERRORS },
    }),
    async (c) => {
      authorize(c, 'status:read');
      const providers = await requireMail(c).providers();
      return c.json(
        providers.map((p) => ({
          id: p.id,
          vendor: p.vendor,
          oauth2: p.oauth2,
          ...(p.pop3 ? { pop3: p.pop3 } : {}),
          ...(p.imap ? { imap: p.imap } : {}),
          ...(p.userNameHint ? { userNameHint: p.userNameHint } : {}),
          ...(p.description ? { description: p.description } : {}),
        })),
        200,
      );
    },
  );

  app.openapi(
    own('post', '/api/me/mail/accounts', 'Add an account (the login is tried at the provider first)', {
      body: jsonBody(NewMailAccountSchema),
    }),
    async (c) => {
      const user = sessionUser(c).username;
      const input = c.req.valid('json');
      const after = await audited(c, user, { action: 'mail.account.add', target: input.address, after: input }, () =>
        requireMail(c).addAccount(user, input),
      );
      return c.json(after, 200);
    },
  );

  app.openapi(
    own('delete', '/api/me/mail/accounts/{address}', 'Remove an account (the sender address only as the last)', {
      params: AddressParam,
    }),
    async (c) => {
      const user = sessionUser(c).username;
      const { address } = c.req.valid('param');
      const after = await audited(c, user, { action: 'mail.account.remove', target: address }, () =>
        requireMail(c).removeAccount(user, address),
      );
      return c.json(after, 200);
    },
  );

  app.openapi(
    own('put', '/api/me/mail/sender', 'Choose the sender address (null: the local address)', {
      body: jsonBody(z.strictObject({ address: z.string().email().nullable() })),
    }),
    async (c) => {
      const user = sessionUser(c).username;
      const { address } = c.req.valid('json');
      const after = await audited(c, user, { action: 'mail.sender', target: user, after: { address } }, () =>
        requireMail(c).setSender(user, address),
      );
      return c.json(after, 200);
    },
  );

  app.openapi(
    own('put', '/api/me/mail/presence', 'Present (mail is fetched) or absent (mail stays at the provider)', {
      body: jsonBody(z.strictObject({ presence: z.enum(['present', 'absent']) })),
    }),
    async (c) => {
      const user = sessionUser(c).username;
      const { presence } = c.req.valid('json');
      const after = await audited(c, user, { action: 'mail.presence', target: user, after: { presence } }, () =>
        requireMail(c).setPresence(user, presence),
      );
      return c.json(after, 200);
    },
  );

  app.openapi(
    own('put', '/api/me/mail/vacation', 'Start a vacation: mail is fetched and answered once per sender', {
      body: jsonBody(VacationInputSchema),
    }),
    async (c) => {
      const user = sessionUser(c).username;
      const input = c.req.valid('json');
      const after = await audited(c, user, { action: 'mail.vacation.start', target: user, after: input }, () =>
        requireMail(c).startVacation(user, input),
      );
      return c.json(after, 200);
    },
  );

  app.openapi(own('delete', '/api/me/mail/vacation', 'End the vacation'), async (c) => {
    const user = sessionUser(c).username;
    const after = await audited(c, user, { action: 'mail.vacation.end', target: user }, () =>
      requireMail(c).endVacation(user),
    );
    return c.json(after, 200);
  });

  app.openapi(
    own('get', '/api/users/{username}/mail', "A user's mail accounts (admin)", { params: UserParam }),
    async (c) => {
      authorize(c, 'users:read');
      return c.json(await requireMail(c).get(c.req.valid('param').username), 200);
    },
  );
}

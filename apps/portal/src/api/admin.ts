import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { audited, authorize, type PortalEnv, sessionUser } from '../context';
import { PortalError } from '../errors';
import type { ServiceAction, ServiceName } from '../services';
import { ERRORS, jsonBody, jsonResponse, NO_CONTENT, optionalBody, SECURITY } from './helpers';
import {
  AuditPageSchema,
  Empty,
  ErrorSchema,
  NewTokenSchema,
  NoQuery,
  PageQuery,
  ServiceParams,
  ServiceStateSchema,
  StatusSchema,
  TokenParam,
  TokenSchema,
} from './schemas';

/** Status, services, audit log and API tokens. */
export function registerAdminRoutes(app: OpenAPIHono<PortalEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/status',
      tags: ['status'],
      summary: 'Server status (every logged-in user); "unknown" where a source is missing',
      security: SECURITY,
      request: { query: NoQuery },
      responses: { 200: jsonResponse(StatusSchema), ...ERRORS },
    }),
    async (c) => {
      authorize(c, 'status:read');
      return c.json(await c.get('deps').status(), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/services',
      tags: ['services'],
      summary: 'States of the allow-listed services',
      security: SECURITY,
      request: { query: NoQuery },
      responses: { 200: jsonResponse(ServiceStateSchema.array()), ...ERRORS },
    }),
    async (c) => {
      authorize(c, 'services:write');
      return c.json(await c.get('deps').services.states(), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/services/{name}/{action}',
      tags: ['services'],
      summary: 'Run an allow-listed action on an allow-listed service',
      security: SECURITY,
      request: { query: NoQuery, params: ServiceParams, body: optionalBody(Empty) },
      responses: {
        ...NO_CONTENT,
        ...ERRORS,
        502: jsonResponse(ErrorSchema, 'Action failed (PORTAL_SERVICE_ACTION_FAILED)'),
      },
    }),
    async (c) => {
      const actor = authorize(c, 'services:write');
      const { name, action } = c.req.valid('param');
      await audited(c, actor, { action: `service.${action}`, target: name }, () =>
        c.get('deps').services.run(name as ServiceName, action as ServiceAction),
      );
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/audit',
      tags: ['audit'],
      summary: 'Audit log, newest first (secrets redacted)',
      security: SECURITY,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(AuditPageSchema), ...ERRORS },
    }),
    (c) => {
      authorize(c, 'audit:read');
      const { search, page, pageSize } = c.req.valid('query');
      return c.json(c.get('deps').audit.list({ search, offset: (page - 1) * pageSize, limit: pageSize }), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/tokens',
      tags: ['tokens'],
      summary: 'API tokens (admin session only)',
      security: SECURITY,
      request: { query: NoQuery },
      responses: { 200: jsonResponse(TokenSchema.array()), ...ERRORS },
    }),
    (c) => {
      requireAdminSession(c);
      return c.json(c.get('deps').tokens.list(), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/tokens',
      tags: ['tokens'],
      summary: 'Create a scoped API token; the secret is in this answer only',
      security: SECURITY,
      request: { query: NoQuery, body: jsonBody(NewTokenSchema) },
      responses: { 201: jsonResponse(TokenSchema.extend({ secret: TokenSchema.shape.id }), 'Created'), ...ERRORS },
    }),
    async (c) => {
      const owner = requireAdminSession(c);
      const { name, scopes, expiresInDays } = c.req.valid('json');
      const { token, secret } = await audited(
        c,
        owner,
        { action: 'token.create', target: name, after: { scopes, expiresInDays } },
        async () =>
          c
            .get('deps')
            .tokens.create({ name, owner, scopes, ...(expiresInDays === undefined ? {} : { expiresInDays }) }),
      );
      return c.json({ ...token, secret }, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/tokens/{id}',
      tags: ['tokens'],
      summary: 'Revoke an API token',
      security: SECURITY,
      request: { query: NoQuery, params: TokenParam, body: optionalBody(Empty) },
      responses: { ...NO_CONTENT, ...ERRORS },
    }),
    async (c) => {
      const actor = requireAdminSession(c);
      const { id } = c.req.valid('param');
      await audited(c, actor, { action: 'token.revoke', target: id }, async () => {
        if (!c.get('deps').tokens.revoke(id)) throw new PortalError('PORTAL_NOT_FOUND', 'no such live token');
      });
      return c.body(null, 204);
    },
  );
}

/** Tokens are managed by admins in person: a token cannot mint or revoke tokens. */
function requireAdminSession(c: Parameters<typeof sessionUser>[0]): string {
  const user = sessionUser(c);
  if (!user.isAdmin) throw new PortalError('PORTAL_FORBIDDEN', 'admins only');
  return user.username;
}

import { createRoute, type OpenAPIHono } from '@hono/zod-openapi';
import { audited, authorize, type PortalContext, type PortalEnv, refuseProtectedToToken } from '../context';
import type { DirectoryUser } from '../directory';
import { isPortalError, PortalError } from '../errors';
import { ERRORS, jsonBody, jsonResponse, NO_CONTENT, optionalBody, SECURITY } from './helpers';
import {
  DeleteUserOptions,
  Empty,
  Enabled,
  NewUserSchema,
  NoQuery,
  PageQuery,
  PasswordReset,
  UserPageSchema,
  UserParam,
  UserPatch,
  UserSchema,
} from './schemas';

/** Loads a user or throws PORTAL_NOT_FOUND. */
export async function requireUser(c: PortalContext, username: string): Promise<DirectoryUser> {
  const user = await c.get('deps').directory.getUser(username);
  if (!user) throw new PortalError('PORTAL_NOT_FOUND', `no user ${username}`, { details: { username } });
  return user;
}

/**
 * Revokes the account's VPN certificates (when the portal has a PKI) and records the serials.
 * Runs before the directory change: if revocation fails the account stays as it was and the
 * admin retries the same request; the reverse order would leave a disabled or deleted account
 * with a working VPN certificate, and after a delete there would be no account left to retry on.
 * @throws PortalError PORTAL_VPN_REVOCATION_FAILED (the account was not changed)
 */
async function revokeVpnAccess(c: PortalContext, actor: string, username: string): Promise<void> {
  const { vpn, audit } = c.get('deps');
  if (!vpn) return;
  const entry = { actor, address: c.get('client'), action: 'user.vpn.revoke', target: username };
  let serials: string[];
  try {
    serials = await vpn.revokeUser(username);
  } catch (cause) {
    const revoked = isPortalError(cause) ? (cause.details?.serials ?? []) : [];
    audit.append({ ...entry, outcome: 'failed', after: { serials: revoked, accountChanged: false } });
    throw new PortalError(
      'PORTAL_VPN_REVOCATION_FAILED',
      `the VPN certificates of ${username} could not be revoked; the account was not changed — try again`,
      { cause, details: { username, accountChanged: false } },
    );
  }
  audit.append({ ...entry, outcome: 'ok', after: { serials } });
}

const tags = ['users'];

/** Admin user management: list, create, edit, enable/disable, unlock, reset password, delete. */
export function registerUserRoutes(app: OpenAPIHono<PortalEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/users',
      tags,
      summary: 'List users (search in name and display name, paged)',
      security: SECURITY,
      request: { query: PageQuery },
      responses: { 200: jsonResponse(UserPageSchema), ...ERRORS },
    }),
    async (c) => {
      authorize(c, 'users:read');
      const { search, page, pageSize } = c.req.valid('query');
      const result = await c
        .get('deps')
        .directory.listUsers({ search, offset: (page - 1) * pageSize, limit: pageSize });
      return c.json(result, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/users',
      tags,
      summary: 'Create a user with an invis account type',
      security: SECURITY,
      request: { query: NoQuery, body: jsonBody(NewUserSchema) },
      responses: { 201: jsonResponse(UserSchema, 'Created'), ...ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'users:write');
      const input = c.req.valid('json');
      if (input.accountType === 'admin' && c.get('token')) {
        throw new PortalError('PORTAL_FORBIDDEN', 'API tokens may not create admin accounts');
      }
      const user = await audited(c, actor, { action: 'user.create', target: input.username, after: input }, () =>
        c.get('deps').directory.createUser(input),
      );
      c.get('deps').shares?.accountsChanged();
      return c.json(user, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/users/{username}',
      tags,
      summary: 'One user',
      security: SECURITY,
      request: { query: NoQuery, params: UserParam },
      responses: { 200: jsonResponse(UserSchema), ...ERRORS },
    }),
    async (c) => {
      authorize(c, 'users:read');
      return c.json(await requireUser(c, c.req.valid('param').username), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/api/users/{username}',
      tags,
      summary: 'Change profile fields (a fixed list, never arbitrary attributes)',
      security: SECURITY,
      request: { query: NoQuery, params: UserParam, body: jsonBody(UserPatch) },
      responses: { 200: jsonResponse(UserSchema), ...ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'users:write');
      const { username } = c.req.valid('param');
      await refuseProtectedToToken(c, 'user', username);
      const patch = c.req.valid('json');
      const before = await requireUser(c, username);
      const after = await audited(c, actor, { action: 'user.update', target: username, before, after: patch }, () =>
        c.get('deps').directory.updateUser(username, patch),
      );
      return c.json(after, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/users/{username}/enabled',
      tags,
      summary: 'Enable or disable an account',
      security: SECURITY,
      request: { query: NoQuery, params: UserParam, body: jsonBody(Enabled) },
      responses: { ...NO_CONTENT, ...ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'users:write');
      const { username } = c.req.valid('param');
      await refuseProtectedToToken(c, 'user', username);
      const { enabled } = c.req.valid('json');
      const { directory, sessions } = c.get('deps');
      const before = await requireUser(c, username);
      if (!enabled) await revokeVpnAccess(c, actor, before.username);
      await audited(
        c,
        actor,
        {
          action: enabled ? 'user.enable' : 'user.disable',
          target: username,
          before: { enabled: before.enabled },
          after: { enabled },
        },
        () => directory.setEnabled(username, enabled),
      );
      if (!enabled) sessions.destroyUser(username);
      c.get('deps').access.forget(username);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/users/{username}/unlock',
      tags,
      summary: 'Unlock an account locked by failed logins',
      security: SECURITY,
      request: { query: NoQuery, params: UserParam, body: optionalBody(Empty) },
      responses: { ...NO_CONTENT, ...ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'users:write');
      const { username } = c.req.valid('param');
      await refuseProtectedToToken(c, 'user', username);
      await audited(c, actor, { action: 'user.unlock', target: username }, () =>
        c.get('deps').directory.unlock(username),
      );
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/users/{username}/password',
      tags,
      summary: "Reset a user's password (admin)",
      security: SECURITY,
      request: { query: NoQuery, params: UserParam, body: jsonBody(PasswordReset) },
      responses: { ...NO_CONTENT, ...ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'users:write');
      const { username } = c.req.valid('param');
      await refuseProtectedToToken(c, 'user', username);
      const { password, mustChange = false } = c.req.valid('json');
      const { directory, sessions } = c.get('deps');
      await audited(
        c,
        actor,
        { action: 'user.password.reset', target: username, after: { password, mustChange } },
        () => directory.resetPassword(username, password, mustChange),
      );
      sessions.destroyUser(username);
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/users/{username}',
      tags,
      summary: 'Delete a user (optionally archiving the home directory as the original did)',
      security: SECURITY,
      request: { query: NoQuery, params: UserParam, body: optionalBody(DeleteUserOptions) },
      responses: { ...NO_CONTENT, ...ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'users:write');
      const { username } = c.req.valid('param');
      await refuseProtectedToToken(c, 'user', username);
      const { archiveHome = false } = c.req.valid('json') ?? {};
      const { directory, sessions, shares } = c.get('deps');
      if (archiveHome && !shares) throw new PortalError('PORTAL_CONFIG', 'this portal has no file server for homes');
      const before = await requireUser(c, username);
      await revokeVpnAccess(c, actor, before.username);
      await audited(c, actor, { action: 'user.delete', target: username, before }, () =>
        directory.deleteUser(username),
      );
      sessions.destroyUser(username);
      c.get('deps').access.forget(username);
      if (archiveHome && shares) {
        // The stored name: the DC matches any case, the file system does not.
        await audited(c, actor, { action: 'user.home.archive', target: before.username }, () =>
          shares.archiveHome(before.username),
        );
      }
      shares?.accountsChanged();
      return c.body(null, 204);
    },
  );
}

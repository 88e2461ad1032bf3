import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { audited, authorize, type PortalContext, type PortalEnv, refuseProtectedToToken } from '../context';
import type { DirectoryGroup } from '../directory';
import { PortalError } from '../errors';
import { ERRORS, jsonBody, jsonResponse, NO_CONTENT, optionalBody, SECURITY } from './helpers';
import { DeleteGroupOptions, GroupParam, GroupPatch, GroupSchema, NewGroupSchema, NoQuery } from './schemas';

/** Loads a group or throws PORTAL_NOT_FOUND. */
export async function requireGroup(c: PortalContext, name: string): Promise<DirectoryGroup> {
  const group = await c.get('deps').directory.getGroup(name);
  if (!group) throw new PortalError('PORTAL_NOT_FOUND', `no group ${name}`, { details: { name } });
  return group;
}

const tags = ['groups'];

/**
 * Membership changed through the portal: the rights of everyone who joined or left are read
 * again on their next request, so a session that lost admin or outside access (also through
 * nesting) loses it at once — an outside session of someone no longer in the mobile group ends.
 */
function membershipChanged(c: PortalContext, members: readonly string[]): void {
  const { access } = c.get('deps');
  for (const name of members) access.forget(name);
}

const minus = (a: readonly string[], b: readonly string[]): string[] => {
  const drop = new Set(b.map((x) => x.toLowerCase()));
  return a.filter((x) => !drop.has(x.toLowerCase()));
};

/** Admin group management: list, create (team / team+mail / distribution), members, delete. */
export function registerGroupRoutes(app: OpenAPIHono<PortalEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/groups',
      tags,
      summary: 'List groups',
      security: SECURITY,
      request: { query: NoQuery },
      responses: { 200: jsonResponse(GroupSchema.array()), ...ERRORS },
    }),
    async (c) => {
      authorize(c, 'groups:read');
      return c.json(await c.get('deps').directory.listGroups(), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/groups',
      tags,
      summary: 'Create a group',
      security: SECURITY,
      request: { query: NoQuery, body: jsonBody(NewGroupSchema) },
      responses: { 201: jsonResponse(GroupSchema, 'Created'), ...ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'groups:write');
      const { share = 'none', ...input } = c.req.valid('json');
      const { directory, shares } = c.get('deps');
      if (share !== 'none' && !shares)
        throw new PortalError('PORTAL_CONFIG', 'this portal has no file server for group shares');
      const group = await audited(
        c,
        actor,
        { action: 'group.create', target: input.name, after: { ...input, share } },
        () => directory.createGroup(input),
      );
      if (share !== 'none' && shares) {
        const template = share === 'empty' ? null : share.slice('template:'.length);
        try {
          await audited(c, actor, { action: 'group.share.create', target: input.name, after: { template } }, () =>
            shares.createGroupShare(group.name, template, group.gid),
          );
        } catch (e) {
          // No group without the share that was asked for.
          await directory.deleteGroup(group.name).catch(() => undefined);
          throw e;
        }
      }
      return c.json(group, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/share-templates',
      tags,
      summary: 'Folder templates for new group shares',
      security: SECURITY,
      request: { query: NoQuery },
      responses: { 200: jsonResponse(z.array(z.string())), ...ERRORS },
    }),
    async (c) => {
      authorize(c, 'groups:read');
      return c.json((await c.get('deps').shares?.templates()) ?? [], 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/groups/{name}',
      tags,
      summary: 'One group with its members',
      security: SECURITY,
      request: { query: NoQuery, params: GroupParam },
      responses: { 200: jsonResponse(GroupSchema), ...ERRORS },
    }),
    async (c) => {
      authorize(c, 'groups:read');
      return c.json(await requireGroup(c, c.req.valid('param').name), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/api/groups/{name}',
      tags,
      summary: 'Change description and/or set the full member list',
      security: SECURITY,
      request: { query: NoQuery, params: GroupParam, body: jsonBody(GroupPatch) },
      responses: { 200: jsonResponse(GroupSchema), ...ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'groups:write');
      const { name } = c.req.valid('param');
      await refuseProtectedToToken(c, 'group', name);
      const patch = c.req.valid('json');
      const before = await requireGroup(c, name);
      const after = await audited(c, actor, { action: 'group.update', target: name, before, after: patch }, () =>
        c.get('deps').directory.updateGroup(name, patch),
      );
      membershipChanged(c, [...minus(before.members, after.members), ...minus(after.members, before.members)]);
      return c.json(after, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/groups/{name}',
      tags,
      summary: 'Delete a group (optionally archiving its share as the original did)',
      security: SECURITY,
      request: { query: NoQuery, params: GroupParam, body: optionalBody(DeleteGroupOptions) },
      responses: { ...NO_CONTENT, ...ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'groups:write');
      const { name } = c.req.valid('param');
      await refuseProtectedToToken(c, 'group', name);
      const { archiveShare = false } = c.req.valid('json') ?? {};
      const { directory, shares } = c.get('deps');
      if (archiveShare && !shares)
        throw new PortalError('PORTAL_CONFIG', 'this portal has no file server for group shares');
      const before = await requireGroup(c, name);
      await audited(c, actor, { action: 'group.delete', target: name, before }, () => directory.deleteGroup(name));
      membershipChanged(c, before.members);
      if (archiveShare && shares) {
        // The stored name: the DC matches any case, the file system does not.
        await audited(c, actor, { action: 'group.share.archive', target: before.name }, () =>
          shares.archiveGroupShare(before.name),
        );
      }
      return c.body(null, 204);
    },
  );
}

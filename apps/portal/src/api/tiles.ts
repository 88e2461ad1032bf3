import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { audited, authorize, type PortalContext, type PortalEnv } from '../context';
import { PortalError } from '../errors';
import { TILE_SECTIONS, TileCn, TileInputSchema, type TileReader, visibleTiles } from '../tiles';
import { ERRORS, jsonBody, jsonResponse, NO_CONTENT, SECURITY } from './helpers';
import { NoQuery } from './schemas';

const TileSchema = z
  .object({
    cn: z.string(),
    name: z.string(),
    url: z.string(),
    description: z.string(),
    section: z.enum(TILE_SECTIONS),
    button: z.string(),
    rubrik: z.string().nullable(),
  })
  .openapi('Tile');
const TilesSchema = z
  .object(
    Object.fromEntries(TILE_SECTIONS.map((s) => [s, TileSchema.array()])) as Record<
      (typeof TILE_SECTIONS)[number],
      z.ZodArray<typeof TileSchema>
    >,
  )
  .openapi('Tiles');
const TileEntrySchema = TileInputSchema.extend({ cn: z.string() }).openapi('TileEntry');
const TileParam = z.strictObject({ cn: TileCn.openapi({ param: { name: 'cn', in: 'path' } }) });

/** The tiles, or PORTAL_NOT_FOUND on a portal composed without them. */
export function requireTiles(c: PortalContext) {
  const tiles = c.get('deps').tiles;
  if (!tiles) throw new PortalError('PORTAL_NOT_FOUND', 'this portal has no web-app tiles');
  return tiles;
}

/** Who is asking, for visibility and links. */
export function tileReader(c: PortalContext): TileReader {
  const user = c.get('session')?.user ?? null;
  return { loggedIn: user !== null, isAdmin: user?.isAdmin === true, external: c.get('external') };
}

/** The home page's tiles (for the reader) and the admin's editor of `iPortEntry` objects. */
export function registerTileRoutes(app: OpenAPIHono<PortalEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/tiles',
      tags: ['tiles'],
      summary: 'The web-app tiles this user sees, per section, linked for where they are',
      security: SECURITY,
      request: { query: NoQuery },
      responses: { 200: jsonResponse(TilesSchema), ...ERRORS },
    }),
    async (c) => {
      authorize(c, 'status:read');
      const tiles = requireTiles(c);
      return c.json(visibleTiles(await tiles.store.list(), tileReader(c), tiles.names), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/admin/tiles',
      tags: ['tiles'],
      summary: 'Every portal entry as stored (admin)',
      security: SECURITY,
      request: { query: NoQuery },
      responses: { 200: jsonResponse(TileEntrySchema.array()), ...ERRORS },
    }),
    async (c) => {
      authorize(c, 'tiles:write');
      const entries = await requireTiles(c).store.list();
      return c.json(
        entries.map((e) => ({
          cn: e.cn,
          name: e.name,
          url: e.url,
          ssl: e.ssl,
          description: e.description,
          active: e.active,
          position: e.position as z.infer<typeof TileEntrySchema>['position'],
          priv: e.priv as z.infer<typeof TileEntrySchema>['priv'],
          button: e.button,
          ...(e.rubrik ? { rubrik: e.rubrik } : {}),
        })),
        200,
      );
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/admin/tiles/{cn}',
      tags: ['tiles'],
      summary: 'Create or replace a portal entry (admin)',
      security: SECURITY,
      request: { query: NoQuery, params: TileParam, body: jsonBody(TileInputSchema) },
      responses: { ...NO_CONTENT, ...ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'tiles:write');
      const { cn } = c.req.valid('param');
      const input = c.req.valid('json');
      const store = requireTiles(c).store;
      const before = await store.get(cn);
      // An empty rubrik is no rubrik (the attribute is optional in the schema).
      const { rubrik, ...rest } = input;
      await audited(c, actor, { action: 'tile.put', target: cn, before, after: input }, () =>
        store.put(cn, { ...rest, ...(rubrik ? { rubrik } : {}) }),
      );
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/admin/tiles/{cn}',
      tags: ['tiles'],
      summary: 'Delete a portal entry (admin)',
      security: SECURITY,
      request: { query: NoQuery, params: TileParam },
      responses: { ...NO_CONTENT, ...ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'tiles:write');
      const { cn } = c.req.valid('param');
      const store = requireTiles(c).store;
      const before = await store.get(cn);
      if (!before) throw new PortalError('PORTAL_NOT_FOUND', `no portal entry ${cn}`);
      await audited(c, actor, { action: 'tile.delete', target: cn, before }, () => store.delete(cn));
      return c.body(null, 204);
    },
  );
}

import { Readable } from 'node:stream';
import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { audited, type PortalContext, type PortalEnv, sessionUser } from '../context';
import { PortalError } from '../errors';
import type { Transfer } from '../transfer';
import { ERRORS, jsonResponse, SECURITY } from './helpers';
import { NoQuery } from './schemas';

const FileSchema = z.object({ name: z.string(), size: z.number(), modified: z.string() }).openapi('TransferFile');
const ListSchema = z
  .object({ downloads: FileSchema.array(), uploads: FileSchema.array(), maxUploadBytes: z.number() })
  .openapi('TransferList');
const FileParam = z.strictObject({
  name: z
    .string()
    .min(1)
    .max(255)
    .openapi({ param: { name: 'name', in: 'path' }, example: 'angebot.pdf' }),
});

/** The transfer area and the session's user (a `mobilusers` member), or an error. */
function transferUser(c: PortalContext): { transfer: Transfer; user: string } {
  const transfer = c.get('deps').transfer;
  if (!transfer) throw new PortalError('PORTAL_NOT_FOUND', 'this portal has no transfer area');
  const user = sessionUser(c);
  if (!user.mobile) throw new PortalError('PORTAL_FORBIDDEN', 'the transfer area is for mobilusers members');
  return { transfer, user: user.username };
}

/** The transfer area: list, download, upload (sessions of `mobilusers` members only; no API tokens). */
export function registerTransferRoutes(app: OpenAPIHono<PortalEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/transfer',
      tags: ['transfer'],
      summary: 'My downloads (left by colleagues) and my uploads',
      security: SECURITY,
      request: { query: NoQuery },
      responses: { 200: jsonResponse(ListSchema), ...ERRORS },
    }),
    async (c) => {
      const { transfer, user } = transferUser(c);
      return c.json({ ...(await transfer.list(user)), maxUploadBytes: transfer.maxUploadBytes }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/transfer/downloads/{name}',
      tags: ['transfer'],
      summary: 'Download one of my files (regular files only; links are never followed)',
      security: SECURITY,
      request: { query: NoQuery, params: FileParam },
      responses: {
        200: { content: { 'application/octet-stream': { schema: z.string() } }, description: 'The file' },
        ...ERRORS,
      },
    }),
    async (c) => {
      const { transfer, user } = transferUser(c);
      const { name } = c.req.valid('param');
      const { file, size } = await transfer.openDownload(user, name);
      c.get('deps').audit.append({
        actor: user,
        address: c.get('client'),
        action: 'transfer.download',
        target: name,
        outcome: 'ok',
      });
      const stream = Readable.toWeb(file.createReadStream()) as ReadableStream<Uint8Array>;
      return c.body(stream, 200, {
        'content-type': 'application/octet-stream',
        'content-length': String(size),
        'content-disposition': `attachment; filename*=UTF-8''${encodeURIComponent(name)}`,
        'x-content-type-options': 'nosniff',
      });
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/transfer/uploads/{name}',
      tags: ['transfer'],
      summary:
        'Upload a file: the request body is the file (application/octet-stream), up to the limit; it is virus-scanned ' +
        'before it appears (PORTAL_TRANSFER_INFECTED: quarantined)',
      security: SECURITY,
      request: { query: NoQuery, params: FileParam },
      responses: {
        201: jsonResponse(FileSchema),
        413: jsonResponse(z.object({ code: z.string(), message: z.string() }), 'Over the limit'),
        422: jsonResponse(z.object({ code: z.string(), message: z.string() }), 'Infected (PORTAL_TRANSFER_INFECTED)'),
        ...ERRORS,
      },
    }),
    async (c) => {
      const { transfer, user } = transferUser(c);
      const { name } = c.req.valid('param');
      const body = c.req.raw.body;
      if (!body) throw new PortalError('PORTAL_VALIDATION', 'the request body is the file');
      const stored = await audited(c, user, { action: 'transfer.upload', target: name }, () =>
        transfer.upload(user, name, body as unknown as AsyncIterable<Uint8Array>),
      );
      return c.json(stored, 201);
    },
  );
}

import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { DEVICE_TYPES, type DeviceType } from '@invis/dhcp-config';
import { audited, authorize, type PortalContext, type PortalEnv } from '../context';
import { PortalError } from '../errors';
import type { HostManager } from '../hosts';
import { ERRORS, jsonBody, jsonResponse, NO_CONTENT, optionalBody, SECURITY } from './helpers';
import { Empty, ErrorSchema, NoQuery } from './schemas';

// Request schemas are strict (unknown fields are a 400) and refuse control characters.
const noControl = (s: string): boolean => ![...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
const HostName = z
  .string()
  .min(1)
  .max(63)
  .regex(/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/, 'letters, digits and inner hyphens')
  .openapi({ example: 'laser1' });
const DeviceTypeSchema = z.enum(DEVICE_TYPES as [DeviceType, ...DeviceType[]]).openapi({ example: 'printer' });
const Mac = z
  .string()
  .min(11)
  .max(17)
  .regex(/^[0-9A-Fa-f:.-]+$/, 'a MAC address such as 00:1b:21:3a:4f:10')
  .openapi({ example: '00:1b:21:3a:4f:10' });
const Ipv4 = z.ipv4().openapi({ example: '192.168.220.20' });
const Comment = z.string().max(256).refine(noControl, 'control characters are not allowed');

const LeaseState = z.enum(['active', 'free', 'expired', 'released', 'abandoned', 'declined', 'backup']);
export const HostSchema = z
  .object({
    name: z.string(),
    fqdn: z.string(),
    mac: z.string(),
    ip: z.string(),
    type: DeviceTypeSchema.nullable(),
    comment: z.string(),
    computer: z.boolean().openapi({ description: 'Has an AD computer object' }),
    lease: z.object({ ip: z.string(), state: LeaseState, ends: z.string().nullable() }).nullable(),
  })
  .openapi('Host');
const NewHost = z
  .strictObject({
    name: HostName,
    type: DeviceTypeSchema,
    mac: Mac,
    ip: Ipv4.optional().openapi({ description: "Default: the next free address of the type's range" }),
    comment: Comment.optional(),
    computer: z.boolean().optional().openapi({ description: 'AD computer object; default for client and server' }),
  })
  .openapi('NewHost');
const HostPatch = z
  .strictObject({
    name: HostName.optional(),
    type: DeviceTypeSchema.optional().openapi({
      description: 'Without ip: moves to the next free address of the range',
    }),
    mac: Mac.optional(),
    ip: Ipv4.optional(),
    comment: Comment.optional(),
  })
  .openapi('HostPatch');
const HostParam = z.object({ name: HostName.openapi({ param: { name: 'name', in: 'path' } }) });
const TypeQuery = z.strictObject({ type: DeviceTypeSchema });
const LeaseSchema = z
  .object({
    ip: z.string(),
    mac: z.string().nullable(),
    hostname: z.string().nullable(),
    state: LeaseState,
    ends: z.string().nullable(),
    reservedAs: z.string().nullable(),
  })
  .openapi('Lease');
const SyncQuery = z.strictObject({ wait: z.enum(['true', 'false']).optional() });
const DhcpSyncSchema = z
  .object({
    pending: z.boolean(),
    lastSuccess: z.string().nullable().openapi({ description: 'ISO 8601' }),
    lastError: z.string().nullable(),
  })
  .openapi('DhcpSync');
const LeaseParam = z.object({ ip: Ipv4.openapi({ param: { name: 'ip', in: 'path' } }) });
const ReserveLease = z
  .strictObject({
    type: DeviceTypeSchema,
    name: HostName.optional().openapi({ description: 'Default: the name the client sent' }),
    comment: Comment.optional(),
    computer: z.boolean().optional(),
  })
  .openapi('ReserveLease');

const STEP_ERRORS = {
  422: jsonResponse(ErrorSchema, 'DNS refused the input (PORTAL_DNS_INVALID)'),
  500: jsonResponse(ErrorSchema, 'A part failed and its rollback too (PORTAL_HOST_ROLLBACK_INCOMPLETE)'),
  502: jsonResponse(ErrorSchema, 'A part failed; all parts were rolled back (PORTAL_HOST_FAILED)'),
};

/** The hosts of this portal, or PORTAL_NOT_FOUND when it manages no LAN. */
export function requireHosts(c: PortalContext): HostManager {
  const hosts = c.get('deps').hosts;
  if (!hosts) throw new PortalError('PORTAL_NOT_FOUND', 'this portal manages no hosts (no LAN configured)');
  return hosts;
}

const tags = ['hosts'];

/** Hosts (AD computer + DHCP reservation + DNS A/PTR in one step) and the DHCP leases. */
export function registerHostRoutes(app: OpenAPIHono<PortalEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/hosts',
      tags,
      summary: 'Reserved hosts with their live lease state',
      security: SECURITY,
      request: { query: NoQuery },
      responses: { 200: jsonResponse(HostSchema.array()), ...ERRORS },
    }),
    async (c) => {
      authorize(c, 'hosts:read');
      return c.json(await requireHosts(c).list(), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/hosts/next-free',
      tags,
      summary: "The next free address of a device type's range (server, printer, IP device, client)",
      security: SECURITY,
      request: { query: TypeQuery },
      responses: { 200: jsonResponse(z.object({ ip: z.string() })), ...ERRORS },
    }),
    async (c) => {
      authorize(c, 'hosts:read');
      return c.json({ ip: await requireHosts(c).nextFree(c.req.valid('query').type) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/hosts/dhcp-sync',
      tags,
      summary: 'Whether the DHCP server has the directory’s reservations yet (the push after each change)',
      description:
        'A host change answers once the directory holds it; the running DHCP server follows in the background. ' +
        'With wait=true the answer comes after every change made so far has been pushed (or its push failed). ' +
        'null when this portal does not push (the setup’s timer does).',
      security: SECURITY,
      request: { query: SyncQuery },
      responses: { 200: jsonResponse(DhcpSyncSchema.nullable()), ...ERRORS },
    }),
    async (c) => {
      authorize(c, 'hosts:read');
      return c.json(await requireHosts(c).dhcpSync(c.req.valid('query').wait === 'true'), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/hosts',
      tags,
      summary: 'Create a host: AD computer object (PCs), DHCP reservation, DNS A and PTR — all or nothing',
      security: SECURITY,
      request: { query: NoQuery, body: jsonBody(NewHost) },
      responses: { 201: jsonResponse(HostSchema, 'Created'), ...ERRORS, ...STEP_ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'hosts:write');
      const input = c.req.valid('json');
      const hosts = requireHosts(c);
      const host = await audited(c, actor, { action: 'host.create', target: input.name, after: input }, () =>
        hosts.create(input),
      );
      return c.json(host, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/hosts/{name}',
      tags,
      summary: 'One host',
      security: SECURITY,
      request: { query: NoQuery, params: HostParam },
      responses: { 200: jsonResponse(HostSchema), ...ERRORS },
    }),
    async (c) => {
      authorize(c, 'hosts:read');
      const { name } = c.req.valid('param');
      const host = await requireHosts(c).get(name);
      if (!host) throw new PortalError('PORTAL_NOT_FOUND', `no host ${name}`, { details: { host: name } });
      return c.json(host, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'patch',
      path: '/api/hosts/{name}',
      tags,
      summary: 'Change or rename a host (computer object, reservation, A and PTR follow) — all or nothing',
      security: SECURITY,
      request: { query: NoQuery, params: HostParam, body: jsonBody(HostPatch) },
      responses: { 200: jsonResponse(HostSchema), ...ERRORS, ...STEP_ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'hosts:write');
      const { name } = c.req.valid('param');
      const patch = c.req.valid('json');
      const hosts = requireHosts(c);
      const before = await hosts.get(name);
      const host = await audited(c, actor, { action: 'host.update', target: name, before, after: patch }, () =>
        hosts.update(name, patch),
      );
      return c.json(host, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/hosts/{name}',
      tags,
      summary: 'Delete a host: PTR, A, reservation, then the computer object',
      security: SECURITY,
      request: { query: NoQuery, params: HostParam, body: optionalBody(Empty) },
      responses: { ...NO_CONTENT, ...ERRORS, ...STEP_ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'hosts:write');
      const { name } = c.req.valid('param');
      const hosts = requireHosts(c);
      const before = await hosts.get(name);
      await audited(c, actor, { action: 'host.delete', target: name, before }, () => hosts.remove(name));
      return c.body(null, 204);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/dhcp/leases',
      tags,
      summary: "The DHCP server's leases (Kea or dhcpd lease file), with the host each MAC is reserved as",
      security: SECURITY,
      request: { query: NoQuery },
      responses: { 200: jsonResponse(LeaseSchema.array()), ...ERRORS },
    }),
    async (c) => {
      authorize(c, 'hosts:read');
      return c.json(await requireHosts(c).leases(), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/dhcp/leases/{ip}/reserve',
      tags,
      summary: 'Reserve a leased client as a host (keeps the address outside the pool, else the next free one)',
      security: SECURITY,
      request: { query: NoQuery, params: LeaseParam, body: jsonBody(ReserveLease) },
      responses: { 201: jsonResponse(HostSchema, 'Created'), ...ERRORS, ...STEP_ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'hosts:write');
      const { ip } = c.req.valid('param');
      const input = c.req.valid('json');
      const hosts = requireHosts(c);
      const host = await audited(c, actor, { action: 'host.reserve', target: ip, after: input }, () =>
        hosts.reserveLease({ ip, ...input }),
      );
      return c.json(host, 201);
    },
  );
}

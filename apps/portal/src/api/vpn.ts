import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { audited, authorize, type PortalContext, type PortalEnv, sessionUser } from '../context';
import { PortalError } from '../errors';
import type { VpnBundles } from '../vpn-bundles';
import { ERRORS, jsonBody, jsonResponse, SECURITY } from './helpers';
import { NoQuery, Username } from './schemas';
import { requireUser } from './users';

const Device = z
  .string()
  .regex(/^[A-Za-z0-9._-]{1,63}$/, 'A-Z a-z 0-9 . _ - (at most 63)')
  .openapi({ example: 'laptop' });
const CertificateSchema = z
  .object({
    name: z.string(),
    owner: z.string(),
    device: z.string().nullable(),
    serial: z.string(),
    notAfter: z.string(),
    daysLeft: z.number(),
    expiry: z.enum(['ok', 'expiring', 'expired']),
    pendingDownload: z.boolean(),
  })
  .openapi('VpnCertificate');
const IssuedSchema = z
  .object({ certificate: CertificateSchema, download: z.string(), expiresAt: z.string() })
  .openapi('VpnBundleIssued');
const MyVpnSchema = z.object({ selfService: z.boolean(), certificates: CertificateSchema.array() }).openapi('MyVpn');
const NameParam = z.strictObject({
  name: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/)
    .openapi({ param: { name: 'name', in: 'path' } }),
});
const TokenParam = z.strictObject({
  token: z
    .string()
    .regex(/^[A-Za-z0-9_-]{43}$/)
    .openapi({ param: { name: 'token', in: 'path' } }),
});
const VPN_ERRORS = {
  ...ERRORS,
  502: jsonResponse(z.object({ code: z.string(), message: z.string() }), 'PKI or CRL failed (PORTAL_VPN_FAILED)'),
};

/** The VPN bundles, or PORTAL_NOT_FOUND on a portal without a VPN server. */
export function requireVpnBundles(c: PortalContext): VpnBundles {
  const vpn = c.get('deps').vpnBundles;
  if (!vpn) throw new PortalError('PORTAL_NOT_FOUND', 'this portal issues no VPN bundles');
  return vpn;
}

/** A `mobilusers` member on a portal that allows self-service, or PORTAL_FORBIDDEN. */
function selfServiceUser(c: PortalContext): string {
  const user = sessionUser(c);
  if (!requireVpnBundles(c).selfService || !user.mobile) {
    throw new PortalError('PORTAL_FORBIDDEN', 'VPN self-service is for mobilusers members, when the admin allows it');
  }
  return user.username;
}

/** VPN bundles: the admin's list, issue and revoke; a user's own; the one-time download. */
export function registerVpnRoutes(app: OpenAPIHono<PortalEnv>): void {
  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/vpn/certificates',
      tags: ['vpn'],
      summary: 'Valid VPN client certificates with expiry',
      security: SECURITY,
      request: { query: NoQuery },
      responses: { 200: jsonResponse(CertificateSchema.array()), ...VPN_ERRORS },
    }),
    async (c) => {
      authorize(c, 'vpn:read');
      return c.json(await requireVpnBundles(c).list(), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/vpn/certificates',
      tags: ['vpn'],
      summary: 'Issue a bundle for a user (and device); download it once from `download`',
      security: SECURITY,
      request: { query: NoQuery, body: jsonBody(z.strictObject({ username: Username, device: Device.optional() })) },
      responses: { 201: jsonResponse(IssuedSchema), ...VPN_ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'vpn:write');
      const { username, device } = c.req.valid('json');
      const user = await requireUser(c, username);
      if (!user.enabled)
        throw new PortalError('PORTAL_FORBIDDEN', `${username} is disabled`, { details: { username } });
      const target = device === undefined ? user.username : `${user.username}@${device}`;
      const issued = await audited(c, actor, { action: 'vpn.issue', target }, () =>
        requireVpnBundles(c).issue({ owner: user.username, ...(device ? { device } : {}), issuer: actor }),
      );
      return c.json(issued, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/vpn/certificates/{name}',
      tags: ['vpn'],
      summary: 'Revoke a VPN certificate (the CRL is deployed; no restart)',
      security: SECURITY,
      request: { query: NoQuery, params: NameParam },
      responses: { 200: jsonResponse(CertificateSchema), ...VPN_ERRORS },
    }),
    async (c) => {
      const actor = authorize(c, 'vpn:write');
      const { name } = c.req.valid('param');
      const revoked = await audited(c, actor, { action: 'vpn.revoke', target: name }, () =>
        requireVpnBundles(c).revoke(name),
      );
      return c.json(revoked, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/me/vpn',
      tags: ['vpn'],
      summary: 'My VPN certificates and whether I may issue my own bundle',
      security: SECURITY,
      request: { query: NoQuery },
      responses: { 200: jsonResponse(MyVpnSchema), ...VPN_ERRORS },
    }),
    async (c) => {
      const user = sessionUser(c);
      const vpn = requireVpnBundles(c);
      return c.json({ selfService: vpn.selfService && user.mobile, certificates: await vpn.list(user.username) }, 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/me/vpn',
      tags: ['vpn'],
      summary: 'Issue my own bundle (mobilusers, when the admin allows self-service)',
      security: SECURITY,
      request: { query: NoQuery, body: jsonBody(z.strictObject({ device: Device.optional() })) },
      responses: { 201: jsonResponse(IssuedSchema), ...VPN_ERRORS },
    }),
    async (c) => {
      const user = selfServiceUser(c);
      const { device } = c.req.valid('json');
      const target = device === undefined ? user : `${user}@${device}`;
      const issued = await audited(c, user, { action: 'vpn.issue', target }, () =>
        requireVpnBundles(c).issue({ owner: user, ...(device ? { device } : {}), issuer: user }),
      );
      return c.json(issued, 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/vpn/downloads/{token}',
      tags: ['vpn'],
      summary: 'The `.ovpn` bundle, once, by whoever issued it',
      security: SECURITY,
      request: { query: NoQuery, params: TokenParam },
      responses: {
        200: { content: { 'application/x-openvpn-profile': { schema: z.string() } }, description: 'The bundle' },
        ...VPN_ERRORS,
      },
    }),
    async (c) => {
      const token = c.get('token');
      // The issuer as `audited` and `issue` named them: an admin session, a self-service user or an API token.
      const who = token ? authorize(c, 'vpn:write') : sessionUser(c).username;
      const bundle = requireVpnBundles(c).take(c.req.valid('param').token, who);
      c.get('deps').audit.append({
        actor: who,
        address: c.get('client'),
        action: 'vpn.download',
        target: bundle.name,
        outcome: 'ok',
      });
      c.header('content-type', 'application/x-openvpn-profile');
      c.header('content-disposition', `attachment; filename="${bundle.name.replace('@', '-')}.ovpn"`);
      return c.body(bundle.ovpn, 200);
    },
  );
}

import { createRoute, type OpenAPIHono, z } from '@hono/zod-openapi';
import { type DnsBackend, type DnsRecord, DnsZoneError, normalizeName, parseZone, quoteString } from '@invis/dns-zone';
import { audited, authorize, type PortalContext, type PortalEnv } from '../context';
import { PortalError } from '../errors';
import { portalErrorOf } from '../hosts';
import { ERRORS, jsonBody, jsonResponse, NO_CONTENT, SECURITY } from './helpers';
import { ErrorSchema, NoQuery } from './schemas';

/** Record types the DNS page edits; SOA and NS belong to the zone and stay as setup made them. */
export const EDITABLE_TYPES = ['A', 'AAAA', 'CNAME', 'MX', 'TXT', 'SRV', 'PTR'] as const;
type EditableType = (typeof EDITABLE_TYPES)[number];

const noControl = (s: string): boolean => ![...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
const Zone = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[A-Za-z0-9._-]+$/, 'a zone name')
  .openapi({ param: { name: 'zone', in: 'path' }, example: 'invis-net.loc' });
const RecordInput = z
  .strictObject({
    name: z
      .string()
      .min(1)
      .max(254)
      .regex(/^(@|[A-Za-z0-9_*][A-Za-z0-9._*-]*\.?)$/, '@, a name in the zone, or an absolute name ending in a dot')
      .openapi({ example: 'www' }),
    type: z.enum(EDITABLE_TYPES),
    value: z.string().min(1).max(2048).refine(noControl, 'control characters are not allowed').openapi({
      description: 'RDATA as in a zone file, e.g. `10 mail` for MX, `0 5 443 web` for SRV',
      example: '192.168.220.30',
    }),
    // Coerced: the page's form sends every field as text.
    ttl: z.coerce.number().int().min(0).max(2_147_483_647).optional(),
  })
  .openapi('DnsRecordInput');
const RecordSchema = z
  .object({ name: z.string(), type: z.string(), ttl: z.number(), value: z.string() })
  .openapi('DnsRecord');
const RecordChange = RecordInput.extend({
  newName: RecordInput.shape.name.optional().openapi({ description: 'Default: the same name' }),
  newValue: RecordInput.shape.value,
  newTtl: RecordInput.shape.ttl,
}).openapi('DnsRecordChange', { description: 'The record (name, type, value, ttl) and what it becomes' });

const DNS_ERRORS = {
  422: jsonResponse(ErrorSchema, 'The record is not valid (PORTAL_DNS_INVALID, `details.reason` says why)'),
  502: jsonResponse(ErrorSchema, 'The DNS server or directory refused or failed (PORTAL_DNS_FAILED)'),
};

const dot = (name: string): string => `${name}.`;

/**
 * A record's RDATA in zone-file form (absolute names end in a dot).
 * @param r the record
 * @returns the presentation text
 */
export function rdataText(r: DnsRecord): string {
  switch (r.type) {
    case 'A':
    case 'AAAA':
      return r.address;
    case 'CNAME':
    case 'PTR':
    case 'NS':
      return dot(r.target);
    case 'MX':
      return `${r.preference} ${dot(r.exchange)}`;
    case 'TXT':
      return r.text.map(quoteString).join(' ');
    case 'SRV':
      return `${r.priority} ${r.weight} ${r.port} ${dot(r.target)}`;
    case 'SOA':
      return `${dot(r.mname)} ${dot(r.rname)} ${r.serial} ${r.refresh} ${r.retry} ${r.expire} ${r.minimum}`;
    case 'CAA':
      return `${r.flags} ${r.tag} ${quoteString(r.value)}`;
  }
}

/**
 * Reads one record the way a zone file line is read, relative to `zone` (`@` is the apex; a TXT
 * value without quotes is one string). Anything but exactly one record of the type is refused.
 * @throws PortalError PORTAL_DNS_INVALID with the parser's or model's reason
 */
export function parseRecordInput(zone: string, input: z.infer<typeof RecordInput>): DnsRecord {
  const value = input.type === 'TXT' && !input.value.startsWith('"') ? quoteString(input.value) : input.value;
  const ttl = input.ttl === undefined ? '' : ` ${input.ttl}`;
  let records: DnsRecord[];
  try {
    records = parseZone(`$ORIGIN ${zone}.\n${input.name}${ttl} IN ${input.type} ${value}\n`, {
      origin: zone,
      validate: false,
    }).records;
  } catch (e) {
    throw portalErrorOf(e);
  }
  const [record] = records;
  if (records.length !== 1 || !record || record.type !== input.type) {
    throw portalErrorOf(
      new DnsZoneError('DNS_INVALID_RECORD', `"${input.value}" is not one ${input.type} record`, {
        details: { field: 'value' },
      }),
    );
  }
  return record;
}

const show = (r: DnsRecord) => ({ name: r.name, type: r.type, ttl: r.ttl, value: rdataText(r) });

function requireDns(c: PortalContext): DnsBackend {
  const dns = c.get('deps').dns;
  if (!dns) throw new PortalError('PORTAL_NOT_FOUND', 'this portal manages no DNS zones');
  return dns;
}

/** The zone, if this backend serves it (names compared as DNS does, without case). */
async function requireZone(dns: DnsBackend, zone: string): Promise<string> {
  const wanted = normalizeName(zone);
  const found = (await dns.listZones()).find((z) => normalizeName(z) === wanted);
  if (!found) throw new PortalError('PORTAL_NOT_FOUND', `no zone ${zone}`, { details: { zone } });
  return found;
}

/** Editable records only: the apex SOA/NS are the zone's own. */
const editable = (r: DnsRecord): boolean => (EDITABLE_TYPES as readonly string[]).includes(r.type);

const tags = ['dns'];

/** DNS zones and their A/AAAA/CNAME/MX/TXT/SRV/PTR records. */
export function registerDnsRoutes(app: OpenAPIHono<PortalEnv>): void {
  const ZoneParam = z.object({ zone: Zone });

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/dns/zones',
      tags,
      summary: 'Zones (forward and reverse)',
      security: SECURITY,
      request: { query: NoQuery },
      responses: { 200: jsonResponse(z.array(z.string())), ...ERRORS, ...DNS_ERRORS },
    }),
    async (c) => {
      authorize(c, 'dns:read');
      const zones = await requireDns(c)
        .listZones()
        .catch((e) => Promise.reject(portalErrorOf(e)));
      return c.json([...zones].sort(), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'get',
      path: '/api/dns/zones/{zone}/records',
      tags,
      summary: 'Every record of a zone (RDATA in zone-file form)',
      security: SECURITY,
      request: { query: NoQuery, params: ZoneParam },
      responses: { 200: jsonResponse(RecordSchema.array()), ...ERRORS, ...DNS_ERRORS },
    }),
    async (c) => {
      authorize(c, 'dns:read');
      const dns = requireDns(c);
      const zone = await requireZone(dns, c.req.valid('param').zone);
      const records = await dns.listRecords(zone).catch((e) => Promise.reject(portalErrorOf(e)));
      return c.json(records.map(show), 200);
    },
  );

  const write = async (
    c: PortalContext,
    action: string,
    change: (dns: DnsBackend, zone: string) => Promise<unknown>,
    entry: { target: string; before?: unknown; after?: unknown },
  ): Promise<void> => {
    const actor = authorize(c, 'dns:write');
    const dns = requireDns(c);
    const zone = await requireZone(dns, c.req.param('zone') ?? '');
    await audited(c, actor, { action, ...entry, target: `${entry.target} (${zone})` }, async () => {
      try {
        await change(dns, zone);
      } catch (e) {
        throw portalErrorOf(e);
      }
    });
  };

  app.openapi(
    createRoute({
      method: 'post',
      path: '/api/dns/zones/{zone}/records',
      tags,
      summary: 'Add a record (validated: names, addresses, CNAME exclusivity, MX/SRV targets)',
      security: SECURITY,
      request: { query: NoQuery, params: ZoneParam, body: jsonBody(RecordInput) },
      responses: { 201: jsonResponse(RecordSchema, 'Created'), ...ERRORS, ...DNS_ERRORS },
    }),
    async (c) => {
      const input = c.req.valid('json');
      const zone = await requireZone(requireDns(c), c.req.valid('param').zone);
      const record = parseRecordInput(zone, input);
      await write(c, 'dns.record.add', (dns) => dns.addRecord(zone, record), {
        target: `${record.type} ${record.name}`,
        after: show(record),
      });
      return c.json(show(record), 201);
    },
  );

  app.openapi(
    createRoute({
      method: 'put',
      path: '/api/dns/zones/{zone}/records',
      tags,
      summary: 'Change a record: the given one is replaced by the new name/value/TTL (kept if the new one is refused)',
      security: SECURITY,
      request: { query: NoQuery, params: ZoneParam, body: jsonBody(RecordChange) },
      responses: { 200: jsonResponse(RecordSchema), ...ERRORS, ...DNS_ERRORS },
    }),
    async (c) => {
      const { newName, newValue, newTtl, ...oldInput } = c.req.valid('json');
      const newInput = {
        ...oldInput,
        name: newName ?? oldInput.name,
        value: newValue,
        ...(newTtl === undefined ? {} : { ttl: newTtl }),
      };
      const dns = requireDns(c);
      const zone = await requireZone(dns, c.req.valid('param').zone);
      const before = parseRecordInput(zone, oldInput);
      const after = parseRecordInput(zone, newInput);
      const present = await dns.getRecords(zone, before.name, before.type);
      if (!present.some((r) => rdataText(r) === rdataText(before))) {
        throw new PortalError('PORTAL_NOT_FOUND', `no ${before.type} record ${before.name} ${oldInput.value}`);
      }
      await write(
        c,
        'dns.record.update',
        async () => {
          await dns.deleteRecord(zone, before);
          try {
            await dns.addRecord(zone, after);
          } catch (e) {
            // A refused new record must not cost the old one.
            await dns.addRecord(zone, before);
            throw e;
          }
        },
        { target: `${before.type} ${before.name}`, before: show(before), after: show(after) },
      );
      return c.json(show(after), 200);
    },
  );

  app.openapi(
    createRoute({
      method: 'delete',
      path: '/api/dns/zones/{zone}/records',
      tags,
      summary: 'Delete one record',
      security: SECURITY,
      request: { query: NoQuery, params: ZoneParam, body: jsonBody(RecordInput) },
      responses: { ...NO_CONTENT, ...ERRORS, ...DNS_ERRORS },
    }),
    async (c) => {
      const input = c.req.valid('json');
      const zone = await requireZone(requireDns(c), c.req.valid('param').zone);
      const record = parseRecordInput(zone, input);
      await write(c, 'dns.record.delete', (dns) => dns.deleteRecord(zone, record), {
        target: `${record.type} ${record.name}`,
        before: show(record),
      });
      return c.body(null, 204);
    },
  );
}

/** @returns whether a record is one the DNS page edits (not the zone's SOA/NS). */
export function isEditableRecord(r: DnsRecord): r is DnsRecord & { type: EditableType } {
  return editable(r);
}

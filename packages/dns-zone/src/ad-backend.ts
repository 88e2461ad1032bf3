// AD-integrated zones: dnsZone / dnsNode objects under CN=MicrosoftDNS in the DomainDnsZones
// partition, written over LDAP with @invis/ad-client. Samba's DNS server reads them on every
// query, so a write is served at once (verified against Samba 4.17).
import { type AdChange, type AdClient, type AdEntry, childDn, f, isAdError, rdnValue } from '@invis/ad-client';
import { type AdDnsRecordValue, decodeAdDnsRecord, encodeAdDnsRecord } from './ad-record';
import { type BackendCore, createBackend, type DnsBackend } from './backend';
import { DnsZoneError, isDnsZoneError } from './errors';
import { type DnsRecord, recordKey, type SoaRecord } from './model';
import { normalizeName, relativeName } from './names';

/** The ad-client operations the AD backend uses. */
export type AdDnsClient = Pick<AdClient, 'baseDN' | 'search' | 'get' | 'add' | 'modify' | 'delete'>;

/** Options of {@link createAdBackend}. */
export interface AdBackendOptions {
  /** A connected (or lazily connecting) client bound as an account that may write DNS objects. */
  client: AdDnsClient;
  /** Application partition (default `DC=DomainDnsZones,<baseDN>`). */
  partitionDN?: string;
  /** TTL for records given without one (default 900, as samba-tool uses). */
  defaultTtl?: number;
}

interface Node {
  exists: boolean;
  tombstoned: boolean;
  values: AdDnsRecordValue[];
  raw: Buffer[];
}

/** Zone objects that are not zones (root hints, trust anchors, in-progress markers). */
const NOT_A_ZONE = /^(rootdnsservers|\.\..*)$/i;

// DNS_PROPERTY values samba-tool writes on a new primary zone (MS-DNSP 2.3.2.1):
// type primary, secure updates only, aging intervals 168 h, aging off.
const ZONE_PROPERTIES: readonly [number, Buffer][] = [
  [0x01, u32le(1)],
  [0x02, Buffer.from([2])],
  [0x08, Buffer.alloc(8)],
  [0x10, u32le(168)],
  [0x20, u32le(168)],
  [0x40, u32le(0)],
  [0x12, u32le(0)],
];

function u32le(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

function dnsProperty(id: number, data: Buffer): Buffer {
  const head = Buffer.alloc(20);
  head.writeUInt32LE(data.length, 0);
  head.writeUInt32LE(1, 12); // version
  head.writeUInt32LE(id, 16);
  return Buffer.concat([head, data, Buffer.alloc(4)]);
}

/** How long the apex this backend wrote stands in for a read of it. */
const APEX_KEEP_MS = 5000;

async function ad<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof DnsZoneError) throw error;
    throw new DnsZoneError('DNS_AD_FAILED', `${what}: ${(error as Error).message}`, {
      cause: error,
      details: isAdError(error) ? { adCode: error.code } : {},
    });
  }
}

/** LDAP results that mean "someone else changed this node since we read it". */
const CONFLICTS = new Set(['AD_NO_SUCH_ATTRIBUTE', 'AD_VALUE_EXISTS', 'AD_ENTRY_EXISTS', 'AD_NO_SUCH_OBJECT']);

async function write(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await ad(what, fn);
  } catch (error) {
    const adCode = isDnsZoneError(error) ? error.details.adCode : undefined;
    if (typeof adCode !== 'string' || !CONFLICTS.has(adCode)) throw error;
    throw new DnsZoneError('DNS_PREREQUISITE_FAILED', `${what}: the node changed concurrently; read it again`, {
      cause: error,
      details: { adCode },
    });
  }
}

/**
 * A {@link DnsBackend} on AD-integrated zones. Each write stores the complete record set of a
 * dnsNode (unknown record types on the node are kept), stamps it with the next zone serial and
 * then raises the SOA serial; an emptied node is deleted (as samba-tool does); tombstoned
 * nodes read as empty and are revived on write. CAA cannot be stored (not in MS-DNSP).
 *
 * @param options ad-client instance and partition
 * @returns the backend
 * @example
 * const ad = createAdClient({ url: 'ldaps://dc1.invis.test', upn: 'ldap.admin@invis.test', password, ca });
 * const dns = createAdBackend({ client: ad });
 * await dns.addRecord('invis.test', { name: 'nas.invis.test', type: 'A', address: '10.0.0.20' }, { ptr: true });
 */
export function createAdBackend(options: AdBackendOptions): DnsBackend {
  const { client } = options;
  let container: Promise<string> | undefined;
  const containerDn = (): Promise<string> => {
    container ??= ad('reading the naming context', async () => {
      return `CN=MicrosoftDNS,${options.partitionDN ?? `DC=DomainDnsZones,${await client.baseDN()}`}`;
    }).catch((error: unknown) => {
      container = undefined; // retry on the next call (DC not reachable yet)
      throw error;
    });
    return container;
  };
  const zoneDn = async (zone: string): Promise<string> => childDn(await containerDn(), zone, 'DC');
  const nodeDn = async (zone: string, name: string): Promise<string> =>
    childDn(await zoneDn(zone), relativeName(name, zone), 'DC');

  async function readNode(zone: string, name: string): Promise<Node> {
    const dn = await nodeDn(zone, name);
    const entry = await ad(`reading ${dn}`, () => client.get(dn, ['dnsRecord', 'dNSTombstoned'], ['dnsRecord']));
    return entry ? toNode(entry, name) : { exists: false, tombstoned: false, values: [], raw: [] };
  }

  function toNode(entry: AdEntry, name: string): Node {
    const raw = entry.getBuffers('dnsRecord');
    const values = raw.map((v) => decodeAdDnsRecord(v, name));
    const tombstoned = entry.getBoolean('dNSTombstoned') === true || values.some((v) => v.kind === 'tombstone');
    return { exists: true, tombstoned, values, raw };
  }

  const recordsOf = (node: Node): DnsRecord[] =>
    node.tombstoned ? [] : node.values.flatMap((v) => (v.kind === 'record' ? [v.record] : []));

  /** Unmodelled values on a live node, written back unchanged. */
  const keptRaw = (node: Node): Buffer[] =>
    node.tombstoned ? [] : node.raw.filter((_, i) => node.values[i]?.kind === 'unsupported');

  /**
   * Writes a node's new value list as value-level changes (delete the values that went, add the
   * new ones) in one modify, so a concurrent writer's values survive and a value removed under
   * us fails the modify instead of being resurrected.
   */
  async function storeNode(zone: string, name: string, node: Node, values: Buffer[]): Promise<void> {
    const dn = await nodeDn(zone, name);
    if (!node.exists) {
      if (values.length)
        await write(`adding ${dn}`, () => client.add(dn, { objectClass: ['top', 'dnsNode'], dnsRecord: values }));
      return;
    }
    if (values.length === 0) {
      await write(`deleting ${dn}`, () => client.delete(dn));
      return;
    }
    const removed = node.raw.filter((v) => !values.some((w) => w.equals(v)));
    const added = values.filter((v) => !node.raw.some((w) => w.equals(v)));
    const changes: AdChange[] = [
      ...(removed.length ? [{ operation: 'delete' as const, attribute: 'dnsRecord', values: removed }] : []),
      ...(added.length ? [{ operation: 'add' as const, attribute: 'dnsRecord', values: added }] : []),
      ...(node.tombstoned ? [{ operation: 'replace' as const, attribute: 'dNSTombstoned', values: 'FALSE' }] : []),
    ];
    if (changes.length) await write(`updating ${dn}`, () => client.modify(dn, changes));
  }

  /** New value list: unchanged records keep their stored bytes (and serial), new ones get `serial`. */
  function valuesFor(node: Node, records: readonly DnsRecord[], serial: number): Buffer[] {
    const stored = new Map<string, Buffer>();
    node.values.forEach((v, i) => {
      if (!node.tombstoned && v.kind === 'record')
        stored.set(`${recordKey(v.record)}/${v.record.ttl}`, node.raw[i] as Buffer);
    });
    return [
      ...records.map((r) => stored.get(`${recordKey(r)}/${r.ttl}`) ?? encodeAdDnsRecord(r, { serial })),
      ...keptRaw(node),
    ];
  }

  const soaOf = (node: Node): { soa: SoaRecord; index: number } | undefined => {
    const index = node.values.findIndex((v) => !node.tombstoned && v.kind === 'record' && v.record.type === 'SOA');
    const value = node.values[index];
    return value?.kind === 'record' ? { soa: value.record as SoaRecord, index } : undefined;
  };
  const next = (serial: number): number => (serial + 1) % 0x100000000 || 1;

  // The apex as this backend last wrote it, so the next change's serial raise need not read it
  // again. If someone else changed it meanwhile (a dynamic update raises the serial too), the
  // value-level modify fails as a conflict and bumpSerial reads it again: a stale copy costs one
  // refused modify and never loses a change. Its serial also stamps the new records (cosmetic).
  const writtenApex = new Map<string, { node: Node; at: number }>();
  const keptApex = (zone: string): Node | undefined => {
    const kept = writtenApex.get(zone);
    return kept && Date.now() - kept.at < APEX_KEEP_MS ? kept.node : undefined;
  };

  /**
   * Raises the zone serial; a concurrent raise makes the value-level modify fail, so retry with a
   * fresh read. `read` is an apex read the caller has just made (the first attempt uses it).
   */
  async function bumpSerial(zone: string, read?: Node): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const apex = attempt === 1 && read ? read : await readNode(zone, zone);
      const found = soaOf(apex);
      if (!found) return;
      const serial = next(found.soa.serial);
      const raw = [...apex.raw];
      raw[found.index] = encodeAdDnsRecord({ ...found.soa, serial }, { serial });
      try {
        await storeNode(zone, zone, apex, raw);
        writtenApex.set(zone, {
          node: { ...apex, raw, values: raw.map((v) => decodeAdDnsRecord(v, zone)) },
          at: Date.now(),
        });
        return;
      } catch (error) {
        writtenApex.delete(zone);
        if (attempt >= 5 || !(error instanceof DnsZoneError && error.code === 'DNS_PREREQUISITE_FAILED')) throw error;
      }
    }
  }

  // What readName read, for the writeName of the same change (no second read of the node).
  const readNodes = new WeakMap<readonly DnsRecord[], Node>();
  const core: BackendCore = {
    async listZones() {
      const entries = await ad('listing zones', async () =>
        client.search({
          base: await containerDn(),
          scope: 'one',
          filter: f.eq('objectClass', 'dnsZone'),
          attributes: ['dc'],
        }),
      );
      return entries
        .map((e) => rdnValue(e.dn))
        .filter((z) => !NOT_A_ZONE.test(z))
        .map(normalizeName);
    },
    async readZone(zone) {
      const entries = await ad(`listing zone ${zone}`, async () =>
        client.search({
          base: await zoneDn(zone),
          scope: 'one',
          filter: f.eq('objectClass', 'dnsNode'),
          attributes: ['dnsRecord', 'dNSTombstoned'],
          binaryAttributes: ['dnsRecord'],
        }),
      );
      const records = entries.flatMap((entry) => {
        const label = rdnValue(entry.dn).toLowerCase();
        return recordsOf(toNode(entry, label === '@' ? zone : `${label}.${zone}`));
      });
      return [...records.filter((r) => r.type === 'SOA'), ...records.filter((r) => r.type !== 'SOA')];
    },
    async readName(zone, name) {
      const node = await readNode(zone, name);
      const records = recordsOf(node);
      readNodes.set(records, node);
      return records;
    },
    async writeName(zone, name, before, after) {
      const apex = (name === zone ? undefined : keptApex(zone)) ?? (await readNode(zone, zone));
      const serial = next(soaOf(apex)?.soa.serial ?? 0);
      if (name === zone) {
        writtenApex.delete(zone);
        const records = after.map((r) => (r.type === 'SOA' ? { ...r, serial } : r));
        await storeNode(zone, name, apex, valuesFor(apex, records, serial));
        return;
      }
      // The node as the caller's readName found it: the value-level modify fails if it changed since.
      const node = readNodes.get(before) ?? (await readNode(zone, name));
      await storeNode(zone, name, node, valuesFor(node, after, serial));
      // Raise the zone serial after the data is in place, so secondaries fetch the new state.
      await bumpSerial(zone, apex);
    },
    async createZone(zone) {
      const domain = normalizeName(
        (await ad('reading the naming context', () => client.baseDN()))
          .split(',')
          .map((p) => p.replace(/^DC=/i, ''))
          .join('.'),
      );
      const template = recordsOf(await readNode(domain, domain));
      const soa = template.find((r): r is SoaRecord => r.type === 'SOA');
      if (!soa)
        throw new DnsZoneError('DNS_ZONE_NOT_FOUND', `no SOA in the domain zone ${domain} to copy`, {
          details: { zone: domain },
        });
      const dn = await zoneDn(zone);
      await ad(`adding zone ${dn}`, () =>
        client.add(dn, {
          objectClass: ['top', 'dnsZone'],
          dNSProperty: ZONE_PROPERTIES.map(([id, data]) => dnsProperty(id, data)),
        }),
      );
      const apexRecords: DnsRecord[] = [
        { ...soa, name: zone, serial: 1 },
        ...template.filter((r) => r.type === 'NS').map((r) => ({ ...r, name: zone })),
      ];
      await storeNode(
        zone,
        zone,
        { exists: false, tombstoned: false, values: [], raw: [] },
        apexRecords.map((r) => encodeAdDnsRecord(r, { serial: 1 })),
      );
    },
  };
  return createBackend(core, options.defaultTtl ?? 900);
}

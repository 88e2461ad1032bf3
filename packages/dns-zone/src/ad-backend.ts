// AD-integrated zones: dnsZone / dnsNode objects under CN=MicrosoftDNS in the DomainDnsZones
// partition, written over LDAP with @invis/ad-client. Samba's DNS server reads them on every
// query, so a write is served at once (verified against Samba 4.17).
import { type AdClient, type AdEntry, childDn, f, isAdError, rdnValue } from '@invis/ad-client';
import { type AdDnsRecordValue, decodeAdDnsRecord, encodeAdDnsRecord } from './ad-record';
import { type BackendCore, createBackend, type DnsBackend } from './backend';
import { DnsZoneError } from './errors';
import type { DnsRecord, SoaRecord } from './model';
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

async function ad<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof DnsZoneError) throw error;
    const adCode = isAdError(error) ? error.code : undefined;
    throw new DnsZoneError('DNS_AD_FAILED', `${what}: ${(error as Error).message}`, { cause: error, data: { adCode } });
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
    container ??= (async () =>
      `CN=MicrosoftDNS,${options.partitionDN ?? `DC=DomainDnsZones,${await client.baseDN()}`}`)();
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

  async function storeNode(zone: string, name: string, node: Node, values: Buffer[]): Promise<void> {
    const dn = await nodeDn(zone, name);
    if (!node.exists) {
      if (values.length)
        await ad(`adding ${dn}`, () => client.add(dn, { objectClass: ['top', 'dnsNode'], dnsRecord: values }));
      return;
    }
    if (values.length === 0) {
      await ad(`deleting ${dn}`, () => client.delete(dn));
      return;
    }
    await ad(`updating ${dn}`, () =>
      client.modify(dn, [
        { operation: 'replace', attribute: 'dnsRecord', values },
        ...(node.tombstoned ? [{ operation: 'replace' as const, attribute: 'dNSTombstoned', values: 'FALSE' }] : []),
      ]),
    );
  }

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
      return recordsOf(await readNode(zone, name));
    },
    async writeName(zone, name, _before, after) {
      const apex = await readNode(zone, zone);
      const soaIndex = apex.values.findIndex((v) => v.kind === 'record' && v.record.type === 'SOA');
      const soaValue = apex.values[soaIndex];
      const soa = soaValue?.kind === 'record' ? (soaValue.record as SoaRecord) : undefined;
      const serial = soa ? (soa.serial + 1) % 0x100000000 || 1 : 1;
      const withSerial = (records: readonly DnsRecord[]): DnsRecord[] =>
        records.map((r) => (r.type === 'SOA' ? { ...r, serial } : r));
      if (name === zone) {
        await storeNode(zone, name, apex, [
          ...withSerial(after).map((r) => encodeAdDnsRecord(r, { serial })),
          ...keptRaw(apex),
        ]);
        return;
      }
      const node = await readNode(zone, name);
      await storeNode(zone, name, node, [...after.map((r) => encodeAdDnsRecord(r, { serial })), ...keptRaw(node)]);
      if (soa) {
        // Raise the zone serial after the data is in place, so secondaries fetch the new state.
        const raw = [...apex.raw];
        raw[soaIndex] = encodeAdDnsRecord({ ...soa, serial }, { serial });
        await storeNode(zone, zone, apex, raw);
      }
    },
    async createZone(zone) {
      const domain = normalizeName(
        (await client.baseDN())
          .split(',')
          .map((p) => p.replace(/^DC=/i, ''))
          .join('.'),
      );
      const template = recordsOf(await readNode(domain, domain));
      const soa = template.find((r): r is SoaRecord => r.type === 'SOA');
      if (!soa)
        throw new DnsZoneError('DNS_ZONE_NOT_FOUND', `no SOA in the domain zone ${domain} to copy`, {
          data: { zone: domain },
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

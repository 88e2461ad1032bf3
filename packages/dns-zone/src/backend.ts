// One interface over every place DNS data lives (AD, RFC 2136 server, zone files). Backends
// implement a small core (read and write all records at one name); the shared layer adds
// validation, CNAME rules, zone checks and automatic PTR records.
import type { RecordType } from './constants';
import { DnsZoneError } from './errors';
import { assertCnameRules, type DnsRecord, type DnsRecordInput, normalizeRecord, recordKey } from './model';
import { isInZone, normalizeName } from './names';
import { ptrName, reverseZonesForCidr } from './reverse';

/** Options of {@link DnsBackend.addRecord} and {@link DnsBackend.deleteRecord}. */
export interface PtrOptions {
  /** For A/AAAA: also maintain the PTR record in the matching reverse zone. */
  ptr?: boolean;
}

/** The operations every backend offers; names are absolute. */
export interface DnsBackend {
  /** Zones this backend manages. */
  listZones(): Promise<string[]>;
  /**
   * The managed zone that holds `name` (the longest one), or undefined. Answered from the zone
   * list a change's zone check keeps for a few seconds; read again when no kept zone holds it.
   */
  findZone(name: string): Promise<string | undefined>;
  /** Every record of a zone (SOA first where the storage has an order). */
  listRecords(zone: string): Promise<DnsRecord[]>;
  /** Records at one name (all types, or one type). */
  getRecords(zone: string, name: string, type?: RecordType): Promise<DnsRecord[]>;
  /** Adds one record (no-op if it exists; a different TTL updates it). */
  addRecord(zone: string, record: DnsRecordInput, options?: PtrOptions): Promise<void>;
  /** Replaces the RRset `name`/`type` with `records` (empty = delete it). */
  replaceRecords(zone: string, name: string, type: RecordType, records: readonly DnsRecordInput[]): Promise<void>;
  /**
   * Replaces the RRset `name`/`type` with what `edit` makes of the current one, reading it once
   * (a read-then-replace in one step; the caller keeps the answer to put it back).
   * @returns the RRset as it was before
   */
  editRecords(
    zone: string,
    name: string,
    type: RecordType,
    edit: (current: DnsRecord[]) => readonly DnsRecordInput[],
  ): Promise<DnsRecord[]>;
  /** Deletes one record (no-op if absent). */
  deleteRecord(zone: string, record: DnsRecordInput, options?: PtrOptions): Promise<void>;
  /** Deletes the RRset of `type` at `name`, or every record at `name`. */
  deleteRecords(zone: string, name: string, type?: RecordType): Promise<void>;
  /** Ensures the reverse zone(s) for a network exist; returns their names. */
  createReverseZone(cidr: string): Promise<string[]>;
}

/** What a backend implements; see {@link createBackend}. */
export interface BackendCore {
  listZones(): Promise<string[]>;
  /** Every record of the zone. */
  readZone(zone: string): Promise<DnsRecord[]>;
  /** Every record stored at `name` (normalised). */
  readName(zone: string, name: string): Promise<DnsRecord[]>;
  /** Stores `after` as the complete record set at `name` (`before` is what readName returned). */
  writeName(zone: string, name: string, before: readonly DnsRecord[], after: readonly DnsRecord[]): Promise<void>;
  /** Creates a reverse zone (SOA + NS); called only when the zone is not listed. */
  createZone(zone: string): Promise<void>;
}

/** How long the list of managed zones serves the zone check of a change. */
const ZONE_LIST_TTL_MS = 5000;

const sameSet = (a: readonly DnsRecord[], b: readonly DnsRecord[]): boolean => {
  const key = (r: DnsRecord): string => `${recordKey(r)}/${r.ttl}`;
  const left = new Set(a.map(key));
  return a.length === b.length && b.every((r) => left.has(key(r)));
};

/**
 * Builds a {@link DnsBackend} from a core: validates names and records, checks the zone and
 * CNAME rules before writing (nothing is written on a violation), skips no-op writes, and
 * adds/removes PTR records on request.
 *
 * @param core the storage-specific part
 * @param defaultTtl TTL for records without one
 * @returns the backend
 */
export function createBackend(core: BackendCore, defaultTtl = 3600): DnsBackend {
  // Zones come and go rarely, while every change checks its zone: the list is read again when a
  // zone is not in it or it is older than ZONE_LIST_TTL_MS (a zone removed meanwhile fails the write).
  let zoneList: { zones: string[]; readAt: number } | null = null;
  /** The kept zone list if it is fresh and `found` accepts it, else a new one. */
  async function managedZones(found: (zones: string[]) => boolean): Promise<string[]> {
    if (zoneList && Date.now() - zoneList.readAt < ZONE_LIST_TTL_MS && found(zoneList.zones)) return zoneList.zones;
    zoneList = { zones: await core.listZones(), readAt: Date.now() };
    return zoneList.zones;
  }
  const longestHolding = (name: string, zones: string[]): string | undefined =>
    zones.filter((z) => isInZone(name, z)).sort((a, b) => b.length - a.length)[0];

  async function zoneOf(zone: string, name: string): Promise<{ zone: string; name: string }> {
    const z = normalizeName(zone);
    const n = normalizeName(name);
    if (!(await managedZones((zones) => zones.includes(z))).includes(z)) {
      throw new DnsZoneError('DNS_ZONE_NOT_FOUND', `zone ${z} is not managed by this backend`, {
        details: { zone: z },
      });
    }
    if (!isInZone(n, z))
      throw new DnsZoneError('DNS_OUT_OF_ZONE', `${n} is not inside zone ${z}`, { details: { name: n, zone: z } });
    return { zone: z, name: n };
  }

  async function change(zone: string, name: string, edit: (current: DnsRecord[]) => DnsRecord[]): Promise<void> {
    const at = await zoneOf(zone, name);
    const before = await core.readName(at.zone, at.name);
    const after = edit(before);
    if (after.some((r) => r.name !== at.name))
      throw new DnsZoneError('DNS_INVALID_RECORD', `records must be owned by ${at.name}`);
    assertCnameRules(after);
    for (const r of after) {
      const target = r.type === 'MX' ? r.exchange : r.type === 'SRV' ? r.target : undefined;
      if (target !== undefined && isInZone(target, at.zone) && target !== at.name) {
        if ((await core.readName(at.zone, target)).some((t) => t.type === 'CNAME')) {
          throw new DnsZoneError('DNS_TARGET_IS_CNAME', `${r.type} target ${target} of ${r.name} is a CNAME`, {
            details: { name: r.name, target },
          });
        }
      }
    }
    if (!sameSet(before, after)) await core.writeName(at.zone, at.name, before, after);
  }

  async function reverseZoneFor(address: string): Promise<{ zone: string; name: string }> {
    const name = ptrName(address);
    const zone = await backend.findZone(name);
    if (!zone)
      throw new DnsZoneError('DNS_ZONE_NOT_FOUND', `no reverse zone for ${address}`, { details: { address, name } });
    return { zone, name };
  }

  const without = (records: DnsRecord[], r: DnsRecord): DnsRecord[] =>
    records.filter((x) => recordKey(x) !== recordKey(r));

  const backend: DnsBackend = {
    listZones: () => core.listZones(),
    async findZone(name) {
      const n = normalizeName(name);
      return longestHolding(n, await managedZones((zones) => longestHolding(n, zones) !== undefined));
    },
    async listRecords(zone) {
      const at = await zoneOf(zone, zone);
      return core.readZone(at.zone);
    },
    async getRecords(zone, name, type) {
      const at = await zoneOf(zone, name);
      const records = await core.readName(at.zone, at.name);
      return type ? records.filter((r) => r.type === type) : records;
    },
    async addRecord(zone, input, options = {}) {
      const record = normalizeRecord(input, defaultTtl);
      await change(zone, record.name, (current) => [...without(current, record), record]);
      if (options.ptr && (record.type === 'A' || record.type === 'AAAA')) {
        const reverse = await reverseZoneFor(record.address);
        await backend.replaceRecords(reverse.zone, reverse.name, 'PTR', [
          { name: reverse.name, ttl: record.ttl, type: 'PTR', target: record.name },
        ]);
      }
    },
    async replaceRecords(zone, name, type, inputs) {
      await backend.editRecords(zone, name, type, () => inputs);
    },
    async editRecords(zone, name, type, edit) {
      let before: DnsRecord[] = [];
      await change(zone, name, (current) => {
        before = current.filter((r) => r.type === type);
        const records = edit(before).map((i) => normalizeRecord(i, defaultTtl));
        if (records.some((r) => r.type !== type))
          throw new DnsZoneError('DNS_INVALID_RECORD', `replaceRecords(${type}) got another type`);
        return [...current.filter((r) => r.type !== type), ...records];
      });
      return before;
    },
    async deleteRecord(zone, input, options = {}) {
      const record = normalizeRecord(input, defaultTtl);
      await change(zone, record.name, (current) => without(current, record));
      if (options.ptr && (record.type === 'A' || record.type === 'AAAA')) {
        const reverse = await reverseZoneFor(record.address);
        await change(reverse.zone, reverse.name, (current) =>
          current.filter((r) => !(r.type === 'PTR' && r.target === record.name)),
        );
      }
    },
    async deleteRecords(zone, name, type) {
      await change(zone, name, (current) => (type ? current.filter((r) => r.type !== type) : []));
    },
    async createReverseZone(cidr) {
      const zones = reverseZonesForCidr(cidr);
      const existing = await core.listZones();
      for (const z of zones) if (!existing.includes(z)) await core.createZone(z);
      zoneList = null;
      return zones;
    },
  };
  return backend;
}

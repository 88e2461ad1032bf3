import { type BackendCore, createBackend, type DnsBackend } from './backend';
import { DnsZoneError } from './errors';
import { type DnsRecord, recordKey } from './model';
import { normalizeName } from './names';
import { createDnsUpdateClient, type DnsUpdateClientOptions } from './update-client';
import type { Prerequisite, UpdateOperation } from './wire';

/** Options of {@link createRfc2136Backend}. */
export interface Rfc2136BackendOptions extends DnsUpdateClientOptions {
  /** Zones the server is primary for and the key may update. */
  zones: readonly string[];
  /** TTL for records given without one (default 3600). */
  defaultTtl?: number;
}

/**
 * A {@link DnsBackend} that reads with queries (and AXFR for whole zones) and writes with TSIG-signed RFC 2136 updates
 * (one atomic UPDATE per change, guarded by prerequisites so a concurrent change is detected
 * as `DNS_PREREQUISITE_FAILED` instead of being overwritten) to any server, e.g. BIND 9. Zones cannot be created over
 * DNS: `createReverseZone` only succeeds for zones the server already serves.
 *
 * @param options server, key, zones
 * @returns the backend
 * @example
 * const dns = createRfc2136Backend({ server: '127.0.0.1', key, zones: ['dyn.invis.test'] });
 * await dns.addRecord('dyn.invis.test', { name: 'gw.dyn.invis.test', ttl: 60, type: 'A', address: '192.0.2.1' });
 */
export function createRfc2136Backend(options: Rfc2136BackendOptions): DnsBackend {
  const client = createDnsUpdateClient(options);
  const zones = options.zones.map(normalizeName);
  const core: BackendCore = {
    async listZones() {
      return zones;
    },
    async readZone(zone) {
      return client.transfer(zone);
    },
    async readName(_zone, name) {
      const { records } = await client.query(name, 'ANY');
      return records.filter((r) => r.name === name);
    },
    async writeName(zone, name, before, after) {
      const withTtl = (r: DnsRecord): string => `${recordKey(r)}/${r.ttl}`;
      const had = new Set(before.map(withTtl));
      const stays = new Set(after.map(recordKey));
      // One UPDATE: removed records, then new ones (a changed TTL is an add of the same data).
      const updates: UpdateOperation[] = [
        ...before.filter((r) => !stays.has(recordKey(r))).map((record) => ({ op: 'deleteRecord' as const, record })),
        ...after.filter((r) => !had.has(withTtl(r))).map((record) => ({ op: 'add' as const, record })),
      ];
      // Optimistic concurrency: the RRsets we read must still be exactly what the server has
      // (SOA excluded: every update raises its serial), and RRsets we create must not exist yet.
      const readTypes = new Set(before.map((r) => r.type));
      const prerequisites: Prerequisite[] = [
        ...before
          .filter((r) => r.type !== 'SOA')
          .map((r) => ({ kind: 'recordExists' as const, record: { ...r, ttl: 0 } })),
        ...[...new Set(after.map((r) => r.type))]
          .filter((type) => !readTypes.has(type))
          .map((type) => ({ kind: 'rrsetNotExists' as const, name, type })),
      ];
      await client.update({ zone, prerequisites, updates });
    },
    async createZone(zone) {
      throw new DnsZoneError(
        'DNS_UNSUPPORTED',
        `zone ${zone} must be configured on the server; RFC 2136 cannot create zones`,
        {
          details: { zone },
        },
      );
    },
  };
  return createBackend(core, options.defaultTtl);
}

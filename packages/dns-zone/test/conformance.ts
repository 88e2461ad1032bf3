// One conformance suite for every DnsBackend (AD, RFC 2136/BIND, zone files).

import { randomBytes } from 'node:crypto';
import { createExecaRunner, runChecked } from '@invis/host';
import { describe, expect, it } from 'vitest';
import { type DnsBackend, type DnsRecord, normalizeRecord, ptrName, type RecordType } from '../src/index';

/** What the suite needs from one backend. */
export interface ConformanceTarget {
  backend: DnsBackend;
  /** An existing forward zone. */
  zone: string;
  /** A network whose reverse zone `createReverseZone` can provide. */
  reverseCidr: string;
  /** An address inside `reverseCidr`. */
  reverseAddress: string;
  supportsCaa: boolean;
  /** DNS server that serves the backend's data, checked with `dig`; absent for zone files. */
  server?: { address: string; port: number };
}

/** `dig +short` answers from the real server, sorted. */
export async function dig(
  server: { address: string; port: number },
  name: string,
  type: RecordType,
): Promise<string[]> {
  const { stdout } = await runChecked(createExecaRunner(), 'dig', [
    '+short',
    '+norecurse',
    '+tries=1',
    `@${server.address}`,
    '-p',
    String(server.port),
    name,
    type,
  ]);
  return stdout.split('\n').filter(Boolean).sort();
}

const sortRecords = (records: DnsRecord[]): DnsRecord[] =>
  [...records].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

/** Registers the suite; `target` is called lazily inside the tests. */
export function describeConformance(label: string, target: () => ConformanceTarget | Promise<ConformanceTarget>): void {
  const unique = (prefix: string): string => `${prefix}-${randomBytes(3).toString('hex')}`;

  describe(`conformance: ${label}`, () => {
    it('lists its zones', async () => {
      const t = await target();
      expect(await t.backend.listZones()).toContain(t.zone);
      expect(await t.backend.findZone(`Host.Sub.${t.zone}`)).toBe(t.zone);
      expect(await t.backend.findZone('host.not-managed.example')).toBeUndefined();
    });

    it('adds, reads and serves every record type', async () => {
      const t = await target();
      const host = `${unique('host')}.${t.zone}`;
      const name = `${unique('all')}.${t.zone}`;
      await t.backend.addRecord(t.zone, { name: host, ttl: 300, type: 'A', address: '10.9.8.7' });
      const records = [
        normalizeRecord({ name, ttl: 300, type: 'A', address: '10.9.8.1' }),
        normalizeRecord({ name, ttl: 300, type: 'AAAA', address: '2001:db8::7' }),
        normalizeRecord({ name, ttl: 300, type: 'TXT', text: ['v=spf1 mx -all', 'say "hi"; ok'] }),
        normalizeRecord({ name, ttl: 300, type: 'MX', preference: 10, exchange: host }),
        ...(t.supportsCaa
          ? [normalizeRecord({ name, ttl: 300, type: 'CAA', flags: 0, tag: 'issue', value: 'letsencrypt.org' })]
          : []),
      ];
      const srvName = `_ldap._tcp.${unique('srv')}.${t.zone}`;
      const srv = normalizeRecord({
        name: srvName,
        ttl: 300,
        type: 'SRV',
        priority: 0,
        weight: 100,
        port: 389,
        target: host,
      });
      for (const r of records) await t.backend.addRecord(t.zone, r);
      await t.backend.addRecord(t.zone, srv);
      expect(sortRecords(await t.backend.getRecords(t.zone, name))).toEqual(sortRecords(records));
      expect(await t.backend.getRecords(t.zone, name, 'MX')).toEqual([records[3]]);
      expect(await t.backend.getRecords(t.zone, srvName)).toEqual([srv]);
      if (t.server) {
        expect(await dig(t.server, name, 'A')).toEqual(['10.9.8.1']);
        expect(await dig(t.server, name, 'TXT')).toEqual(['"v=spf1 mx -all" "say \\"hi\\"; ok"']);
        expect(await dig(t.server, name, 'MX')).toEqual([`10 ${host}.`]);
        expect(await dig(t.server, srvName, 'SRV')).toEqual([`0 100 389 ${host}.`]);
      }
    });

    it('lists every record of the zone, SOA first', async () => {
      const t = await target();
      const name = `${unique('list')}.${t.zone}`;
      const record = normalizeRecord({ name, ttl: 60, type: 'TXT', text: ['listed'] });
      await t.backend.addRecord(t.zone, record);
      const all = await t.backend.listRecords(t.zone);
      expect(all[0]?.type).toBe('SOA');
      expect(all.filter((r) => r.type === 'SOA')).toHaveLength(1);
      expect(all).toContainEqual(record);
      expect(all.some((r) => r.type === 'NS' && r.name === t.zone)).toBe(true);
    });

    it('edits an RRset from its current records in one step and answers what was there', async () => {
      const t = await target();
      const name = `${unique('edit')}.${t.zone}`;
      const txt = (text: string) => normalizeRecord({ name, ttl: 60, type: 'TXT', text: [text] });
      await t.backend.addRecord(t.zone, txt('one'));
      await t.backend.addRecord(t.zone, normalizeRecord({ name, ttl: 60, type: 'A', address: '10.1.2.1' }));
      const seen: unknown[] = [];
      const before = await t.backend.editRecords(t.zone, name, 'TXT', (current) => {
        seen.push(...current);
        return [...current, txt('two')];
      });
      expect(before).toEqual([txt('one')]);
      expect(seen).toEqual([txt('one')]);
      expect(sortRecords(await t.backend.getRecords(t.zone, name, 'TXT'))).toEqual(
        sortRecords([txt('one'), txt('two')]),
      );
      // other types at the name stay; a record of another type is refused before anything is written
      expect(await t.backend.getRecords(t.zone, name, 'A')).toHaveLength(1);
      await expect(
        t.backend.editRecords(t.zone, name, 'TXT', () => [{ name, ttl: 60, type: 'A', address: '10.1.2.2' }]),
      ).rejects.toMatchObject({ code: 'DNS_INVALID_RECORD' });
      expect(await t.backend.getRecords(t.zone, name, 'TXT')).toHaveLength(2);
      await t.backend.deleteRecords(t.zone, name);
    });

    it('replaces RRsets and deletes records and names', async () => {
      const t = await target();
      const name = `${unique('rr')}.${t.zone}`;
      const a = (address: string) => normalizeRecord({ name, ttl: 60, type: 'A', address });
      await t.backend.addRecord(t.zone, a('10.1.1.1'));
      await t.backend.addRecord(t.zone, a('10.1.1.2'));
      await t.backend.addRecord(t.zone, a('10.1.1.2')); // idempotent
      await t.backend.addRecord(t.zone, { name, ttl: 60, type: 'TXT', text: ['keep'] });
      expect(await t.backend.getRecords(t.zone, name, 'A')).toHaveLength(2);
      await t.backend.replaceRecords(t.zone, name, 'A', [a('10.1.1.3')]);
      expect(await t.backend.getRecords(t.zone, name, 'A')).toEqual([a('10.1.1.3')]);
      if (t.server) expect(await dig(t.server, name, 'A')).toEqual(['10.1.1.3']);
      await t.backend.deleteRecord(t.zone, a('10.1.1.3'));
      expect(await t.backend.getRecords(t.zone, name, 'A')).toEqual([]);
      expect(await t.backend.getRecords(t.zone, name, 'TXT')).toHaveLength(1);
      await t.backend.deleteRecords(t.zone, name);
      expect(await t.backend.getRecords(t.zone, name)).toEqual([]);
      if (t.server) expect(await dig(t.server, name, 'TXT')).toEqual([]);
      // the name can be used again after it was deleted
      await t.backend.addRecord(t.zone, a('10.1.1.4'));
      expect(await t.backend.getRecords(t.zone, name)).toEqual([a('10.1.1.4')]);
      if (t.server) expect(await dig(t.server, name, 'A')).toEqual(['10.1.1.4']);
    });

    it('creates the reverse zone and maintains PTR records with A records', async () => {
      const t = await target();
      const [reverse] = await t.backend.createReverseZone(t.reverseCidr);
      expect(await t.backend.listZones()).toContain(reverse);
      const name = `${unique('ptr')}.${t.zone}`;
      await t.backend.addRecord(t.zone, { name, ttl: 120, type: 'A', address: t.reverseAddress }, { ptr: true });
      const owner = ptrName(t.reverseAddress);
      // The zone list kept from the forward writes has no zone for the PTR name: it is read again.
      expect(await t.backend.findZone(owner)).toBe(reverse);
      expect(await t.backend.getRecords(reverse as string, owner)).toEqual([
        { name: owner, ttl: 120, type: 'PTR', target: name },
      ]);
      if (t.server) expect(await dig(t.server, owner, 'PTR')).toEqual([`${name}.`]);
      await t.backend.deleteRecord(t.zone, { name, ttl: 120, type: 'A', address: t.reverseAddress }, { ptr: true });
      expect(await t.backend.getRecords(reverse as string, owner)).toEqual([]);
    });

    it('enforces CNAME rules and writes nothing on a violation', async () => {
      const t = await target();
      const name = `${unique('cn')}.${t.zone}`;
      await t.backend.addRecord(t.zone, { name, ttl: 60, type: 'A', address: '10.2.2.2' });
      await expect(
        t.backend.addRecord(t.zone, { name, ttl: 60, type: 'CNAME', target: `x.${t.zone}` }),
      ).rejects.toMatchObject({
        code: 'DNS_CNAME_CONFLICT',
      });
      expect(await t.backend.getRecords(t.zone, name)).toEqual([
        normalizeRecord({ name, ttl: 60, type: 'A', address: '10.2.2.2' }),
      ]);
      const alias = `${unique('alias')}.${t.zone}`;
      await t.backend.addRecord(t.zone, { name: alias, ttl: 60, type: 'CNAME', target: name });
      if (t.server) expect(await dig(t.server, alias, 'CNAME')).toEqual([`${name}.`]);
      await expect(
        t.backend.addRecord(t.zone, { name, ttl: 60, type: 'MX', preference: 1, exchange: alias }),
      ).rejects.toMatchObject({
        code: 'DNS_TARGET_IS_CNAME',
      });
      expect(await t.backend.getRecords(t.zone, name, 'MX')).toEqual([]);
    });

    it('rejects bad input with typed errors', async () => {
      const t = await target();
      await expect(
        t.backend.addRecord(t.zone, { name: 'x.elsewhere.test', type: 'A', address: '10.0.0.1' }),
      ).rejects.toMatchObject({
        code: 'DNS_OUT_OF_ZONE',
      });
      await expect(t.backend.getRecords('unknown.test', 'x.unknown.test')).rejects.toMatchObject({
        code: 'DNS_ZONE_NOT_FOUND',
      });
      await expect(
        t.backend.addRecord(t.zone, { name: `${'a'.repeat(64)}.${t.zone}`, type: 'A', address: '10.0.0.1' }),
      ).rejects.toMatchObject({
        code: 'DNS_INVALID_NAME',
      });
      await expect(
        t.backend.addRecord(t.zone, { name: `ümlaut.${t.zone}`, type: 'A', address: '10.0.0.1' }),
      ).rejects.toMatchObject({
        code: 'DNS_NON_ASCII_NAME',
      });
    });
  });
}

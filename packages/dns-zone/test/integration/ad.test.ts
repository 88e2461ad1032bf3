// The conformance suite against AD-integrated zones of a real Samba AD DC, written over LDAP
// with @invis/ad-client and checked with `dig` against Samba's own DNS server.
import { createAdClient } from '@invis/ad-client';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { type AdDnsClient, createAdBackend, decodeAdDnsRecord, normalizeRecord } from '../../src/index';
import { describeConformance, dig } from '../conformance';

const dc = inject('samba');
const client = createAdClient({ url: dc.ldapsUrl, bindDN: dc.adminDN, password: dc.adminPassword, ca: dc.caPem });
const backend = createAdBackend({ client });
const server = { address: dc.address, port: dc.dnsPort };
const zoneDn = `DC=invis.test,CN=MicrosoftDNS,DC=DomainDnsZones,${dc.baseDN}`;

afterAll(async () => {
  await client.close();
});

describeConformance('AD-integrated zones (Samba)', () => ({
  backend,
  zone: 'invis.test',
  reverseCidr: '10.7.0.0/24',
  reverseAddress: '10.7.0.42',
  supportsCaa: false,
  server,
}));

describe('AD specifics', () => {
  const soaSerial = async (): Promise<number> => {
    const [soa] = await backend.getRecords('invis.test', 'invis.test', 'SOA');
    return soa?.type === 'SOA' ? soa.serial : -1;
  };

  it('stamps records with the next zone serial and raises the SOA serial', async () => {
    const before = await soaSerial();
    await backend.addRecord('invis.test', { name: 'serial.invis.test', type: 'A', address: '10.0.0.31' });
    expect(await soaSerial()).toBe(before + 1);
    const entry = await client.get(`DC=serial,${zoneDn}`, ['dnsRecord'], ['dnsRecord']);
    const value = decodeAdDnsRecord(entry?.getBuffer('dnsRecord') as Buffer, 'serial.invis.test');
    expect(value).toMatchObject({ kind: 'record', serial: before + 1, record: { ttl: 900 } });
    expect(await dig(server, 'invis.test', 'SOA')).toEqual([expect.stringContaining(` ${before + 1} `)]);
  });

  it('raises the serial above a raise by another writer since its own last write', async () => {
    const ours = createAdBackend({ client });
    const other = createAdBackend({ client });
    const a = (name: string, address: string) => ({ name: `${name}.invis.test`, type: 'A' as const, address });
    const start = await soaSerial();
    await ours.addRecord('invis.test', a('kept1', '10.0.0.33'));
    // The other writer raises the serial while ours still keeps the apex it wrote.
    await other.addRecord('invis.test', a('kept2', '10.0.0.34'));
    await ours.addRecord('invis.test', a('kept3', '10.0.0.35'));
    expect(await soaSerial()).toBe(start + 3);
    expect(await dig(server, 'invis.test', 'SOA')).toEqual([expect.stringContaining(` ${start + 3} `)]);
    for (const [name, address] of [
      ['kept1', '10.0.0.33'],
      ['kept2', '10.0.0.34'],
      ['kept3', '10.0.0.35'],
    ])
      expect(await dig(server, `${name}.invis.test`, 'A')).toEqual([address]);
  });

  it('treats a tombstoned node as empty and revives it on write', async () => {
    const dn = `DC=tomb,${zoneDn}`;
    const tombstone = Buffer.alloc(32);
    tombstone.writeUInt16LE(8, 0);
    tombstone[4] = 5;
    tombstone.writeBigUInt64LE(134_000_000_000_000_000n, 24);
    await client.add(dn, { objectClass: ['top', 'dnsNode'], dnsRecord: tombstone, dNSTombstoned: 'TRUE' });
    expect(await backend.getRecords('invis.test', 'tomb.invis.test')).toEqual([]);
    expect(await dig(server, 'tomb.invis.test', 'A')).toEqual([]);
    await backend.addRecord('invis.test', { name: 'tomb.invis.test', ttl: 300, type: 'A', address: '10.0.0.32' });
    expect(await backend.getRecords('invis.test', 'tomb.invis.test')).toEqual([
      normalizeRecord({ name: 'tomb.invis.test', ttl: 300, type: 'A', address: '10.0.0.32' }),
    ]);
    expect((await client.get(dn, ['dNSTombstoned']))?.getBoolean('dNSTombstoned')).toBe(false);
    expect(await dig(server, 'tomb.invis.test', 'A')).toEqual(['10.0.0.32']);
  });

  /** A client whose first modify of `dn` lets `meanwhile` run first (a concurrent writer). */
  const racingClient = (dn: string, meanwhile: () => Promise<void>): AdDnsClient => {
    let raced = false;
    return {
      baseDN: () => client.baseDN(),
      search: (o) => client.search(o),
      get: (...a) => client.get(...a),
      add: (...a) => client.add(...a),
      delete: (...a) => client.delete(...a),
      async modify(target, changes) {
        if (!raced && target === dn) {
          raced = true;
          await meanwhile();
        }
        return client.modify(target, changes);
      },
    };
  };

  it('merges a concurrent add instead of losing it', async () => {
    const name = 'merge.invis.test';
    const a = (address: string) => normalizeRecord({ name, ttl: 300, type: 'A', address });
    await backend.addRecord('invis.test', a('10.0.0.41'));
    const racing = createAdBackend({
      client: racingClient(`DC=merge,${zoneDn}`, () => backend.addRecord('invis.test', a('10.0.0.42'))),
    });
    await racing.addRecord('invis.test', a('10.0.0.43'));
    expect(await dig(server, name, 'A')).toEqual(['10.0.0.41', '10.0.0.42', '10.0.0.43']);
  });

  it('detects a concurrent delete instead of resurrecting the record', async () => {
    const name = 'conflict.invis.test';
    const a = (address: string) => normalizeRecord({ name, ttl: 300, type: 'A', address });
    await backend.addRecord('invis.test', a('10.0.0.51'));
    await backend.addRecord('invis.test', a('10.0.0.52'));
    const racing = createAdBackend({
      client: racingClient(`DC=conflict,${zoneDn}`, () => backend.deleteRecord('invis.test', a('10.0.0.51'))),
    });
    await expect(
      racing.replaceRecords('invis.test', name, 'A', [a('10.0.0.52'), a('10.0.0.53')]),
    ).rejects.toMatchObject({
      code: 'DNS_PREREQUISITE_FAILED',
    });
    expect(await dig(server, name, 'A')).toEqual(['10.0.0.52']);
  });

  it('refuses CAA, which MS-DNSP cannot store, and writes nothing', async () => {
    await expect(
      backend.addRecord('invis.test', {
        name: 'caa.invis.test',
        type: 'CAA',
        flags: 0,
        tag: 'issue',
        value: 'ca.example',
      }),
    ).rejects.toMatchObject({ code: 'DNS_UNSUPPORTED' });
    expect(await client.exists(`DC=caa,${zoneDn}`)).toBe(false);
  });
});

// updateBatch against a real BIND 9: several requests per UPDATE message, pipelined messages on
// one TCP connection, and one result per request (failed prerequisites, rejected names).
import { describe, expect, inject, it } from 'vitest';
import { createDnsUpdateClient, type DnsRecord, normalizeRecord, type UpdateRequest } from '../../src/index';
import { dig } from '../conformance';

const bind = inject('bind');
const server = { address: bind.address, port: bind.port };
const zone = 'conf.invis.test';
const client = createDnsUpdateClient({ server: bind.address, port: bind.port, key: bind.tsig });

const a = (label: string, address: string): DnsRecord =>
  normalizeRecord({ name: `${label}.${zone}`, ttl: 60, type: 'A', address });
const add = (record: DnsRecord): UpdateRequest => ({ zone, updates: [{ op: 'add', record }] });

async function serial(): Promise<number> {
  const [soa] = await dig(server, zone, 'SOA');
  return Number(soa?.split(' ')[2]);
}

describe('updateBatch against BIND', () => {
  it('sends prerequisite-free requests of one zone as one UPDATE, visible with dig', async () => {
    const records = Array.from({ length: 40 }, (_, i) => a(`merged${i}`, `192.0.2.${i + 1}`));
    const before = await serial();
    const results = await client.updateBatch(records.map(add));
    expect(results).toEqual(records.map(() => ({ ok: true })));
    // BIND raises the serial once per UPDATE message: one message carried all 40 records.
    expect(await serial()).toBe(before + 1);
    for (const [i, r] of records.entries()) {
      if (i % 10 === 0) expect(await dig(server, r.name, 'A')).toEqual([`192.0.2.${i + 1}`]);
    }
    expect(await dig(server, `merged39.${zone}`, 'A')).toEqual(['192.0.2.40']);
  });

  it('pipelines one message per request without merge', async () => {
    const records = Array.from({ length: 12 }, (_, i) => a(`piped${i}`, `198.51.100.${i + 1}`));
    const before = await serial();
    const results = await client.updateBatch(records.map(add), { merge: false, window: 4 });
    expect(results.every((r) => r.ok)).toBe(true);
    expect(await serial()).toBe(before + 12);
    expect(await dig(server, `piped11.${zone}`, 'A')).toEqual(['198.51.100.12']);
  });

  it('reports a failed prerequisite per request and applies the others', async () => {
    const results = await client.updateBatch([
      add(a('pre1', '192.0.2.101')),
      {
        zone,
        prerequisites: [{ kind: 'nameNotInUse', name: `pre1.${zone}` }],
        updates: [{ op: 'add', record: a('pre2', '192.0.2.102') }],
      },
      {
        zone,
        prerequisites: [{ kind: 'rrsetExists', name: `pre1.${zone}`, type: 'A' }],
        updates: [{ op: 'add', record: a('pre3', '192.0.2.103') }],
      },
      add(a('pre4', '192.0.2.104')),
    ]);
    expect(results[0]).toEqual({ ok: true });
    expect(results[1]).toMatchObject({
      ok: false,
      error: { code: 'DNS_PREREQUISITE_FAILED', details: { rcode: 'YXDOMAIN' } },
    });
    expect(results[2]).toEqual({ ok: true });
    expect(results[3]).toEqual({ ok: true });
    expect(await dig(server, `pre2.${zone}`, 'A')).toEqual([]);
    expect(await dig(server, `pre3.${zone}`, 'A')).toEqual(['192.0.2.103']);
    expect(await dig(server, `pre4.${zone}`, 'A')).toEqual(['192.0.2.104']);
  });

  it('splits a merged message the server rejects and reports each request', async () => {
    const before = await serial();
    const outside = normalizeRecord({ name: 'host.elsewhere.test', ttl: 60, type: 'A', address: '192.0.2.200' });
    const results = await client.updateBatch([
      add(a('split1', '192.0.2.201')),
      add(outside),
      add(a('split2', '192.0.2.202')),
    ]);
    expect(results[0]).toEqual({ ok: true });
    expect(results[1]).toMatchObject({ ok: false, error: { code: 'DNS_OUT_OF_ZONE', details: { rcode: 'NOTZONE' } } });
    expect(results[2]).toEqual({ ok: true });
    expect(await dig(server, `split1.${zone}`, 'A')).toEqual(['192.0.2.201']);
    expect(await dig(server, `split2.${zone}`, 'A')).toEqual(['192.0.2.202']);
    expect(await serial()).toBe(before + 2); // the rejected merged message changed nothing
  });

  it('isolates a failing record in the middle of 100 in a few UPDATEs, the others applied', async () => {
    const outside = normalizeRecord({ name: 'middle.elsewhere.test', ttl: 60, type: 'A', address: '192.0.2.250' });
    for (const merge of [true, false]) {
      const records = Array.from({ length: 100 }, (_, i) =>
        i === 50 ? outside : a(`mid${merge ? 'm' : 'p'}${i}`, `198.51.100.${i + 1}`),
      );
      const before = await serial();
      const results = await client.updateBatch(records.map(add), { merge });
      expect(results[50]).toMatchObject({
        ok: false,
        error: { code: 'DNS_OUT_OF_ZONE', details: { rcode: 'NOTZONE' } },
      });
      expect(results.filter((r) => r.ok)).toHaveLength(99);
      for (const i of [0, 49, 51, 99]) {
        expect(await dig(server, records[i]?.name ?? '', 'A')).toEqual([`198.51.100.${i + 1}`]);
      }
      // One serial bump per applied UPDATE: merged, the bad record is halved out (the applied
      // halves are 7 messages for 100), not re-sent with its 99 neighbours one by one.
      const bumps = (await serial()) - before;
      if (merge) expect(bumps).toBeLessThanOrEqual(14);
      else expect(bumps).toBe(99);
    }
  });

  it('ends as if sent one by one when requests touch the same name', async () => {
    const name = `order.${zone}`;
    const requests: UpdateRequest[] = [
      add(a('order', '192.0.2.1')),
      { zone, updates: [{ op: 'deleteName', name }] },
      add(a('order', '192.0.2.2')),
      {
        zone,
        prerequisites: [{ kind: 'rrsetExists', name, type: 'A' }],
        updates: [{ op: 'deleteRRset', name, type: 'A' }],
      },
      add(a('order', '192.0.2.3')),
    ];
    for (const merge of [true, false]) {
      expect((await client.updateBatch(requests, { merge, window: 8 })).every((r) => r.ok)).toBe(true);
      expect(await dig(server, name, 'A')).toEqual(['192.0.2.3']);
    }
  });

  it('fails every request with the TSIG error of a wrong key, changing nothing', async () => {
    const wrong = createDnsUpdateClient({
      server: bind.address,
      port: bind.port,
      key: { ...bind.tsig, name: 'nobody' },
    });
    const results = await wrong.updateBatch([add(a('nokey1', '192.0.2.1')), add(a('nokey2', '192.0.2.2'))]);
    expect(results).toMatchObject([
      { ok: false, error: { code: 'DNS_TSIG_BADKEY' } },
      { ok: false, error: { code: 'DNS_TSIG_BADKEY' } },
    ]);
    expect(await dig(server, `nokey1.${zone}`, 'A')).toEqual([]);
  });

  it('reports an unreachable server per request', async () => {
    const c = createDnsUpdateClient({ server: bind.address, port: 1, key: bind.tsig, timeoutMs: 300 });
    const results = await c.updateBatch([
      add(a('gone1', '192.0.2.1')),
      { zone, prerequisites: [{ kind: 'nameInUse', name: zone }], updates: [] },
    ]);
    expect(results).toMatchObject([
      { ok: false, error: { code: expect.stringMatching(/DNS_NETWORK|DNS_TIMEOUT/) } },
      { ok: false, error: { code: expect.stringMatching(/DNS_NETWORK|DNS_TIMEOUT/) } },
    ]);
  });
});

// Signed RFC 2136 updates against a real BIND 9: accepted when correct, rejected when tampered.
import { describe, expect, inject, it } from 'vitest';
import {
  createDnsUpdateClient,
  createRfc2136Backend,
  type DnsTransport,
  normalizeRecord,
  type RecordType,
  sendTcp,
  udpWithTcpFallback,
} from '../../src/index';
import { dig as digAt } from '../conformance';

const bind = inject('bind');
const bind512 = inject('bind512');
const target = { server: bind.address, port: bind.port };
const zone = 'dyn.invis.test';

const dig = (name: string, type: RecordType = 'A', info = bind): Promise<string[]> =>
  digAt({ address: info.address, port: info.port }, name, type);

const a = (name: string, address: string, ttl = 60) =>
  normalizeRecord({ name: `${name}.${zone}`, ttl, type: 'A', address });

describe('RFC 2136 + TSIG against BIND', () => {
  const client = createDnsUpdateClient({ ...target, key: bind.tsig });

  it('applies a signed update and verifies the signed response', async () => {
    await client.update({
      zone,
      updates: [
        { op: 'deleteRRset', name: `gw.${zone}`, type: 'A' },
        { op: 'add', record: a('gw', '192.0.2.10') },
      ],
    });
    expect(await dig(`gw.${zone}`)).toEqual(['192.0.2.10']);
    await client.update({
      zone,
      updates: [
        { op: 'deleteRRset', name: `gw.${zone}`, type: 'A' },
        { op: 'add', record: a('gw', '192.0.2.11') },
      ],
    });
    expect(await dig(`gw.${zone}`)).toEqual(['192.0.2.11']);
    const { records } = await client.query(`gw.${zone}`, 'A');
    expect(records).toEqual([a('gw', '192.0.2.11')]);
  });

  it('supports every modelled type, delete-one-record and prerequisites', async () => {
    const name = `multi.${zone}`;
    const mx = normalizeRecord({ name, ttl: 300, type: 'MX', preference: 10, exchange: `ns1.${zone}` }); // BIND refuses in-zone MX targets without an address;
    const records = [
      normalizeRecord({ name, ttl: 300, type: 'TXT', text: ['hello "world"', 'zwei'] }),
      mx,
      normalizeRecord({ name, ttl: 300, type: 'AAAA', address: '2001:db8::5' }),
      normalizeRecord({ name, ttl: 300, type: 'SRV', priority: 1, weight: 2, port: 389, target: `ldap.${zone}` }),
      normalizeRecord({ name, ttl: 300, type: 'CAA', flags: 0, tag: 'issue', value: 'letsencrypt.org' }),
    ];
    await client.update({
      zone,
      prerequisites: [{ kind: 'nameNotInUse', name }],
      updates: records.map((record) => ({ op: 'add' as const, record })),
    });
    expect((await client.query(name, 'ANY')).records).toEqual(expect.arrayContaining(records));
    await expect(
      client.update({ zone, prerequisites: [{ kind: 'nameNotInUse', name }], updates: [] }),
    ).rejects.toMatchObject({
      code: 'DNS_PREREQUISITE_FAILED',
      details: { rcode: 'YXDOMAIN' },
    });
    await client.update({
      zone,
      prerequisites: [
        { kind: 'recordExists', record: { ...mx, ttl: 0 } },
        { kind: 'rrsetExists', name, type: 'TXT' },
      ],
      updates: [{ op: 'deleteRecord', record: mx }],
    });
    expect(await dig(name, 'MX')).toEqual([]);
    await client.update({ zone, updates: [{ op: 'deleteName', name }] });
    expect(await dig(name, 'TXT')).toEqual([]);
  });

  it('falls back to TCP for large messages and works over TCP only', async () => {
    const name = `big.${zone}`;
    const text = Array.from({ length: 12 }, (_, i) =>
      normalizeRecord({ name, ttl: 60, type: 'TXT', text: [`${i}`.repeat(60)] }),
    );
    let usedTcp = false;
    const spy: DnsTransport = (message, t) => {
      usedTcp ||= message.length > 512;
      return udpWithTcpFallback(message, t);
    };
    await createDnsUpdateClient({ ...target, key: bind.tsig, transport: spy }).update({
      zone,
      updates: text.map((record) => ({ op: 'add' as const, record })),
    });
    expect(usedTcp).toBe(true);
    expect(await dig(name, 'TXT')).toHaveLength(12);
    await createDnsUpdateClient({ ...target, key: bind.tsig, transport: sendTcp }).update({
      zone,
      updates: [{ op: 'deleteName', name }],
    });
    expect(await dig(name, 'TXT')).toEqual([]);
  });

  it('transfers a zone (AXFR over TCP, signed answer verified)', async () => {
    await client.update({ zone, updates: [{ op: 'add', record: a('axfr', '192.0.2.50') }] });
    const records = await client.transfer(zone);
    expect(records[0]?.type).toBe('SOA');
    expect(records).toContainEqual(a('axfr', '192.0.2.50'));
    await expect(
      createDnsUpdateClient({ ...target, key: { ...bind.tsig, name: 'nobody' } }).transfer(zone),
    ).rejects.toMatchObject({
      code: 'DNS_TSIG_BADKEY',
    });
    await expect(createDnsUpdateClient(target).transfer(zone)).rejects.toMatchObject({ code: 'DNS_UPDATE_REFUSED' });
  });

  it('backend writes detect a concurrent change instead of overwriting it', async () => {
    const name = `race.${zone}`;
    let raced = false;
    const racing: DnsTransport = async (message, t) => {
      if (!raced && ((message.readUInt16BE(2) >> 11) & 0xf) === 5) {
        raced = true; // someone else writes between our read and our update
        await client.update({ zone, updates: [{ op: 'add', record: a('race', '192.0.2.81') }] });
      }
      return udpWithTcpFallback(message, t);
    };
    const backend = createRfc2136Backend({ ...target, key: bind.tsig, zones: [zone], transport: racing });
    await expect(backend.replaceRecords(zone, name, 'A', [a('race', '192.0.2.82')])).rejects.toMatchObject({
      code: 'DNS_PREREQUISITE_FAILED',
    });
    expect(await dig(name)).toEqual(['192.0.2.81']);
  });

  it('signs with hmac-sha512', async () => {
    const c = createDnsUpdateClient({ server: bind512.address, key: bind512.tsig });
    const record = normalizeRecord({ name: 'h.sha512.invis.test', ttl: 60, type: 'A', address: '192.0.2.99' });
    await c.update({ zone: 'sha512.invis.test', updates: [{ op: 'add', record }] });
    expect(await dig('h.sha512.invis.test', 'A', bind512)).toEqual(['192.0.2.99']);
  });

  describe('rejections (nothing written)', () => {
    const record = a('rejected', '192.0.2.66');
    const update = { zone, updates: [{ op: 'add' as const, record }] };
    it.each([
      [
        'tampered request',
        { transport: ((m, t) => udpWithTcpFallback(flipLast(m, 20), t)) as DnsTransport },
        'DNS_TSIG_BADSIG',
      ],
      ['wrong secret', { key: { ...bind.tsig, secret: Buffer.alloc(32, 1).toString('base64') } }, 'DNS_TSIG_BADSIG'],
      ['unknown key', { key: { ...bind.tsig, name: 'nobody' } }, 'DNS_TSIG_BADKEY'],
      ['clock skew', { clock: { now: () => new Date(Date.now() + 3_600_000) } }, 'DNS_TSIG_BADTIME'],
      ['unsigned', { key: undefined }, 'DNS_UPDATE_REFUSED'],
      [
        'tampered response',
        { transport: (async (m, t) => flipLast(await udpWithTcpFallback(m, t), 20)) as DnsTransport },
        'DNS_TSIG_INVALID',
      ],
    ])('%s', async (_label, override, code) => {
      const c = createDnsUpdateClient({ ...target, key: bind.tsig, ...override });
      await expect(c.update(update)).rejects.toMatchObject({ code });
      if (code !== 'DNS_TSIG_INVALID') expect(await dig(`rejected.${zone}`)).toEqual([]);
      await client.update({ zone, updates: [{ op: 'deleteName', name: `rejected.${zone}` }] });
    });

    it('wrong zone', async () => {
      await expect(client.update({ zone: 'nothere.test', updates: [] })).rejects.toMatchObject({
        code: 'DNS_ZONE_NOT_FOUND',
      });
    });

    it('times out against a silent server', async () => {
      const c = createDnsUpdateClient({
        server: bind.address,
        port: 1,
        key: bind.tsig,
        timeoutMs: 200,
        udpAttempts: 1,
      });
      await expect(c.update(update)).rejects.toMatchObject({ code: expect.stringMatching(/DNS_TIMEOUT|DNS_NETWORK/) });
    });
  });
});

/** Flips one bit `back` bytes before the end (inside the TSIG MAC for a signed message). */
function flipLast(message: Buffer, back: number): Buffer {
  const copy = Buffer.from(message);
  const i = copy.length - back;
  copy[i] = (copy[i] as number) ^ 1;
  return copy;
}

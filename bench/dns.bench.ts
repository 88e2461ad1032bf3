// DNS: 100 TSIG-signed RFC 2136 updates, @invis/dns-zone vs `nsupdate -k` (one process per
// update, and one process with 100 `send`s) against a real BIND 9; and a 100,000-record zone,
// parseZone (+ renderZone) vs named-checkzone (parse) and named-compilezone (parse + write).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind } from '@invis/testbed';
import { execa } from 'execa';
import { createDnsUpdateClient, type DnsRecord, parseZone, renderZone } from '../packages/dns-zone/src/index';
import { type Benchmark, type Comparison, measure, measureBatch } from './lib';

function bigZone(origin: string, count: number): string {
  const records: DnsRecord[] = [
    {
      name: origin,
      ttl: 3600,
      type: 'SOA',
      mname: `ns1.${origin}`,
      rname: `hostmaster.${origin}`,
      serial: 1,
      refresh: 3600,
      retry: 600,
      expire: 86400,
      minimum: 300,
    },
    { name: origin, ttl: 3600, type: 'NS', target: `ns1.${origin}` },
    { name: `ns1.${origin}`, ttl: 3600, type: 'A', address: '10.0.0.1' },
  ];
  for (let i = 0; records.length < count; i++) {
    const host = `h${i}.${origin}`;
    records.push({ name: host, ttl: 300, type: 'A', address: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}` });
    if (i % 4 === 0) records.push({ name: host, ttl: 300, type: 'TXT', text: [`id=${i}; owner="bench"`] });
    if (i % 8 === 0) records.push({ name: host, ttl: 300, type: 'MX', preference: 10, exchange: `ns1.${origin}` });
    if (i % 16 === 0) records.push({ name: `alias${i}.${origin}`, ttl: 300, type: 'CNAME', target: host });
  }
  return renderZone({ origin, ttl: 3600, records: records.slice(0, count) });
}

export const benchmark: Benchmark = {
  name: 'dns',
  description:
    'signed RFC 2136 updates vs nsupdate -k (BIND 9); 100k-record zone parse/render vs named-checkzone/named-compilezone',
  async run({ quick }) {
    const bind = await startBind({ zones: ['bench.invis.test'] });
    const dir = await mkdtemp(join(tmpdir(), 'invis-bench-dns-'));
    const rows: Comparison[] = [];
    try {
      const { info } = bind;
      const zone = 'bench.invis.test';
      const n = quick ? 20 : 100;
      const client = createDnsUpdateClient({ server: info.address, port: info.port, key: info.tsig });
      const ours = await measure('@invis/dns-zone', n, (i) =>
        client.update({
          zone,
          updates: [{ op: 'add', record: { name: `o${i + 1}.${zone}`, ttl: 60, type: 'A', address: '192.0.2.1' } }],
        }),
      );
      const script = (prefix: string, count: number): string =>
        `server ${info.address} ${info.port}\nzone ${zone}\n${Array.from(
          { length: count },
          (_, i) => `update add ${prefix}${i}.${zone} 60 A 192.0.2.2\nsend\n`,
        ).join('')}`;
      const perUpdate = await measure('nsupdate -k (1 process each)', n, (i) =>
        execa('nsupdate', ['-k', info.keyFile], { input: script(`p${i + 1}-`, 1) }),
      );
      const batch = await measureBatch('nsupdate -k (1 process, n sends)', n, () =>
        execa('nsupdate', ['-k', info.keyFile], { input: script('b', n) }),
      );
      rows.push({ task: 'signed update, one record', ours, peer: perUpdate, target: '≥ 10× faster (ratio ≤ 0.10)' });
      rows.push({ task: 'signed update, one record', ours, peer: batch });

      const count = quick ? 10_000 : 100_000;
      const file = join(dir, 'db.big.test');
      const text = bigZone('big.test', count);
      await writeFile(file, text);
      const runs = quick ? 1 : 3;
      const parse = await measure(`parseZone ×${runs}`, runs, async () => parseZone(text));
      const check = await measure(
        `named-checkzone ×${runs}`,
        runs,
        () => execa('named-checkzone', ['-q', 'big.test', file]),
        0,
      );
      const both = await measure(`parseZone+renderZone ×${runs}`, runs, async () => renderZone(parseZone(text)));
      const compile = await measure(
        `named-compilezone ×${runs}`,
        runs,
        () => execa('named-compilezone', ['-q', '-o', join(dir, 'out.db'), 'big.test', file]),
        0,
      );
      rows.push({ task: `parse ${count} records`, ours: parse, peer: check, target: '≤ 2× of BIND' });
      rows.push({ task: `parse + render ${count} records`, ours: both, peer: compile, target: '≤ 2× of BIND' });
      return rows;
    } finally {
      await bind.stop();
      await rm(dir, { recursive: true, force: true });
    }
  },
};

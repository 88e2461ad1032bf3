// DNS: TSIG-signed RFC 2136 updates against a real BIND 9, @invis/dns-zone vs `nsupdate -k`:
// one update per call vs one process per update, and batches of 100 (updateBatch merged and one
// UPDATE per request) vs one process reading the batch (100 `send`s, one `send`), also with one
// record BIND rejects in the middle, in alternating rounds; and a 100,000-record zone,
// parseZone (+ renderZone) vs named-checkzone (parse) and named-compilezone (parse + write).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBind } from '@invis/testbed';
import { execa } from 'execa';
import {
  createDnsUpdateClient,
  type DnsRecord,
  parseZone,
  renderZone,
  type UpdateRequest,
} from '../packages/dns-zone/src/index';
import { alternatingSamples, type Benchmark, type Comparison, measure, measureAlternating } from './lib';

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
      const client = createDnsUpdateClient({ server: info.address, port: info.port, key: info.tsig });
      const record = (name: string): DnsRecord => ({ name, ttl: 60, type: 'A', address: '192.0.2.1' });
      // With `bad`, the middle record is outside the zone: BIND answers NOTZONE for it.
      const owner = (prefix: string, i: number, count: number, bad: boolean): string =>
        bad && i === count >> 1 ? `${prefix}bad.elsewhere.test` : `${prefix}${i}.${zone}`;
      const requests = (prefix: string, count: number, bad = false) =>
        Array.from({ length: count }, (_, i) => ({
          zone,
          updates: [{ op: 'add' as const, record: record(owner(prefix, i, count, bad)) }],
        }));
      const batched = async (prefix: string, count: number, merge: boolean, bad = false): Promise<void> => {
        const results = await client.updateBatch(requests(prefix, count, bad), { merge });
        const failed = results.filter((r) => !r.ok);
        if (failed.length !== (bad ? 1 : 0)) throw new Error(`${failed.length} of ${count} updates failed`);
      };
      const script = (prefix: string, count: number, sends: 'each' | 'once', bad = false): string =>
        `server ${info.address} ${info.port}\nzone ${zone}\n${Array.from(
          { length: count },
          (_, i) => `update add ${owner(prefix, i, count, bad)} 60 A 192.0.2.2\n${sends === 'each' ? 'send\n' : ''}`,
        ).join('')}${sends === 'once' ? 'send\n' : ''}`;
      // nsupdate goes on after a failed send and exits 2 at the end.
      const nsupdate = (input: string, failing = false) =>
        execa('nsupdate', ['-k', info.keyFile], { input, reject: !failing }).then((r) => {
          if (failing && r.exitCode !== 2) throw new Error(`nsupdate exited ${r.exitCode}: ${r.stderr}`);
        });

      // One update per call: client.update vs one nsupdate process per update.
      const singles = quick ? 20 : 100;
      await client.update(requests('warm', 1)[0] as UpdateRequest);
      const [one, perProcess] = await measureAlternating(
        { label: '@invis/dns-zone update()', op: (i) => client.update(requests(`o${i}-`, 1)[0] as UpdateRequest) },
        { label: 'nsupdate -k (1 process each)', op: (i) => nsupdate(script(`p${i}-`, 1, 'each')) },
        singles,
      );
      rows.push({
        task: 'signed update, one record',
        ours: one,
        peer: perProcess,
        target: '≥ 10× faster (ratio ≤ 0.10)',
      });

      // A batch of n one-record updates, alternating rounds: updateBatch (merged into one UPDATE,
      // and one UPDATE per request, pipelined) vs one nsupdate process reading the batch (n sends,
      // and one send with all n records).
      const n = quick ? 20 : 100;
      const rounds = quick ? 2 : 5;
      const [merged = [], piped = [], sends = [], once = [], mergedBad = [], sendsBad = []] = await alternatingSamples(
        [
          { label: 'merged', op: (r) => batched(`m${r}-`, n, true) },
          { label: 'pipelined', op: (r) => batched(`q${r}-`, n, false) },
          { label: 'sends', op: (r) => nsupdate(script(`b${r}-`, n, 'each')) },
          { label: 'once', op: (r) => nsupdate(script(`c${r}-`, n, 'once')) },
          { label: 'merged, one bad', op: (r) => batched(`f${r}-`, n, true, true) },
          { label: 'sends, one bad', op: (r) => nsupdate(script(`g${r}-`, n, 'each', true), true) },
        ],
        rounds,
      );
      const total = (label: string, times: readonly number[]) => ({
        label,
        iterations: rounds * n,
        totalMs: times.reduce((x, y) => x + y, 0),
      });
      const nSends = total(`nsupdate -k (1 process, ${n} sends)`, sends);
      rows.push({
        task: `batch of ${n}, merged`,
        ours: total('updateBatch', merged),
        peer: nSends,
        target: '≤ 1.0×',
      });
      rows.push({ task: `batch of ${n}, 1 UPDATE each`, ours: total('updateBatch merge:false', piped), peer: nSends });
      rows.push({
        task: `batch of ${n}, merged`,
        ours: total('updateBatch', merged),
        peer: total(`nsupdate -k (1 process, 1 send)`, once),
      });
      rows.push({
        task: `batch of ${n}, one bad record in the middle, merged`,
        ours: total('updateBatch', mergedBad),
        peer: total(`nsupdate -k (1 process, ${n} sends, one fails)`, sendsBad),
        target: '≤ 1.0×',
      });

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

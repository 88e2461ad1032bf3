// The conformance suite against the RFC 2136 backend (real BIND) and the zone-file backend
// (real named-checkzone).

import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createExecaRunner } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { beforeAll, describe, expect, inject, it } from 'vitest';
import { createRfc2136Backend, createZoneFileBackend, type DnsBackend, renderZone } from '../../src/index';
import { describeConformance } from '../conformance';

const bind = inject('bind');

describeConformance('RFC 2136 (BIND 9)', () => ({
  backend: createRfc2136Backend({ server: bind.address, port: bind.port, key: bind.tsig, zones: bind.zones }),
  zone: 'conf.invis.test',
  reverseCidr: '10.0.0.0/24',
  reverseAddress: '10.0.0.77',
  supportsCaa: true,
  server: { address: bind.address, port: bind.port },
}));

describe('zone files', () => {
  const dir = useTempDir('invis-dns-zonefile-', { shared: true });
  let backend: DnsBackend;
  const zone = 'files.invis.test';
  beforeAll(async () => {
    await writeFile(
      join(dir(), `db.${zone}`),
      renderZone({
        origin: zone,
        ttl: 3600,
        records: [
          {
            name: zone,
            ttl: 3600,
            type: 'SOA',
            mname: `ns1.${zone}`,
            rname: `hostmaster.${zone}`,
            serial: 1,
            refresh: 3600,
            retry: 600,
            expire: 86400,
            minimum: 300,
          },
          { name: zone, ttl: 3600, type: 'NS', target: `ns1.${zone}` },
          { name: `ns1.${zone}`, ttl: 3600, type: 'A', address: '10.0.0.1' },
        ],
      }),
    );
    backend = createZoneFileBackend({
      dir: dir(),
      soa: { mname: `ns1.${zone}`, rname: `hostmaster.${zone}` },
      nameServers: [`ns1.${zone}`],
    });
  });

  describeConformance('zone files (named-checkzone)', () => ({
    backend,
    zone,
    reverseCidr: '10.5.0.0/16',
    reverseAddress: '10.5.3.4',
    supportsCaa: true,
  }));

  it('every written file passes named-checkzone and bumps the serial', async () => {
    const file = join(dir(), `db.${zone}`);
    const before = await readFile(file, 'utf8');
    await backend.addRecord(zone, { name: `serial.${zone}`, type: 'A', address: '10.0.0.9' });
    const after = await readFile(file, 'utf8');
    const serial = (text: string) => Number(/(\d+) ; serial/.exec(text)?.[1]);
    expect(serial(after)).toBeGreaterThan(serial(before));
    const check = await createExecaRunner().run('named-checkzone', [zone, file]);
    expect(check.exitCode).toBe(0);
    expect(await readFile(`${file}.bak`, 'utf8')).toBe(before);
  });

  it('serialises concurrent writes to one file (none is lost)', async () => {
    const names = Array.from({ length: 8 }, (_, i) => `par${i}.${zone}`);
    await Promise.all(names.map((name, i) => backend.addRecord(zone, { name, type: 'A', address: `10.0.1.${i + 1}` })));
    const all = await backend.listRecords(zone);
    for (const name of names) expect(all.some((r) => r.name === name)).toBe(true);
  });

  it('keeps the old file when named-checkzone rejects the new one', async () => {
    const file = join(dir(), `db.${zone}`);
    const before = await readFile(file, 'utf8');
    // our model allows `_` in names (SRV owners); BIND's check-names rejects it on host records
    await expect(
      backend.addRecord(zone, { name: `bad_host.${zone}`, type: 'A', address: '10.0.0.7' }),
    ).rejects.toMatchObject({
      code: 'DNS_CHECK_FAILED',
      details: { output: expect.stringContaining('bad owner name') },
    });
    expect(await readFile(file, 'utf8')).toBe(before);
  });

  it('rolls back when the reload hook fails', async () => {
    const file = join(dir(), `db.${zone}`);
    const before = await readFile(file, 'utf8');
    const failing = createZoneFileBackend({
      dir: dir(),
      soa: { mname: `ns1.${zone}`, rname: `hostmaster.${zone}` },
      nameServers: [`ns1.${zone}`],
      reload: async () => {
        throw new Error('rndc: connection refused');
      },
    });
    await expect(failing.addRecord(zone, { name: `rb.${zone}`, type: 'A', address: '10.0.0.8' })).rejects.toMatchObject(
      {
        code: 'DNS_IO',
      },
    );
    expect(await readFile(file, 'utf8')).toBe(before);
  });
});

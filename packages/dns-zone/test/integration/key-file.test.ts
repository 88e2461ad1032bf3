// A key file written by the real `tsig-keygen`, read by parseTsigKeyFile, and a BIND that
// includes that very file accepting the update signed with the parsed key.
import { createExecaRunner, runChecked } from '@invis/host';
import { type BindServer, startBind } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDnsUpdateClient, normalizeRecord, parseTsigKeyFile, renderTsigKeyFile } from '../../src/index';
import { dig } from '../conformance';

const zone = 'keygen.invis.test';

describe('tsig-keygen key files', () => {
  let bind: BindServer;
  let statement: string;

  beforeAll(async () => {
    statement = (await runChecked(createExecaRunner(), 'tsig-keygen', ['-a', 'hmac-sha512', 'invis-ddns'])).stdout;
    bind = await startBind({ zones: [zone], key: { statement, tsig: parseTsigKeyFile(statement) } });
  });

  afterAll(async () => {
    await bind?.stop();
  });

  it('reads the file and BIND accepts the update signed with the key', async () => {
    const key = parseTsigKeyFile(statement);
    expect(key).toMatchObject({ name: 'invis-ddns', algorithm: 'hmac-sha512' });
    expect(renderTsigKeyFile(key)).toBe(`${statement}\n`);
    const server = { server: bind.info.address, port: bind.info.port };
    const record = normalizeRecord({ name: `gw.${zone}`, ttl: 60, type: 'A', address: '192.0.2.44' });
    await createDnsUpdateClient({ ...server, key }).update({ zone, updates: [{ op: 'add', record }] });
    expect(await dig({ address: bind.info.address, port: bind.info.port }, `gw.${zone}`, 'A')).toEqual(['192.0.2.44']);
    // The same name with another secret is refused: BIND checked the secret from the file.
    const other = parseTsigKeyFile(
      (await runChecked(createExecaRunner(), 'tsig-keygen', ['-a', 'hmac-sha512', 'invis-ddns'])).stdout,
    );
    await expect(
      createDnsUpdateClient({ ...server, key: other }).update({ zone, updates: [{ op: 'add', record }] }),
    ).rejects.toMatchObject({ code: 'DNS_TSIG_BADSIG' });
  });
});

import { chmod, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fixedClock } from '@invis/host';
import { createScriptedRunner, useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { fileStateStore } from './ddns';
import { createZoneFileBackend } from './zonefile-backend';

const ZONE = '1.10.in-addr.arpa';
const dir = useTempDir('invis-dns-zonefile-');
const options = () => ({
  dir: dir(),
  soa: { mname: 'ns1.unit.test', rname: 'hostmaster.unit.test' },
  nameServers: ['ns1.unit.test'],
  clock: fixedClock('2026-12-06T12:00:00Z'),
});

describe('createZoneFileBackend (scripted checker, real files)', () => {
  it('creates a zone with a serial from the clock, checks a temp copy and keeps the mode of the file', async () => {
    const runner = createScriptedRunner({ 'named-checkzone': {} });
    const backend = createZoneFileBackend({ ...options(), runner });
    expect(await backend.createReverseZone('10.1.0.0/16')).toEqual([ZONE]);
    const file = join(dir(), `db.${ZONE}`);
    expect(await readFile(file, 'utf8')).toMatch(/\b2026120600 ; serial/);
    const args = runner.calls[0]?.args ?? [];
    expect(args.slice(0, 5)).toEqual(['-k', 'fail', '-i', 'local', ZONE]);
    expect(args[5]).toMatch(/\/db\.1\.10\.in-addr\.arpa\.tmp-[0-9a-f]{8}$/);

    await chmod(file, 0o640);
    await backend.addRecord(ZONE, { name: `5.0.${ZONE}`, type: 'PTR', target: 'pc.unit.test' });
    expect((await stat(file)).mode & 0o777).toBe(0o640);
    expect(await readFile(file, 'utf8')).toMatch(/\b2026120601 ; serial/);
    expect((await readdir(dir())).sort()).toEqual([`db.${ZONE}`, `db.${ZONE}.bak`]);
  });

  it('reports a checker that cannot run as DNS_CHECK_FAILED with the host error as cause, leaving nothing', async () => {
    const backend = createZoneFileBackend({ ...options(), runner: createScriptedRunner({}) });
    const error = await backend.createReverseZone('10.1.0.0/16').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'DNS_CHECK_FAILED', cause: { code: 'HOST_COMMAND_NOT_FOUND' } });
    expect((error as { toJSON(): unknown }).toJSON()).toMatchObject({
      details: { zone: ZONE },
      cause: { code: 'HOST_COMMAND_NOT_FOUND' },
    });
    expect(await readdir(dir())).toEqual([]);
  });
});

describe('fileStateStore', () => {
  it('writes the state atomically and reads it back; a link at the path is refused (DNS_IO)', async () => {
    const path = join(dir(), 'state.json');
    const store = fileStateStore(path);
    expect(await store.read()).toBeUndefined();
    const state = {
      fqdn: 'gw.unit.test',
      addresses: { ipv4: '203.0.113.1' },
      lastCheck: '2026-12-06T12:00:00.000Z',
      lastResult: { status: 'updated' as const },
    };
    await store.write(state);
    expect(await store.read()).toEqual(state);
    expect(await readdir(dir())).toEqual(['state.json']);

    const target = join(dir(), 'elsewhere');
    await writeFile(target, 'keep');
    const linked = join(dir(), 'linked.json');
    await symlink(target, linked);
    await expect(fileStateStore(linked).write(state)).rejects.toMatchObject({
      code: 'DNS_IO',
      cause: { code: 'HOST_UNSAFE_PATH' },
    });
    expect(await readFile(target, 'utf8')).toBe('keep');
  });
});

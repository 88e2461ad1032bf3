// `invis-setup ddns` against the testbed's BIND with TSIG and a local https echo (its own
// self-signed certificate, trusted by the injected fetch): one run publishes the echoed address,
// the line lands where the portal's status page reads it, and the units pass systemd-analyze.
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createDnsUpdateClient, type FetchLike } from '@invis/dns-zone';
import { createExecaRunner, runChecked } from '@invis/host';
import { collectStatus } from '@invis/portal-1';
import { useTempDir } from '@invis/test-utils';
import { type BindServer, startBind } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDdns } from '../../src/ddns';
import { ddnsModule } from '../../src/modules/ddns';
import { MODULE_ANSWERS, moduleContext } from './context';

const PUBLIC = '203.0.113.77';
let bind: BindServer;
let echo: ReturnType<typeof createServer>;
let echoUrl: string;
let ca: string;

/** fetch over node:https trusting only the echo's certificate. */
const fetchTrusting: FetchLike = (url, init) =>
  new Promise((resolve, reject) => {
    const req = request(url, { ca, method: init.method ?? 'GET', signal: init.signal }, (res) => {
      let body = '';
      res.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      res.on('end', () =>
        resolve({ ok: (res.statusCode ?? 0) < 300, status: res.statusCode ?? 0, url, text: async () => body }),
      );
    });
    req.on('error', reject);
    req.end();
  });

beforeAll(async () => {
  bind = await startBind({ zones: ['dyn.invis.test'] });
  const dir = bind.info.dir;
  await runChecked(createExecaRunner(), 'openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    '-subj',
    '/CN=echo',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
    '-keyout',
    join(dir, 'echo.key'),
    '-out',
    join(dir, 'echo.crt'),
  ]);
  ca = await readFile(join(dir, 'echo.crt'), 'utf8');
  echo = createServer({ key: await readFile(join(dir, 'echo.key')), cert: ca }, (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain' }).end(`${PUBLIC}\n`);
  });
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  echoUrl = `https://127.0.0.1:${(echo.address() as AddressInfo).port}/`;
});
afterAll(async () => {
  await new Promise<void>((resolve) => (echo ? echo.close(() => resolve()) : resolve()));
  await bind?.stop();
});

describe('ddns (BIND with TSIG, https echo)', () => {
  const dir = useTempDir('setup-ddns-');
  const answers = () => ({
    ...MODULE_ANSWERS,
    ddns: {
      fqdn: 'invis.dyn.invis.test',
      zone: 'dyn.invis.test',
      server: bind.info.address,
      port: bind.info.port,
      source: { type: 'https' as const, url: echoUrl },
    },
  });

  it('publishes the echoed address once and writes the line the portal shows', async () => {
    const root = dir();
    const ctx = await moduleContext(root, { answers: answers() });
    await mkdir(join(root, 'etc/invis/ddns'), { recursive: true });
    await copyFile(bind.info.keyFile, join(root, 'etc/invis/ddns/tsig.key'));
    const { chmod } = await import('node:fs/promises');
    await chmod(join(root, 'etc/invis/ddns/tsig.key'), 0o600);

    const first = await runDdns(ctx, { fetch: fetchTrusting });
    expect(first).toMatchObject({ status: 'updated', exitCode: 0, addresses: { ipv4: PUBLIC } });
    const client = createDnsUpdateClient({ server: bind.info.address, port: bind.info.port });
    const { records } = await client.query('invis.dyn.invis.test', 'A');
    expect(records).toMatchObject([{ type: 'A', address: PUBLIC, ttl: 60 }]);
    expect((await runDdns(ctx, { fetch: fetchTrusting })).status).toBe('unchanged');

    const spool = join(root, 'var/spool/results/inetcheck/inetcheck');
    expect(await readFile(spool, 'utf8')).toBe(`invis.dyn.invis.test: unchanged (${PUBLIC})\n`);
    // The portal's own status reader takes its first line.
    const status = await collectStatus({
      watchDirs: [],
      mdstatFile: join(root, 'none'),
      certificates: [],
      backupStampFile: join(root, 'none'),
      internetStateFile: spool,
      jobsDir: join(root, 'var/lib/invis/jobs'),
      services: { states: async () => [], run: async () => undefined },
    });
    expect(status.internet).toMatchObject({ state: 'ok', text: `invis.dyn.invis.test: unchanged (${PUBLIC})` });
    // …and shows the run among the background jobs, next run one timer interval later.
    expect(status.jobs).toEqual([
      expect.objectContaining({ name: 'ddns', result: 'ok', message: `invis.dyn.invis.test: unchanged (${PUBLIC})` }),
    ]);
    const [job] = status.jobs;
    expect(Date.parse(job?.nextRunAt ?? '') - Date.parse(job?.finishedAt ?? '')).toBe(10 * 60_000);
  });

  it('refuses a key file others may read, before anything is sent', async () => {
    const root = dir();
    const ctx = await moduleContext(root, { answers: answers() });
    await mkdir(join(root, 'etc/invis/ddns'), { recursive: true });
    await writeFile(join(root, 'etc/invis/ddns/tsig.key'), await readFile(bind.info.keyFile), { mode: 0o644 });
    await expect(runDdns(ctx, { fetch: fetchTrusting })).rejects.toMatchObject({ code: 'SETUP_CHECK_FAILED' });
  });

  it('renders the 10-minute timer and its service, checked with systemd-analyze verify; nothing without ddns', async () => {
    const root = dir();
    const ctx = await moduleContext(root, { answers: answers() });
    const report = await ddnsModule.apply(ctx);
    expect(report.files.map((f) => f.path)).toEqual([
      '/etc/systemd/system/invis-ddns.service',
      '/etc/systemd/system/invis-ddns.timer',
    ]);
    expect(await readFile(join(root, 'etc/systemd/system/invis-ddns.timer'), 'utf8')).toContain(
      'OnUnitActiveSec=10min\n',
    );
    expect((await ddnsModule.apply(ctx)).changed).toBe(false);
    const off = await moduleContext(dir(), {});
    expect((await ddnsModule.plan(off)).files).toEqual([]);
  });
});

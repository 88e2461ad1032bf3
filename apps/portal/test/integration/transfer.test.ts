// The transfer area through the portal over HTTP (issue 19): the real DC's accounts and rights,
// real folders, the real `clamscan` with a local signature (the EICAR test file's hash).
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createExecaRunner } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { DEMO_PASSWORD } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createTransfer } from '../../src/transfer';
import { type ApiClient, apiClient, httpSend } from '../http-client';
import { INSIDE, launchChromium, OUTSIDE, startTestPortal, type TestPortal } from './harness';

let tp: TestPortal;
let clara: ApiClient;
const dir = useTempDir('portal-transfer-it-', { shared: true });
const root = (): string => join(dir(), 'portal');
const quarantine = (): string => join(dir(), 'quarantine');
// The EICAR anti-virus test file: harmless, and every scanner reports it.
const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/** Uploads raw bytes as the page script does (the file is the body). */
function upload(client: ApiClient, name: string, body: Uint8Array | string): Promise<Response> {
  return fetch(new URL(`/api/transfer/uploads/${encodeURIComponent(name)}`, tp.url), {
    method: 'PUT',
    headers: {
      cookie: client.cookie,
      'x-csrf-token': client.csrf,
      'x-forwarded-for': OUTSIDE,
      'content-type': 'application/octet-stream',
    },
    body,
  });
}

beforeAll(async () => {
  mkdirSync(join(root(), 'downloads', 'clara.weber'), { recursive: true });
  mkdirSync(join(root(), 'uploads'), { recursive: true });
  // A local ClamAV database: one MD5 signature of the EICAR file (no signature download needed).
  mkdirSync(join(dir(), 'clamav'));
  const md5 = createHash('md5').update(EICAR).digest('hex');
  writeFileSync(join(dir(), 'clamav', 'invis-test.hdb'), `${md5}:${EICAR.length}:Invis.Test.EICAR\n`);
  const transfer = createTransfer({
    root: root(),
    maxUploadBytes: 1_048_576,
    scanner: 'clamscan',
    clamavDb: join(dir(), 'clamav'),
    quarantineDir: quarantine(),
    runner: createExecaRunner(),
  });
  tp = await startTestPortal(inject('samba'), { parts: { transfer } });
  clara = apiClient(httpSend(tp.url), { 'x-forwarded-for': OUTSIDE });
  expect((await clara.login('clara.weber', DEMO_PASSWORD)).status).toBe(200);
});
afterAll(async () => {
  await tp?.close();
});

describe('transfer area over HTTP', () => {
  it('a mobilusers member downloads what a colleague left and uploads from outside', async () => {
    writeFileSync(join(root(), 'downloads', 'clara.weber', 'Angebot März.pdf'), '%PDF-1.4 Angebot');
    const list = (await (await clara.request('GET', '/api/transfer')).json()) as { downloads: { name: string }[] };
    expect(list.downloads.map((f) => f.name)).toEqual(['Angebot März.pdf']);
    const res = await clara.request('GET', `/api/transfer/downloads/${encodeURIComponent('Angebot März.pdf')}`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('%PDF-1.4 Angebot');
    expect(res.headers.get('content-disposition')).toContain("filename*=UTF-8''Angebot%20M%C3%A4rz.pdf");

    const up = await upload(clara, 'Bericht.txt', 'vom Kunden');
    expect(up.status).toBe(201);
    expect(readFileSync(join(root(), 'uploads', 'clara.weber', 'Bericht.txt'), 'utf8')).toBe('vom Kunden');
    const page = await (await clara.request('GET', '/transfer')).text();
    expect(page).toContain('Bericht.txt');
    expect(page).toContain('Angebot März.pdf');
  });

  it('refuses and quarantines an infected upload (real clamscan)', async () => {
    const res = await upload(clara, 'eicar.com', EICAR);
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({ code: 'PORTAL_TRANSFER_INFECTED' });
    expect(readdirSync(join(root(), 'uploads', 'clara.weber'))).not.toContain('eicar.com');
    const held = readdirSync(quarantine());
    expect(held).toHaveLength(1);
    expect(readFileSync(join(quarantine(), held[0] as string), 'utf8')).toBe(EICAR);
    const audit = tp.portal.deps.audit.list({ offset: 0, limit: 5, search: 'eicar.com' }).items;
    expect(audit[0]).toMatchObject({ action: 'transfer.upload', outcome: 'failed' });
  });

  it('follows no link a colleague planted: not to a file, not as the folder', async () => {
    symlinkSync('/etc/passwd', join(root(), 'downloads', 'clara.weber', 'passwort.txt'));
    const viaFile = await clara.request('GET', '/api/transfer/downloads/passwort.txt');
    expect(viaFile.status).toBe(404);
    expect(await viaFile.text()).not.toContain('root:');

    mkdirSync(join(dir(), 'private'));
    writeFileSync(join(dir(), 'private', 'gehalt.txt'), 'secret salary list');
    symlinkSync(join(dir(), 'private'), join(root(), 'downloads', 'anna.schmidt'));
    const anna = apiClient(httpSend(tp.url), { 'x-forwarded-for': OUTSIDE });
    expect((await anna.login('anna.schmidt', DEMO_PASSWORD)).status).toBe(200);
    const viaFolder = await anna.request('GET', '/api/transfer/downloads/gehalt.txt');
    expect(viaFolder.status).toBe(403);
    expect(await viaFolder.text()).not.toContain('salary');
  });

  it('is for mobilusers members only', async () => {
    const bernd = apiClient(httpSend(tp.url), { 'x-forwarded-for': INSIDE });
    expect((await bernd.login('bernd.mueller', DEMO_PASSWORD)).status).toBe(200);
    expect((await bernd.request('GET', '/api/transfer')).status).toBe(403);
    expect((await upload(bernd, 'x.txt', 'x')).status).toBe(403);
  });

  it('in Chromium from outside: uploads through the page and downloads from the list', async () => {
    writeFileSync(join(root(), 'downloads', 'clara.weber', 'plan.txt'), 'Bauplan');
    writeFileSync(join(dir(), 'foto.txt'), 'vom Handy');
    const browser = await launchChromium();
    try {
      const ctx = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': OUTSIDE }, acceptDownloads: true });
      const page = await ctx.newPage();
      page.on('pageerror', (e) => {
        throw new Error(`page script error: ${e.message}`);
      });
      await page.goto(`${tp.url}/login`);
      const login = page.locator('form[data-api="POST /api/session"]');
      await login.getByLabel('Benutzername').fill('clara.weber');
      await login.getByLabel('Passwort').fill(DEMO_PASSWORD);
      await login.getByRole('button', { name: 'Anmelden' }).click();
      await page.waitForURL(`${tp.url}/`);
      await page.getByRole('link', { name: 'Dateitransfer' }).click();
      await page.waitForURL(`${tp.url}/transfer`);
      await page.locator('#transfer-file').setInputFiles(join(dir(), 'foto.txt'));
      await page.getByRole('button', { name: 'Hochladen' }).click();
      await expect.poll(() => page.locator('main').textContent(), { timeout: 10_000 }).toContain('foto.txt');
      expect(readFileSync(join(root(), 'uploads', 'clara.weber', 'foto.txt'), 'utf8')).toBe('vom Handy');
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('link', { name: 'plan.txt' }).click(),
      ]);
      expect(readFileSync((await download.path()) as string, 'utf8')).toBe('Bauplan');
      await ctx.close();
    } finally {
      await browser.close();
    }
  });

  // Last: the portal closes the connection after a 413 while the body still streams.
  it('refuses uploads over the limit', async () => {
    const res = await upload(clara, 'big.bin', new Uint8Array(1_048_577));
    expect(res.status).toBe(413);
    expect(readdirSync(join(root(), 'uploads', 'clara.weber'))).not.toContain('big.bin');
  });
});

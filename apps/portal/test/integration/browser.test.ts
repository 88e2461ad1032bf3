// The portal in a real browser (Debian's Chromium via playwright-core) on the real Samba DC.
// Screenshots go to a temp dir; INVIS_SCREENSHOT_DIR=$PWD/apps/portal/docs refreshes the README's.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_PASSWORD } from '@invis/testbed';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { INSIDE, launchChromium, OUTSIDE, startTestPortal, type TestPortal } from './harness';

const DOCS = process.env.INVIS_SCREENSHOT_DIR ?? mkdtempSync(join(tmpdir(), 'portal-screenshots-'));
let tp: TestPortal;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function newPage(options: { outside?: boolean; phone?: boolean } = {}): Promise<Page> {
  const ctx = await browser.newContext({
    extraHTTPHeaders: { 'x-forwarded-for': options.outside ? OUTSIDE : INSIDE },
    ...(options.phone
      ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true }
      : {}),
  });
  contexts.push(ctx);
  const page = await ctx.newPage();
  page.on('dialog', (d) => void d.accept());
  page.on('pageerror', (e) => {
    throw new Error(`page script error: ${e.message}`);
  });
  return page;
}

async function login(page: Page, username: string, password: string): Promise<void> {
  await page.goto(`${tp.url}/login`);
  const form = page.locator('form[data-api="POST /api/session"]');
  await form.getByLabel('Benutzername').fill(username);
  await form.getByLabel('Passwort').fill(password);
  await form.getByRole('button', { name: 'Anmelden' }).click();
}

const shot = (page: Page, name: string) => page.screenshot({ path: join(DOCS, `${name}.png`), fullPage: true });

beforeAll(async () => {
  tp = await startTestPortal(inject('samba'));
  browser = await launchChromium();
});
afterAll(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  await tp?.close();
});

describe('in Chromium', () => {
  it('logs in as admin and shows the status page', async () => {
    const page = await newPage();
    await page.goto(`${tp.url}/login`);
    await shot(page, 'login');
    await login(page, 'anna.schmidt', DEMO_PASSWORD);
    // The login lands on the home page (web-app tiles); the status page is one click away.
    await page.waitForURL(`${tp.url}/`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Start');
    await page.getByRole('link', { name: 'Status' }).click();
    await page.waitForURL(`${tp.url}/status`);
    await expect.poll(() => page.locator('h1').textContent()).toBe('Serverstatus');
    expect(await page.locator('main').textContent()).toContain('Test-CA');
    await shot(page, 'status');
  });

  it('says "wrong password" in German', async () => {
    const page = await newPage();
    await login(page, 'anna.schmidt', 'falsch-Passw0rt');
    await expect
      .poll(() => page.locator('form[data-api="POST /api/session"] .msg').textContent())
      .toBe('Benutzername oder Passwort falsch.');
  });

  it('creates a user in the UI, who then logs in and changes their own password', async () => {
    const name = `ui.${Date.now().toString(36)}`;
    const admin = await newPage();
    await login(admin, 'anna.schmidt', DEMO_PASSWORD);
    await admin.waitForURL(`${tp.url}/`);
    await admin.goto(`${tp.url}/users/new`);
    await admin.getByLabel('Benutzername').fill(name);
    await admin.getByLabel('Vorname').fill('Uwe');
    await admin.getByLabel('Nachname').fill('<b>Ui</b>');
    await admin.getByLabel('Beschreibung').fill('<script>alert("x")</script> *)( ../ ');
    await admin.getByLabel('Passwort').fill('Start!Passw0rt-9');
    await admin.getByRole('button', { name: 'Anlegen' }).click();
    await admin.waitForURL(`${tp.url}/users`);
    await admin.goto(`${tp.url}/users?search=${name}`);
    await admin.getByRole('link', { name }).click();
    await expect.poll(() => admin.getByLabel('Beschreibung').inputValue()).toBe('<script>alert("x")</script> *)( ../ ');
    expect(await admin.locator('h1').textContent()).toBe(`Uwe <b>Ui</b> (${name})`);
    await shot(admin, 'user');
    await admin.goto(`${tp.url}/users`);
    await shot(admin, 'users');

    const user = await newPage();
    await login(user, name, 'Start!Passw0rt-9');
    await user.waitForURL(`${tp.url}/`);
    await user.goto(`${tp.url}/account`);
    const pw = user.locator('form[data-api="POST /api/me/password"]');
    await pw.getByLabel('Bisheriges Passwort').fill('Start!Passw0rt-9');
    await pw.getByLabel('Neues Passwort').fill('Eigen!Passw0rt-10');
    await pw.getByRole('button').click();
    await expect.poll(() => pw.locator('.msg').textContent()).toBe('Passwort geändert.');
    await shot(user, 'account');
    await user.getByRole('button', { name: /Abmelden/ }).click();
    await user.waitForURL(`${tp.url}/login`);
    await login(user, name, 'Eigen!Passw0rt-10');
    await user.waitForURL(`${tp.url}/`);

    const refused = await user.goto(`${tp.url}/users`);
    expect(refused?.status()).toBe(403);
    expect(await user.locator('h1').textContent()).toBe('Dafür fehlen Ihnen die Rechte.');
    expect((await user.request.get(`${tp.url}/api/audit`)).status()).toBe(403);
  });

  it('refuses an outside login for a non-mobilusers member until an admin adds them', async () => {
    const outside = await newPage({ outside: true });
    await login(outside, 'bernd.mueller', DEMO_PASSWORD);
    await expect
      .poll(() => outside.locator('form[data-api="POST /api/session"] .msg').textContent())
      // from outside a right password of a non-mobile account is answered like a wrong one
      .toBe('Benutzername oder Passwort falsch.');

    const admin = await newPage();
    await login(admin, 'anna.schmidt', DEMO_PASSWORD);
    await admin.waitForURL(`${tp.url}/`);
    await admin.goto(`${tp.url}/groups/mobilusers`);
    const members = admin.getByLabel('Mitglieder (ein Benutzername je Zeile)');
    const before = await members.inputValue();
    await members.fill(`${before}\nbernd.mueller`);
    await admin.getByRole('button', { name: 'Speichern' }).click();
    await expect.poll(() => admin.locator('form[data-api^="PATCH"] .msg').textContent()).toBe('Gespeichert.');
    expect(await members.inputValue()).toContain('bernd.mueller');
    await shot(admin, 'group');

    await login(outside, 'bernd.mueller', DEMO_PASSWORD);
    await outside.waitForURL(`${tp.url}/`);
    await members.fill(before);
    await admin.getByRole('button', { name: 'Speichern' }).click();
    await expect.poll(() => admin.locator('form[data-api^="PATCH"] .msg').textContent()).toBe('Gespeichert.');
  });

  it('walks a user through the expired-password change after a reset', async () => {
    const name = `exp.${Date.now().toString(36)}`;
    const admin = await newPage();
    await login(admin, 'anna.schmidt', DEMO_PASSWORD);
    await admin.waitForURL(`${tp.url}/`);
    const csrf = (await admin.locator('meta[name="csrf-token"]').getAttribute('content')) ?? '';
    const call = (method: string, path: string, data: unknown) =>
      admin.request.fetch(`${tp.url}${path}`, { method, headers: { 'x-csrf-token': csrf }, data });
    expect(
      (
        await call('POST', '/api/users', {
          username: name,
          givenName: 'E',
          surname: 'X',
          password: 'Erst!Passw0rt-1',
          accountType: 'user',
        })
      ).status(),
    ).toBe(201);
    expect(
      (await call('POST', `/api/users/${name}/password`, { password: 'Neu!Passw0rt-2', mustChange: true })).status(),
    ).toBe(204);

    const user = await newPage();
    await login(user, name, 'Neu!Passw0rt-2');
    const expired = user.locator('#expired');
    await expired.waitFor({ state: 'visible' });
    expect(await expired.getByLabel('Benutzername').inputValue()).toBe(name);
    await expired.getByLabel('Bisheriges Passwort').fill('Neu!Passw0rt-2');
    await expired.getByLabel('Neues Passwort').fill('Selbst!Passw0rt-3');
    await expired.getByRole('button', { name: 'Passwort ändern' }).click();
    await expect.poll(() => expired.locator('.msg').textContent()).toBe('Passwort geändert.');
    await login(user, name, 'Selbst!Passw0rt-3');
    await user.waitForURL(`${tp.url}/`);
  });

  it('shows a new API token once and lists it', async () => {
    const admin = await newPage();
    await login(admin, 'anna.schmidt', DEMO_PASSWORD);
    await admin.waitForURL(`${tp.url}/`);
    await admin.goto(`${tp.url}/tokens`);
    await admin.getByLabel('Name').fill('monitoring');
    await admin.getByLabel('status:read').check();
    await admin.getByRole('button', { name: 'Anlegen' }).click();
    const secret = admin.locator('#secret code');
    await expect.poll(() => secret.textContent()).toMatch(/^invis_[0-9a-f]{16}_[\w-]{43}$/);
    const token = (await secret.textContent()) ?? '';
    const res = await fetch(`${tp.url}/api/status`, {
      headers: { authorization: `Bearer ${token}`, 'x-forwarded-for': INSIDE },
    });
    expect(res.status).toBe(200);
    await shot(admin, 'tokens');
  });

  it('runs an allow-listed service action through systemctl and reports its failure', async () => {
    const admin = await newPage();
    await login(admin, 'anna.schmidt', DEMO_PASSWORD);
    await admin.waitForURL(`${tp.url}/`);
    await admin.goto(`${tp.url}/services`);
    const row = admin.locator('tr', { hasText: 'kea-dhcp4-server' });
    await row.getByRole('button', { name: 'Neu starten' }).click();
    // No systemd in the test machine: the real systemctl fails, and the page says so.
    await expect.poll(() => admin.locator('#msg').textContent()).toBe('Die Dienstaktion ist fehlgeschlagen.');
    const audit = await admin.request.get(`${tp.url}/api/audit?search=service.restart`);
    expect(await audit.json()).toMatchObject({
      items: [{ action: 'service.restart', target: 'dhcp', outcome: 'failed' }],
    });
  });

  it('answers 403 to a write without the CSRF token and logs out on a tampered cookie', async () => {
    const page = await newPage();
    await login(page, 'anna.schmidt', DEMO_PASSWORD);
    await page.waitForURL(`${tp.url}/`);
    const res = await page.evaluate(async () => {
      const r = await fetch('/api/groups', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"name":"csrf","type":"team"}',
      });
      return { status: r.status, body: await r.json() };
    });
    expect(res).toMatchObject({ status: 403, body: { code: 'PORTAL_CSRF' } });

    const ctx = page.context();
    const cookie = (await ctx.cookies()).find((c) => c.name === '__Host-invis-session');
    expect(cookie).toMatchObject({ name: '__Host-invis-session', httpOnly: true, secure: true, sameSite: 'Strict' });
    if (!cookie) return;
    await ctx.addCookies([
      { ...cookie, value: `${cookie.value.slice(0, -1)}${cookie.value.endsWith('A') ? 'B' : 'A'}` },
    ]);
    await page.goto(`${tp.url}/account`);
    expect(page.url()).toBe(`${tp.url}/login?next=%2Faccount`);
  });

  it('switches to English and fits a phone screen', async () => {
    const page = await newPage({ phone: true });
    await login(page, 'anna.schmidt', DEMO_PASSWORD);
    await page.waitForURL(`${tp.url}/`);
    await page.goto(`${tp.url}/status`);
    await page.getByRole('link', { name: 'English' }).click();
    await expect.poll(() => page.locator('h1').textContent()).toBe('Server status');
    const width = Number(await page.evaluate('document.documentElement.scrollWidth'));
    expect(width).toBeLessThanOrEqual(390);
    await shot(page, 'status-phone-en');
    await page.goto(`${tp.url}/audit`);
    await page.setViewportSize({ width: 1100, height: 800 });
    await shot(page, 'audit-en');
  });
});

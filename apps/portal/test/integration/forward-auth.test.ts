// Web apps behind a real nginx that asks the portal about every request (forward
// authentication), the home page's tiles from the directory, all in Debian's Chromium.
import { createServer, type Server } from 'node:http';
import { type AdClient, createAdClient } from '@invis/ad-client';
import { DEMO_PASSWORD, type NginxServer, startNginx } from '@invis/testbed';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { renderNginxForwardAuth } from '../../src/forward-auth';
import { INSIDE, launchChromium, OUTSIDE, startTestPortal, type TestPortal } from './harness';

const PROXY_PORT = 8080;
const APP_PORT = 8081;
const PUBLIC_NAME = 'invis.example.org';
let tp: TestPortal;
let admin: AdClient;
let app: Server;
let nginx: NginxServer;
let browser: Browser;
const contexts: BrowserContext[] = [];

async function newContext(where: string): Promise<BrowserContext> {
  const ctx = await browser.newContext({ extraHTTPHeaders: { 'x-forwarded-for': where } });
  contexts.push(ctx);
  return ctx;
}

async function login(page: Page, username: string): Promise<void> {
  const form = page.locator('form[data-api="POST /api/session"]');
  await form.getByLabel('Benutzername').fill(username);
  await form.getByLabel('Passwort').fill(DEMO_PASSWORD);
  await form.getByRole('button', { name: 'Anmelden' }).click();
}

const appUrl = (path: string) => `http://${tp.address}:${PROXY_PORT}${path}`;

beforeAll(async () => {
  const info = inject('samba');
  admin = createAdClient({ url: info.ldapsUrl, bindDN: info.adminDN, password: info.adminPassword, ca: info.caPem });
  await admin.invis.install();
  const entry = (name: string, url: string, priv: string, position = 'Lokal') => ({
    name,
    url,
    ssl: false,
    description: `${name} <b>test</b>`,
    active: true,
    position,
    priv,
    button: name,
  });
  await admin.invis.portal.put('Wiki', entry('Wiki', `[servername]:${PROXY_PORT}/wiki/`, 'guest'));
  await admin.invis.portal.put('Mail', entry('Mail', `[servername]:${PROXY_PORT}/mail/`, 'user'));
  await admin.invis.portal.put(
    'Adminer',
    entry('Adminer', `[servername]:${PROXY_PORT}/adminer/`, 'admin', 'Administration'),
  );
  await admin.invis.portal.put('Kimai', { ...entry('Kimai', '[servername]/kimai/', 'user'), active: false });

  tp = await startTestPortal(info, {
    settings: (address) => ({
      PORTAL_INTERNAL_NAME: address,
      PORTAL_EXTERNAL_NAME: PUBLIC_NAME,
      PORTAL_APP_ORIGINS: [`http://${address}:${PROXY_PORT}`],
    }),
  });
  // The web app: says what it was asked and for whom the proxy let it through.
  app = createServer((req, res) => res.end(`APP ${req.url} user=${req.headers['x-remote-user'] ?? '-'}`));
  await new Promise<void>((resolve) => app.listen(APP_PORT, tp.address, resolve));
  // The test's browsers name their address in X-Forwarded-For (as a proxy in front would):
  // nginx passes that on instead of its own connection's address.
  nginx = await startNginx(
    renderNginxForwardAuth({
      listen: `${tp.address}:${PROXY_PORT}`,
      portalUrl: tp.url,
      apps: [{ path: '/mail/', upstream: `http://${tp.address}:${APP_PORT}` }],
      clientAddress: 'forwarded',
    }),
    { address: tp.address, port: PROXY_PORT },
  );
  browser = await launchChromium();
});

afterAll(async () => {
  for (const c of contexts) await c.close();
  await browser?.close();
  await nginx?.stop();
  await new Promise((r) => app?.close(r));
  await tp?.close();
  for (const cn of ['Wiki', 'Mail', 'Adminer', 'Kimai']) await admin?.invis.portal.delete(cn).catch(() => undefined);
  await admin?.close();
});

describe('web apps behind nginx with the portal as forward authentication', () => {
  it('sends a deep link without a session to the login and back; with the session the app answers at once', async () => {
    const page = await (await newContext(INSIDE)).newPage();
    await page.goto(appUrl('/mail/inbox?folder=a&sort=date'));
    expect(new URL(page.url()).pathname).toBe('/login');
    await login(page, 'bernd.mueller');
    await page.waitForURL(appUrl('/mail/inbox?folder=a&sort=date'));
    expect(await page.textContent('body')).toBe('APP /mail/inbox?folder=a&sort=date user=bernd.mueller');
    await page.goto(appUrl('/mail/other'));
    expect(await page.textContent('body')).toBe('APP /mail/other user=bernd.mueller');
  });

  it('lets only mobilusers through from outside', async () => {
    // bernd (not in mobilusers) logs in inside, then takes his cookie outside: refused there.
    const inside = await newContext(INSIDE);
    const page = await inside.newPage();
    await page.goto(`${tp.url}/login`);
    await login(page, 'bernd.mueller');
    await page.waitForURL(`${tp.url}/`);
    const away = await newContext(OUTSIDE);
    await away.addCookies(await inside.cookies());
    const outsidePage = await away.newPage();
    await outsidePage.goto(appUrl('/mail/'));
    expect(new URL(outsidePage.url()).pathname).toBe('/login');
    // clara is in mobilusers: from outside, login and then the app.
    const clara = await (await newContext(OUTSIDE)).newPage();
    await clara.goto(appUrl('/mail/'));
    await login(clara, 'clara.weber');
    await clara.waitForURL(appUrl('/mail/'));
    expect(await clara.textContent('body')).toBe('APP /mail/ user=clara.weber');
  });

  it('never returns from the login to a site that is not a listed app origin', async () => {
    const page = await (await newContext(INSIDE)).newPage();
    await page.goto(`${tp.url}/auth/login?https://evil.example/phish`);
    await login(page, 'bernd.mueller');
    await page.waitForURL(`${tp.url}/`);
  });
});

describe('tiles on the home page', () => {
  const links = (page: Page) => page.locator('ul.tiles a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));

  it('shows each reader the active entries of their level, linked for where they are', async () => {
    const guest = await (await newContext(INSIDE)).newPage();
    await guest.goto(`${tp.url}/`);
    expect(await links(guest)).toEqual([`http://${tp.address}:${PROXY_PORT}/wiki/`]);
    expect(await guest.locator('ul.tiles').textContent()).toContain('Wiki test');

    const anna = await (await newContext(INSIDE)).newPage();
    await anna.goto(`${tp.url}/login`);
    await login(anna, 'anna.schmidt');
    await anna.waitForURL(`${tp.url}/`);
    expect(await links(anna)).toEqual([
      `http://${tp.address}:${PROXY_PORT}/mail/`,
      `http://${tp.address}:${PROXY_PORT}/wiki/`,
      `http://${tp.address}:${PROXY_PORT}/adminer/`,
    ]);

    const clara = await (await newContext(OUTSIDE)).newPage();
    await clara.goto(`${tp.url}/login`);
    await login(clara, 'clara.weber');
    await clara.waitForURL(`${tp.url}/`);
    expect(await links(clara)).toEqual([
      `http://${PUBLIC_NAME}:${PROXY_PORT}/mail/`,
      `http://${PUBLIC_NAME}:${PROXY_PORT}/wiki/`,
    ]);
  });
});

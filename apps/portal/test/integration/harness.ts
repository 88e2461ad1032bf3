// Starts the portal for integration tests: the real ad-client against the testbed's Samba DC,
// served on its own reserved loopback address (never on all interfaces).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdClient, createAdClient } from '@invis/ad-client';
import { createTestPki, reserveLoopbackAddress, type SambaDcInfo } from '@invis/testbed';
import { type Browser, chromium } from 'playwright-core';
import { createAdDirectory } from '../../src/ad-directory';
import { createPortal, type Portal, type PortalOptions } from '../../src/portal';
import { execaRunner } from '../../src/runner';
import { startPortalServer } from '../../src/server';
import { defaultShareOptions, type ShareOptions } from '../../src/shares';

/** A client address inside the portal's internal network, as the trusted proxy reports it. */
export const INSIDE = '192.168.220.10';
/** A client address on the Internet. */
export const OUTSIDE = '203.0.113.50';

export interface TestPortal {
  url: string;
  /**
   * The portal's own address; it is also the trusted proxy (as a TLS proxy in front of the
   * portal would be), so every test request says in `X-Forwarded-For` where it comes from.
   */
  address: string;
  /** Where `portal.db` lives. */
  dataDir: string;
  /** Group shares, templates and homes under the test's temp dir. */
  shares: ShareOptions;
  /** CA of the portal's certificate when started with `tls`. */
  caPem: string | null;
  portal: Portal;
  ad: AdClient;
  close(): Promise<void>;
}

/** A portal on the real DC behind a "proxy": requests with `X-Forwarded-For: INSIDE` are inside, anything else outside. */
export async function startTestPortal(
  info: SambaDcInfo,
  options: {
    tls?: boolean;
    proxyInside?: boolean;
    portal?: Partial<Pick<PortalOptions, 'accessTtlSeconds' | 'maxSessions'>>;
  } = {},
): Promise<TestPortal> {
  const ad = createAdClient({ url: info.ldapsUrl, bindDN: info.adminDN, password: info.adminPassword, ca: info.caPem });
  const lo = await reserveLoopbackAddress();
  const dataDir = mkdtempSync(join(tmpdir(), 'portal-it-'));
  const shares = defaultShareOptions(join(dataDir, 'root'));
  const portal = createPortal({
    directory: createAdDirectory({ ad, listTtlMs: 0, windowsFileServer: 'INVIS' }),
    dataDir,
    // `proxyInside`: the proxy itself sits in the LAN (or on loopback that was once "inside").
    internalNetworks: ['192.168.220.0/24', ...(options.proxyInside ? [lo.address] : [])],
    trustedProxies: [lo.address],
    runner: execaRunner,
    shares,
    status: {
      watchDirs: [tmpdir(), join(dataDir, 'missing')],
      mdstatFile: '/proc/mdstat',
      certificates: [{ name: 'Test-CA', file: info.caFile }],
      backupStampFile: join(dataDir, 'no-backup-yet'),
      internetStateFile: join(dataDir, 'no-inetcheck'),
    },
    ...options.portal,
  });
  const pki = options.tls
    ? await createTestPki(join(dataDir, 'pki'), { commonName: 'portal', dnsNames: [], ipAddresses: [lo.address] })
    : null;
  const server = await startPortalServer(portal, {
    host: lo.address,
    port: 0,
    ...(pki ? { tls: { certFile: pki.certFile, keyFile: pki.keyFile } } : {}),
  });
  return {
    url: server.url,
    address: lo.address,
    dataDir,
    shares,
    caPem: pki?.caPem ?? null,
    portal,
    ad,
    async close() {
      await server.close();
      portal.close();
      await ad.close();
      await lo.release();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Debian's Chromium through playwright-core (no browser download), fresh profile per launch. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

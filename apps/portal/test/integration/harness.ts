// Starts the portal for integration tests: the real ad-client against the testbed's Samba DC,
// served on its own reserved loopback address (never on all interfaces).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AdClient, createAdClient } from '@invis/ad-client';
import { createExecaRunner } from '@invis/host';
import { createTestPki, reserveLoopbackAddress, type SambaDcInfo } from '@invis/testbed';
import { type Browser, chromium } from 'playwright-core';
import { composePortal, type PortalCollaborators } from '../../src/compose';
import { defaultPortalSettings, type PortalSettings } from '../../src/env';
import type { Portal } from '../../src/portal';
import { defaultShareOptions, type ShareOptions } from '../../src/shares';
import type { VpnRevoker } from '../../src/vpn';

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

/**
 * Settings of a test portal in `dataDir`, listening on `address`, which is also its trusted
 * proxy; status sources that do not exist show as unknown.
 */
export function testSettings(dataDir: string, address: string, changes: Partial<PortalSettings> = {}): PortalSettings {
  return {
    ...defaultPortalSettings(),
    PORTAL_HOST: address,
    PORTAL_PORT: 0,
    PORTAL_DATA_DIR: dataDir,
    PORTAL_TRUSTED_PROXIES: [address],
    PORTAL_WATCH_DIRS: [tmpdir(), join(dataDir, 'missing')],
    PORTAL_CERT_FILES: [],
    PORTAL_BACKUP_STAMP_FILE: join(dataDir, 'no-backup-yet'),
    PORTAL_INETCHECK_FILE: join(dataDir, 'no-inetcheck'),
    ...changes,
  };
}

/** A portal on the real DC behind a "proxy": requests with `X-Forwarded-For: INSIDE` are inside, anything else outside. */
export async function startTestPortal(
  info: SambaDcInfo,
  options: {
    tls?: boolean;
    proxyInside?: boolean;
    /** Another directory connection (closed with the portal); default: the DC's administrator. */
    ad?: AdClient;
    tuning?: Pick<NonNullable<PortalCollaborators['tuning']>, 'accessTtlSeconds' | 'maxSessions'>;
    /** Revokes VPN certificates of disabled and deleted users (a real PKI in the test's temp dir). */
    vpn?: VpnRevoker;
    /** Settings on top of the test defaults (the address is known only inside: a function of it). */
    settings?: (address: string) => Partial<PortalSettings>;
    /** Hosts and DNS zones (real DHCP and DNS servers of the test). */
    network?: Pick<PortalCollaborators, 'hosts' | 'dns'>;
    /** VPN bundles and the transfer area (a real PKI, folders in the test's temp dir). */
    parts?: Pick<PortalCollaborators, 'vpnBundles' | 'transfer'>;
  } = {},
): Promise<TestPortal> {
  const ad =
    options.ad ??
    createAdClient({ url: info.ldapsUrl, bindDN: info.adminDN, password: info.adminPassword, ca: info.caPem });
  const lo = await reserveLoopbackAddress();
  const dataDir = mkdtempSync(join(tmpdir(), 'portal-it-'));
  const shares = defaultShareOptions(join(dataDir, 'root'));
  try {
    const pki = options.tls
      ? await createTestPki(join(dataDir, 'pki'), { commonName: 'portal', dnsNames: [], ipAddresses: [lo.address] })
      : null;
    const running = await composePortal(
      testSettings(dataDir, lo.address, {
        // `proxyInside`: the proxy itself sits in the LAN (or on loopback that was once "inside").
        PORTAL_INTERNAL_NETWORKS: ['192.168.220.0/24', ...(options.proxyInside ? [lo.address] : [])],
        PORTAL_WINDOWS_FILE_SERVER: 'INVIS',
        PORTAL_CERT_FILES: [`Test-CA=${info.caFile}`],
        ...(pki ? { PORTAL_TLS_CERT_FILE: pki.certFile, PORTAL_TLS_KEY_FILE: pki.keyFile } : {}),
        ...options.settings?.(lo.address),
      }),
      {
        ad,
        runner: createExecaRunner(),
        shares,
        tuning: { listTtlMs: 0, ...options.tuning },
        ...(options.vpn ? { vpn: options.vpn } : {}),
        ...options.network,
        ...options.parts,
      },
    );
    return {
      url: running.url,
      address: lo.address,
      dataDir,
      shares,
      caPem: pki?.caPem ?? null,
      portal: running.portal,
      ad,
      async close() {
        await running.close();
        await ad.close();
        await lo.release();
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  } catch (e) {
    await ad.close();
    await lo.release();
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  }
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

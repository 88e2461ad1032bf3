import { statSync } from 'node:fs';
import { join } from 'node:path';
import { createAdClient } from '@invis/ad-client';
import { fixedClock } from '@invis/host';
import { createRecordingServiceManager, createScriptedRunner, useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { composePortal } from './compose';
import { defaultPortalSettings } from './env';

const dir = useTempDir('portal-compose-');

describe('composePortal', () => {
  it('wires the settings and collaborators into a listening portal', async () => {
    // Never contacted here: nothing in this test asks the directory.
    const ad = createAdClient({ url: 'ldaps://127.0.0.1:9', bindDN: 'CN=portal', password: 'unused' });
    const services = createRecordingServiceManager();
    const runner = createScriptedRunner({ systemctl: { stdout: 'active\n' } });
    const at = new Date('2026-12-24T18:00:00Z');
    const running = await composePortal(
      {
        ...defaultPortalSettings(),
        PORTAL_PORT: 0,
        PORTAL_DATA_DIR: dir(),
        PORTAL_TRUSTED_PROXIES: ['127.0.0.1'],
        PORTAL_ADMIN_GROUP: 'Chefs',
        PORTAL_WATCH_DIRS: [dir()],
        PORTAL_CERT_FILES: [],
        PORTAL_BACKUP_STAMP_FILE: join(dir(), 'none'),
        PORTAL_INETCHECK_FILE: join(dir(), 'none'),
      },
      { ad, runner, services, clock: fixedClock(at), shares: null, status: { mdstatFile: join(dir(), 'mdstat') } },
    );
    try {
      expect(running.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await fetch(`${running.url}/api/openapi.json`)).status).toBe(200);
      const { deps } = running.portal;
      expect([deps.adminGroup, deps.mobileGroup, deps.shares]).toEqual(['Chefs', 'mobilusers', null]);
      expect(deps.trustedProxies.has('127.0.0.1')).toBe(true);
      expect(deps.internalNetworks.has('192.168.220.7')).toBe(true);
      const status = await deps.status();
      expect(status.time).toBe(at.toISOString());
      expect(status.raid).toEqual({ state: 'unknown' });
      expect(status.services.every((s) => s.state === 'active')).toBe(true);
      await deps.services.run('dhcp', 'restart');
      expect(services.actions).toEqual(['restart kea-dhcp4-server']);
      expect(statSync(join(dir(), 'portal.db')).mode & 0o777).toBe(0o600);
    } finally {
      await running.close();
      await ad.close();
    }
  });
});

// The portal module into a staging root: the rendered environment passes the portal's own
// validation (`loadEnv` of @invis/portal-1), the unit passes `systemd-analyze verify`.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { loadEnv } from '@invis/portal-1';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { portalModule } from '../../src/modules/portal';
import { moduleContext } from './context';

/** KEY=value lines (as systemd's EnvironmentFile reads them; comments skipped). */
const parseEnvFile = (text: string): Record<string, string> =>
  Object.fromEntries(
    text
      .split('\n')
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );

describe('portal module (loadEnv, systemd-analyze verify)', () => {
  const dir = useTempDir('setup-portal-');

  it('renders an environment the portal accepts and a hardened unit under its own user', async () => {
    const root = dir();
    const ctx = await moduleContext(root);
    const report = await portalModule.apply(ctx);
    expect(report.files.map((f) => f.path)).toEqual([
      '/etc/sysusers.d/invis-portal.conf',
      '/etc/invis/portal.env',
      '/etc/systemd/system/invis-portal.service',
      '/etc/systemd/system/invis-privileged@.service',
      '/etc/systemd/system/invis-privileged.socket',
    ]);
    const env = parseEnvFile(await readFile(join(root, 'etc/invis/portal.env'), 'utf8'));
    const settings = loadEnv(env);
    expect(settings).toMatchObject({
      PORTAL_HOST: '0.0.0.0',
      PORTAL_PORT: 56443,
      PORTAL_TLS_CERT_FILE: '/etc/invis/certs/web-cert.pem',
      PORTAL_TLS_KEY_FILE: '/run/credentials/invis-portal.service/web-key',
      PORTAL_LDAP_URL: 'ldaps://192.168.220.10:636',
      PORTAL_LDAP_BIND: 'invis-portal-admin@invis-net.loc',
      PORTAL_INTERNAL_NETWORKS: ['192.168.220.0/24', '192.168.166.0/24'],
      PORTAL_TRUSTED_PROXIES: [],
      PORTAL_INETCHECK_FILE: '/var/spool/results/inetcheck/inetcheck',
      PORTAL_JOBS_DIR: '/var/lib/invis/jobs',
      PORTAL_FOLDERS: 'server',
      PORTAL_INTERNAL_NAME: 'invis.invis-net.loc',
      PORTAL_PRIVILEGED_SOCKET: '/run/invis/privileged.sock',
      PORTAL_VPN_PRIVILEGED: true,
      PORTAL_TRANSFER_DIR: '/srv/shares/portal',
      PORTAL_TRANSFER_QUARANTINE_DIR: '/var/lib/invis/portal/quarantine',
      PORTAL_TRANSFER_SCANNER: 'clamdscan',
    });
    const unit = await readFile(join(root, 'etc/systemd/system/invis-portal.service'), 'utf8');
    for (const line of [
      'User=invis-portal',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'PrivateTmp=yes',
      'ReadWritePaths=/var/lib/invis/portal -/srv/shares/portal',
      'CapabilityBoundingSet=',
      'LoadCredential=ldap-password:/etc/invis/secrets/ad-invis-portal-admin',
      'LoadCredential=web-key:/etc/invis/private/web-key.pem',
    ]) {
      expect(unit).toContain(`${line}\n`);
    }
    // The door to root: only root and the portal's group may connect; one root process per request.
    const socket = await readFile(join(root, 'etc/systemd/system/invis-privileged.socket'), 'utf8');
    for (const line of ['SocketUser=root', 'SocketGroup=invis-portal', 'SocketMode=0660', 'Accept=yes']) {
      expect(socket).toContain(`${line}\n`);
    }
    const service = await readFile(join(root, 'etc/systemd/system/invis-privileged@.service'), 'utf8');
    for (const line of ['StandardInput=socket', 'StandardOutput=socket', 'NoNewPrivileges=yes', 'RuntimeMaxSec=300']) {
      expect(service).toContain(`${line}\n`);
    }
    expect((await portalModule.apply(ctx)).changed).toBe(false);
  });
});

// Production entry: `node dist/main.js`, configured by PORTAL_* environment variables (env.ts).
import { readFile } from 'node:fs/promises';
import { createAdClient } from '@invis/ad-client';
import { createAdDirectory } from './ad-directory';
import { certificateList, loadEnv } from './env';
import { createPortal } from './portal';
import { execaRunner } from './runner';
import { readSecretFile } from './secrets';
import { startPortalServer } from './server';
import { defaultShareOptions } from './shares';

const env = loadEnv(process.env);
const password = await readSecretFile(env.PORTAL_LDAP_PASSWORD_FILE);
const ad = createAdClient({
  url: env.PORTAL_LDAP_URL,
  ...(env.PORTAL_LDAP_BIND.includes('=') ? { bindDN: env.PORTAL_LDAP_BIND } : { upn: env.PORTAL_LDAP_BIND }),
  password,
  ...(env.PORTAL_LDAP_CA_FILE ? { ca: await readFile(env.PORTAL_LDAP_CA_FILE) } : {}),
});

const portal = createPortal({
  directory: createAdDirectory({
    ad,
    ...(env.PORTAL_WINDOWS_FILE_SERVER ? { windowsFileServer: env.PORTAL_WINDOWS_FILE_SERVER } : {}),
  }),
  dataDir: env.PORTAL_DATA_DIR,
  internalNetworks: env.PORTAL_INTERNAL_NETWORKS,
  trustedProxies: env.PORTAL_TRUSTED_PROXIES,
  adminGroup: env.PORTAL_ADMIN_GROUP,
  mobileGroup: env.PORTAL_MOBILE_GROUP,
  sessionIdleMinutes: env.PORTAL_SESSION_IDLE_MINUTES,
  sessionMaxHours: env.PORTAL_SESSION_MAX_HOURS,
  runner: execaRunner,
  shares: defaultShareOptions('/'),
  status: {
    watchDirs: env.PORTAL_WATCH_DIRS,
    mdstatFile: '/proc/mdstat',
    certificates: certificateList(env.PORTAL_CERT_FILES),
    backupStampFile: env.PORTAL_BACKUP_STAMP_FILE,
    internetStateFile: env.PORTAL_INETCHECK_FILE,
  },
});
const server = await startPortalServer(portal, {
  host: env.PORTAL_HOST,
  port: env.PORTAL_PORT,
  ...(env.PORTAL_TLS_CERT_FILE && env.PORTAL_TLS_KEY_FILE
    ? { tls: { certFile: env.PORTAL_TLS_CERT_FILE, keyFile: env.PORTAL_TLS_KEY_FILE } }
    : {}),
});
console.log(`invis portal listening on ${server.url}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void server.close().then(async () => {
      portal.close();
      await ad.close();
      process.exit(0);
    });
  });
}

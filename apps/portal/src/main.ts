// Production entry: `node dist/main.js`, configured by PORTAL_* environment variables (env.ts).
import { readFile } from 'node:fs/promises';
import { createAdClient } from '@invis/ad-client';
import { createExecaRunner } from '@invis/host';
import { composePortal } from './compose';
import { loadEnv } from './env';
import { readSecretFile } from './secrets';

const settings = loadEnv();
const password = await readSecretFile(settings.PORTAL_LDAP_PASSWORD_FILE);
const ad = createAdClient({
  url: settings.PORTAL_LDAP_URL,
  ...(settings.PORTAL_LDAP_BIND.includes('=')
    ? { bindDN: settings.PORTAL_LDAP_BIND }
    : { upn: settings.PORTAL_LDAP_BIND }),
  password,
  ...(settings.PORTAL_LDAP_CA_FILE ? { ca: await readFile(settings.PORTAL_LDAP_CA_FILE) } : {}),
});

const running = await composePortal(settings, { ad, runner: createExecaRunner() });
console.log(`invis portal listening on ${running.url}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    void running.close().then(async () => {
      await ad.close();
      process.exit(0);
    });
  });
}

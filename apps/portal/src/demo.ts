// `pnpm --filter @invis/portal-1 demo`: starts the testbed's demo directory (a real Samba AD DC,
// seeded with the demo company) and serves the portal on it at http://127.0.0.1:<port>.
// Plain HTTP on loopback only; the session cookie is still Secure (browsers accept that on
// loopback). Ctrl-C stops everything.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdClient } from '@invis/ad-client';
import { DEMO_PASSWORD, DEMO_USERS, seedDemoDirectory, startSambaDc } from '@invis/testbed';
import { createAdDirectory } from './ad-directory';
import { createPortal } from './portal';
import { execaRunner } from './runner';
import { startPortalServer } from './server';
import { defaultShareOptions } from './shares';

const portArg = process.argv.find((a) => a.startsWith('--port='));
const port = portArg ? Number(portArg.slice('--port='.length)) : 8080;
const once = process.argv.includes('--once');

console.log('invis portal demo: starting the demo directory (Samba AD DC) …');
const dc = await startSambaDc();
const dataDir = mkdtempSync(join(tmpdir(), 'invis-portal-demo-'));
const ad = createAdClient({
  url: dc.info.ldapsUrl,
  bindDN: dc.info.adminDN,
  password: dc.info.adminPassword,
  ca: dc.info.caPem,
});
let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await server?.close();
  portal.close();
  await ad.close();
  await dc.stop();
  rmSync(dataDir, { recursive: true, force: true });
};

await seedDemoDirectory(dc.info);
const demoShares = defaultShareOptions(join(dataDir, 'root'));
for (const dir of ['Projekt/Angebote', 'Projekt/Rechnungen', 'Projekt/Zeichnungen']) {
  mkdirSync(join(demoShares.templatesDir, dir), { recursive: true });
}
const portal = createPortal({
  directory: createAdDirectory({ ad }),
  dataDir,
  internalNetworks: ['127.0.0.0/8', '::1/128'],
  runner: execaRunner,
  // The demo's file server lives in its temp dir, with one folder template to choose.
  shares: demoShares,
  status: {
    watchDirs: ['/', '/home', '/srv', '/var', tmpdir()],
    mdstatFile: '/proc/mdstat',
    certificates: [{ name: 'Demo-CA (LDAPS)', file: dc.info.caFile }],
    backupStampFile: '/var/spool/results/backup/last',
    internetStateFile: '/var/spool/results/inetcheck/inetcheck',
  },
});
// The demo's browser connects directly (no proxy), so loopback is inside here on purpose.
const server = await startPortalServer(portal, { host: '127.0.0.1', port, directLoopbackClients: true });

console.log(`\nPortal:   ${server.url}/   (German; "English" switches)`);
console.log(`API:      ${server.url}/api/openapi.json`);
console.log('\nDemo logins (password for all):', DEMO_PASSWORD);
for (const u of DEMO_USERS) console.log(`  ${u.sAMAccountName.padEnd(16)} ${u.groups.join(', ') || '–'}`);
console.log('  (anna.schmidt is an admin: Benutzer, Gruppen, Dienste, Protokoll, API-Tokens)');

if (once) {
  await stop();
} else {
  console.log('\nRunning; press Ctrl-C to stop (the demo directory is removed again).');
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => void stop().then(() => process.exit(0)));
  }
}

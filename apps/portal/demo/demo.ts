// `pnpm demo` / `./invis demo`: starts the testbed's demo directory (a real Samba AD DC, seeded
// with the demo company) and serves the portal on it at http://127.0.0.1:<port>, wired by the
// same composePortal as production. Plain HTTP on loopback only; the session cookie is still
// Secure (browsers accept that on loopback). Ctrl-C stops everything. `--once` starts and stops
// (a smoke test); `--port=N` picks the port (default 8080).
// Lives outside src/: it needs the testbed, which a shipped portal must never import.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAdClient } from '@invis/ad-client';
import { createExecaRunner } from '@invis/host';
import { type ComposedPortal, composePortal, defaultPortalSettings, defaultShareOptions } from '@invis/portal-1';
import { DEMO_PASSWORD, DEMO_USERS, seedDemoDirectory, startSambaDc } from '@invis/testbed';

/** The demo's folder templates (the group dialog offers them). */
const DEMO_TEMPLATES = ['Projekt/Angebote', 'Projekt/Rechnungen', 'Projekt/Zeichnungen'];

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
let running: ComposedPortal | undefined;
let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await running?.close();
  await ad.close();
  await dc.stop();
  rmSync(dataDir, { recursive: true, force: true });
};

try {
  await seedDemoDirectory(dc.info);
  // The demo's file server lives in its temp dir, with one folder template to choose.
  const shares = defaultShareOptions(join(dataDir, 'root'));
  for (const dir of DEMO_TEMPLATES) mkdirSync(join(shares.templatesDir, dir), { recursive: true });
  running = await composePortal(
    {
      ...defaultPortalSettings(),
      PORTAL_HOST: '127.0.0.1',
      PORTAL_PORT: port,
      PORTAL_DATA_DIR: dataDir,
      PORTAL_INTERNAL_NETWORKS: ['127.0.0.0/8', '::1/128'],
      PORTAL_WATCH_DIRS: ['/', '/home', '/srv', '/var', tmpdir()],
      PORTAL_CERT_FILES: [`Demo-CA (LDAPS)=${dc.info.caFile}`],
    },
    // The demo's browser connects directly (no proxy), so loopback is inside here on purpose.
    { ad, runner: createExecaRunner(), shares, directLoopbackClients: true },
  );
} catch (e) {
  await stop();
  throw e;
}

console.log(`\nPortal:   ${running.url}/   (German; "English" switches)`);
console.log(`API:      ${running.url}/api/openapi.json`);
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

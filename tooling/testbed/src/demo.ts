// `./invis demo`: starts the embedded demo directory (a Samba AD DC), seeds the demo company,
// reads it back over LDAPS and prints what it found and how to connect. Stays up until Ctrl-C
// (`--once` stops at once, `--json` prints machine-readable output).
import { DEMO_PASSWORD, readDemoDirectory, seedDemoDirectory } from './demo-directory';
import { startSambaDc } from './samba';

const once = process.argv.includes('--once');
const json = process.argv.includes('--json');
const log = (s: string): void => {
  if (!json) console.log(s);
};

const t0 = performance.now();
log('invis demo: starting the demo directory (Samba AD DC) …');
const dc = await startSambaDc();
log(`  directory up in ${((performance.now() - t0) / 1000).toFixed(1)} s on ${dc.info.address}`);
await seedDemoDirectory(dc.info);
const snapshot = await readDemoDirectory(dc.info);
if (json) {
  console.log(
    JSON.stringify({ connection: { ...dc.info, caPem: undefined }, demoPassword: DEMO_PASSWORD, ...snapshot }, null, 2),
  );
} else {
  log('\nPeople (read back over LDAPS):');
  for (const u of snapshot.users) {
    log(
      `  ${u.sAMAccountName.padEnd(16)} ${u.displayName.padEnd(16)} uid ${u.uidNumber.padEnd(6)} ${u.memberOf.join(', ')}`,
    );
  }
  log('\nGroups:');
  for (const g of snapshot.groups) log(`  ${g.name.padEnd(16)} gid ${g.gidNumber.padEnd(6)} ${g.members} members`);
  log('\nConnect:');
  log(`  LDAPS      ${dc.info.ldapsUrl}   (CA: ${dc.info.caFile})`);
  log(`  Admin      ${dc.info.adminUPN} / ${dc.info.adminPassword}`);
  log(`  Demo users password: ${DEMO_PASSWORD}`);
  log(
    `  Try: LDAPTLS_CACERT=${dc.info.caFile} ldapsearch -H ${dc.info.ldapsUrl} -x -D ${dc.info.adminUPN} -w '${dc.info.adminPassword}' -b ${dc.info.baseDN} '(sAMAccountName=anna.schmidt)'`,
  );
}
if (once) {
  await dc.stop();
} else {
  log('\nRunning; press Ctrl-C to stop (everything is removed again).');
  process.once('SIGINT', () => void dc.stop().then(() => process.exit(0)));
  process.once('SIGTERM', () => void dc.stop().then(() => process.exit(0)));
  setInterval(() => undefined, 1 << 30);
}

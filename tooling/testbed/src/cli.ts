// `pnpm testbed up samba|bind [--schema] [--json]`: start a server by hand for debugging;
// it stays up until Ctrl-C and is then removed completely.
import { startBind } from './bind';
import { startSambaDc } from './samba';

const [command, server] = process.argv.slice(2);
const json = process.argv.includes('--json');
if (command !== 'up' || (server !== 'samba' && server !== 'bind')) {
  console.error('usage: testbed up samba|bind [--schema] [--json]');
  process.exit(2);
}
const running =
  server === 'samba' ? await startSambaDc({ schemaUpdates: process.argv.includes('--schema') }) : await startBind();
const { info, readyMs } = running;
if (json) console.log(JSON.stringify({ server, readyMs: Math.round(readyMs), info }, null, 2));
else {
  console.log(`${server} ready in ${Math.round(readyMs)} ms`);
  for (const [k, v] of Object.entries(info))
    if (k !== 'caPem') console.log(`  ${k.padEnd(14)} ${typeof v === 'object' ? JSON.stringify(v) : v}`);
  console.log('Ctrl-C stops and removes it.');
}
const stop = (): void => void running.stop().then(() => process.exit(0));
process.once('SIGINT', stop);
process.once('SIGTERM', stop);
setInterval(() => undefined, 1 << 30);

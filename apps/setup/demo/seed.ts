// Seeds the testbed's demo company into the server's directory, run inside the sandbox by the
// demo (the DC's LDAPS is reachable only there). Reads `{ url, caFile, adminDN, baseDN, password }`
// as JSON on stdin: the password never shows in a process list.
// Usage: node --conditions=@invis/source --import tsx seed.ts < access.json
import { readFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { seedDemoDirectory } from '@invis/testbed';
import { z } from 'zod';

const Access = z.object({
  url: z.string().startsWith('ldaps://'),
  caFile: z.string().min(1),
  adminDN: z.string().min(1),
  baseDN: z.string().min(1),
  password: z.string().min(1),
});
const access = Access.parse(JSON.parse(await text(process.stdin)));
await seedDemoDirectory({
  ldapsUrl: access.url,
  caPem: readFileSync(access.caFile, 'utf8'),
  adminDN: access.adminDN,
  adminPassword: access.password,
  baseDN: access.baseDN,
});

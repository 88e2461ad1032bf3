// Creates a security group in the server's directory the way the portal does (@invis/ad-client's
// groups.create: CN=Users, gidNumber RID + 20000), run inside the sandbox (the DC's LDAPS is
// reachable only there). Reads its JSON on stdin (no password in a process list), prints the gid.
// Usage: node --conditions=@invis/source --import tsx whole-dav-group.ts < group.json
import { readFileSync } from 'node:fs';
import { text } from 'node:stream/consumers';
import { createAdClient } from '@invis/ad-client';
import { z } from 'zod';

const Input = z.object({
  url: z.string().startsWith('ldaps://'),
  caFile: z.string(),
  upn: z.string(),
  password: z.string(),
  name: z.string(),
  members: z.array(z.string()),
});
const input = Input.parse(JSON.parse(await text(process.stdin)));
const ad = createAdClient({
  url: input.url,
  upn: input.upn,
  password: input.password,
  ca: readFileSync(input.caFile, 'utf8'),
});
try {
  const group = await ad.groups.create({ name: input.name, kind: 'security', members: input.members });
  process.stdout.write(`${JSON.stringify({ gid: group.gidNumber })}\n`);
} finally {
  await ad.close();
}

// Creates a security group in the server's directory the way the portal does (@invis/ad-client's
// groups.create: CN=Users, gidNumber RID + 20000), run inside the sandbox (the DC's LDAPS is
// reachable only there). Reads its JSON on stdin (no password in a process list), prints the gid.
// Usage: node --conditions=@invis/source --import tsx whole-dav-group.ts < group.json
import { z } from 'zod';
import { directoryFromStdin } from './sandbox-directory';

const { input, ad } = await directoryFromStdin({ name: z.string(), members: z.array(z.string()) });
try {
  const group = await ad.groups.create({ name: input.name, kind: 'security', members: input.members });
  process.stdout.write(`${JSON.stringify({ gid: group.gidNumber })}\n`);
} finally {
  await ad.close();
}

// Writes the whole-mail test's people into the server's directory, run inside the sandbox (the DC's
// LDAPS is reachable only there) the way the portal would: AD users, the provider catalogue entry,
// each user's provider mailboxes through @invis/mail-rewrite's store (passwords sealed with the
// server's mail key), and disabled accounts. Reads its JSON on stdin: no password in a process list.
// Usage: node --conditions=@invis/source --import tsx whole-mail-seed.ts < seed.json
import { readFileSync } from 'node:fs';
import { createMailDirectoryStore, parseMailConfig, parseSecretKey, toMailProviderRecord } from '@invis/mail-rewrite';
import { z } from 'zod';
import { directoryFromStdin } from './sandbox-directory';

const { input: seed, ad } = await directoryFromStdin({
  keyFile: z.string(),
  domain: z.string(),
  users: z.array(z.object({ sAMAccountName: z.string(), password: z.string() })).default([]),
  /** @invis/mail-rewrite model input: the catalogue and the users' mail accounts. */
  mail: z.object({ providers: z.array(z.unknown()), users: z.array(z.unknown()) }).optional(),
  disable: z.array(z.string()).default([]),
});
try {
  for (const user of seed.users) {
    if (await ad.users.get(user.sAMAccountName)) continue;
    await ad.users.create({
      sAMAccountName: user.sAMAccountName,
      password: user.password,
      type: 'user',
      givenName: user.sAMAccountName,
      sn: 'Test',
    });
  }
  if (seed.mail) {
    const config = parseMailConfig({ localDomain: seed.domain, ...seed.mail });
    for (const provider of config.providers)
      await ad.invis.mail.putProvider(provider.id, toMailProviderRecord(provider));
    const key = parseSecretKey(readFileSync(seed.keyFile, 'utf8'));
    const store = createMailDirectoryStore({ directory: ad.invis.mail, users: ad.users, key });
    for (const user of config.users) await store.writeUser(user);
  }
  for (const name of seed.disable) await ad.users.disable(name);
} finally {
  await ad.close();
}

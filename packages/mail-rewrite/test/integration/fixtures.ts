import { chown, mkdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type MailServerInfo, run, type TestMailbox } from '@invis/testbed';

// Mailboxes of the integration tests. Alice's provider password holds both quote kinds, a
// backslash, `#` and spaces: fetchmail and the Postfix SASL client must both log in with it.
export const HOSTILE_PASSWORD: string = `it's a "quoted" \\ pass #1`;

export const MAILBOXES: TestMailbox[] = ['alice', 'bob', 'carol'].map((u) => ({
  address: `${u}@invis.test`,
  password: `${u}-local`,
}));

export const PROVIDER_DOMAINS: string[] = ['provider.test', 'elsewhere.test'];

export const PROVIDER_MAILBOXES: TestMailbox[] = [
  { address: 'alice@provider.test', password: HOSTILE_PASSWORD },
  { address: 'bob@provider.test', password: 'bob-at-provider' },
  { address: 'carol@provider.test', password: 'carol-at-provider' },
  // "The Internet": correspondents whose mailboxes the tests read.
  { address: 'friend@elsewhere.test', password: 'x' },
  { address: 'pal@elsewhere.test', password: 'x' },
  { address: 'list@elsewhere.test', password: 'x' },
];

/**
 * A copy of the running server's Postfix configuration in `<dir>/conf` with its own idle queue:
 * postconf, postmap and `postfix check` work on it, `postfix reload` fails (no master).
 * @returns the config directory
 */
export async function idleServerConfig(server: MailServerInfo, dir: string): Promise<string> {
  const confDir = join(dir, 'conf');
  await mkdir(confDir);
  await mkdir(join(dir, 'spool'));
  await mkdir(join(dir, 'data'));
  // Postfix needs its data directory owned by the postfix user.
  await chown(
    join(dir, 'data'),
    Number(await run('id', ['-u', 'postfix'])),
    Number(await run('id', ['-g', 'postfix'])),
  );
  for (const f of ['main.cf', 'master.cf']) {
    await writeFile(join(confDir, f), await readFile(join(server.postfixConfigDir, f), 'utf8'));
  }
  await run('postconf', [
    '-c',
    confDir,
    '-e',
    `queue_directory=${join(dir, 'spool')}`,
    `data_directory=${join(dir, 'data')}`,
  ]);
  const past = new Date(Date.now() - 3000);
  await utimes(join(confDir, 'main.cf'), past, past);
  return confDir;
}

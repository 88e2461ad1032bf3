// The README's Example, run as it is written against the testbed DC: only the connection options
// (URL, bind account, CA) are swapped for the testbed's, and `input` is the new user's password.
import { readFileSync } from 'node:fs';
import { stripTypeScriptTypes } from 'node:module';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import * as api from '../../src/index';
import { adminClient, dcInfo } from './helpers';

const readme = readFileSync(join(import.meta.dirname, '../../README.md'), 'utf8');

/** The first ```ts block after "## Example", as JavaScript. */
function exampleCode(): string {
  const section = readme.slice(readme.indexOf('## Example'));
  const ts = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (!ts) throw new Error('README has no ```ts block under "## Example"');
  const imports = /^import \{([^}]*)\} from '@invis\/ad-client';\n/m;
  expect(ts).toMatch(imports);
  return stripTypeScriptTypes(ts.replace(imports, ''));
}

it('the README example works on a fresh DC', async () => {
  const dc = dcInfo();
  const PW = 'Us3r!Pass-2026';
  const createAdClient = (o: api.AdClientOptions): api.AdClient =>
    api.createAdClient({ ...o, url: dc.ldapsUrl, upn: undefined, bindDN: dc.adminDN, ca: dc.caPem });
  const logged: unknown[][] = [];
  const run = new Function(
    'createAdClient',
    'f',
    'isAdError',
    'ldapFilter',
    'process',
    'caPem',
    'input',
    'console',
    `return (async () => {\n${exampleCode()}\nreturn found;\n})();`,
  ) as (...args: unknown[]) => Promise<api.AdEntry[]>;
  const admin = adminClient();
  try {
    expect(await admin.users.get('jdoe')).toBeUndefined();
    expect(await admin.groups.get('verwaltung')).toBeUndefined();
    const found = await run(
      createAdClient,
      api.f,
      api.isAdError,
      api.ldapFilter,
      { env: { LDAP_PW: dc.adminPassword } },
      dc.caPem,
      PW,
      { log: (...a: unknown[]) => logged.push(a) },
    );
    expect(found).toEqual([]);
    expect(logged).toEqual([[expect.arrayContaining(['verwaltung', 'Domain Users']), 'never']]);
    const jdoe = await admin.users.get('jdoe');
    expect(await admin.groups.members('verwaltung')).toEqual([jdoe?.dn]);
  } finally {
    // verwaltung is a protected invis group (groups.delete refuses it): remove it directly
    const group = await admin.groups.get('verwaltung');
    if (group) await admin.delete(group.dn);
    await admin.users.delete('jdoe').catch(() => undefined);
    await admin.close();
  }
});

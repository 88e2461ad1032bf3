import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { importEasyRsa } from './easyrsa';
import { createPki } from './store';

// Our layout is easy-rsa's, so a PKI made by createPki stands in for an easy-rsa one here;
// the integration tests import a PKI built by the real easyrsa script.
const dir = useTempDir('ovpn-import-');

async function source(): Promise<string> {
  const from = join(dir(), 'src');
  const pki = createPki({ dir: from });
  await pki.init({ caName: 'Old CA' });
  await pki.issueClient({ name: 'good' });
  await pki.issueClient({ name: 'swapped' });
  await pki.issueClient({ name: 'gone' });
  await pki.revoke('gone');
  return from;
}

describe('importEasyRsa', () => {
  it('imports valid pairs and reports what it skipped', async () => {
    const from = await source();
    const other = createPki({ dir: join(dir(), 'other') });
    await other.init({ caName: 'Other CA' });
    await other.issueClient({ name: 'foreign' });
    await cp(join(dir(), 'other', 'issued', 'foreign.crt'), join(from, 'issued', 'foreign.crt'));
    await writeFile(join(from, 'private', 'swapped.key'), await readFile(join(from, 'private', 'good.key')));
    await writeFile(join(from, 'issued', 'bad name.crt'), await readFile(join(from, 'issued', 'good.crt')));
    const report = await importEasyRsa({ from, to: { dir: join(dir(), 'dst') } });
    expect(report.imported.map((i) => i.name)).toEqual(['good']);
    expect(report.skipped.map((s) => [s.file, s.reason])).toEqual([
      ['issued/bad name.crt', 'name not allowed (letters, digits, . _ @ - only)'],
      ['issued/foreign.crt', 'not signed by this CA'],
      ['issued/swapped.crt', 'private/swapped.key does not belong to the certificate'],
    ]);
    expect(report).toMatchObject({ indexEntries: 3, revoked: 1, crl: { revoked: 1 } });
    const imported = createPki({ dir: join(dir(), 'dst') });
    expect((await imported.get('good')).keyPem).toBe(await readFile(join(from, 'private', 'good.key'), 'utf8'));
    await expect(importEasyRsa({ from, to: { dir: join(dir(), 'dst') } })).rejects.toMatchObject({
      code: 'PKI_ALREADY_INITIALIZED',
    });
  });

  it('refuses a CA key that does not belong to ca.crt', async () => {
    const from = await source();
    const other = createPki({ dir: join(dir(), 'other') });
    await other.init({ caName: 'Other CA' });
    await cp(join(dir(), 'other', 'private', 'ca.key'), join(from, 'private', 'ca.key'));
    await expect(importEasyRsa({ from, to: { dir: join(dir(), 'dst') } })).rejects.toMatchObject({
      code: 'PKI_KEY_MISMATCH',
    });
  });
});

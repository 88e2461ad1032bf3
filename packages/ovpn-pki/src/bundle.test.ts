import { join } from 'node:path';
import { createNodeFs } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { buildClientBundle } from './bundle';
import { createPki } from './store';
import { generateTlsCryptKey } from './tls-crypt';

const tempDir = useTempDir('ovpn-bundle-');

describe('buildClientBundle', () => {
  it('bundles the current certificate and key of a client; a key-less certificate is PKI_NOT_FOUND', async () => {
    const dir = tempDir();
    const pki = createPki({ dir });
    await pki.init({ caName: 'CA' });
    const issued = await pki.issueClient({ name: 'anna' });
    const options = {
      remotes: [{ host: 'vpn.example.de', port: 51194 }],
      serverName: 'vpn',
      tlsCrypt: generateTlsCryptKey(),
    };
    const text = await buildClientBundle(pki, 'anna', options);
    expect(text).toContain('remote vpn.example.de 51194 udp\n');
    expect(text).toContain(`<cert>\n${issued.certPem}</cert>`);
    expect(text).toContain(`<key>\n${issued.keyPem}</key>`);
    await createNodeFs().remove(join(dir, 'private', 'anna.key'));
    await expect(buildClientBundle(pki, 'anna', options)).rejects.toMatchObject({ code: 'PKI_NOT_FOUND' });
    await expect(buildClientBundle(pki, 'nobody', options)).rejects.toMatchObject({ code: 'PKI_NOT_FOUND' });
  });
});

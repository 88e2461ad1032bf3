import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { buildServerFiles } from './deployment';
import { createPki } from './store';
import { generateTlsCryptKey } from './tls-crypt';

const tempDir = useTempDir('ovpn-deploy-');

describe('buildServerFiles', () => {
  it('gives keys 0600, the CRL a live effect, and adds the cross-certificate during a rollover', async () => {
    const dir = tempDir();
    const pki = createPki({ dir });
    await pki.init({ caName: 'CA' });
    await pki.issueServer({ name: 'vpn' });
    const tlsCrypt = generateTlsCryptKey();
    const { files, paths } = await buildServerFiles(pki, { serverName: 'vpn', dir: '/etc/openvpn/keys', tlsCrypt });
    expect(paths).toEqual({
      ca: '/etc/openvpn/keys/ca.crt',
      cert: '/etc/openvpn/keys/vpn.crt',
      key: '/etc/openvpn/keys/vpn.key',
      crl: '/etc/openvpn/keys/crl.pem',
      tlsCrypt: '/etc/openvpn/keys/tc.key',
    });
    expect(files.map((f) => [f.path.split('/').pop(), f.mode.toString(8), f.effect])).toEqual([
      ['ca.crt', '644', 'restart'],
      ['vpn.crt', '644', 'restart'],
      ['vpn.key', '600', 'restart'],
      ['crl.pem', '644', 'live'],
      ['tc.key', '600', 'restart'],
    ]);
    await pki.rolloverCa({ caName: 'CA 2' });
    const during = await buildServerFiles(pki, { serverName: 'vpn', dir: '/k', tlsCryptV2ServerKey: 'v2' });
    expect(during.paths).toMatchObject({ tlsCryptV2: '/k/tc-v2-server.key', extraCerts: '/k/cross.crt' });
    expect(during.files[0]?.content.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    await expect(buildServerFiles(pki, { serverName: 'vpn', dir: '/k' })).rejects.toMatchObject({
      code: 'PKI_INVALID_INPUT',
    });
    await expect(buildServerFiles(pki, { serverName: 'nope', dir: '/k', tlsCrypt })).rejects.toMatchObject({
      code: 'PKI_NOT_FOUND',
    });
  });
});

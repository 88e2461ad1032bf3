// Every config variant we render is accepted by the real OpenVPN 2.6 option parser, and a
// broken one is rejected with OpenVPN's own message.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createExecaRunner } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { checkOpenVpnConfig, isOvpnPkiError, renderServerConfig, type ServerConfigInput } from '../../src/index';

const dir = useTempDir('ovpn-check-', { shared: true });
const runner = createExecaRunner();

const files = { ca: 'ca.crt', cert: 's.crt', key: 's.key', crl: 'crl.pem', tlsCrypt: 'tc.key' };
const variants: Record<string, ServerConfigInput> = {
  'road warrior': {
    role: 'road-warrior',
    port: 51194,
    network: '192.168.166.0/24',
    files,
    statusFile: '/run/openvpn/s.status',
    ifconfigPoolPersist: 'ipp.txt',
    push: { routes: ['192.168.220.0/24'], dns: ['192.168.220.10'], domain: 'example.de', wins: ['192.168.220.10'] },
  },
  'road warrior, tcp, tls-crypt-v2, redirect-gateway, root': {
    role: 'road-warrior',
    port: 443,
    proto: 'tcp',
    local: '192.0.2.1',
    network: '10.8.0.0/24',
    files: { ...files, tlsCrypt: undefined, tlsCryptV2: 'v2.key', extraCerts: 'cross.crt' },
    push: { redirectGateway: true },
    user: null,
    group: null,
  },
  sites: {
    role: 'site',
    device: 'vpn-sub',
    port: 51195,
    network: '192.168.167.0/24',
    files,
    clientConfigDir: 'ccd',
    sites: [
      { name: 'branch-a', subnets: ['192.168.221.0/24'] },
      { name: 'branch-b', subnets: ['192.168.222.0/24', '10.50.0.0/16'] },
    ],
  },
};

describe('openvpn accepts what we render', () => {
  it.each(Object.entries(variants))('%s', async (name, config) => {
    const path = join(dir(), `${name.replace(/\W+/g, '-')}.conf`);
    await writeFile(path, renderServerConfig(config));
    // ccd entries (iroute) are only valid in a client context: server-mode.test.ts runs them for real.
    await checkOpenVpnConfig(runner, path);
  });

  it('rejects a broken config with OVPN_CONFIG_INVALID and the reason', async () => {
    const path = join(dir(), 'broken.conf');
    await writeFile(path, `${renderServerConfig(variants['road warrior'] as ServerConfigInput)}server 10.0.0.0\n`);
    const error = await checkOpenVpnConfig(runner, path).catch((e: unknown) => e);
    expect(isOvpnPkiError(error) && error.code === 'OVPN_CONFIG_INVALID').toBe(true);
    expect((error as Error).message).toMatch(/Options error: .*server/);
  });
});

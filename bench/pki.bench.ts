// Issue client bundles: @invis/ovpn-pki (in-process WebCrypto: key, certificate, index, inline
// .ovpn) vs easy-rsa 3 `build-client-full NAME nopass` (openssl processes per client). EC P-256
// and RSA-2048; easy-rsa RSA runs fewer clients (≈0.36 s each) and is compared per operation.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEasyRsaPki } from '@invis/testbed';
import { createPki, generateTlsCryptKey, type KeyAlgorithm, renderClientBundle } from '../packages/ovpn-pki/src/index';
import { type Benchmark, type Comparison, measure } from './lib';

export const benchmark: Benchmark = {
  name: 'pki',
  description: 'issue client bundles: @invis/ovpn-pki (WebCrypto) vs easy-rsa build-client-full (openssl)',
  async run({ quick }) {
    const dir = await mkdtemp(join(tmpdir(), 'invis-bench-pki-'));
    const rows: Comparison[] = [];
    try {
      const cases = [
        {
          algorithm: 'ec-p256',
          algo: 'ec',
          ours: quick ? 20 : 100,
          peer: quick ? 20 : 100,
          target: '≥ 20× faster (≤ 0.05×)',
        },
        { algorithm: 'rsa-2048', algo: 'rsa', ours: quick ? 10 : 100, peer: quick ? 5 : 30, target: 'faster' },
      ] as const;
      const tlsCrypt = generateTlsCryptKey();
      for (const c of cases) {
        const pki = createPki({ dir: join(dir, `ours-${c.algo}`) });
        await pki.init({ caName: 'Bench CA', settings: { keyAlgorithm: c.algorithm as KeyAlgorithm } });
        const caPem = await pki.caCertPem();
        const ours = await measure('ovpn-pki', c.ours, async (i) => {
          const m = await pki.issueClient({ name: `client${i}` });
          return renderClientBundle({
            name: `client${i}`,
            remotes: [{ host: 'vpn.example.de', port: 51194 }],
            serverName: 'vpn.example.de',
            caPem,
            certPem: m.certPem,
            keyPem: m.keyPem ?? '',
            tlsCrypt,
          });
        });
        const easyrsa = await createEasyRsaPki(join(dir, `easyrsa-${c.algo}`), { algo: c.algo, caName: 'Bench CA' });
        const peer = await measure('easy-rsa', c.peer, (i) =>
          easyrsa.run(['build-client-full', `client${i}`, 'nopass']),
        );
        rows.push({ task: `client bundle ${c.algorithm}`, ours, peer, target: c.target });
      }
      return rows;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

// Issue client bundles: @invis/ovpn-pki (in-process WebCrypto: key, certificate, index, inline
// .ovpn) vs easy-rsa 3 `build-client-full NAME nopass` (openssl processes per client). EC P-256
// one call per client (`issueClient`) and batched (`issueClients`, one lock and one index write),
// in alternating rounds with easy-rsa; RSA-2048 per call (easy-rsa runs fewer, ≈0.4 s each).
// And the per-bundle tls-crypt-v2 client key: wrapTlsCryptV2ClientKey vs `openvpn --genkey`.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEasyRsaPki } from '@invis/testbed';
import { execa } from 'execa';
import {
  type CertificateMaterial,
  createPki,
  generateTlsCryptKey,
  type KeyAlgorithm,
  renderClientBundle,
  wrapTlsCryptV2ClientKey,
} from '../packages/ovpn-pki/src/index';
import { alternatingSamples, type Benchmark, type Comparison, type Measurement, measureAlternating } from './lib';

const total = (label: string, iterations: number, times: readonly number[]): Measurement => ({
  label,
  iterations,
  totalMs: times.reduce((x, y) => x + y, 0),
});

export const benchmark: Benchmark = {
  name: 'pki',
  description: 'issue client bundles: @invis/ovpn-pki (WebCrypto) vs easy-rsa build-client-full (openssl)',
  async run({ quick }) {
    const dir = await mkdtemp(join(tmpdir(), 'invis-bench-pki-'));
    const rows: Comparison[] = [];
    const tlsCrypt = generateTlsCryptKey();
    try {
      const setup = async (algo: 'ec' | 'rsa', algorithm: KeyAlgorithm) => {
        const pki = createPki({ dir: join(dir, `ours-${algo}`) });
        await pki.init({ caName: 'Bench CA', settings: { keyAlgorithm: algorithm } });
        const caPem = await pki.caCertPem();
        const bundle = (m: CertificateMaterial): string =>
          renderClientBundle({
            name: m.info.name,
            remotes: [{ host: 'vpn.example.de', port: 51194 }],
            serverName: 'vpn.example.de',
            caPem,
            certPem: m.certPem,
            keyPem: m.keyPem ?? '',
            tlsCrypt,
          });
        const easyrsa = await createEasyRsaPki(join(dir, `easyrsa-${algo}`), { algo, caName: 'Bench CA' });
        const single = async (name: string) => bundle(await pki.issueClient({ name }));
        const peer = (name: string) => easyrsa.run(['build-client-full', name, 'nopass']);
        await single('warm-up'); // module and CA key loading, outside the measurement
        await peer('warm-up');
        return { pki, bundle, single, peer };
      };

      // EC: rounds of `perRound` clients each, the three contenders alternating.
      const ec = await setup('ec', 'ec-p256');
      const perRound = quick ? 10 : 20;
      const rounds = quick ? 2 : 5;
      const names = (prefix: string, round: number) =>
        Array.from({ length: perRound }, (_, i) => `${prefix}${round * perRound + i}`);
      const [one = [], batch = [], easy = []] = await alternatingSamples(
        [
          {
            label: 'ovpn-pki issueClient',
            op: async (round) => {
              for (const name of names('s', round)) await ec.single(name);
            },
          },
          {
            label: 'ovpn-pki issueClients',
            op: async (round) =>
              (await ec.pki.issueClients(names('b', round).map((name) => ({ name })))).map(ec.bundle),
          },
          {
            label: 'easy-rsa',
            op: async (round) => {
              for (const name of names('e', round)) await ec.peer(name);
            },
          },
        ],
        rounds,
      );
      const n = rounds * perRound;
      const easyEc = total('easy-rsa', n, easy);
      rows.push({
        task: 'client bundle ec-p256, one call each',
        ours: total('issueClient', n, one),
        peer: easyEc,
        target: '≥ 20× faster (≤ 0.05×)',
      });
      rows.push({
        task: `client bundle ec-p256, batches of ${perRound}`,
        ours: total('issueClients', n, batch),
        peer: easyEc,
        target: '≥ 20× faster (≤ 0.05×)',
      });

      // RSA: easy-rsa runs fewer clients; compared per operation.
      const rsa = await setup('rsa', 'rsa-2048');
      const rsaRounds = quick ? 5 : 30;
      const [ours = [], peer = []] = await alternatingSamples(
        [
          { label: 'ovpn-pki', op: (round) => rsa.single(`s${round}`) },
          { label: 'easy-rsa', op: (round) => rsa.peer(`e${round}`) },
        ],
        rsaRounds,
      );
      rows.push({
        task: 'client bundle rsa-2048, one call each',
        ours: total('issueClient', rsaRounds, ours),
        peer: total('easy-rsa', rsaRounds, peer),
        target: 'faster',
      });

      // tls-crypt-v2: one client key per bundle, wrapped with the server key.
      const serverKeyFile = join(dir, 'tc-v2-server.key');
      await execa('openvpn', ['--genkey', 'tls-crypt-v2-server', serverKeyFile]);
      const serverKey = await readFile(serverKeyFile, 'utf8');
      const clientKeys = quick ? 20 : 100;
      const [wrapped, genkey] = await measureAlternating(
        { label: 'wrapTlsCryptV2ClientKey', op: async () => void wrapTlsCryptV2ClientKey(serverKey) },
        {
          label: 'openvpn --genkey tls-crypt-v2-client',
          op: async (i) => {
            const out = join(dir, `tc-v2-client-${i}.key`);
            await execa('openvpn', ['--tls-crypt-v2', serverKeyFile, '--genkey', 'tls-crypt-v2-client', out]);
          },
        },
        clientKeys,
      );
      rows.push({ task: 'tls-crypt-v2 client key (one per bundle)', ours: wrapped, peer: genkey, target: 'faster' });
      return rows;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};

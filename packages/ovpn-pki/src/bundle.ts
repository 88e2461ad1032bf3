// The client bundle of one PKI certificate: PKI material + renderClientBundle.
import { OvpnPkiError } from './errors';
import { type ClientBundle, renderClientBundle } from './openvpn-config';
import type { Pki } from './store';

/** Options of {@link buildClientBundle}: the server side of the bundle. */
export type BuildClientBundleOptions = Pick<ClientBundle, 'remotes' | 'serverName' | 'tlsCrypt' | 'tlsCryptV2'>;

/**
 * Renders the inline `.ovpn` bundle for the current certificate of `name`; `<ca>` holds every
 * CA to trust (both during a CA rollover).
 * @param pki the PKI holding the client certificate and key
 * @param name the client's certificate name
 * @param options remotes (host + the server's real port), server CN, tls-crypt key
 * @returns the `.ovpn` text (contains the private key: deliver privately, store 0600)
 * @throws {OvpnPkiError} PKI_NOT_FOUND (no such certificate or no key), PKI_INVALID_INPUT
 * @example
 * const ovpn = await buildClientBundle(pki, 'anna.laptop', {
 *   remotes: [{ host: 'vpn.example.de', port: 51194 }], serverName: 'vpn.example.de', tlsCrypt,
 * });
 */
export async function buildClientBundle(pki: Pki, name: string, options: BuildClientBundleOptions): Promise<string> {
  const material = await pki.get(name);
  if (material.keyPem === undefined) {
    throw new OvpnPkiError('PKI_NOT_FOUND', `the PKI has no private key for "${name}"; renew it with rekey`, {
      details: { name },
    });
  }
  return renderClientBundle({
    ...options,
    name,
    caPem: await pki.trustPem(),
    certPem: material.certPem,
    keyPem: material.keyPem,
  });
}

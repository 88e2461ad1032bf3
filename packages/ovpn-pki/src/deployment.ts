// The key material of one OpenVPN server as deploy files with the right modes and effects, and
// the matching `files` block of its config. Keeps callers from getting 0600 or "live" wrong.
import { join } from 'node:path';
import type { DeployFile } from './apply';
import { OvpnPkiError } from './errors';
import type { ServerConfig } from './openvpn-config';
import type { Pki } from './store';

/** Options of {@link buildServerFiles}. */
export interface BuildServerFilesOptions {
  /** The server certificate's name in the PKI. */
  serverName: string;
  /** Directory OpenVPN reads the files from (world-readable path: OpenVPN re-reads the CRL as `nobody`). */
  dir: string;
  /** tls-crypt (v1) key text; exactly one of tlsCrypt / tlsCryptV2ServerKey. */
  tlsCrypt?: string;
  /** tls-crypt-v2 server key text. */
  tlsCryptV2ServerKey?: string;
}

/**
 * Deploy files for a server from the PKI: trusted CA(s), server certificate and key (0600), tls-crypt
 * key (0600), CRL (`live`: no restart), and during a CA rollover the cross-certificate.
 * @param pki the PKI
 * @param options server name, target directory, tls-crypt key
 * @returns `files` for {@link applyServerDeployment} and `paths` for the server config's `files`
 * @throws {OvpnPkiError} PKI_NOT_FOUND (no server certificate or key), PKI_INVALID_INPUT
 */
export async function buildServerFiles(
  pki: Pki,
  options: BuildServerFilesOptions,
): Promise<{ files: DeployFile[]; paths: ServerConfig['files'] }> {
  if (!options.tlsCrypt === !options.tlsCryptV2ServerKey) {
    throw new OvpnPkiError('PKI_INVALID_INPUT', 'set exactly one of tlsCrypt and tlsCryptV2ServerKey', {
      details: { field: 'tlsCrypt' },
    });
  }
  const server = await pki.get(options.serverName);
  if (server.keyPem === undefined) {
    throw new OvpnPkiError('PKI_NOT_FOUND', `the PKI has no private key for "${options.serverName}"`, {
      details: { name: options.serverName },
    });
  }
  const p = (name: string): string => join(options.dir, name);
  const paths: ServerConfig['files'] = {
    ca: p('ca.crt'),
    cert: p(`${options.serverName}.crt`),
    key: p(`${options.serverName}.key`),
    crl: p('crl.pem'),
  };
  const files: DeployFile[] = [
    { path: paths.ca, content: await pki.trustPem(), mode: 0o644, effect: 'restart' },
    { path: paths.cert, content: server.certPem, mode: 0o644, effect: 'restart' },
    { path: paths.key, content: server.keyPem, mode: 0o600, effect: 'restart' },
    { path: paths.crl, content: (await pki.crl()).pem, mode: 0o644, effect: 'live' },
  ];
  if (options.tlsCrypt) {
    paths.tlsCrypt = p('tc.key');
    files.push({ path: paths.tlsCrypt, content: options.tlsCrypt, mode: 0o600, effect: 'restart' });
  } else {
    paths.tlsCryptV2 = p('tc-v2-server.key');
    files.push({ path: paths.tlsCryptV2, content: options.tlsCryptV2ServerKey ?? '', mode: 0o600, effect: 'restart' });
  }
  const cross = await pki.crossCertPem();
  if (cross) {
    paths.extraCerts = p('cross.crt');
    files.push({ path: paths.extraCerts, content: cross, mode: 0o644, effect: 'restart' });
  }
  return { files, paths };
}

import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { run } from './process';

/** Files of a throw-away test CA and one server certificate signed by it. */
export interface TestPki {
  readonly dir: string;
  readonly caFile: string;
  readonly caPem: string;
  readonly certFile: string;
  readonly keyFile: string;
}

/**
 * Creates an EC P-256 test CA and a server certificate whose SAN lists `dnsNames` and
 * `ipAddresses`, so clients verify the server properly instead of disabling checks.
 * Keys are 0600 (Samba refuses group-readable TLS keys).
 */
export async function createTestPki(
  dir: string,
  subject: { commonName: string; dnsNames: string[]; ipAddresses: string[] },
): Promise<TestPki> {
  await mkdir(dir, { recursive: true });
  const f = (n: string) => join(dir, n);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];
  await run('openssl', [
    'req',
    '-x509',
    ...ec,
    '-keyout',
    f('ca.key'),
    '-out',
    f('ca.pem'),
    '-days',
    '30',
    '-subj',
    '/CN=invis test CA',
  ]);
  await run('openssl', [
    'req',
    ...ec,
    '-keyout',
    f('server.key'),
    '-out',
    f('server.csr'),
    '-subj',
    `/CN=${subject.commonName}`,
  ]);
  const san = [...subject.dnsNames.map((d) => `DNS:${d}`), ...subject.ipAddresses.map((ip) => `IP:${ip}`)].join(',');
  await writeFile(f('server.ext'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth\n`);
  await run('openssl', [
    'x509',
    '-req',
    '-in',
    f('server.csr'),
    '-CA',
    f('ca.pem'),
    '-CAkey',
    f('ca.key'),
    '-CAcreateserial',
    '-out',
    f('server.pem'),
    '-days',
    '30',
    '-extfile',
    f('server.ext'),
  ]);
  await chmod(f('ca.key'), 0o600);
  await chmod(f('server.key'), 0o600);
  return {
    dir,
    caFile: f('ca.pem'),
    caPem: await readFile(f('ca.pem'), 'utf8'),
    certFile: f('server.pem'),
    keyFile: f('server.key'),
  };
}

// Peer-tool invocations shared by benchmarks: OpenLDAP's command-line clients against a test DC.
import type { SambaDcInfo } from '@invis/testbed';
import { execa } from 'execa';

/** Runs `ldapsearch` and returns its LDIF output, bound as the DC's administrator over LDAPS, verifying the test CA. */
export async function adminLdapsearch(info: SambaDcInfo, args: string[]): Promise<string> {
  const { stdout } = await execa(
    'ldapsearch',
    ['-LLL', '-x', '-H', info.ldapsUrl, '-D', info.adminDN, '-w', info.adminPassword, ...args],
    {
      env: { LDAPTLS_CACERT: info.caFile },
      maxBuffer: 1 << 30,
    },
  );
  return stdout;
}

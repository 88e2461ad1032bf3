// The sandbox has no Internet, so ClamAV cannot download its signatures and clamd would not start:
// a local signature set stands in (one body signature for the EICAR test string), and freshclam
// meets "no Internet" at once instead of retrying for minutes. Shared by the whole-server tests
// and `./invis demo`.
import type { ServerSandbox } from '@invis/testbed';

/** The EICAR test string (it is not a virus; every scanner treats it as one). */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';
/** The name clamd reports for the local test signature (`.UNOFFICIAL`: not from ClamAV's own databases). */
export const TEST_SIGNATURE = 'Invis-Test.EICAR';

/** A local ClamAV body signature (`.ndb`: name:target:offset:hex) matching the EICAR string anywhere. */
export function eicarNdb(): string {
  return `${TEST_SIGNATURE}:0:*:${Buffer.from(EICAR).toString('hex')}\n`;
}

/**
 * Puts the local signature set into the sandbox's ClamAV database folder and points freshclam at
 * a mirror that refuses at once (one attempt).
 * @param sandbox the whole-server sandbox
 */
export async function useOfflineSignatures(sandbox: ServerSandbox): Promise<void> {
  await sandbox.writeFile('/var/lib/clamav/invis-test.ndb', eicarNdb());
  const freshclam = await sandbox.readFile('/etc/clamav/freshclam.conf');
  await sandbox.writeFile(
    '/etc/clamav/freshclam.conf',
    `${freshclam.replace(/^(DatabaseMirror|DNSDatabaseInfo|MaxAttempts) .*\n/gm, '')}DNSDatabaseInfo no\nDatabaseMirror http://127.0.0.1:9\nMaxAttempts 1\n`,
  );
}

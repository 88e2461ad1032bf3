import { open } from 'node:fs/promises';
import { PortalError } from './errors';

/**
 * Reads a secret from a file (the LDAP service account's password), trimmed. The file must be
 * a regular file that neither group nor others can read: the portal refuses to start rather
 * than change an admin's file behind their back.
 * @param file path of the secret file
 * @throws PortalError PORTAL_CONFIG when the file is readable by group/others or not a regular file
 */
export async function readSecretFile(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    // fstat on the opened file: what is checked is what is read.
    const st = await handle.stat();
    if (!st.isFile()) throw new PortalError('PORTAL_CONFIG', `${file} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      throw new PortalError('PORTAL_CONFIG', `${file} is readable by group or others; chmod 600 it`);
    }
    return (await handle.readFile('utf8')).trim();
  } finally {
    await handle.close();
  }
}

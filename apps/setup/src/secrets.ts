// Generated secrets: CSPRNG values in /etc/invis/secrets/<name> (0600, folder 0700), written
// atomically. They never pass through argv, temp files, logs, the answers or the state.
import { randomBytes } from 'node:crypto';
import { SetupError } from './errors';
import type { SetupFs } from './rooted-fs';

/** The folder of the secrets (below the root when staging). */
export const SECRETS_DIR = '/etc/invis/secrets';

const NAME = /^[a-z][a-z0-9-]{0,62}$/;

/**
 * Secrets the setup generates at `init`, with what they are for. The AD administrator password
 * replaces the original's hard-coded one; the samba_ad module sets it.
 */
export const SETUP_SECRETS: Readonly<Record<string, string>> = {
  'ad-administrator': 'password of the AD account Administrator',
  'ad-invis-portal': 'password of the read-only AD bind account invis-portal (Postfix, Dovecot, DHCP sync, WebDAV)',
  'ad-invis-portal-admin': "password of the portal's AD account invis-portal-admin (an Administrators member)",
};

/**
 * Checks a secret name: lower-case letter first, then `a-z 0-9 -`, at most 63 characters.
 * @param name the name
 * @returns the name
 * @throws SetupError `SETUP_INVALID_SECRET_NAME`
 */
export function assertSecretName(name: string): string {
  if (!NAME.test(name)) {
    throw new SetupError('SETUP_INVALID_SECRET_NAME', `not a secret name: ${JSON.stringify(name)} (a-z, 0-9, -)`, {
      details: { name: name.slice(0, 64) },
    });
  }
  return name;
}

/**
 * A new random secret: 24 bytes from the CSPRNG as base64url (32 characters, 192 bits), drawn
 * again until it has an upper-case letter, a lower-case letter and a digit, so that it meets AD's
 * password complexity when it is a password (about 1 draw in 700 lacks one; the retry costs no
 * meaningful entropy).
 * @returns the secret
 */
export function generateSecret(): string {
  for (;;) {
    const value = randomBytes(24).toString('base64url');
    if (/[A-Z]/.test(value) && /[a-z]/.test(value) && /[0-9]/.test(value)) return value;
  }
}

/** Reads and creates secrets in one folder. */
export interface SecretStore {
  /** The secret, or undefined when it does not exist. */
  get(name: string): Promise<string | undefined>;
  /** The secret; created with {@link generateSecret} when missing. Returns whether it was created. */
  ensure(name: string): Promise<{ value: string; created: boolean }>;
  /** The path of a secret's file. */
  pathOf(name: string): string;
}

/**
 * The secret store on `fs` (rooted when staging).
 * @param fs the file system
 * @returns the store
 */
export function createSecretStore(fs: SetupFs): SecretStore {
  const pathOf = (name: string) => `${SECRETS_DIR}/${assertSecretName(name)}`;
  const get = async (name: string) => (await fs.readFileIfExists(pathOf(name)))?.trimEnd();
  return {
    pathOf,
    get,
    async ensure(name) {
      const existing = await get(name);
      if (existing !== undefined) return { value: existing, created: false };
      await fs.mkdir('/etc/invis', 0o755);
      await fs.mkdir(SECRETS_DIR, 0o700);
      const value = generateSecret();
      await fs.writeFileAtomic(pathOf(name), `${value}\n`, { mode: 0o600 });
      return { value, created: true };
    },
  };
}

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { DatabaseSync } from 'node:sqlite';
import { type Clock, systemClock } from '@invis/host';

/** What an API token may do. */
export const TOKEN_SCOPES = [
  'status:read',
  'users:read',
  'users:write',
  'groups:read',
  'groups:write',
  'audit:read',
  'services:write',
  'tiles:write',
  'hosts:read',
  'hosts:write',
  'dns:read',
  'dns:write',
  'vpn:read',
  'vpn:write',
] as const;
export type TokenScope = (typeof TOKEN_SCOPES)[number];

/** An API token as listed (the secret itself is shown once at creation and never stored). */
export interface ApiToken {
  id: string;
  name: string;
  owner: string;
  scopes: TokenScope[];
  createdAt: string;
  /** After this the token no longer works. */
  expiresAt: string;
  lastUsedAt: string | null;
  revokedAt: string | null;
}

/** Scoped, revocable API tokens, stored as SHA-256 hashes. */
export interface TokenStore {
  /** @returns the listed token and its secret `invis_<id>_<secret>` (shown once). */
  create(input: { name: string; owner: string; scopes: TokenScope[]; expiresInDays?: number }): {
    token: ApiToken;
    secret: string;
  };
  /** @returns the live (not revoked, not expired) token for a presented secret, or `null`. */
  verify(presented: string): ApiToken | null;
  list(): ApiToken[];
  /** @returns false when the id is unknown or already revoked. */
  revoke(id: string): boolean;
  close(): void;
}

/** Lifetime of a token when its creator does not say (days). */
const DEFAULT_TOKEN_DAYS = 90;

// The secret is 32 random bytes, so a fast hash is enough: there is nothing to brute-force.
const hash = (secret: string): Buffer => createHash('sha256').update(secret).digest();

/**
 * Opens the token table in a `node:sqlite` file (the portal's data file).
 * @param file database path, or `:memory:`
 * @param clock creation, expiry and last use (default: the system clock)
 */
export function openTokenStore(file: string, clock: Clock = systemClock): TokenStore {
  const now = (): Date => clock.now();
  const db = new DatabaseSync(file);
  db.exec(`CREATE TABLE IF NOT EXISTS api_token (
    id TEXT PRIMARY KEY, name TEXT NOT NULL, owner TEXT NOT NULL, scopes TEXT NOT NULL,
    hash BLOB NOT NULL, created_at TEXT NOT NULL, last_used_at TEXT, revoked_at TEXT, expires_at TEXT)`);
  // Tokens made before expiry existed get the default lifetime from their creation.
  const columns = db.prepare('PRAGMA table_info(api_token)').all() as { name: string }[];
  if (!columns.some((col) => col.name === 'expires_at')) db.exec('ALTER TABLE api_token ADD COLUMN expires_at TEXT');
  db.exec(
    `UPDATE api_token SET expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', created_at, '+${DEFAULT_TOKEN_DAYS} days') WHERE expires_at IS NULL`,
  );
  const row = (r: Record<string, unknown>): ApiToken => ({
    id: String(r.id),
    name: String(r.name),
    owner: String(r.owner),
    scopes: JSON.parse(String(r.scopes)) as TokenScope[],
    createdAt: String(r.created_at),
    expiresAt: String(r.expires_at),
    lastUsedAt: r.last_used_at === null ? null : String(r.last_used_at),
    revokedAt: r.revoked_at === null ? null : String(r.revoked_at),
  });
  const byId = db.prepare('SELECT * FROM api_token WHERE id = ?');
  const touch = db.prepare('UPDATE api_token SET last_used_at = ? WHERE id = ?');

  return {
    create({ name, owner, scopes, expiresInDays = DEFAULT_TOKEN_DAYS }) {
      const id = randomBytes(8).toString('hex');
      const secret = randomBytes(32).toString('base64url');
      const created = now();
      const expires = new Date(created.getTime() + expiresInDays * 86_400_000);
      db.prepare(
        'INSERT INTO api_token (id, name, owner, scopes, hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ).run(
        id,
        name,
        owner,
        JSON.stringify([...new Set(scopes)]),
        hash(secret),
        created.toISOString(),
        expires.toISOString(),
      );
      return { token: row(byId.get(id) as Record<string, unknown>), secret: `invis_${id}_${secret}` };
    },
    verify(presented) {
      const m = /^invis_([0-9a-f]{16})_([\w-]{43})$/.exec(presented);
      if (!m) return null;
      const r = byId.get(m[1] as string) as Record<string, unknown> | undefined;
      if (!r || r.revoked_at !== null) return null;
      if (!(Date.parse(String(r.expires_at)) > now().getTime())) return null;
      const stored = Buffer.from(r.hash as Uint8Array);
      if (!timingSafeEqual(stored, hash(m[2] as string))) return null;
      touch.run(now().toISOString(), m[1] as string);
      return row(r);
    },
    list() {
      return (db.prepare('SELECT * FROM api_token ORDER BY created_at DESC').all() as Record<string, unknown>[]).map(
        row,
      );
    },
    revoke(id) {
      const res = db
        .prepare('UPDATE api_token SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
        .run(now().toISOString(), id);
      return Number(res.changes) > 0;
    },
    close() {
      db.close();
    },
  };
}

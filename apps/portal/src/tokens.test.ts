import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { withTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { openTokenStore } from './tokens';

describe('API tokens', () => {
  it('verifies a created token, stores only its hash, and refuses it after revocation', () => {
    const store = openTokenStore(':memory:');
    const { token, secret } = store.create({
      name: 'monitoring',
      owner: 'anna',
      scopes: ['status:read', 'status:read'],
    });
    expect(token.scopes).toEqual(['status:read']);
    expect(store.verify(secret)?.id).toBe(token.id);
    expect(store.verify(`${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`)).toBeNull();
    expect(store.verify('invis_0000000000000000_x')).toBeNull();
    expect(store.list()[0]?.lastUsedAt).not.toBeNull();
    expect(store.revoke(token.id)).toBe(true);
    expect(store.revoke(token.id)).toBe(false);
    expect(store.verify(secret)).toBeNull();
    store.close();
  });

  it('never writes the secret to the database file', async () => {
    await withTempDir('portal-tokens-', async (dir) => {
      const file = join(dir, 'portal.db');
      const store = openTokenStore(file);
      const { secret } = store.create({ name: 'x', owner: 'anna', scopes: [] });
      store.close();
      // The secret part is base64url and may itself contain '_': cut by position, not by split.
      const secretPart = secret.slice('invis_'.length + 16 + 1);
      expect(secretPart).toHaveLength(43);
      const raw = new DatabaseSync(file).prepare('SELECT * FROM api_token').all();
      expect(JSON.stringify(raw)).not.toContain(secretPart);
      expect(readFileSync(file).includes(secretPart)).toBe(false);
    });
  });

  it('refuses a token after its lifetime, and gives old tokens the default lifetime', async () => {
    let t = new Date('2026-01-01T00:00:00Z');
    const store = openTokenStore(':memory:', { now: () => t });
    const { token, secret } = store.create({ name: 'short', owner: 'anna', scopes: ['status:read'], expiresInDays: 1 });
    expect(token.expiresAt).toBe('2026-01-02T00:00:00.000Z');
    t = new Date('2026-01-01T23:59:59Z');
    expect(store.verify(secret)).not.toBeNull();
    t = new Date('2026-01-02T00:00:00Z');
    expect(store.verify(secret)).toBeNull();
    store.close();

    await withTempDir('portal-tokens-', async (dir) => {
      const file = join(dir, 'portal.db');
      const old = new DatabaseSync(file);
      old.exec(`CREATE TABLE api_token (id TEXT PRIMARY KEY, name TEXT NOT NULL, owner TEXT NOT NULL, scopes TEXT NOT NULL,
        hash BLOB NOT NULL, created_at TEXT NOT NULL, last_used_at TEXT, revoked_at TEXT)`);
      old
        .prepare('INSERT INTO api_token VALUES (?, ?, ?, ?, ?, ?, NULL, NULL)')
        .run('0123456789abcdef', 'legacy', 'anna', '[]', Buffer.alloc(32), '2025-01-01T00:00:00.000Z');
      old.close();
      const migrated = openTokenStore(file);
      expect(migrated.list()[0]?.expiresAt).toBe('2025-04-01T00:00:00.000Z');
      migrated.close();
    });
  });
});

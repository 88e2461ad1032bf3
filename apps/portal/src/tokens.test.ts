import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
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

  it('never writes the secret to the database file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'portal-tokens-'));
    try {
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
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

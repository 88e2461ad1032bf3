import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { createRootedFs } from './rooted-fs';
import { assertSecretName, createSecretStore, generateSecret } from './secrets';

describe('secrets', () => {
  const dir = useTempDir('setup-secrets-');

  it('creates a secret once, 0600 in a 0700 folder', async () => {
    const fs = await createRootedFs(dir());
    const store = createSecretStore(fs);
    const first = await store.ensure('ad-administrator');
    expect(first.created).toBe(true);
    expect(first.value).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(await store.ensure('ad-administrator')).toEqual({ value: first.value, created: false });
    expect(await store.get('ad-administrator')).toBe(first.value);
    expect((await stat(join(dir(), 'etc/invis/secrets/ad-administrator'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir(), 'etc/invis/secrets'))).mode & 0o777).toBe(0o700);
    expect((await stat(join(dir(), 'etc/invis'))).mode & 0o777).toBe(0o755);
  });

  it('draws a new value each time', () => {
    expect(new Set(Array.from({ length: 50 }, generateSecret)).size).toBe(50);
  });

  it('always has an upper-case letter, a lower-case letter and a digit (AD password complexity)', () => {
    for (const value of Array.from({ length: 2000 }, generateSecret)) {
      expect(value).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(value).toMatch(/[A-Z]/);
      expect(value).toMatch(/[a-z]/);
      expect(value).toMatch(/[0-9]/);
    }
  });

  it.each(['', '../x', 'A', 'a/b', 'a b', '-a', 'x'.repeat(64)])('refuses the name %j', (name) => {
    expect(() => assertSecretName(name)).toThrow(expect.objectContaining({ code: 'SETUP_INVALID_SECRET_NAME' }));
  });
});

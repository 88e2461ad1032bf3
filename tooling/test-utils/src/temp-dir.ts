// Temp folders for tests: under the OS temp dir, removed after each test (house rule 11).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach } from 'vitest';

/**
 * A fresh temp folder for every test of the calling `describe` (or file), removed afterwards.
 * @param prefix folder name prefix, e.g. `dhcp-apply-`
 * @returns a function that gives the current test's folder
 * @example
 * const dir = useTempDir('dhcp-apply-');
 * it('writes', async () => { await writeFile(join(dir(), 'x'), '') });
 */
export function useTempDir(prefix: string): () => string {
  let current: string | undefined;
  beforeEach(async () => {
    current = await mkdtemp(join(tmpdir(), prefix));
  });
  afterEach(async () => {
    if (current) await rm(current, { recursive: true, force: true });
    current = undefined;
  });
  return () => {
    if (!current) throw new Error('useTempDir: no test is running');
    return current;
  };
}

/**
 * Runs `fn` with a new temp folder and removes it afterwards, also when `fn` fails.
 * @param prefix folder name prefix
 * @param fn the work
 * @returns what `fn` returns
 */
export async function withTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

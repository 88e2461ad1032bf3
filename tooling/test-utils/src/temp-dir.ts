// Temp folders for tests: under the OS temp dir, removed after each test (house rule 11).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach } from 'vitest';

/**
 * A fresh temp folder for every test of the calling `describe` (or file), removed afterwards.
 * With `shared`, one folder for all its tests (for suites that set up a server once); call it
 * before the suite's own `beforeAll` so the folder exists there and outlives its `afterAll`.
 * @param prefix folder name prefix, e.g. `dhcp-apply-`
 * @param options `shared`: one folder per `describe` (or file) instead of per test
 * @returns a function that gives the current folder
 * @example
 * const dir = useTempDir('dhcp-apply-');
 * it('writes', async () => { await writeFile(join(dir(), 'x'), '') });
 */
export function useTempDir(prefix: string, options: { shared?: boolean } = {}): () => string {
  let current: string | undefined;
  const [before, after] = options.shared ? [beforeAll, afterAll] : [beforeEach, afterEach];
  before(async () => {
    current = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
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

import { mkdir, readFile, stat, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createNodeFs } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { isOvpnPkiError } from './errors';
import { createPkiLock } from './lock';

const tmp = useTempDir('ovpn-lock-');
const fs = createNodeFs();
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('createPkiLock', () => {
  it('runs calls on one lock one at a time in call order, also after a failure, holding <dir>/.lock meanwhile', async () => {
    const lock = createPkiLock({ fs, dir: tmp() });
    const order: string[] = [];
    const held: string[] = [];
    const step = (name: string, ms: number, fail = false) =>
      lock.run(async () => {
        order.push(`start ${name}`);
        const file = join(tmp(), '.lock');
        held.push(`${await readFile(file, 'utf8')}${((await stat(file)).mode & 0o777).toString(8)}`);
        await pause(ms);
        order.push(`end ${name}`);
        if (fail) throw new Error(`${name} failed`);
        return name;
      });
    const results = await Promise.allSettled([step('a', 30), step('b', 5, true), step('c', 1)]);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      'a',
      'b failed',
      'c',
    ]);
    expect(order).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    expect(held).toEqual(Array(3).fill(`${process.pid}\n600`));
    expect(await fs.exists(join(tmp(), '.lock'))).toBe(false);
  });

  it('keeps two locks on one directory (two processes) from ever overlapping', async () => {
    const first = createPkiLock({ fs, dir: tmp() });
    const second = createPkiLock({ fs, dir: tmp() });
    let inside = 0;
    let most = 0;
    const work = () => async () => {
      inside++;
      most = Math.max(most, inside);
      await pause(3);
      inside--;
    };
    await Promise.all(Array.from({ length: 12 }, (_, i) => (i % 2 ? first : second).run(work())));
    expect(most).toBe(1);
  });

  it('gives up with PKI_LOCKED when another process holds the lock longer than the timeout', async () => {
    await writeFile(join(tmp(), '.lock'), '4242\n');
    const started = Date.now();
    let ran = false;
    const error = await createPkiLock({ fs, dir: tmp(), timeoutMs: 100 })
      .run(async () => {
        ran = true;
      })
      .catch((e: unknown) => e);
    expect(isOvpnPkiError(error) && error.toJSON()).toEqual({
      code: 'PKI_LOCKED',
      message: expect.stringContaining('is locked by another process'),
      details: { dir: tmp() },
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(ran).toBe(false);
    // The other process's lock is left alone.
    expect(await readFile(join(tmp(), '.lock'), 'utf8')).toBe('4242\n');
  });

  it('takes over a lock older than a minute (its holder died) and removes it afterwards', async () => {
    await writeFile(join(tmp(), '.lock'), '4242\n');
    const old = new Date(Date.now() - 120_000);
    await utimes(join(tmp(), '.lock'), old, old);
    expect(await createPkiLock({ fs, dir: tmp(), timeoutMs: 100 }).run(async () => 'mine')).toBe('mine');
    expect(await fs.exists(join(tmp(), '.lock'))).toBe(false);
  });

  it('runs unlocked while the directory does not exist yet (init creates it)', async () => {
    const dir = join(tmp(), 'not-yet');
    const lock = createPkiLock({ fs, dir });
    expect(
      await lock.run(async () => {
        await mkdir(dir);
        return 'created';
      }),
    ).toBe('created');
    expect(await fs.readdir(dir)).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import { backgroundSync } from './background-sync';

describe('backgroundSync', () => {
  it('covers the requests that come while a run goes on with one more run', async () => {
    let runs = 0;
    let open: () => void = () => undefined;
    const sync = backgroundSync(
      async () => {
        runs++;
        // The first run waits until the test lets it end; later ones end at once.
        if (runs === 1) await new Promise<void>((resolve) => (open = resolve));
      },
      () => undefined,
    );
    sync.request();
    for (let i = 0; i < 5; i++) sync.request();
    expect(sync.state().pending).toBe(true);
    open();
    await sync.settled();
    expect(runs).toBe(2);
    expect(sync.state()).toMatchObject({ pending: false, lastError: null });
    expect(sync.state().lastSuccess).not.toBeNull();
  });

  it('keeps the last error until a run succeeds, and tells onError of each', async () => {
    const errors: unknown[] = [];
    let fail = true;
    const sync = backgroundSync(
      async () => {
        if (fail) throw new Error('kea refused');
      },
      (e) => errors.push(e),
    );
    sync.request();
    await expect(sync.settled()).rejects.toThrow('kea refused');
    expect(sync.state()).toMatchObject({ pending: false, lastError: 'kea refused', lastSuccess: null });
    fail = false;
    sync.request();
    await sync.settled();
    expect(sync.state().lastError).toBeNull();
    expect(errors).toHaveLength(1);
  });

  it('starts runs no closer than minIntervalMs, and at once after a quiet time', async () => {
    const starts: number[] = [];
    const sync = backgroundSync(
      async () => {
        starts.push(Date.now());
      },
      () => undefined,
      { minIntervalMs: 150 },
    );
    const requested = Date.now();
    sync.request();
    sync.request();
    await sync.settled();
    sync.request();
    await sync.settled();
    await new Promise((resolve) => setTimeout(resolve, 200));
    const quiet = Date.now();
    sync.request();
    await sync.settled();
    const gap = (i: number) => (starts[i] as number) - (starts[i - 1] as number);
    expect(starts).toHaveLength(4);
    expect((starts[0] as number) - requested).toBeLessThan(100);
    expect(gap(1)).toBeGreaterThanOrEqual(145);
    expect(gap(2)).toBeGreaterThanOrEqual(145);
    expect((starts[3] as number) - quiet).toBeLessThan(100);
  });
});

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
});

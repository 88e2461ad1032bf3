import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { startCrlRenewal } from './renewal';
import { createPki } from './store';

const DAY = 86_400_000;
const dir = useTempDir('ovpn-renewal-');

describe('startCrlRenewal', () => {
  it('renews the CRL once it is due, hands it over, and tolerates a corrupt file', async () => {
    let now = new Date('2026-01-01T00:00:00Z');
    const pki = createPki({ dir: dir(), clock: { now: () => now } });
    await pki.init({ caName: 'CA', settings: { crlDays: 30, crlRenewBeforeDays: 10 } });
    const handed: number[] = [];
    const errors: unknown[] = [];
    let ticks = 0;
    const renewal = startCrlRenewal({
      pki,
      onRenewed: ({ info }) => {
        handed.push(info.crlNumber);
      },
      onError: (e) => errors.push(e),
      timers: { setInterval: () => ticks++, clearInterval: () => undefined },
    });
    expect(await renewal.runNow()).toBe(false);
    now = new Date(now.getTime() + 21 * DAY);
    expect(await renewal.runNow()).toBe(true);
    expect(await renewal.runNow()).toBe(false);
    await writeFile(join(dir(), 'crl.pem'), 'garbage');
    expect(await renewal.runNow()).toBe(true);
    expect(handed).toEqual([2, 3]);
    expect((await pki.crl()).info.nextUpdate.getTime() - now.getTime()).toBe(30 * DAY);
    expect(errors).toEqual([]);
    expect(ticks).toBe(1);
    renewal.stop();
  });

  it('reports failures to onError and keeps going', async () => {
    const pki = createPki({ dir: dir() });
    const errors: unknown[] = [];
    const renewal = startCrlRenewal({
      pki,
      onRenewed: () => undefined,
      onError: (e) => errors.push(e),
      everyMs: 60_000,
    });
    await expect(renewal.runNow()).rejects.toMatchObject({ code: 'PKI_NOT_INITIALIZED' });
    await new Promise((r) => setTimeout(r, 10));
    expect(errors).toEqual([expect.objectContaining({ code: 'PKI_NOT_INITIALIZED' })]);
    renewal.stop();
  });
});

// Automatic CRL renewal: a timer that re-signs the CRL long before nextUpdate and hands the
// new PEM to the caller (who deploys it with applyServerDeployment; OpenVPN re-reads it live).
// This is the guard against the outage every peer shipped: a CRL that silently expires.
import type { CrlInfo } from './crl';
import type { Pki } from './store';

/** Options of {@link startCrlRenewal}. */
export interface CrlRenewalOptions {
  pki: Pki;
  /** Check interval; default 6 hours (with the default 90-day margin, hundreds of chances). */
  everyMs?: number;
  /** Called with the new CRL after a renewal (deploy it to the OpenVPN servers here). */
  onRenewed(crl: { pem: string; info: CrlInfo }): Promise<void> | void;
  /** Called when a check or onRenewed fails; the timer keeps running. */
  onError(error: unknown): void;
  /** Timer functions; default the global ones (tests pass fakes). */
  timers?: { setInterval(fn: () => void, ms: number): unknown; clearInterval(handle: unknown): void };
}

/** A running CRL renewal timer. */
export interface CrlRenewal {
  /** Runs one check now; resolves to whether the CRL was renewed. */
  runNow(): Promise<boolean>;
  stop(): void;
}

/**
 * Starts checking the CRL every `everyMs` (and once right away); renews it with
 * {@link Pki.ensureFreshCrl} when fewer than `crlRenewBeforeDays` are left.
 * @param options PKI, interval, callbacks
 * @returns a handle to run a check now or stop
 * @example
 * const renewal = startCrlRenewal({ pki, onRenewed: ({ pem }) => deployCrl(pem), onError: log.error });
 */
export function startCrlRenewal(options: CrlRenewalOptions): CrlRenewal {
  const timers = options.timers ?? {
    setInterval: (fn: () => void, ms: number) => {
      const handle = setInterval(fn, ms);
      handle.unref();
      return handle;
    },
    clearInterval: (handle: unknown) => clearInterval(handle as NodeJS.Timeout),
  };
  let running: Promise<boolean> | undefined;
  const check = async (): Promise<boolean> => {
    const { renewed } = await options.pki.ensureFreshCrl();
    if (renewed) await options.onRenewed(await options.pki.crl());
    return renewed;
  };
  // Never two checks at once: a slow deploy must not overlap the next tick.
  const runNow = (): Promise<boolean> => {
    running ??= check().finally(() => {
      running = undefined;
    });
    return running;
  };
  const tick = (): void => {
    runNow().catch(options.onError);
  };
  const handle = timers.setInterval(tick, options.everyMs ?? 6 * 3_600_000);
  tick();
  return { runNow, stop: () => timers.clearInterval(handle) };
}

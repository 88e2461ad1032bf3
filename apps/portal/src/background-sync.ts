/** What a background sync has done so far (the hosts page and `GET /api/hosts/dhcp-sync` show it). */
export interface BackgroundSyncState {
  /** A run is going on or requested. */
  pending: boolean;
  /** ISO 8601 end of the last run that succeeded; null before the first. */
  lastSuccess: string | null;
  /** The last run's error; null when it succeeded (or none ran yet). */
  lastError: string | null;
}

/** A job that makes a daemon follow the directory, run in the background and coalesced. */
export interface BackgroundSync {
  /** Asks for a run; one that starts while another runs is covered by one more run after it. */
  request(): void;
  /** Resolves when every run requested so far has ended; rejects with the last run's error. */
  settled(): Promise<void>;
  state(): BackgroundSyncState;
}

/** Options of {@link backgroundSync}. */
export interface BackgroundSyncOptions {
  /** A run starts no sooner than this after the previous run's start (default 0). */
  minIntervalMs?: number;
}

/**
 * Runs `job` in the background whenever asked, never twice at once: requests that come while it
 * runs are coalesced into one more run, so a burst of changes costs two runs, not one each;
 * with `minIntervalMs`, a steady stream of changes costs one run per interval.
 * @param job reads the directory and applies it (it must read the state at its start)
 * @param onError told of every failed run (the next request tries again)
 * @param options the spacing of runs
 * @returns the sync
 * @example
 * const dhcp = backgroundSync(() => pushReservations(), (e) => console.error(e));
 * dhcp.request(); await dhcp.settled();
 */
export function backgroundSync(
  job: () => Promise<void>,
  onError: (error: unknown) => void,
  options: BackgroundSyncOptions = {},
): BackgroundSync {
  const minIntervalMs = options.minIntervalMs ?? 0;
  let lastStart = Number.NEGATIVE_INFINITY;
  let running: Promise<void> | null = null;
  let again = false;
  let lastSuccess: string | null = null;
  let lastError: unknown = null;
  const loop = async (): Promise<void> => {
    do {
      const wait = lastStart + minIntervalMs - Date.now();
      if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
      // Requests made while waiting are covered by this run.
      again = false;
      lastStart = Date.now();
      try {
        await job();
        lastError = null;
        lastSuccess = new Date().toISOString();
      } catch (e) {
        lastError = e;
        onError(e);
      }
    } while (again);
    running = null;
  };
  return {
    request() {
      if (running) again = true;
      else running = loop();
    },
    async settled() {
      while (running) await running;
      if (lastError !== null) throw lastError;
    },
    state: () => ({
      pending: running !== null,
      lastSuccess,
      lastError: lastError === null ? null : lastError instanceof Error ? lastError.message : String(lastError),
    }),
  };
}

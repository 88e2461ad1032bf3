// `invis-setup signatures`: one ClamAV signature update (freshclam, which also tells clamd to
// reload) and its job state for the portal's status page. Where there is no Internet the run
// fails and says so; the signatures already there keep working and the state shows their age.
import { type JobState, lastOutputLine, recordJobRun } from '@invis/host';
import { SIGNATURES_JOB } from './mailfilter-render';
import type { ModuleContext } from './module';

/** freshclam gives up after its own retries; this is the outer bound (a slow first download included). */
const FRESHCLAM_TIMEOUT_MS = 15 * 60_000;
/** The timer's interval (see renderSignatureUnits). */
const INTERVAL_MS = 2 * 60 * 60_000;

/** The signature files ClamAV loads (official `.cvd`/`.cld`, and local databases). */
const SIGNATURE_FILE =
  /\.(cvd|cld|cud|hdb|hsb|ndb|ldb|mdb|msb|ign2|fp|sfp|pdb|gdb|wdb|cdb|ftm|idb|info|cat|crb|ndu|ldu)$/;

/** What `freshclam --version` says about the daily database: `ClamAV 1.4.6/27485/Sat Dec  5 09:25:02 2026`. */
export interface SignatureVersion {
  engine: string;
  /** The daily database's version; absent before the first download. */
  daily?: number;
  /** When that daily database was built, as freshclam prints it. */
  built?: string;
}

/**
 * Parses `freshclam --version`.
 * @param text its output
 * @returns engine and daily version, or undefined when the text is not ClamAV's version line
 */
export function parseClamVersion(text: string): SignatureVersion | undefined {
  const match = /^ClamAV (\d+\.\d+(?:\.\d+)?)(?:\/(\d+)\/(.+))?$/.exec(text.trim());
  if (!match?.[1]) return undefined;
  return {
    engine: match[1],
    ...(match[2] ? { daily: Number(match[2]) } : {}),
    ...(match[3] ? { built: match[3].replace(/\s+/g, ' ') } : {}),
  };
}

/**
 * One signature update: runs freshclam once with the profile's configuration, then records
 * `<jobsDir>/signatures.json` — `ok` when freshclam succeeded, `warning` when it failed but
 * signatures are there (clamd keeps scanning with them), `failed` when there are none (clamd
 * cannot start; mail waits in the queue, the filter fails closed).
 * @param ctx the module context (live only)
 * @returns the recorded job state
 */
export async function runSignatureUpdate(ctx: ModuleContext): Promise<JobState> {
  const { clamav } = ctx.profile.mailfilter;
  const startedAt = ctx.clock.now();
  const update = await ctx.runner.run(
    clamav.freshclam,
    [`--config-file=${clamav.freshclamConfig}`, '--foreground', '--stdout'],
    { timeoutMs: FRESHCLAM_TIMEOUT_MS },
  );
  const version = parseClamVersion(
    (await ctx.runner.run(clamav.freshclam, [`--config-file=${clamav.freshclamConfig}`, '--version'])).stdout,
  );
  const databases = (await ctx.fs.readdir(clamav.databaseDir)).filter((name) => SIGNATURE_FILE.test(name)).sort();
  const have =
    version?.daily === undefined
      ? `${databases.length} signature files (${databases.join(', ') || 'none'})`
      : `daily ${version.daily} of ${version.built}`;
  const result = update.exitCode === 0 ? 'ok' : databases.length > 0 ? 'warning' : 'failed';
  const message =
    result === 'ok'
      ? `signatures up to date: ${have}`
      : `update failed (freshclam exit ${update.exitCode}: ${lastOutputLine(update)}); ${result === 'warning' ? `scanning with ${have}` : 'no signatures: the virus scanner cannot start'}`;
  const finishedAt = ctx.clock.now();
  return recordJobRun(ctx.fs, ctx.profile.jobsDir, {
    name: SIGNATURES_JOB,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    result,
    message,
    nextRunAt: new Date(finishedAt.getTime() + INTERVAL_MS).toISOString(),
    details: {
      freshclamExit: update.exitCode,
      engine: version?.engine ?? null,
      daily: version?.daily ?? null,
      dailyBuilt: version?.built ?? null,
      databases: databases.length,
    },
  });
}

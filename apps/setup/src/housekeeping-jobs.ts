// `invis-setup housekeeping run transfer|recycle`: the original's `clean_transfer` and
// `clean_recycle` cron jobs. Each run cleans its folders with the no-follow cleaner and records
// its result as job state (`<jobsDir>/housekeeping-<job>.json`), which the portal's status page
// shows.
import { type JobResult, recordJobRun } from '@invis/host';
import { type CleanResult, cleanFolder } from './housekeeping-clean';
import type { ModuleContext } from './module';

/** The housekeeping jobs. */
export const HOUSEKEEPING_JOBS = ['transfer', 'recycle'] as const;
/** One housekeeping job. */
export type HousekeepingJob = (typeof HOUSEKEEPING_JOBS)[number];

/**
 * The name of a job's state file and units (`housekeeping-transfer`).
 * @param job the job
 * @returns the name
 */
export const housekeepingJobName = (job: HousekeepingJob): string => `housekeeping-${job}`;

/** What a run reports (also written as the job's state). */
export interface HousekeepingReport {
  job: HousekeepingJob;
  result: JobResult;
  message: string;
  /** Per cleaned folder (only the ones that exist). */
  folders: CleanResult[];
}

const DAY_MS = 86_400_000;

/**
 * The folders a job cleans. `transfer`: the transfer share. `recycle`: the recycle bin
 * (`profile.housekeeping.recycleDir`) of every share folder in the layout, of every group folder
 * and of every home — the ones that do not exist are left out by the cleaner.
 * @param ctx profile and (rooted) file system
 * @param job the job
 * @returns absolute paths (as on the server)
 */
export async function housekeepingFolders(
  ctx: Pick<ModuleContext, 'profile' | 'fs'>,
  job: HousekeepingJob,
): Promise<string[]> {
  const { shares, housekeeping } = ctx.profile;
  if (job === 'transfer') return [shares.transfer];
  const layout = Object.values(shares).filter((p) => p.startsWith(`${shares.root}/`));
  const children = async (parent: string) =>
    (await ctx.fs.exists(parent)) ? (await ctx.fs.readdir(parent)).map((name) => `${parent}/${name}`) : [];
  const bases = [...layout, ...(await children(shares.gruppen)), ...(await children(shares.homes))];
  return [...new Set(bases)].sort().map((base) => `${base}/${housekeeping.recycleDir}`);
}

/**
 * One run of a housekeeping job: removes what is older than the answers' days from its folders
 * (never following a link, never leaving a folder), then records the job state. A job switched
 * off in the answers records that and removes nothing.
 * @param ctx the module context (answers, profile, fs, clock)
 * @param job the job
 * @returns the report; `failed` when a folder was refused (e.g. a recycle bin that is a link)
 */
export async function runHousekeeping(
  ctx: Pick<ModuleContext, 'answers' | 'profile' | 'fs' | 'clock'>,
  job: HousekeepingJob,
): Promise<HousekeepingReport> {
  const settings = ctx.answers.housekeeping[job];
  const startedAt = ctx.clock.now();
  const folders: CleanResult[] = [];
  const refused: string[] = [];
  if (settings.enabled) {
    const cutoff = new Date(startedAt.getTime() - settings.days * DAY_MS);
    for (const folder of await housekeepingFolders(ctx, job)) {
      try {
        const cleaned = await cleanFolder(ctx.fs.hostPath(folder), { cutoff });
        if (await ctx.fs.exists(folder)) folders.push({ ...cleaned, root: folder });
      } catch (error) {
        refused.push(`${folder}: ${(error as Error).message}`);
      }
    }
  }
  const sum = (key: 'removedFiles' | 'removedDirs' | 'freedBytes' | 'links' | 'skippedMounts') =>
    folders.reduce((total, f) => total + f[key], 0);
  const problems = folders.flatMap((f) => f.problems.map((p) => `${p.path}: ${p.reason}`));
  const result: JobResult = refused.length > 0 ? 'failed' : problems.length > 0 ? 'warning' : 'ok';
  const message = !settings.enabled
    ? 'switched off in the answers'
    : [
        `${sum('removedFiles')} files (${sum('freedBytes')} bytes) and ${sum('removedDirs')} folders older than ${settings.days} days removed from ${folders.length} folder(s)`,
        ...refused,
        ...problems.slice(0, 5),
      ].join('; ');
  await recordJobRun(ctx.fs, ctx.profile.jobsDir, {
    name: housekeepingJobName(job),
    startedAt: startedAt.toISOString(),
    finishedAt: ctx.clock.now().toISOString(),
    result,
    message,
    details: {
      enabled: settings.enabled,
      days: settings.days,
      folders: folders.length,
      removedFiles: sum('removedFiles'),
      removedDirs: sum('removedDirs'),
      freedBytes: sum('freedBytes'),
      links: sum('links'),
      skippedMounts: sum('skippedMounts'),
      problems: problems.length + refused.length,
    },
  });
  return { job, result, message, folders };
}

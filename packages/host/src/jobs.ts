import { HostError } from './errors';
import type { HostFs } from './fs';

/** How a background job's last run ended. */
export type JobResult = 'ok' | 'warning' | 'failed';

/**
 * The state of one background job (DDNS, backup, certificate expiry, signature updates, …) as the
 * job records it after each run and the portal's status page shows it. One JSON file per job.
 */
export interface JobState {
  /** The job's name: lower-case letters, digits and dashes (also its file name). */
  name: string;
  /** When the last run started (ISO 8601, UTC). */
  startedAt: string;
  /** When the last run finished (ISO 8601, UTC). */
  finishedAt: string;
  result: JobResult;
  /** One line for people: what was done, or what is wrong. */
  message: string;
  /** When the timer runs the job next (ISO 8601), when the job knows. */
  nextRunAt?: string;
  /** When the last run that ended `ok` finished; kept across failed runs. */
  lastSuccessAt?: string;
  /** Job-specific facts (counts, bytes, expiry dates); plain JSON. */
  details?: Record<string, string | number | boolean | null>;
}

const JOB_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const RESULTS: readonly JobResult[] = ['ok', 'warning', 'failed'];

/** The file of job `name` in `dir`; names that could leave `dir` are refused. */
function jobFile(dir: string, name: string): string {
  if (!JOB_NAME.test(name)) {
    throw new HostError('HOST_UNSAFE_PATH', `job name ${JSON.stringify(name)} is not [a-z0-9-]`, { details: { name } });
  }
  return `${dir.replace(/\/+$/, '')}/${name}.json`;
}

function isIsoDate(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 40 && !Number.isNaN(Date.parse(value));
}

/**
 * Checks a parsed job file; anything that is not exactly a {@link JobState} is refused.
 * @param value the parsed JSON
 * @returns the state, or undefined when it does not hold one
 */
export function parseJobState(value: unknown): JobState | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.name !== 'string' || !JOB_NAME.test(v.name)) return undefined;
  if (!isIsoDate(v.startedAt) || !isIsoDate(v.finishedAt)) return undefined;
  if (!RESULTS.includes(v.result as JobResult) || typeof v.message !== 'string') return undefined;
  if (v.nextRunAt !== undefined && !isIsoDate(v.nextRunAt)) return undefined;
  if (v.lastSuccessAt !== undefined && !isIsoDate(v.lastSuccessAt)) return undefined;
  if (v.details !== undefined) {
    if (typeof v.details !== 'object' || v.details === null || Array.isArray(v.details)) return undefined;
    for (const item of Object.values(v.details)) {
      if (item !== null && !['string', 'number', 'boolean'].includes(typeof item)) return undefined;
    }
  }
  return v as unknown as JobState;
}

/**
 * Records the end of a job run in `<dir>/<name>.json` (atomic, 0644: the portal reads it),
 * carrying `lastSuccessAt` over from the previous state when this run did not succeed.
 * @param fs the host file system
 * @param dir the jobs folder, e.g. `/var/lib/invis/jobs`
 * @param state this run's state (without `lastSuccessAt`: it is derived)
 * @returns the state as written
 * @throws HostError `HOST_UNSAFE_PATH` for a bad job name
 */
export async function recordJobRun(fs: HostFs, dir: string, state: Omit<JobState, 'lastSuccessAt'>): Promise<JobState> {
  const file = jobFile(dir, state.name);
  const previous = await readJobState(fs, dir, state.name);
  const lastSuccessAt = state.result === 'ok' ? state.finishedAt : previous?.lastSuccessAt;
  const written: JobState = { ...state, ...(lastSuccessAt ? { lastSuccessAt } : {}) };
  await fs.mkdir(dir, 0o755);
  await fs.writeFileAtomic(file, `${JSON.stringify(written, null, 2)}\n`, { mode: 0o644 });
  return written;
}

/**
 * Reads the state of job `name`.
 * @returns the state, or undefined when the job never ran or its file is not a job state
 */
export async function readJobState(fs: HostFs, dir: string, name: string): Promise<JobState | undefined> {
  const text = await fs.readFileIfExists(jobFile(dir, name));
  if (text === undefined) return undefined;
  try {
    const state = parseJobState(JSON.parse(text));
    return state?.name === name ? state : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Reads every job state in `dir` (files `<name>.json`), sorted by name; unreadable or malformed
 * files are left out rather than shown as "everything fine".
 */
export async function readJobStates(fs: HostFs, dir: string): Promise<JobState[]> {
  if (!(await fs.exists(dir))) return [];
  const names = (await fs.readdir(dir))
    .filter((file) => file.endsWith('.json'))
    .map((file) => file.slice(0, -'.json'.length))
    .filter((name) => JOB_NAME.test(name))
    .sort();
  const states: JobState[] = [];
  for (const name of names) {
    const state = await readJobState(fs, dir, name);
    if (state) states.push(state);
  }
  return states;
}

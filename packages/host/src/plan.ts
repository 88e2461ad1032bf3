// One shape for "what would change" (plan) and "what changed" (report), shared by every
// library's apply and by the apps that show them.
import { unifiedDiff } from './diff';

/** What happens to one file. */
export type FileAction = 'create' | 'update' | 'delete' | 'unchanged';

/** One file of a plan or report. */
export interface FileChange {
  path: string;
  action: FileAction;
  /** Unified diff; '' when unchanged and always '' for secrets. */
  diff: string;
  /** The content is secret: the diff is withheld. */
  secret?: boolean;
}

/** A service action of a plan or report. */
export interface ServiceAction {
  unit: string;
  action: 'start' | 'stop' | 'restart' | 'reload' | 'reload-or-restart' | 'enable';
}

/** A program run of a plan or report (arguments never carry secrets). */
export interface PlannedCommand {
  command: string;
  args: readonly string[];
  /** Why it runs, for people reading the plan. */
  reason?: string;
}

/** What an apply would do. */
export interface ApplyPlan {
  files: FileChange[];
  services: ServiceAction[];
  commands: PlannedCommand[];
}

/** What an apply did. `changed` is true when any file, service or command acted. */
export interface ApplyReport extends ApplyPlan {
  changed: boolean;
  /** Where the previous files were copied, when anything changed. */
  backup?: string;
  /** Milliseconds per stage (`validate`, `write`, `reload`, …). */
  timings: Record<string, number>;
}

/**
 * The {@link FileChange} for moving a file from `before` to `after`.
 * @param path the file
 * @param before current content, undefined when missing
 * @param after new content, undefined when it will be removed
 * @param options `secret` withholds the diff
 * @returns the change, action `unchanged` when equal
 */
export function fileChange(
  path: string,
  before: string | undefined,
  after: string | undefined,
  options: { secret?: boolean } = {},
): FileChange {
  const action: FileAction =
    before === after ? 'unchanged' : before === undefined ? 'create' : after === undefined ? 'delete' : 'update';
  const diff =
    action === 'unchanged' || options.secret ? '' : unifiedDiff(before, after, { path: path.replace(/^\/+/, '') });
  return { path, action, diff, ...(options.secret ? { secret: true } : {}) };
}

/**
 * An empty plan, to fill.
 * @returns a plan with no files, services or commands
 */
export function emptyPlan(): ApplyPlan {
  return { files: [], services: [], commands: [] };
}

/**
 * Whether a plan would change anything.
 * @param plan the plan
 * @returns false when every file is unchanged and no service or command acts
 */
export function planChanges(plan: ApplyPlan): boolean {
  return plan.services.length > 0 || plan.commands.length > 0 || plan.files.some((f) => f.action !== 'unchanged');
}

/**
 * The report of a plan that was carried out.
 * @param plan what was done
 * @param extra backup location and stage timings
 * @returns the report
 */
export function applyReport(
  plan: ApplyPlan,
  extra: { backup?: string; timings?: Record<string, number> } = {},
): ApplyReport {
  return {
    ...plan,
    changed: planChanges(plan),
    ...(extra.backup === undefined ? {} : { backup: extra.backup }),
    timings: extra.timings ?? {},
  };
}

/**
 * The whole plan or report as one text: every file diff, then services and commands.
 * @param plan a plan or report
 * @returns human-readable text, '' when nothing changes
 */
export function formatPlan(plan: ApplyPlan): string {
  const parts: string[] = [];
  for (const file of plan.files) {
    if (file.action === 'unchanged') continue;
    parts.push(file.secret ? `${file.action} ${file.path} (secret, diff withheld)\n` : file.diff);
  }
  for (const service of plan.services) parts.push(`service ${service.action} ${service.unit}\n`);
  for (const command of plan.commands) {
    parts.push(`run ${[command.command, ...command.args].join(' ')}${command.reason ? `  # ${command.reason}` : ''}\n`);
  }
  return parts.join('');
}

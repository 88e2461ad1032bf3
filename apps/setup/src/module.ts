// The module contract: every setup module declares what it depends on and offers plan (what
// would change), apply (idempotent) and verify (is the result in place). File-writing modules
// are built with `fileModule`: render (pure) → check with the real program → atomic write →
// service action, rolled back when the service action fails.
import {
  type ApplyPlan,
  type ApplyReport,
  applyReport,
  type Clock,
  type CommandRunner,
  emptyPlan,
  fileChange,
  lastOutputLine,
  type PlannedCommand,
  type ServiceAction,
  type ServiceManager,
} from '@invis/host';
import type { Answers } from './answers';
import { SetupError } from './errors';
import type { Bilingual, Lang } from './i18n';
import type { PlatformProfile } from './profiles';
import type { SetupFs } from './rooted-fs';
import type { SecretStore } from './secrets';

/** Everything a module may use; nothing else reaches the machine. */
export interface ModuleContext {
  answers: Answers;
  secrets: SecretStore;
  /** Rooted below `--root` when staging. */
  fs: SetupFs;
  runner: CommandRunner;
  services: ServiceManager;
  profile: PlatformProfile;
  clock: Clock;
  /** One line of progress for people (stderr). */
  progress(message: string): void;
  /** `--root` given: no service actions, no commands that change the machine, no live checks. */
  staging: boolean;
  lang: Lang;
}

/** A plan plus the directories the apply would create. */
export interface ModulePlan extends ApplyPlan {
  directories: string[];
}

/** One result of `verify`. */
export interface VerifyCheck {
  name: string;
  ok: boolean;
  /** What is wrong, when not ok. */
  problem?: string;
}

/** A setup module. */
export interface SetupModule {
  id: string;
  title: Bilingual;
  dependsOn: readonly string[];
  plan(ctx: ModuleContext): Promise<ModulePlan>;
  apply(ctx: ModuleContext): Promise<ApplyReport>;
  verify(ctx: ModuleContext): Promise<VerifyCheck[]>;
}

/** One file a module wants on disk. */
export interface DesiredFile {
  path: string;
  content: string;
  mode?: number;
  /** Key material or a password: plans and reports name the file but never show its diff. */
  secret?: boolean;
  /**
   * Runs the real checker on a candidate copy (at `candidate`, a real path) before anything is
   * written; resolves when it accepts, else the module fails with `SETUP_CHECK_FAILED`.
   */
  check?: (ctx: ModuleContext, candidate: string) => Promise<CheckResult>;
}

/** What a checker said. */
export interface CheckResult {
  ok: boolean;
  /** The checker's own words when it refused. */
  message?: string;
}

/** What a file module renders for the current answers. */
export interface Rendered {
  files: DesiredFile[];
  /** Directories (with mode) the files need. */
  directories: { path: string; mode: number }[];
  /** Service actions when any file changed (skipped when staging); enabling at boot is not setup's. */
  services: UnitAction[];
  /** Commands that change the machine when any file changed (skipped when staging). */
  commands: PlannedCommand[];
}

/** A service action the {@link ServiceManager} can carry out. */
export type UnitAction = ServiceAction & { action: Exclude<ServiceAction['action'], 'enable'> };

/** The parts of a file module. */
export interface FileModuleSpec {
  id: string;
  title: Bilingual;
  dependsOn: readonly string[];
  /** Pure: the files for the answers and profile. */
  render(ctx: ModuleContext): Rendered;
  /** Live checks beyond "the files are as rendered" (not run when staging). */
  verifyLive?(ctx: ModuleContext): Promise<VerifyCheck[]>;
}

/**
 * Runs a program as a checker: exit 0 accepts, anything else refuses with its last output line.
 * @param runner the runner
 * @param command the checker
 * @param args its arguments
 * @returns the verdict
 */
export async function runChecker(
  runner: CommandRunner,
  command: string,
  args: readonly string[],
): Promise<CheckResult> {
  const result = await runner.run(command, args, { timeoutMs: 30_000 });
  return result.exitCode === 0 ? { ok: true } : { ok: false, message: lastOutputLine(result) };
}

async function planRendered(ctx: ModuleContext, rendered: Rendered): Promise<ModulePlan> {
  const plan: ModulePlan = { ...emptyPlan(), directories: [] };
  for (const dir of rendered.directories) if (!(await ctx.fs.exists(dir.path))) plan.directories.push(dir.path);
  for (const file of rendered.files) {
    plan.files.push(
      fileChange(file.path, await ctx.fs.readFileIfExists(file.path), file.content, { secret: file.secret === true }),
    );
  }
  if (!ctx.staging && plan.files.some((f) => f.action !== 'unchanged')) {
    plan.services.push(...rendered.services);
    plan.commands.push(...rendered.commands);
  }
  return plan;
}

async function checkCandidate(ctx: ModuleContext, moduleId: string, file: DesiredFile): Promise<void> {
  if (!file.check) return;
  ctx.progress(`${moduleId}: checking ${file.path}`);
  // A hidden folder beside the target: same file system, not matched by the daemons' `*.conf`
  // include globs, and inside the staging root when there is one.
  const dir = file.path.slice(0, file.path.lastIndexOf('/'));
  const temp = await ctx.fs.mkdtemp(`${dir}/.invis-check-`);
  try {
    const candidate = `${temp}/${file.path.slice(dir.length + 1)}`;
    await ctx.fs.writeFileAtomic(candidate, file.content, { mode: 0o644 });
    const verdict = await file.check(ctx, ctx.fs.hostPath(candidate));
    if (!verdict.ok) {
      throw new SetupError('SETUP_CHECK_FAILED', `${file.path}: ${verdict.message ?? 'refused by its checker'}`, {
        details: { module: moduleId, path: file.path },
      });
    }
  } finally {
    await ctx.fs.remove(temp);
  }
}

/**
 * Builds a {@link SetupModule} from a pure render: plan diffs the rendered files against disk;
 * apply creates directories, checks every changed file with its real checker, writes them
 * atomically, then runs the service actions and commands — and puts the previous files back when
 * one of those fails; verify compares disk with the render and adds the live checks.
 * @param spec id, title, dependencies, render and live checks
 * @returns the module
 */
export function fileModule(spec: FileModuleSpec): SetupModule {
  return {
    id: spec.id,
    title: spec.title,
    dependsOn: spec.dependsOn,
    plan: (ctx) => planRendered(ctx, spec.render(ctx)),
    async apply(ctx) {
      const rendered = spec.render(ctx);
      const plan = await planRendered(ctx, rendered);
      const started = Date.now();
      const changed = rendered.files.filter((f) => plan.files.find((p) => p.path === f.path)?.action !== 'unchanged');
      if (changed.length === 0 && plan.directories.length === 0) return applyReport(plan);
      // Directories first: the candidates are checked beside their targets.
      for (const dir of rendered.directories) await ctx.fs.mkdir(dir.path, dir.mode);
      for (const file of changed) await checkCandidate(ctx, spec.id, file);
      const timings: Record<string, number> = { validate: Date.now() - started };
      const previous = new Map<string, string | undefined>();
      for (const file of changed) {
        previous.set(file.path, await ctx.fs.readFileIfExists(file.path));
        await ctx.fs.writeFileAtomic(file.path, file.content, file.mode === undefined ? {} : { mode: file.mode });
      }
      timings.write = Date.now() - started - (timings.validate ?? 0);
      try {
        const act = changed.length > 0 && !ctx.staging;
        for (const service of act ? rendered.services : []) await serviceAction(ctx.services, service);
        for (const command of act ? rendered.commands : []) {
          const result = await ctx.runner.run(command.command, command.args);
          if (result.exitCode !== 0) {
            throw new SetupError('SETUP_CHECK_FAILED', `${command.command} failed: ${lastOutputLine(result)}`, {
              details: { module: spec.id, exitCode: result.exitCode },
            });
          }
        }
      } catch (error) {
        await restore(ctx, previous);
        throw error;
      }
      return applyReport(plan, { timings });
    },
    async verify(ctx) {
      const rendered = spec.render(ctx);
      const checks: VerifyCheck[] = [];
      for (const file of rendered.files) {
        const current = await ctx.fs.readFileIfExists(file.path);
        checks.push(
          current === file.content
            ? { name: file.path, ok: true }
            : {
                name: file.path,
                ok: false,
                problem: current === undefined ? 'missing' : 'differs from what setup renders (run plan)',
              },
        );
      }
      if (!ctx.staging && spec.verifyLive) checks.push(...(await spec.verifyLive(ctx)));
      return checks;
    },
  };
}

async function serviceAction(services: ServiceManager, action: UnitAction): Promise<void> {
  const run: Record<UnitAction['action'], (unit: string) => Promise<void>> = {
    start: (u) => services.start(u),
    stop: (u) => services.stop(u),
    restart: (u) => services.restart(u),
    reload: (u) => services.reload(u),
    'reload-or-restart': (u) => services.reloadOrRestart(u),
  };
  await run[action.action](action.unit);
}

async function restore(ctx: ModuleContext, previous: ReadonlyMap<string, string | undefined>): Promise<void> {
  for (const [path, content] of previous) {
    if (content === undefined) await ctx.fs.remove(path);
    else await ctx.fs.writeFileAtomic(path, content);
  }
}

/** The empty plan of a module that writes nothing. */
export function noChangePlan(): ModulePlan {
  return { ...emptyPlan(), directories: [] };
}

// `check`: the machine can carry an invis server — a supported system, the two interfaces of the
// answers, the packages every module needs. Installing packages is the admin's job, not setup's.
import { applyReport, emptyPlan } from '@invis/host';
import { SetupError } from '../errors';
import { type ModuleContext, noChangePlan, type SetupModule, type VerifyCheck } from '../module';

async function packageInstalled(ctx: ModuleContext, name: string): Promise<boolean> {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
  const result = await ctx.runner.run('dpkg-query', ['-W', '-f', '${Status}', '--', name]);
  return result.exitCode === 0 && result.stdout.trim().endsWith(' installed');
}

async function prerequisites(ctx: ModuleContext): Promise<VerifyCheck[]> {
  const checks: VerifyCheck[] = [{ name: `os ${ctx.profile.name}`, ok: true }];
  const present = await ctx.fs.readdir('/sys/class/net');
  for (const [role, nic] of Object.entries(ctx.answers.interfaces)) {
    checks.push(
      present.includes(nic)
        ? { name: `interface ${role}`, ok: true }
        : { name: `interface ${role}`, ok: false, problem: `no network interface ${nic} (${role})` },
    );
  }
  checks.push(await packagesCheck(ctx, Object.values(ctx.profile.packages).flat()));
  return checks;
}

/**
 * Whether Debian packages are installed (`dpkg-query`), as a check naming the missing ones —
 * also for a module whose packages are needed only when its answers turn it on (`nfs`).
 * @param ctx the runner
 * @param names the packages
 * @returns the check `packages`
 */
export async function packagesCheck(ctx: ModuleContext, names: readonly string[]): Promise<VerifyCheck> {
  const missing: string[] = [];
  for (const name of [...new Set(names)].sort()) if (!(await packageInstalled(ctx, name))) missing.push(name);
  return missing.length === 0
    ? { name: 'packages', ok: true }
    : {
        name: 'packages',
        ok: false,
        problem: `not installed: ${missing.join(' ')} (apt-get install ${missing.join(' ')})`,
      };
}

/** The `check` module: writes nothing; apply fails with every missing prerequisite named. */
export const checkModule: SetupModule = {
  id: 'check',
  title: { de: 'Voraussetzungen prüfen', en: 'Check prerequisites' },
  dependsOn: [],
  plan: async () => noChangePlan(),
  async apply(ctx) {
    const problems = (await prerequisites(ctx)).filter((c) => !c.ok).map((c) => c.problem ?? c.name);
    if (problems.length > 0) {
      throw new SetupError('SETUP_PREREQUISITES', problems.join('\n'), { details: { problems } });
    }
    return applyReport(emptyPlan());
  },
  verify: prerequisites,
};

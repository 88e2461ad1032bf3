// `nfs` (answer `nfs.enabled`, default off): NFSv4 for the LAN and the VPN — `/srv/nfs4_base` as the
// pseudo root with `home` and `shares` below it, Kerberos with privacy (`sec=krb5p`) unless the
// admin answers `sys`. One export model, two servers: `/etc/exports` + bind-mount units for the
// kernel server, and nfs-ganesha (userspace, runs on any kernel; the one this module starts). On
// the DC: the SPN `nfs/<fqdn>` on the server's computer account and its keys in the keytab.
import { readFile, writeFile } from 'node:fs/promises';
import { applyReport, type PlannedCommand } from '@invis/host';
import type { Answers } from '../answers';
import { SetupError } from '../errors';
import { type DesiredFile, fileModule, type ModuleContext, type ModulePlan, type SetupModule } from '../module';
import { networkOf, parseCidr } from '../net';
import {
  exportsModel,
  type GaneshaModel,
  ganeshaModel,
  type NfsExportModel,
  parseExports,
  parseGanesha,
  renderExports,
  renderGanesha,
} from '../nfs-exports';
import type { PlatformProfile } from '../profiles';
import { renderUnit, verifyUnit } from '../systemd';
import { packagesCheck } from './check';
import { sambaNames } from './samba-ad';

/**
 * The export model for the answers: `home` (the homes' parent) and `shares` (the share root),
 * read-write for the LAN and the VPN network.
 * @param answers LAN, VPN and the NFS answers
 * @param profile paths
 * @returns the model
 */
export function nfsModel(answers: Answers, profile: PlatformProfile): NfsExportModel {
  const lan = parseCidr(answers.lan.address) as NonNullable<ReturnType<typeof parseCidr>>;
  return {
    root: profile.nfs.root,
    exports: [
      { name: 'home', source: profile.shares.homes },
      { name: 'shares', source: profile.shares.root },
    ],
    clients: [networkOf(lan).cidr, ...(answers.vpn ? [answers.vpn.network] : [])],
    security: answers.nfs.security,
  };
}

/** nfs-ganesha's model: the same exports, on the LAN address, with the server's keytab. */
export function ganeshaFor(answers: Answers, profile: PlatformProfile): GaneshaModel {
  const model = nfsModel(answers, profile);
  const lan = parseCidr(answers.lan.address) as NonNullable<ReturnType<typeof parseCidr>>;
  return {
    bind: lan.address,
    exports: model.exports,
    clients: model.clients,
    security: model.security,
    keytab: profile.nfs.keytab,
  };
}

/**
 * systemd's name of a mount unit for `path` (`systemd-escape --path --suffix=mount`).
 * @param path an absolute path
 * @returns the unit name
 */
export function mountUnitName(path: string): string {
  const escaped = path
    .replace(/^\/+|\/+$/g, '')
    .split('/')
    .map((part) =>
      [...part]
        .map((c, i) =>
          /[A-Za-z0-9:_]/.test(c) || (c === '.' && i > 0) ? c : `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`,
        )
        .join(''),
    )
    .join('-');
  return `${escaped}.mount`;
}

/** The bind mount of one export below the pseudo root (for the kernel server). */
export function renderBindMount(source: string, where: string): string {
  return renderUnit('NFSv4: a folder below the pseudo root for the kernel NFS server (invis-setup module nfs).', {
    Unit: [
      ['Description', `invis NFSv4: ${source} at ${where}`],
      ['Before', 'nfs-server.service'],
    ],
    Mount: [
      ['What', source],
      ['Where', where],
      ['Type', 'none'],
      ['Options', 'bind'],
    ],
    Install: [['WantedBy', 'local-fs.target']],
  });
}

/** Parse back, render again, the same text: the checker of a file no program checks. */
const roundTrip =
  (again: (text: string) => string) =>
  async (_ctx: ModuleContext, candidate: string): Promise<{ ok: boolean; message?: string }> => {
    const text = await readFile(candidate, 'utf8');
    try {
      return again(text) === text ? { ok: true } : { ok: false, message: 'parsed back, it renders differently' };
    } catch (error) {
      return { ok: false, message: (error as Error).message };
    }
  };

function files(ctx: ModuleContext): DesiredFile[] {
  const { answers, profile } = ctx;
  const model = nfsModel(answers, profile);
  const mounts = model.exports.map((e) => {
    const where = `${model.root}/${e.name}`;
    return { path: `${profile.systemd.unitDir}/${mountUnitName(where)}`, content: renderBindMount(e.source, where) };
  });
  return [
    {
      path: profile.nfs.exports,
      content: renderExports(model),
      mode: 0o644,
      check: roundTrip((text) => renderExports(exportsModel(parseExports(text)))),
    },
    {
      path: profile.nfs.ganeshaConfig,
      content: renderGanesha(ganeshaFor(answers, profile)),
      mode: 0o644,
      check: roundTrip((text) => renderGanesha(ganeshaModel(parseGanesha(text)))),
    },
    ...mounts.map((m) => ({
      ...m,
      mode: 0o644,
      check: (c: ModuleContext, candidate: string) => {
        // systemd-analyze wants the unit under its own name.
        return verifyMountUnit(c, candidate, m.path.slice(m.path.lastIndexOf('/') + 1), m.content);
      },
    })),
  ];
}

async function verifyMountUnit(ctx: ModuleContext, candidate: string, name: string, content: string) {
  const dir = candidate.slice(0, candidate.lastIndexOf('/'));
  await writeFile(`${dir}/${name}`, content, { mode: 0o644 });
  return verifyUnit(ctx, `${dir}/${name}`, [], []);
}

const spec = fileModule({
  id: 'nfs',
  title: { de: 'NFSv4', en: 'NFSv4' },
  dependsOn: ['samba_ad', 'fileserver'],
  render: (ctx) => {
    const { profile } = ctx;
    if (!ctx.answers.nfs.enabled) return { files: [], directories: [], services: [], commands: [] };
    const model = nfsModel(ctx.answers, profile);
    return {
      directories: [
        { path: model.root, mode: 0o755 },
        ...model.exports.map((e) => ({ path: `${model.root}/${e.name}`, mode: 0o755 })),
        { path: profile.nfs.ganeshaConfig.slice(0, profile.nfs.ganeshaConfig.lastIndexOf('/')), mode: 0o755 },
        { path: profile.systemd.unitDir, mode: 0o755 },
      ],
      files: files(ctx),
      // Exports and the core parameters change together: ganesha's SIGHUP re-reads exports only.
      services: [{ unit: profile.nfs.ganeshaUnit, action: 'restart' }],
      commands: [],
    };
  },
});

const principal = (ctx: ModuleContext) => `nfs/${ctx.answers.hostname}.${ctx.answers.domain}`;
const account = (ctx: ModuleContext) => `${sambaNames(ctx.answers).netbios}$`;

/** The SPN and keytab steps still missing on the DC (live only). */
async function kerberosSteps(ctx: ModuleContext): Promise<PlannedCommand[]> {
  if (ctx.staging || !ctx.answers.nfs.enabled) return [];
  const { sambaTool } = ctx.profile.samba;
  const { keytab, klist } = ctx.profile.nfs;
  const realm = sambaNames(ctx.answers).realm;
  const steps: PlannedCommand[] = [];
  const spns = await ctx.runner.run(sambaTool, ['spn', 'list', account(ctx)]);
  if (spns.exitCode !== 0) {
    throw new SetupError('SETUP_CHECK_FAILED', `samba-tool spn list ${account(ctx)}: ${spns.output.trim()}`, {
      details: { module: 'nfs' },
    });
  }
  if (!spns.stdout.split('\n').some((l) => l.trim().toLowerCase() === principal(ctx).toLowerCase())) {
    steps.push({
      command: sambaTool,
      args: ['spn', 'add', principal(ctx), account(ctx)],
      reason: 'the NFS service principal',
    });
  }
  const keys = (await ctx.fs.exists(keytab)) ? await ctx.runner.run(klist, ['-k', keytab]) : undefined;
  if (!keys?.stdout.includes(`${principal(ctx)}@${realm}`)) {
    steps.push({
      command: sambaTool,
      args: ['domain', 'exportkeytab', keytab, `--principal=${principal(ctx)}@${realm}`],
      reason: `its keys in ${keytab}`,
    });
  }
  return steps;
}

/** The `nfs` module: the files (ganesha restarted), then the SPN and keytab on the DC. */
export const nfsModule: SetupModule = {
  ...spec,
  async plan(ctx): Promise<ModulePlan> {
    const plan = await spec.plan(ctx);
    return { ...plan, commands: [...plan.commands, ...(await kerberosSteps(ctx))] };
  },
  async apply(ctx) {
    if (ctx.answers.nfs.enabled) {
      const packages = await packagesCheck(ctx, ctx.profile.nfs.packages);
      if (!packages.ok) {
        const problem = packages.problem ?? 'packages missing';
        throw new SetupError('SETUP_PREREQUISITES', problem, { details: { problems: [problem] } });
      }
    }
    const report = await spec.apply(ctx);
    const steps = await kerberosSteps(ctx);
    for (const step of steps) {
      ctx.progress(`nfs: ${step.args.slice(0, 2).join(' ')}`);
      const result = await ctx.runner.run(step.command, step.args);
      if (result.exitCode !== 0) {
        throw new SetupError(
          'SETUP_CHECK_FAILED',
          `samba-tool ${step.args.slice(0, 2).join(' ')}: ${result.output.trim()}`,
          {
            details: { module: 'nfs', exitCode: result.exitCode },
          },
        );
      }
    }
    if (steps.length === 0) return report;
    return applyReport({ ...report, commands: [...report.commands, ...steps] }, { timings: report.timings ?? {} });
  },
  async verify(ctx) {
    const checks = await spec.verify(ctx);
    if (ctx.staging || !ctx.answers.nfs.enabled) return checks;
    const missing = await kerberosSteps(ctx);
    const active = await ctx.services.isActive(ctx.profile.nfs.ganeshaUnit);
    return [
      ...checks,
      await packagesCheck(ctx, ctx.profile.nfs.packages),
      missing.length === 0
        ? { name: `keytab ${principal(ctx)}`, ok: true }
        : { name: `keytab ${principal(ctx)}`, ok: false, problem: missing.map((s) => s.reason).join('; ') },
      {
        name: `service ${ctx.profile.nfs.ganeshaUnit}`,
        ok: active,
        ...(active ? {} : { problem: `${ctx.profile.nfs.ganeshaUnit} is not running` }),
      },
    ];
  },
};

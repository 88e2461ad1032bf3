// `housekeeping`: the original's clean_transfer and clean_recycle cron jobs as systemd timers.
// Each timer runs `invis-setup housekeeping run <job>` daily (at the original's times); the job
// itself (housekeeping-jobs.ts) reads its days from the answers at every run, so a changed answer
// needs no new units, and a job switched off records that instead of cleaning.

import { HOUSEKEEPING_JOBS, type HousekeepingJob, housekeepingJobName } from '../housekeeping-jobs';
import { fileModule, type ModuleContext, type SetupModule, type VerifyCheck } from '../module';
import type { PlatformProfile } from '../profiles';
import { HARDENING, renderUnit, verifyUnit } from '../systemd';

/** When each job runs: the original's cron times (transfer 05:00, recycle bins 04:45). */
const SCHEDULE: Readonly<Record<HousekeepingJob, string>> = {
  transfer: '*-*-* 05:00:00',
  recycle: '*-*-* 04:45:00',
};

/**
 * The unit name of a job (`invis-housekeeping-transfer`).
 * @param job the job
 * @returns the name without suffix
 */
export const housekeepingUnit = (job: HousekeepingJob): string => `invis-${housekeepingJobName(job)}`;

/**
 * Service and timer of one housekeeping job. The service may write only the folders it cleans and
 * the job state folder; its capabilities are the ones root needs to remove other users' files
 * (in 0700 folders, in the sticky transfer folder) — nothing else.
 * @param profile setup command, share layout, jobs folder
 * @param job the job
 * @returns both units
 */
export function renderHousekeepingUnits(
  profile: PlatformProfile,
  job: HousekeepingJob,
): { service: string; timer: string } {
  const { shares } = profile;
  // `-`: a folder that does not exist (yet) is no reason to fail the run.
  const writable = job === 'transfer' ? [`-${shares.transfer}`] : [`-${shares.root}`, `-${shares.homes}`];
  const what = job === 'transfer' ? 'the transfer folder' : 'the recycle bins';
  const service = renderUnit(`Removes old files from ${what} and records the result for the portal.`, {
    Unit: [['Description', `invis: housekeeping of ${what}`]],
    Service: [
      ['Type', 'oneshot'],
      ['ExecStart', [...profile.setupCommand, 'housekeeping', 'run', job].join(' ')],
      // The recycle bins of the homes live below /home.
      ...HARDENING.filter(([key]) => job === 'transfer' || key !== 'ProtectHome'),
      ['ReadWritePaths', [...writable, profile.jobsDir].join(' ')],
      ['PrivateNetwork', 'yes'],
      ['CapabilityBoundingSet', 'CAP_DAC_OVERRIDE CAP_DAC_READ_SEARCH CAP_FOWNER'],
    ],
  });
  const timer = renderUnit(`Runs the housekeeping of ${what} daily (as the original's cron job).`, {
    Unit: [['Description', `invis: daily housekeeping of ${what}`]],
    Timer: [
      ['OnCalendar', SCHEDULE[job]],
      // A server that was off at that time catches up at boot.
      ['Persistent', 'true'],
    ],
    Install: [['WantedBy', 'timers.target']],
  });
  return { service, timer };
}

const spec = fileModule({
  id: 'housekeeping',
  title: { de: 'Aufräumen (Transfer, Papierkörbe)', en: 'Housekeeping (transfer, recycle bins)' },
  dependsOn: ['check'],
  render: (ctx) => {
    const { profile } = ctx;
    const installedLater = [profile.setupCommand[0] ?? ''];
    return {
      directories: [
        { path: profile.systemd.unitDir, mode: 0o755 },
        // The services may write only listed folders: the job state folder must exist first.
        { path: profile.jobsDir, mode: 0o755 },
      ],
      files: HOUSEKEEPING_JOBS.flatMap((job) => {
        const units = renderHousekeepingUnits(profile, job);
        const path = (suffix: string) => `${profile.systemd.unitDir}/${housekeepingUnit(job)}.${suffix}`;
        return [
          {
            path: path('service'),
            content: units.service,
            mode: 0o644,
            check: (c: ModuleContext, candidate: string) => verifyUnit(c, candidate, [], installedLater),
          },
          {
            path: path('timer'),
            content: units.timer,
            mode: 0o644,
            check: (c: ModuleContext, candidate: string) =>
              verifyUnit(
                c,
                candidate,
                [{ name: `${housekeepingUnit(job)}.service`, content: units.service }],
                installedLater,
              ),
          },
        ];
      }),
      services: [],
      commands: [{ command: 'systemctl', args: ['daemon-reload'], reason: 'load the housekeeping units' }],
    };
  },
  async verifyLive(ctx) {
    const checks: VerifyCheck[] = [];
    for (const job of HOUSEKEEPING_JOBS) {
      const timer = `${housekeepingUnit(job)}.timer`;
      const active = await ctx.services.isActive(timer);
      checks.push({ name: `timer ${timer}`, ok: active, ...(active ? {} : { problem: `${timer} is not running` }) });
    }
    return checks;
  },
});

/** The `housekeeping` module. */
export const housekeepingModule: SetupModule = {
  ...spec,
  async apply(ctx) {
    const report = await spec.apply(ctx);
    // After daemon-reload (the module's command); also when an earlier apply wrote the units but
    // stopped before the start.
    if (!ctx.staging) {
      for (const job of HOUSEKEEPING_JOBS) {
        const timer = `${housekeepingUnit(job)}.timer`;
        if (!(await ctx.services.isActive(timer))) await ctx.services.start(timer);
      }
    }
    return report;
  },
};

// `ddns`: the inetcheck successor on a timer — `invis-setup ddns` every 10 minutes (the
// original's cron interval) publishes the public address through @invis/dns-zone's updater and
// writes the line the portal's status page shows. Without a `ddns` section the module has nothing
// to do.
import type { Answers } from '../answers';
import { fileModule, type SetupModule } from '../module';
import type { PlatformProfile } from '../profiles';
import { HARDENING, renderUnit, verifyUnit } from '../systemd';

/** The DDNS units. */
export const DDNS_UNIT = 'invis-ddns';

/**
 * The DDNS service and timer (every 10 minutes; a run that finds the address unchanged sends no
 * update).
 * @param profile the setup command, state and spool folders
 * @returns both units
 */
export function renderDdnsUnits(profile: PlatformProfile): { service: string; timer: string } {
  const spoolDir = profile.spool.inetcheck.slice(0, profile.spool.inetcheck.lastIndexOf('/'));
  const service = renderUnit('Publishes the public address by DDNS and records the result for the portal.', {
    Unit: [
      ['Description', 'invis: DDNS update of the public address'],
      ['After', 'network-online.target'],
      ['Wants', 'network-online.target'],
    ],
    Service: [
      ['Type', 'oneshot'],
      ['ExecStart', [...profile.setupCommand, 'ddns'].join(' ')],
      ...HARDENING,
      ['ReadWritePaths', `${profile.ddns.stateDir} ${spoolDir} ${profile.jobsDir}`],
      // Root reads its own 0600 key file without capabilities; nothing else is needed.
      ['CapabilityBoundingSet', ''],
    ],
  });
  const timer = renderUnit('Runs the DDNS update every 10 minutes (as the original inetcheck cron job).', {
    Unit: [['Description', 'invis: DDNS update every 10 minutes']],
    Timer: [
      ['OnBootSec', '2min'],
      ['OnUnitActiveSec', `${DDNS_INTERVAL_MINUTES}min`],
      ['AccuracySec', '30s'],
    ],
    Install: [['WantedBy', 'timers.target']],
  });
  return { service, timer };
}

/** How often the timer runs the update (the original's cron interval). */
export const DDNS_INTERVAL_MINUTES = 10;

const spec = (answers: Answers) =>
  fileModule({
    id: 'ddns',
    title: { de: 'Dynamisches DNS', en: 'Dynamic DNS' },
    dependsOn: [],
    render: (ctx) => {
      if (!answers.ddns) return { directories: [], files: [], services: [], commands: [] };
      const { profile } = ctx;
      const units = renderDdnsUnits(profile);
      const installedLater = [profile.setupCommand[0] ?? ''];
      const path = (suffix: string) => `${profile.systemd.unitDir}/${DDNS_UNIT}.${suffix}`;
      return {
        directories: [
          { path: profile.systemd.unitDir, mode: 0o755 },
          // The service may write only listed folders: its job state folder must exist first.
          { path: profile.jobsDir, mode: 0o755 },
        ],
        files: [
          {
            path: path('service'),
            content: units.service,
            mode: 0o644,
            check: (c, candidate) => verifyUnit(c, candidate, [], installedLater),
          },
          {
            path: path('timer'),
            content: units.timer,
            mode: 0o644,
            check: (c, candidate) =>
              verifyUnit(c, candidate, [{ name: `${DDNS_UNIT}.service`, content: units.service }], installedLater),
          },
        ],
        services: [],
        commands: [{ command: 'systemctl', args: ['daemon-reload'], reason: 'load the DDNS units' }],
      };
    },
    async verifyLive(ctx) {
      if (!answers.ddns) return [];
      const active = await ctx.services.isActive(`${DDNS_UNIT}.timer`);
      return [
        {
          name: `timer ${DDNS_UNIT}`,
          ok: active,
          ...(active ? {} : { problem: `${DDNS_UNIT}.timer is not running` }),
        },
      ];
    },
  });

/** The `ddns` module. */
export const ddnsModule: SetupModule = {
  id: 'ddns',
  title: { de: 'Dynamisches DNS', en: 'Dynamic DNS' },
  dependsOn: ['network'],
  plan: (ctx) => spec(ctx.answers).plan(ctx),
  async apply(ctx) {
    const report = await spec(ctx.answers).apply(ctx);
    // After daemon-reload (the module's command).
    if (report.changed && !ctx.staging) await ctx.services.start(`${DDNS_UNIT}.timer`);
    return report;
  },
  verify: (ctx) => spec(ctx.answers).verify(ctx),
};

// `time`: chrony serves time to the LAN and the VPN and signs replies for domain members through
// Samba's ntp_signd socket — one conf.d file, checked with the real `chronyd -p`, chrony restarted.
import { generatedMarker } from '@invis/host';
import type { Answers } from '../answers';
import { fileModule, runChecker } from '../module';
import { networkOf, parseCidr } from '../net';
import type { PlatformProfile } from '../profiles';

/**
 * The chrony configuration for the answers.
 * @param answers LAN address and VPN network
 * @param profile where Samba's signing socket is
 * @returns the file content
 */
export function renderChronyConf(answers: Answers, profile: PlatformProfile): string {
  const nets = [answers.lan.address, ...(answers.vpn ? [answers.vpn.network] : [])]
    .map(parseCidr)
    .flatMap((c) => (c ? [networkOf(c).cidr] : []));
  return [
    generatedMarker('@invis/setup-1', 'hash'),
    '# Time for the LAN and the VPN; replies to domain members are signed by Samba.',
    ...nets.map((n) => `allow ${n}`),
    `ntpsigndsocket ${profile.samba.ntpSigndSocket}`,
    '',
  ].join('\n');
}

/** The `time` module. */
export const timeModule = fileModule({
  id: 'time',
  title: { de: 'Zeitserver', en: 'Time server' },
  dependsOn: ['check'],
  render: (ctx) => ({
    directories: [{ path: ctx.profile.chrony.confDir, mode: 0o755 }],
    files: [
      {
        path: `${ctx.profile.chrony.confDir}/invis.conf`,
        content: renderChronyConf(ctx.answers, ctx.profile),
        mode: 0o644,
        check: (c, candidate) => runChecker(c.runner, c.profile.chrony.chronyd, ['-p', '-f', candidate]),
      },
    ],
    services: [{ unit: ctx.profile.chrony.unit, action: 'restart' }],
    commands: [],
  }),
  async verifyLive(ctx) {
    const active = await ctx.services.isActive(ctx.profile.chrony.unit);
    return [
      {
        name: `service ${ctx.profile.chrony.unit}`,
        ok: active,
        ...(active ? {} : { problem: `${ctx.profile.chrony.unit} is not running` }),
      },
    ];
  },
});

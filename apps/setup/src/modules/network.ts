// `network`: the parts of the network setup that are safe to write on a running server —
// forwarding on (the server is the LAN's router), the server's own DNS in resolv.conf, and the
// static LAN address of `intern` as an ifupdown file. Nothing is brought up or down live: a new
// LAN address takes effect at the next `ifup intern` or reboot, so a remote admin keeps the session.
import { generatedMarker } from '@invis/host';
import type { Answers } from '../answers';
import { fileModule, type ModuleContext, runChecker, type VerifyCheck } from '../module';
import type { PlatformProfile } from '../profiles';

/** Name of the sysctl drop-in. */
export const SYSCTL_FILE = '90-invis-router.conf';

/**
 * The sysctl drop-in that makes the server a router.
 * @returns the file content
 */
export function renderSysctl(): string {
  return [
    generatedMarker('@invis/setup-1', 'hash'),
    '# The server routes between LAN, VPN and WAN.',
    'net.ipv4.ip_forward = 1',
    '',
  ].join('\n');
}

/**
 * resolv.conf: the server asks its own DNS (Samba/BIND on the server) and searches its domain.
 * @param answers the domain
 * @returns the file content
 */
export function renderResolvConf(answers: Answers): string {
  return [generatedMarker('@invis/setup-1', 'hash'), `search ${answers.domain}`, 'nameserver 127.0.0.1', ''].join('\n');
}

/**
 * The ifupdown stanza of the LAN interface (static, no gateway: the server is the LAN's gateway).
 * @param answers interface name and LAN address
 * @returns the file content
 */
export function renderInterfaces(answers: Answers): string {
  const nic = answers.interfaces.intern;
  return [
    generatedMarker('@invis/setup-1', 'hash'),
    '# The LAN interface; the server is gateway, DNS and DHCP server of this network.',
    `auto ${nic}`,
    `iface ${nic} inet static`,
    `    address ${answers.lan.address}`,
    '',
  ].join('\n');
}

/**
 * Where the LAN interface file goes.
 * @param profile the platform
 * @param answers the interface name
 * @returns the path
 */
export function interfacesPath(profile: PlatformProfile, answers: Answers): string {
  return `${profile.network.interfacesDir}/invis-${answers.interfaces.intern}`;
}

async function verifyLive(ctx: ModuleContext): Promise<VerifyCheck[]> {
  const checks: VerifyCheck[] = [];
  const forward = (await ctx.fs.readFileIfExists('/proc/sys/net/ipv4/ip_forward'))?.trim();
  checks.push({
    name: 'ip_forward',
    ok: forward === '1',
    ...(forward === '1' ? {} : { problem: `net.ipv4.ip_forward is ${forward ?? 'unreadable'}, expected 1` }),
  });
  const main = (await ctx.fs.readFileIfExists('/etc/network/interfaces')) ?? '';
  const sourced =
    /^\s*(source\s+\/etc\/network\/interfaces\.d\/\*|source-directory\s+\/etc\/network\/interfaces\.d)\s*$/m.test(main);
  checks.push({
    name: 'interfaces.d sourced',
    ok: sourced,
    ...(sourced ? {} : { problem: '/etc/network/interfaces does not source /etc/network/interfaces.d' }),
  });
  const nic = ctx.answers.interfaces.intern;
  const result = await ctx.runner.run('ip', ['-j', '-4', 'addr', 'show', 'dev', nic]);
  const [address] = ctx.answers.lan.address.split('/');
  const ok = result.exitCode === 0 && result.stdout.includes(`"local":"${address}"`);
  checks.push({
    name: `address ${nic}`,
    ok,
    ...(ok ? {} : { problem: `${nic} does not carry ${ctx.answers.lan.address} (yet: ifup ${nic} or reboot)` }),
  });
  return checks;
}

/** The `network` module. */
export const networkModule = fileModule({
  id: 'network',
  title: { de: 'Netzwerk', en: 'Network' },
  dependsOn: ['check'],
  render: (ctx) => {
    const { network } = ctx.profile;
    const sysctl = `${network.sysctlDir}/${SYSCTL_FILE}`;
    return {
      directories: [
        { path: network.sysctlDir, mode: 0o755 },
        { path: network.interfacesDir, mode: 0o755 },
      ],
      files: [
        { path: sysctl, content: renderSysctl(), mode: 0o644 },
        { path: network.resolvConf, content: renderResolvConf(ctx.answers), mode: 0o644 },
        {
          path: interfacesPath(ctx.profile, ctx.answers),
          content: renderInterfaces(ctx.answers),
          mode: 0o644,
          // ifup keeps its state in /run/network even with --no-act: only on the live machine.
          ...(ctx.staging
            ? {}
            : {
                check: (c: ModuleContext, candidate: string) =>
                  runChecker(c.runner, 'ifup', [
                    '--no-act',
                    `--interfaces=${candidate}`,
                    '--',
                    c.answers.interfaces.intern,
                  ]),
              }),
        },
      ],
      services: [],
      commands: [{ command: 'sysctl', args: ['-p', sysctl], reason: 'turn on forwarding now' }],
    };
  },
  verifyLive,
});

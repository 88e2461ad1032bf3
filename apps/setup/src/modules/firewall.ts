// `firewall`: the invis router layout of @invis/firewalld — zone `external` on the WAN interface
// (DROP, masquerade, only the random SSH/portal/OpenVPN ports), zone `internal` on the LAN (and
// the VPN devices) with the LAN services — written as firewalld's permanent configuration, checked
// with `firewall-offline-cmd --check-config` on a copy, then activated by the library: a reload of
// the running daemon, or offline (in place, checked again) when firewalld is not running or when
// staging with --root.
import {
  createFirewalld,
  type FirewallConfig,
  type Firewalld,
  type FirewalldDriver,
  invisFirewallLayout,
  type Service,
} from '@invis/firewalld';
import { type ApplyPlan, createNodeFs, type HostFs, isMissing } from '@invis/host';
import type { Answers } from '../answers';
import { SetupError } from '../errors';
import type { ModuleContext, ModulePlan, SetupModule, VerifyCheck } from '../module';
import { SAMBA_RPC_RANGE } from '../ports';

/** The OpenVPN tun devices of an invis server (road warrior, site-to-site). */
export const VPN_DEVICES: readonly string[] = ['vpn', 'vpn-sub'];

/**
 * The random ports the firewall opens; init chooses them, an answers file saved before this
 * module existed lacks the portal and OpenVPN ones.
 * @param answers the answers
 * @returns ssh, portal and openvpn
 * @throws SetupError `SETUP_INVALID_ANSWERS` naming what init has to choose
 */
export function externalPorts(answers: Answers): { ssh: number; portal: number; openvpn: number } {
  const { portal, openvpn } = { portal: answers.portal.port, openvpn: answers.openvpn.port };
  if (portal === undefined || openvpn === undefined) {
    const issues = [
      ...(portal === undefined ? ['portal.port'] : []),
      ...(openvpn === undefined ? ['openvpn.port'] : []),
    ].map((path) => `${path}: missing — run "invis-setup init" again to choose it`);
    throw new SetupError('SETUP_INVALID_ANSWERS', issues.join('\n'), { details: { issues } });
  }
  return { ssh: answers.ssh.port, portal, openvpn };
}

/**
 * The firewall for the answers: @invis/firewalld's invis layout with the answers' interfaces and
 * random ports, Samba's RPC range 61000–61999, no port 80 (setup runs no ACME client). Without a
 * VPN network the OpenVPN ports stay closed and the tun devices are not assigned. The WebDAV port
 * (`invis-webdav`) is open inside, and outside only with `webdav.external`; the webmail port
 * (`invis-webmail`, with `mail.webmail`) inside only.
 * @param answers the answers
 * @returns the resolved firewall configuration
 * @throws FirewalldError `FW_PORT_COLLISION` when the ports collide; SetupError when ports are missing
 */
export function firewallLayout(answers: Answers): FirewallConfig {
  const config = invisFirewallLayout({
    interfaces: {
      external: answers.interfaces.extern,
      internal: [answers.interfaces.intern],
      vpn: answers.vpn ? [...VPN_DEVICES] : [],
      wlan: [],
    },
    ports: externalPorts(answers),
    letsEncrypt: false,
    activeSync: false,
    sambaRpcPorts: { from: SAMBA_RPC_RANGE.min, to: SAMBA_RPC_RANGE.max },
  });
  // WebDAV (`webdav` module): its port inside; outside only when the admin answers so.
  const webdav: Service = {
    name: 'invis-webdav',
    short: 'invis WebDAV (the shares)',
    ports: [{ port: answers.webdav.port, protocol: 'tcp' }],
    protocols: [],
    sourcePorts: [],
    helpers: [],
    includes: [],
  };
  const opens = (zone: string) => zone === 'internal' || (zone === 'external' && answers.webdav.external);
  // Webmail (`webmail` module, optional): its port inside only.
  const webmail: Service | undefined = answers.mail.webmail
    ? {
        ...webdav,
        name: 'invis-webmail',
        short: 'invis webmail',
        ports: [{ port: answers.mail.webmailPort, protocol: 'tcp' }],
      }
    : undefined;
  return {
    ...config,
    services: [...config.services, webdav, ...(webmail ? [webmail] : [])],
    zones: config.zones.map((z) => {
      // Without a VPN network the OpenVPN ports stay closed.
      const services = answers.vpn ? z.services : z.services.filter((s) => s !== 'invis-openvpn');
      const inside = z.name === 'internal' && webmail ? [webmail.name] : [];
      return { ...z, services: opens(z.name) ? [...services, webdav.name, ...inside] : [...services, ...inside] };
    }),
  };
}

/**
 * node:fs where a missing `firewalld.conf` reads as empty: a fresh staging root has none, and the
 * library then writes one holding only the settings it manages (firewalld's defaults for the rest).
 */
function seedingFs(): HostFs {
  const fs = createNodeFs();
  return {
    ...fs,
    async readFile(path) {
      try {
        return await fs.readFile(path);
      } catch (error) {
        if (isMissing(error) && path.endsWith('/firewalld.conf')) return '';
        throw error;
      }
    },
  };
}

async function firewalld(ctx: ModuleContext): Promise<Firewalld> {
  const { firewalld: fw } = ctx.profile;
  // Staging: offline in the root. Live: the daemon when it runs, else offline.
  const driver: FirewalldDriver = !ctx.staging && (await ctx.services.isActive(fw.unit)) ? 'daemon' : 'offline';
  return createFirewalld({
    driver,
    configDir: ctx.fs.hostPath(fw.configDir),
    runner: ctx.runner,
    fs: seedingFs(),
    programs: { firewallCmd: fw.firewallCmd, offlineCmd: fw.offlineCmd },
  });
}

/** The library's plan with host paths shown as the server's paths (they differ below --root). */
function onServer(ctx: ModuleContext, plan: ApplyPlan): ApplyPlan {
  const host = ctx.fs.hostPath(ctx.profile.firewalld.configDir);
  const dir = ctx.profile.firewalld.configDir;
  if (host === dir) return plan;
  const fix = (text: string) => text.split(host).join(dir);
  return {
    ...plan,
    files: plan.files.map((f) => ({ ...f, path: fix(f.path), diff: fix(f.diff) })),
    commands: plan.commands.map((c) => ({ ...c, args: c.args.map(fix) })),
  };
}

/** The `firewall` module. */
export const firewallModule: SetupModule = {
  id: 'firewall',
  title: { de: 'Firewall', en: 'Firewall' },
  dependsOn: ['network', 'ssh'],
  async plan(ctx): Promise<ModulePlan> {
    const config = firewallLayout(ctx.answers);
    const dir = ctx.profile.firewalld.configDir;
    // Through the rooted fs: a link on the way to the folder is refused before the library runs.
    const directories = (await ctx.fs.exists(dir)) ? [] : [dir];
    return { ...onServer(ctx, await (await firewalld(ctx)).plan(config)), directories };
  },
  async apply(ctx) {
    const config = firewallLayout(ctx.answers);
    await ctx.fs.mkdir(ctx.profile.firewalld.configDir, 0o750);
    ctx.progress('firewall: firewall-offline-cmd --check-config');
    const report = await (await firewalld(ctx)).apply(config);
    return { ...report, ...onServer(ctx, report) };
  },
  async verify(ctx): Promise<VerifyCheck[]> {
    const dir = ctx.profile.firewalld.configDir;
    const plan = (await ctx.fs.exists(dir))
      ? await (await firewalld(ctx)).plan(firewallLayout(ctx.answers))
      : undefined;
    const checks: VerifyCheck[] = [
      plan && plan.files.length === 0
        ? { name: dir, ok: true }
        : {
            name: dir,
            ok: false,
            problem: plan ? `${plan.files.length} file(s) differ from what setup renders (run plan)` : 'missing',
          },
    ];
    if (!ctx.staging) {
      const active = await ctx.services.isActive(ctx.profile.firewalld.unit);
      checks.push({
        name: `service ${ctx.profile.firewalld.unit}`,
        ok: active,
        ...(active ? {} : { problem: `${ctx.profile.firewalld.unit} is not running: the rules are not in force` }),
      });
    }
    return checks;
  },
};

// Validate + apply the full invis firewall on a firewalld daemon (netns, private dbus):
// @invis/firewalld (render all files, one isolated --check-config, one --reload) vs the
// firewall-cmd --permanent sequence a setup script makes (the original's approach), batched
// per object and option type the way firewall-cmd allows, then one --reload.
import { existsSync, readFileSync } from 'node:fs';
import { type FirewalldServer, startFirewalld } from '@invis/testbed';
import { execa } from 'execa';
// bench/ is not a workspace package; import the library from source like the tests do.
import {
  createFirewalld,
  type FirewallConfig,
  type Firewalld,
  invisFirewallLayout,
  type Port,
  parseZoneXml,
} from '../packages/firewalld/src/index';
import type { Benchmark, Measurement } from './lib';

const portArg = (p: Port): string => `${p.to === undefined ? p.port : `${p.port}-${p.to}`}/${p.protocol}`;

/**
 * The firewall-cmd calls that build `config` from an empty permanent configuration. Zones that
 * firewalld ships (external, internal) cannot be created, only edited: drop what the builtin has.
 */
function scriptCalls(config: FirewallConfig): string[][] {
  const calls: string[][] = [];
  const many = (prefix: string[], flag: string, values: string[]): void => {
    if (values.length) calls.push([...prefix, ...values.map((v) => `--${flag}=${v}`)]);
  };
  for (const s of config.services) {
    calls.push(['--permanent', `--new-service=${s.name}`]);
    const on = ['--permanent', `--service=${s.name}`];
    if (s.short) calls.push([...on, `--set-short=${s.short}`]);
    many(on, 'add-port', s.ports.map(portArg));
    many(on, 'add-helper', s.helpers);
  }
  for (const z of config.zones) {
    const on = ['--permanent', `--zone=${z.name}`];
    const shipped = `/usr/lib/firewalld/zones/${z.name}.xml`;
    const builtin = existsSync(shipped) ? parseZoneXml(z.name, readFileSync(shipped, 'utf8')) : undefined;
    if (!builtin) calls.push(['--permanent', `--new-zone=${z.name}`]);
    if (z.target !== 'default') calls.push([...on, `--set-target=${z.target}`]);
    many(on, 'add-interface', z.interfaces);
    many(
      on,
      'remove-service',
      (builtin?.services ?? []).filter((s) => !z.services.includes(s)),
    );
    many(
      on,
      'add-service',
      z.services.filter((s) => !builtin?.services.includes(s)),
    );
    many(on, 'add-port', z.ports.map(portArg));
    if (z.icmpBlockInversion) calls.push([...on, '--add-icmp-block-inversion']);
    for (const flag of ['masquerade', 'forward'] as const) {
      if (z[flag] && !builtin?.[flag]) calls.push([...on, `--add-${flag}`]);
      if (!z[flag] && builtin?.[flag]) calls.push([...on, `--remove-${flag}`]);
    }
    many(
      on,
      'add-forward-port',
      z.forwardPorts.map(
        (f) =>
          `port=${f.port}:proto=${f.protocol}${f.toPort ? `:toport=${f.toPort}` : ''}${f.toAddr ? `:toaddr=${f.toAddr}` : ''}`,
      ),
    );
  }
  for (const p of config.policies) {
    calls.push(['--permanent', `--new-policy=${p.name}`]);
    const on = ['--permanent', `--policy=${p.name}`];
    calls.push([...on, `--set-target=${p.target}`]);
    // firewall-cmd refuses ingress and egress zones in one call.
    many(on, 'add-ingress-zone', p.ingressZones);
    many(on, 'add-egress-zone', p.egressZones);
  }
  calls.push(['--set-default-zone', config.defaultZone]);
  calls.push([`--set-log-denied=${config.logDenied}`]);
  calls.push(['--reload']);
  return calls;
}

/** Order-insensitive view without labels, for comparing what both approaches built. */
function canonical(c: FirewallConfig): unknown {
  const sorted = <T>(xs: T[]): T[] =>
    xs
      .map((x) => JSON.stringify(x))
      .sort()
      .map((x) => JSON.parse(x) as T);
  return {
    defaultZone: c.defaultZone,
    logDenied: c.logDenied,
    zones: sorted(
      c.zones.map(({ short, description, ...z }) => ({
        ...z,
        services: sorted(z.services),
        interfaces: sorted(z.interfaces),
      })),
    ),
    services: sorted(c.services.map(({ short, description, ...s }) => ({ ...s, ports: sorted(s.ports) }))),
    policies: sorted(c.policies.map(({ short, description, ...p }) => p)),
  };
}

/** Runs `op` `n` times, each after an unmeasured `reset`, and sums only the op times. */
async function timed(
  label: string,
  n: number,
  reset: () => Promise<unknown>,
  op: () => Promise<unknown>,
): Promise<Measurement> {
  let totalMs = 0;
  for (let i = 0; i < n; i++) {
    await reset();
    const t0 = performance.now();
    await op();
    totalMs += performance.now() - t0;
  }
  return { label, iterations: n, totalMs };
}

export const benchmark: Benchmark = {
  name: 'firewall',
  description:
    'validate + apply the full invis layout on firewalld (netns, private dbus): @invis/firewalld vs a firewall-cmd --permanent script',
  async run({ quick }) {
    const fw: FirewalldServer = await startFirewalld();
    const n = quick ? 1 : 3;
    try {
      const client: Firewalld = createFirewalld({ driver: 'daemon', configDir: fw.info.configDir, env: fw.info.env });
      const layout = invisFirewallLayout({
        ports: { ssh: 52022, portal: 53443, openvpn: 54194 },
        interfaces: { external: 'extern', internal: ['intern'], vpn: [] },
        portForwards: [{ port: 8080, protocol: 'tcp', toAddr: '10.232.0.2', toPort: 80 }],
      });
      const empty = { defaultZone: 'public', logDenied: 'off' as const };
      const reset = (): Promise<unknown> => client.apply(empty);
      const calls = scriptCalls(layout);
      const ours = await timed('@invis/firewalld', n, reset, () => client.apply(layout));
      const peer = await timed(`firewall-cmd ×${calls.length}`, n, reset, async () => {
        for (const args of calls) await execa('firewall-cmd', args, { env: fw.info.env });
      });
      // Both must have built the same firewall (firewall-cmd writes its own XML, so compare the model).
      const built = canonical(await client.read());
      if (JSON.stringify(built) !== JSON.stringify(canonical(layout))) {
        throw new Error(`the script built a different firewall:\n${JSON.stringify(built)}`);
      }
      return [{ task: 'validate + apply invis layout', ours, peer, target: '≥ 5× faster (ratio ≤ 0.2)' }];
    } finally {
      await fw.stop();
    }
  },
};

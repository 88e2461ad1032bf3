// The invis server's firewall as one function of the setup answers (original: templates
// firewall/{external,internal}.xml + patched service files; invis-original.md §5), plus the two
// checks the original lacked: random-port collisions and the internal-certificate vhost exposure.
import { z } from 'zod';
import { FirewalldError, invalidModel } from './errors';
import { normalizeConfig } from './files';
import {
  type FirewallConfig,
  type FirewallConfigInput,
  type ForwardPort,
  ForwardPortSchema,
  type Port,
  type ServiceInput,
} from './model';

/** Range the original draws random external ports from (`usr/bin/freeports`). */
export const RANDOM_PORT_RANGE = { from: 50001, to: 65535 } as const;

/** Fixed TCP ports invis uses (original templates); random ports must not hit them. */
export const INVIS_FIXED_TCP_PORTS: readonly number[] = [
  22, 25, 42, 53, 80, 88, 111, 135, 139, 143, 389, 443, 445, 464, 587, 631, 636, 993, 2049, 3000, 3001, 3268, 3269,
  5353, 8444, 10024, 10025, 20048,
];
/** Fixed UDP ports invis uses. */
export const INVIS_FIXED_UDP_PORTS: readonly number[] = [
  53, 67, 88, 111, 123, 137, 138, 389, 464, 514, 2049, 5353, 20048,
];

const port = z.number().int().min(1).max(65535);

/** Setup answers the firewall layout depends on. */
export const InvisAnswersSchema: z.ZodType<InvisAnswers> = z.object({
  interfaces: z
    .object({
      /** WAN NIC (original: `extern`). */
      external: z.string().default('extern'),
      /** LAN NICs (original: `intern`, later VLANs). */
      internal: z.array(z.string()).default(['intern']),
      /** OpenVPN tun devices (road warrior, site-to-site). */
      vpn: z.array(z.string()).default(['vpn', 'vpn-sub']),
      wlan: z.array(z.string()).default([]),
      /** Optional DMZ NIC: gets its own zone, may reach the Internet, not the LAN. */
      dmz: z.string().optional(),
    })
    .prefault({}),
  /** The random external ports (`SSHPORT`, `HTTPSPORT`, `OVPNPORT1`, `OVPNPORT2`). */
  ports: z.object({
    ssh: port,
    portal: port,
    openvpn: port,
    /** Site-to-site VPN; the original uses `openvpn + 1`. */
    openvpnSub: port.optional(),
  }),
  /** Open 80 externally for Let's Encrypt HTTP-01. */
  letsEncrypt: z.boolean().default(true),
  /** Open 443 externally (ActiveSync / groupware with the public certificate). */
  activeSync: z.boolean().default(false),
  /** Port of the Apache vhost that uses the internal (invis CA) certificate. */
  internalVhostPort: port.default(443),
  /** Samba's `rpc server dynamic port range`; setup must configure Samba to match. */
  sambaRpcPorts: z
    .object({ from: port, to: port })
    .refine((r) => r.to >= r.from)
    .default({ from: 49152, to: 50000 }),
  /** WAN → internal host forwards (DNAT in the external zone). */
  portForwards: z.array(ForwardPortSchema).default([]),
  /** Ports with a listener right now (`ss -ltnu`), so random ports avoid them. */
  inUse: z.array(z.object({ port, protocol: z.enum(['tcp', 'udp']) })).default([]),
});
/** Setup answers as written by callers. */
export interface InvisAnswersInput {
  interfaces?: Partial<InvisAnswers['interfaces']> | undefined;
  ports: InvisAnswers['ports'];
  letsEncrypt?: boolean | undefined;
  activeSync?: boolean | undefined;
  internalVhostPort?: number | undefined;
  sambaRpcPorts?: { from: number; to: number } | undefined;
  portForwards?: ForwardPort[] | undefined;
  inUse?: { port: number; protocol: 'tcp' | 'udp' }[] | undefined;
}
/** Setup answers with defaults (see {@link InvisAnswersSchema} for the meaning of each field). */
export interface InvisAnswers {
  interfaces: { external: string; internal: string[]; vpn: string[]; wlan: string[]; dmz?: string | undefined };
  ports: { ssh: number; portal: number; openvpn: number; openvpnSub?: number | undefined };
  letsEncrypt: boolean;
  activeSync: boolean;
  internalVhostPort: number;
  sambaRpcPorts: { from: number; to: number };
  portForwards: ForwardPort[];
  inUse: { port: number; protocol: 'tcp' | 'udp' }[];
}

/** One port problem found by {@link checkRandomPorts}. */
export interface PortCollision {
  /** Which answer, e.g. `ports.portal`. */
  field: string;
  port: number;
  protocol: 'tcp' | 'udp';
  /** Why it collides, in words. */
  reason: string;
}

const randomPortList = (a: InvisAnswers): { field: string; port: number; protocol: 'tcp' | 'udp' }[] => [
  { field: 'ports.ssh', port: a.ports.ssh, protocol: 'tcp' },
  { field: 'ports.portal', port: a.ports.portal, protocol: 'tcp' },
  { field: 'ports.openvpn', port: a.ports.openvpn, protocol: 'udp' },
  { field: 'ports.openvpnSub', port: a.ports.openvpnSub ?? a.ports.openvpn + 1, protocol: 'udp' },
];

/**
 * The collision check the original meant to do (its loop tested an undefined variable): every
 * random port must be ≥ 1024, unique per protocol, not a fixed invis port, not in Samba's RPC
 * range, not the internal vhost's port and not in use.
 * @param input setup answers
 * @returns every collision found (empty = fine)
 */
export function checkRandomPorts(input: InvisAnswersInput): PortCollision[] {
  const a = InvisAnswersSchema.parse(input);
  const out: PortCollision[] = [];
  const seen = new Map<string, string>();
  for (const r of randomPortList(a)) {
    const add = (reason: string): void => {
      out.push({ ...r, reason });
    };
    if (r.port < 1024 || r.port > 65535) add('outside 1024–65535');
    const key = `${r.port}/${r.protocol}`;
    const other = seen.get(key);
    if (other) add(`same port as ${other}`);
    seen.set(key, r.field);
    const fixed = r.protocol === 'tcp' ? INVIS_FIXED_TCP_PORTS : INVIS_FIXED_UDP_PORTS;
    if (fixed.includes(r.port)) add(`fixed invis ${r.protocol} port`);
    if (r.protocol === 'tcp' && r.port >= a.sambaRpcPorts.from && r.port <= a.sambaRpcPorts.to) {
      add(`inside Samba's RPC range ${a.sambaRpcPorts.from}-${a.sambaRpcPorts.to}`);
    }
    if (r.protocol === 'tcp' && r.port === a.internalVhostPort) add('port of the internal-certificate vhost');
    if (a.inUse.some((u) => u.port === r.port && u.protocol === r.protocol)) add('a program already listens on it');
  }
  return out;
}

/**
 * Picks random ports that pass {@link checkRandomPorts} (the original's `freeports`, fixed).
 * @param random uniform source in [0, 1) (inject a seeded one in tests)
 * @param answers the other answers (Samba range, in-use ports, internal vhost port)
 * @returns ssh, portal, openvpn and openvpnSub (= openvpn + 1) ports
 * @throws FirewalldError `FW_PORT_COLLISION` when 1000 draws found nothing free
 */
export function chooseRandomPorts(
  random: () => number,
  answers: Omit<InvisAnswersInput, 'ports'> = {},
): Required<InvisAnswers['ports']> {
  const span = RANDOM_PORT_RANGE.to - RANDOM_PORT_RANGE.from;
  const draw = (): number => RANDOM_PORT_RANGE.from + Math.floor(random() * span);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const openvpn = draw();
    const ports = { ssh: draw(), portal: draw(), openvpn, openvpnSub: openvpn + 1 };
    if (checkRandomPorts({ ...answers, ports }).length === 0) return ports;
  }
  throw new FirewalldError('FW_PORT_COLLISION', 'no free random port combination found in 1000 draws');
}

/** Ports of firewalld's builtin services that invis opens (for the exposure check). */
export const BUILTIN_SERVICE_PORTS: Readonly<Record<string, readonly Port[]>> = {
  ssh: [{ port: 22, protocol: 'tcp' }],
  http: [{ port: 80, protocol: 'tcp' }],
  https: [{ port: 443, protocol: 'tcp' }],
  smtp: [{ port: 25, protocol: 'tcp' }],
  'smtp-submission': [{ port: 587, protocol: 'tcp' }],
  imap: [{ port: 143, protocol: 'tcp' }],
  imaps: [{ port: 993, protocol: 'tcp' }],
  ipp: [{ port: 631, protocol: 'tcp' }],
  ldap: [{ port: 389, protocol: 'tcp' }],
  ldaps: [{ port: 636, protocol: 'tcp' }],
};

/** A port reachable through a zone and how. */
export interface Exposure {
  zone: string;
  port: number;
  protocol: string;
  /** e.g. `service https`, `port 8443/tcp`, `forward-port 8080 → :443`, `target ACCEPT`. */
  via: string;
}

/**
 * Which of `ports` a zone lets in on the host itself (services, ports, local forward-ports,
 * target ACCEPT). Services neither in the model nor in {@link BUILTIN_SERVICE_PORTS} are not seen.
 * @param config resolved configuration
 * @param zoneName zone to inspect (e.g. the WAN zone)
 * @param ports ports that must stay closed there
 * @returns how each of them is exposed (empty = none)
 */
export function findExposures(config: FirewallConfig, zoneName: string, ports: readonly Port[]): Exposure[] {
  const zone = config.zones.find((z) => z.name === zoneName);
  if (!zone) return [];
  const servicePorts = (name: string): readonly Port[] =>
    config.services.find((s) => s.name === name)?.ports ?? BUILTIN_SERVICE_PORTS[name] ?? [];
  const covers = (p: { port: number; to?: number | undefined; protocol: string }, q: Port): boolean =>
    p.protocol === q.protocol && q.port >= p.port && q.port <= (p.to ?? p.port);
  const out: Exposure[] = [];
  for (const q of ports) {
    const hit = (via: string): void => {
      out.push({ zone: zoneName, port: q.port, protocol: q.protocol, via });
    };
    if (zone.target === 'ACCEPT') hit('target ACCEPT');
    for (const s of zone.services) if (servicePorts(s).some((p) => covers(p, q))) hit(`service ${s}`);
    for (const p of zone.ports) if (covers(p, q)) hit(`port ${p.port}/${p.protocol}`);
    for (const f of zone.forwardPorts) {
      if (f.toAddr === undefined && f.toPort === q.port && f.protocol === q.protocol) {
        hit(`forward-port ${f.port} → :${f.toPort}`);
      }
    }
  }
  return out;
}

const svc = (name: string, short: string, ports: Port[], extra: Partial<ServiceInput> = {}): ServiceInput => ({
  name,
  short,
  ports,
  ...extra,
});
const tcp = (p: number, to?: number): Port =>
  to === undefined ? { port: p, protocol: 'tcp' } : { port: p, to, protocol: 'tcp' };
const udp = (p: number): Port => ({ port: p, protocol: 'udp' });

/**
 * The invis default firewall: `external` (WAN, default zone, DROP, masquerade, all ICMP blocked,
 * random-port SSH/portal/OpenVPN, 80 for Let's Encrypt, 443 only with ActiveSync, port forwards),
 * `internal` (LAN + VPN + WLAN, all LAN services, intra-zone forwarding), optional `dmz`, the
 * policy `allowZoneForward` (internal → external ACCEPT) and `LogDenied=all`.
 * @param input setup answers
 * @returns the resolved configuration
 * @throws FirewalldError `FW_PORT_COLLISION` (with `issues`), `FW_INTERNAL_VHOST_EXPOSED`, `FW_INVALID_MODEL`
 * @example invisFirewallLayout({ ports: { ssh: 52022, portal: 53443, openvpn: 54194 } })
 */
export function invisFirewallLayout(input: InvisAnswersInput): FirewallConfig {
  const parsed = InvisAnswersSchema.safeParse(input);
  if (!parsed.success) throw invalidModel('setup answers', parsed.error.issues, parsed.error);
  const a = parsed.data;
  const collisions = checkRandomPorts(a);
  if (collisions.length) {
    const issues = collisions.map((c) => `${c.field} ${c.port}/${c.protocol}: ${c.reason}`);
    throw new FirewalldError('FW_PORT_COLLISION', `random port collision: ${issues.join('; ')}`, {
      details: { issues },
    });
  }
  const ovpnSub = a.ports.openvpnSub ?? a.ports.openvpn + 1;
  const { from, to } = a.sambaRpcPorts;
  const services: ServiceInput[] = [
    svc('invis-ssh', 'invis SSH (random port)', [tcp(a.ports.ssh)]),
    svc('invis-portal', 'invis portal (random HTTPS port)', [tcp(a.ports.portal)]),
    svc('invis-openvpn', 'invis OpenVPN (road warrior + site-to-site)', [udp(a.ports.openvpn), udp(ovpnSub)]),
    svc(
      'samba-ad-dc',
      'Samba AD DC',
      [...[42, 135, 139, 445, 3268, 3269].map((p) => tcp(p)), tcp(from, to), udp(137), udp(138), udp(389)],
      {
        helpers: ['netbios-ns'],
      },
    ),
    svc(
      'nfs-kombi',
      'NFSv4 + rpcbind + mountd',
      [2049, 111, 20048].flatMap((p) => [tcp(p), udp(p)]),
    ),
    svc('keycloak', 'Keycloak', [tcp(8444)]),
  ];
  const external = {
    name: 'external',
    short: 'External',
    description: 'WAN side of the invis server: only the random-port services are reachable.',
    target: 'DROP' as const,
    interfaces: [a.interfaces.external],
    services: [
      'invis-ssh',
      'invis-portal',
      'invis-openvpn',
      ...(a.letsEncrypt ? ['http'] : []),
      ...(a.activeSync ? ['https'] : []),
    ],
    icmpBlockInversion: true,
    masquerade: true,
    forwardPorts: a.portForwards,
  };
  const internal = {
    name: 'internal',
    short: 'Internal',
    description: 'LAN, VPN and WLAN of the invis server.',
    interfaces: [...a.interfaces.internal, ...a.interfaces.vpn, ...a.interfaces.wlan],
    services: [
      'ssh',
      'invis-ssh',
      'http',
      'https',
      'invis-portal',
      'smtp',
      'smtp-submission',
      'imap',
      'imaps',
      'ipp',
      'dhcp',
      'dns',
      'ntp',
      'kerberos',
      'kpasswd',
      'samba-ad-dc',
      'ldap',
      'ldaps',
      'nfs-kombi',
      'syslog',
      'mdns',
      'keycloak',
    ],
    ports: [tcp(5353)],
    forward: true,
  };
  const dmz = a.interfaces.dmz
    ? [{ name: 'dmz', short: 'DMZ', interfaces: [a.interfaces.dmz], services: ['dns', 'ntp'] }]
    : [];
  const config: FirewallConfigInput = {
    defaultZone: 'external',
    logDenied: 'all',
    zones: [external, internal, ...dmz],
    services,
    policies: [
      { name: 'allowZoneForward', target: 'ACCEPT', ingressZones: ['internal'], egressZones: ['external'] },
      ...(dmz.length
        ? [
            { name: 'dmzToExternal', target: 'ACCEPT' as const, ingressZones: ['dmz'], egressZones: ['external'] },
            { name: 'internalToDmz', target: 'ACCEPT' as const, ingressZones: ['internal'], egressZones: ['dmz'] },
          ]
        : []),
    ],
  };
  const resolved = normalizeConfig(config);
  const exposed = findExposures(resolved, 'external', [tcp(a.internalVhostPort)]);
  if (exposed.length) {
    throw new FirewalldError(
      'FW_INTERNAL_VHOST_EXPOSED',
      `the internal-certificate vhost on ${a.internalVhostPort}/tcp would be reachable from the WAN (${exposed.map((e) => e.via).join(', ')}); move it to another port or turn off activeSync`,
      { details: { port: a.internalVhostPort, via: exposed.map((e) => e.via) } },
    );
  }
  return resolved;
}

// The firewalld configuration as typed data (zod). Mirrors firewalld 1.3's XML objects: zones,
// services and policies, plus the two global settings invis changes (default zone, log-denied).
import { z } from 'zod';

/** Transport protocols firewalld accepts in `<port>`, `<source-port>` and `<forward-port>`. */
export const TRANSPORT_PROTOCOLS = ['tcp', 'udp', 'sctp', 'dccp'] as const;
/** One of {@link TRANSPORT_PROTOCOLS}. */
export type TransportProtocol = (typeof TRANSPORT_PROTOCOLS)[number];

const portNumber = z.number().int().min(1).max(65535);
const zoneName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,17}$/, 'zone/policy names: 1–17 letters, digits, "_" or "-" (netfilter chain limit)');
const serviceName = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'service names: letters, digits, "_" or "-"');
const ifName = z.string().regex(/^[A-Za-z0-9_.@-]{1,15}$/, 'interface names: at most 15 characters, no "/" or spaces');
const ipv4Cidr = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}(\/(3[0-2]|[12]?\d))?$/;
const address = z
  .string()
  .refine(
    (s) => ipv4Cidr.test(s) || /^[0-9A-Fa-f:]+:[0-9A-Fa-f:.]*(\/\d{1,3})?$/.test(s),
    'an IPv4/IPv6 address or CIDR',
  );
const label = z
  .string()
  .max(256)
  .regex(/^[^\p{Cc}]*$/u, 'no control characters (firewalld folds newlines into spaces)')
  .refine((t) => t.trim() === t, 'no leading or trailing white space');
const name = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "_" or "-"');

/** A port or range: `{ port: 8080, to?: 8090, protocol: 'tcp' }` ↔ XML `port="8080-8090"`. */
export const PortSchema: z.ZodType<Port> = z
  .object({ port: portNumber, to: portNumber.optional(), protocol: z.enum(TRANSPORT_PROTOCOLS) })
  .refine((p) => p.to === undefined || p.to > p.port, 'range end must be above its start');
/** A port or port range with protocol. */
export interface Port {
  port: number;
  /** Range end (inclusive), above `port`. */
  to?: number | undefined;
  protocol: TransportProtocol;
}

/** DNAT/redirect: traffic to `port` goes to `toAddr:toPort` (either may be omitted, not both). */
export const ForwardPortSchema: z.ZodType<ForwardPort> = z
  .object({
    port: portNumber,
    to: portNumber.optional(),
    protocol: z.enum(TRANSPORT_PROTOCOLS),
    toPort: portNumber.optional(),
    toAddr: address.optional(),
  })
  .refine((f) => f.to === undefined || f.to > f.port, 'range end must be above its start')
  .refine((f) => f.toPort !== undefined || f.toAddr !== undefined, 'a forward-port needs toPort or toAddr');
/** One `<forward-port>`. */
export interface ForwardPort {
  port: number;
  to?: number | undefined;
  protocol: TransportProtocol;
  toPort?: number | undefined;
  toAddr?: string | undefined;
}

/** A zone source: an address/CIDR, a MAC or an ipset. */
export const SourceSchema: z.ZodType<Source> = z.union([
  z.object({ address }),
  z.object({ mac: z.string().regex(/^([0-9A-Fa-f]{2}:){5}[0-9A-Fa-f]{2}$/) }),
  z.object({ ipset: name }),
]);
/** A zone `<source>`. */
export type Source = { address: string } | { mac: string } | { ipset: string };

/** The one match element of a rich rule. */
export const RichRuleElementSchema: z.ZodType<RichRuleElement> = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('service'), name: serviceName }),
  z.object({ kind: z.literal('port'), port: PortSchema }),
  z.object({ kind: z.literal('protocol'), value: name }),
  z.object({ kind: z.literal('icmp-block'), name }),
  z.object({ kind: z.literal('icmp-type'), name }),
  z.object({ kind: z.literal('masquerade') }),
  z.object({ kind: z.literal('forward-port'), forward: ForwardPortSchema }),
  z.object({ kind: z.literal('source-port'), port: PortSchema }),
]);
/** Match element of a rich rule. */
export type RichRuleElement =
  | { kind: 'service'; name: string }
  | { kind: 'port'; port: Port }
  | { kind: 'protocol'; value: string }
  | { kind: 'icmp-block'; name: string }
  | { kind: 'icmp-type'; name: string }
  | { kind: 'masquerade' }
  | { kind: 'forward-port'; forward: ForwardPort }
  | { kind: 'source-port'; port: Port };

/** `reject` types firewalld accepts (`--reject-with`). */
export const REJECT_TYPES = [
  'icmp-host-prohibited',
  'icmp-net-unreachable',
  'icmp-host-unreachable',
  'icmp-port-unreachable',
  'icmp-proto-unreachable',
  'icmp-net-prohibited',
  'icmp-admin-prohibited',
  'tcp-reset',
  'icmp6-adm-prohibited',
  'icmp6-no-route',
  'icmp6-addr-unreachable',
  'icmp6-port-unreachable',
] as const;

/** A rich rule (subset: no audit, mark, nflog or limits). */
export const RichRuleSchema: z.ZodType<RichRule> = z.object({
  family: z.enum(['ipv4', 'ipv6']).optional(),
  priority: z.number().int().min(-32768).max(32767).optional(),
  source: z
    .union([z.object({ address }), z.object({ ipset: name })])
    .and(z.object({ invert: z.boolean().optional() }))
    .optional(),
  destination: z
    .union([z.object({ address }), z.object({ ipset: name })])
    .and(z.object({ invert: z.boolean().optional() }))
    .optional(),
  element: RichRuleElementSchema.optional(),
  log: z
    .object({
      prefix: z
        .string()
        .max(127)
        .regex(/^[^<>&"\p{Cc}]*$/u)
        .optional(),
      level: z.enum(['emerg', 'alert', 'crit', 'error', 'warning', 'notice', 'info', 'debug']).optional(),
    })
    .optional(),
  action: z
    .discriminatedUnion('type', [
      z.object({ type: z.literal('accept') }),
      z.object({ type: z.literal('drop') }),
      z.object({ type: z.literal('reject'), with: z.enum(REJECT_TYPES).optional() }),
    ])
    .optional(),
});
/** A firewalld rich rule. */
export interface RichRule {
  family?: 'ipv4' | 'ipv6' | undefined;
  /** Non-zero; lower runs first. */
  priority?: number | undefined;
  source?: RuleAddress | undefined;
  destination?: RuleAddress | undefined;
  element?: RichRuleElement | undefined;
  log?: { prefix?: string | undefined; level?: LogLevel | undefined } | undefined;
  action?: { type: 'accept' } | { type: 'drop' } | { type: 'reject'; with?: RejectType | undefined } | undefined;
}

/** Source/destination of a rich rule; `invert` matches everything else. */
export type RuleAddress = ({ address: string } | { ipset: string }) & { invert?: boolean | undefined };
/** Syslog levels of `<log level>`. */
export type LogLevel = 'emerg' | 'alert' | 'crit' | 'error' | 'warning' | 'notice' | 'info' | 'debug';
/** One of {@link REJECT_TYPES}. */
export type RejectType = (typeof REJECT_TYPES)[number];

/** Zone targets; `default` is firewalld's "reject, but allow ICMP" behaviour. */
export const ZONE_TARGETS = ['default', 'ACCEPT', 'DROP', '%%REJECT%%'] as const;

/** A firewalld zone (`zones/<name>.xml`). */
export const ZoneSchema: z.ZodType<Zone> = z.object({
  name: zoneName,
  short: label.optional(),
  description: label.optional(),
  target: z.enum(ZONE_TARGETS).default('default'),
  interfaces: z.array(ifName).default([]),
  sources: z.array(SourceSchema).default([]),
  services: z.array(serviceName).default([]),
  ports: z.array(PortSchema).default([]),
  protocols: z.array(name).default([]),
  icmpBlocks: z.array(name).default([]),
  icmpBlockInversion: z.boolean().default(false),
  masquerade: z.boolean().default(false),
  /** Intra-zone forwarding (`<forward/>`). */
  forward: z.boolean().default(false),
  forwardPorts: z.array(ForwardPortSchema).default([]),
  sourcePorts: z.array(PortSchema).default([]),
  richRules: z.array(RichRuleSchema).default([]),
});
/** A zone as written by callers (defaults optional). */
export type ZoneInput = Pick<Zone, 'name'> & Partial<Omit<Zone, 'name'>>;
/** A zone with every default filled in. */
export interface Zone {
  name: string;
  short?: string | undefined;
  description?: string | undefined;
  target: ZoneTarget;
  interfaces: string[];
  sources: Source[];
  services: string[];
  ports: Port[];
  protocols: string[];
  icmpBlocks: string[];
  icmpBlockInversion: boolean;
  masquerade: boolean;
  /** Intra-zone forwarding. */
  forward: boolean;
  forwardPorts: ForwardPort[];
  sourcePorts: Port[];
  richRules: RichRule[];
}
/** One of {@link ZONE_TARGETS}. */
export type ZoneTarget = (typeof ZONE_TARGETS)[number];

/** A custom service (`services/<name>.xml`). */
export const ServiceSchema: z.ZodType<Service> = z.object({
  name: serviceName,
  short: label.optional(),
  description: label.optional(),
  ports: z.array(PortSchema).default([]),
  protocols: z.array(name).default([]),
  sourcePorts: z.array(PortSchema).default([]),
  /** Conntrack helpers, e.g. `netbios-ns`. */
  helpers: z.array(z.string().regex(/^[A-Za-z0-9.-]{1,64}$/)).default([]),
  destination: z.object({ ipv4: address.optional(), ipv6: address.optional() }).optional(),
  includes: z.array(serviceName).default([]),
});
/** A service as written by callers. */
export type ServiceInput = Pick<Service, 'name'> & Partial<Omit<Service, 'name'>>;
/** A service with defaults filled in. */
export interface Service {
  name: string;
  short?: string | undefined;
  description?: string | undefined;
  ports: Port[];
  protocols: string[];
  sourcePorts: Port[];
  helpers: string[];
  destination?: { ipv4?: string | undefined; ipv6?: string | undefined } | undefined;
  includes: string[];
}

/** Policy targets. */
export const POLICY_TARGETS = ['CONTINUE', 'ACCEPT', 'DROP', 'REJECT'] as const;

/** A policy (`policies/<name>.xml`): traffic from ingress zones to egress zones. */
export const PolicySchema: z.ZodType<Policy> = z.object({
  name: zoneName,
  short: label.optional(),
  description: label.optional(),
  target: z.enum(POLICY_TARGETS).default('CONTINUE'),
  priority: z.number().int().min(-32768).max(32767).default(-1),
  /** Zone names or the symbolic `ANY`, `HOST`. */
  ingressZones: z.array(zoneName).min(1),
  egressZones: z.array(zoneName).min(1),
  services: z.array(serviceName).default([]),
  ports: z.array(PortSchema).default([]),
  protocols: z.array(name).default([]),
  icmpBlocks: z.array(name).default([]),
  masquerade: z.boolean().default(false),
  forwardPorts: z.array(ForwardPortSchema).default([]),
  sourcePorts: z.array(PortSchema).default([]),
  richRules: z.array(RichRuleSchema).default([]),
});
/** A policy as written by callers. */
export type PolicyInput = Pick<Policy, 'name' | 'ingressZones' | 'egressZones'> &
  Partial<Omit<Policy, 'name' | 'ingressZones' | 'egressZones'>>;
/** A policy with defaults filled in. */
export interface Policy {
  name: string;
  short?: string | undefined;
  description?: string | undefined;
  target: (typeof POLICY_TARGETS)[number];
  priority: number;
  ingressZones: string[];
  egressZones: string[];
  services: string[];
  ports: Port[];
  protocols: string[];
  icmpBlocks: string[];
  masquerade: boolean;
  forwardPorts: ForwardPort[];
  sourcePorts: Port[];
  richRules: RichRule[];
}

/** `LogDenied` values of firewalld.conf. */
export const LOG_DENIED = ['off', 'all', 'unicast', 'broadcast', 'multicast'] as const;

/** The whole user configuration that apply() manages. */
export const FirewallConfigSchema: z.ZodType<FirewallConfig> = z.object({
  defaultZone: zoneName,
  logDenied: z.enum(LOG_DENIED).default('off'),
  zones: z.array(ZoneSchema).default([]),
  services: z.array(ServiceSchema).default([]),
  policies: z.array(PolicySchema).default([]),
});
/** A configuration as written by callers. */
export interface FirewallConfigInput {
  defaultZone: string;
  logDenied?: LogDenied | undefined;
  zones?: ZoneInput[] | undefined;
  services?: ServiceInput[] | undefined;
  policies?: PolicyInput[] | undefined;
}
/** A configuration with defaults filled in. */
export interface FirewallConfig {
  defaultZone: string;
  logDenied: LogDenied;
  zones: Zone[];
  services: Service[];
  policies: Policy[];
}
/** One of {@link LOG_DENIED}. */
export type LogDenied = (typeof LOG_DENIED)[number];

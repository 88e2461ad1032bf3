// Pure OpenVPN 2.6 config rendering: server configs for road warriors and sites, ccd entries
// with iroute for branch subnets, and inline client bundles. No fs, no processes; apply.ts
// writes and checks the results.
import { generatedMarker } from '@invis/host';
import { z } from 'zod';
import { OvpnPkiError } from './errors';
import { parseInput } from './model';
import { cidrsOverlap, cidrToNetmask, ipv4CidrSchema } from './net';

/** First line of every file we generate. */
const GENERATED_MARKER = generatedMarker('@invis/ovpn-pki', 'hash');

/** Data-channel ciphers offered by servers and bundles. */
export const DATA_CIPHERS = 'AES-256-GCM:CHACHA20-POLY1305';

/** A file path in a config: no whitespace, quotes, comment or escape characters. */
const pathSchema = z.string().regex(/^[^\s"'\\#;]+$/, 'path must not contain spaces, quotes, "#", ";" or "\\"');
const dnsName = z
  .string()
  .max(253)
  .regex(
    /^([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/,
    'not a DNS name',
  );
const host = z.union([z.ipv4(), z.ipv6(), dnsName]);
const port = z.number().int().min(1).max(65_535);
const certName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'not a certificate name');

/** One branch site of a site server: its certificate CN and the LAN subnets behind it. */
export interface SiteSpec {
  /** CN of the branch's client certificate (= ccd file name). */
  name: string;
  /** Branch LAN subnets (IPv4 CIDR) routed to this site with iroute. */
  subnets: string[];
}

/** An OpenVPN server (road warriors or sites). See {@link renderServerConfig}. */
export interface ServerConfig {
  /** `road-warrior`: people with laptops/phones; `site`: branch offices with subnets behind them. */
  role: 'road-warrior' | 'site';
  /** tun device name (invis: `vpn` and `vpn-sub`). */
  device: string;
  port: number;
  proto: 'udp' | 'tcp';
  /** Address to bind to; all addresses when unset. */
  local?: string;
  /** VPN address pool (IPv4 CIDR), e.g. 192.168.166.0/24. */
  network: string;
  /** Paths of the key material on the server. */
  files: {
    ca: string;
    cert: string;
    key: string;
    crl: string;
    /** tls-crypt (v1) key; exactly one of tlsCrypt / tlsCryptV2 is set. */
    tlsCrypt?: string;
    /** tls-crypt-v2 server key. */
    tlsCryptV2?: string;
    /** Extra chain certificates sent with the server certificate (the cross-certificate during a CA rollover). */
    extraCerts?: string;
  };
  /** Pushed to clients: LAN routes, DNS servers, search domain, WINS servers. */
  push: { routes: string[]; dns: string[]; domain?: string; wins: string[]; redirectGateway: boolean };
  /** Sites (role `site` only); each gets a `route` here and an `iroute` in its ccd entry. */
  sites: SiteSpec[];
  /** Directory of ccd entries (role `site`; rendered by {@link renderCcdEntry}). */
  clientConfigDir?: string;
  /** Let sites reach each other's subnets through the server (site role). */
  siteToSite: boolean;
  /** Drop privileges after start-up (Debian: nobody/nogroup); null keeps root. */
  user: string | null;
  group: string | null;
  /** Status file (`status FILE 10`). */
  statusFile?: string;
  /** Persist pool addresses (`ifconfig-pool-persist FILE`). */
  ifconfigPoolPersist?: string;
  keepalive: { interval: number; timeout: number };
  verb: number;
}

/** A server config as given by a caller: the fields with defaults may be left out. */
export type ServerConfigInput = Omit<
  ServerConfig,
  'proto' | 'push' | 'sites' | 'siteToSite' | 'user' | 'group' | 'keepalive' | 'verb' | 'device'
> &
  Partial<Pick<ServerConfig, 'proto' | 'sites' | 'siteToSite' | 'user' | 'group' | 'keepalive' | 'verb' | 'device'>> & {
    push?: Partial<ServerConfig['push']>;
  };

const serverConfigSchema: z.ZodType<ServerConfig, ServerConfigInput> = z
  .object({
    role: z.enum(['road-warrior', 'site']),
    device: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9_-]{0,14}$/, 'not a device name')
      .default('vpn'),
    port,
    proto: z.enum(['udp', 'tcp']).default('udp'),
    local: host.optional(),
    network: ipv4CidrSchema,
    files: z.object({
      ca: pathSchema,
      cert: pathSchema,
      key: pathSchema,
      crl: pathSchema,
      tlsCrypt: pathSchema.optional(),
      tlsCryptV2: pathSchema.optional(),
      extraCerts: pathSchema.optional(),
    }),
    push: z
      .object({
        routes: z.array(ipv4CidrSchema).default([]),
        dns: z.array(z.union([z.ipv4(), z.ipv6()])).default([]),
        domain: dnsName.optional(),
        wins: z.array(z.ipv4()).default([]),
        redirectGateway: z.boolean().default(false),
      })
      .default({ routes: [], dns: [], wins: [], redirectGateway: false }),
    sites: z.array(z.object({ name: certName, subnets: z.array(ipv4CidrSchema).min(1) })).default([]),
    clientConfigDir: pathSchema.optional(),
    siteToSite: z.boolean().default(true),
    user: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]*$/)
      .nullable()
      .default('nobody'),
    group: z
      .string()
      .regex(/^[a-z_][a-z0-9_-]*$/)
      .nullable()
      .default('nogroup'),
    statusFile: pathSchema.optional(),
    ifconfigPoolPersist: pathSchema.optional(),
    keepalive: z
      .object({ interval: z.number().int().min(1), timeout: z.number().int().min(2) })
      .default({ interval: 10, timeout: 60 }),
    verb: z.number().int().min(0).max(11).default(3),
  })
  .superRefine((c, ctx) => {
    if (!c.files.tlsCrypt === !c.files.tlsCryptV2) {
      ctx.addIssue({ code: 'custom', path: ['files'], message: 'set exactly one of tlsCrypt and tlsCryptV2' });
    }
    if (c.role === 'road-warrior' && c.sites.length > 0) {
      ctx.addIssue({ code: 'custom', path: ['sites'], message: 'sites need role "site"' });
    }
    if (c.sites.length > 0 && !c.clientConfigDir) {
      ctx.addIssue({ code: 'custom', path: ['clientConfigDir'], message: 'sites need a clientConfigDir for iroute' });
    }
    const names = new Set<string>();
    const subnets: string[] = [];
    for (const site of c.sites) {
      if (names.has(site.name)) ctx.addIssue({ code: 'custom', path: ['sites'], message: `site ${site.name} twice` });
      names.add(site.name);
      for (const s of site.subnets) {
        const clash = [c.network, ...subnets].find((o) => cidrsOverlap(o, s));
        if (clash) ctx.addIssue({ code: 'custom', path: ['sites'], message: `subnet ${s} overlaps ${clash}` });
        subnets.push(s);
      }
    }
  });

/**
 * Validates a server config and fills in defaults.
 * @throws {OvpnPkiError} PKI_INVALID_INPUT
 */
export function normalizeServerConfig(input: ServerConfigInput): ServerConfig {
  return parseInput(serverConfigSchema, input, 'server config');
}

/**
 * Renders an OpenVPN 2.6 server config: tun with topology subnet, AES-256-GCM/ChaCha20, TLS ≥ 1.2,
 * tls-crypt(-v2), crl-verify (re-read by OpenVPN on every handshake, so CRL updates need no
 * restart), privilege drop, pushes, and for sites `route` + `client-config-dir`.
 * @param input server config (validated)
 * @returns the config file text
 * @throws {OvpnPkiError} PKI_INVALID_INPUT
 * @example
 * renderServerConfig({ role: 'road-warrior', port: 51194, network: '192.168.166.0/24', files: {...} })
 */
export function renderServerConfig(input: ServerConfigInput): string {
  const c = normalizeServerConfig(input);
  const lines = [
    GENERATED_MARKER,
    `# ${c.role === 'site' ? 'site-to-site server (branches)' : 'road-warrior server'}`,
    `port ${c.port}`,
    `proto ${c.proto}`,
    ...(c.local ? [`local ${c.local}`] : []),
    `dev ${c.device}`,
    'dev-type tun',
    'topology subnet',
    `server ${cidrToNetmask(c.network)}`,
    ...(c.ifconfigPoolPersist ? [`ifconfig-pool-persist ${c.ifconfigPoolPersist}`] : []),
    `ca ${c.files.ca}`,
    `cert ${c.files.cert}`,
    `key ${c.files.key}`,
    ...(c.files.extraCerts ? [`extra-certs ${c.files.extraCerts}`] : []),
    'dh none',
    c.files.tlsCrypt ? `tls-crypt ${c.files.tlsCrypt}` : `tls-crypt-v2 ${c.files.tlsCryptV2}`,
    `crl-verify ${c.files.crl}`,
    'remote-cert-tls client',
    'tls-version-min 1.2',
    `data-ciphers ${DATA_CIPHERS}`,
    ...(c.clientConfigDir ? [`client-config-dir ${c.clientConfigDir}`] : []),
    ...c.sites.flatMap((s) => s.subnets.map((n) => `route ${cidrToNetmask(n)}`)),
    ...(c.role === 'site' && c.siteToSite && c.sites.length > 1 ? ['client-to-client'] : []),
    ...c.push.routes.map((r) => `push "route ${cidrToNetmask(r)}"`),
    ...(c.push.redirectGateway ? ['push "redirect-gateway def1"'] : []),
    ...c.push.dns.map((d) => `push "dhcp-option DNS ${d}"`),
    ...(c.push.domain ? [`push "dhcp-option DOMAIN ${c.push.domain}"`] : []),
    ...c.push.wins.map((w) => `push "dhcp-option WINS ${w}"`),
    ...(c.push.wins.length ? ['push "dhcp-option NBT 8"'] : []),
    `keepalive ${c.keepalive.interval} ${c.keepalive.timeout}`,
    'persist-key',
    'persist-tun',
    ...(c.user ? [`user ${c.user}`] : []),
    ...(c.group ? [`group ${c.group}`] : []),
    ...(c.statusFile ? [`status ${c.statusFile} 10`] : []),
    ...(c.proto === 'udp' ? ['explicit-exit-notify 1'] : []),
    `verb ${c.verb}`,
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * Renders the ccd entry of one site (file `<clientConfigDir>/<site name>`): `iroute` for each
 * of its subnets, and with `siteToSite` a pushed route to every other site's subnets.
 * @param input the site server config
 * @param siteName the site (certificate CN)
 * @returns the ccd file text
 * @throws {OvpnPkiError} PKI_INVALID_INPUT (unknown site or invalid config)
 */
export function renderCcdEntry(input: ServerConfigInput, siteName: string): string {
  const c = normalizeServerConfig(input);
  const site = c.sites.find((s) => s.name === siteName);
  if (!site) {
    throw new OvpnPkiError('PKI_INVALID_INPUT', `no site named "${siteName}" in the server config`, {
      details: { name: siteName },
    });
  }
  const others = c.siteToSite ? c.sites.filter((s) => s !== site).flatMap((s) => s.subnets) : [];
  const lines = [
    GENERATED_MARKER,
    `# site ${site.name}`,
    ...site.subnets.map((n) => `iroute ${cidrToNetmask(n)}`),
    ...others.map((n) => `push "route ${cidrToNetmask(n)}"`),
  ];
  return `${lines.join('\n')}\n`;
}

/** Input of {@link renderClientBundle}: everything a client needs, inline. */
export interface ClientBundle {
  /** Certificate name of the client (comment only). */
  name: string;
  /** Server addresses tried in order; host as DNS name or IP and the server's real port. */
  remotes: { host: string; port: number; proto?: 'udp' | 'tcp' }[];
  /** The server certificate's CN, checked with `verify-x509-name … name`. */
  serverName: string;
  caPem: string;
  certPem: string;
  keyPem: string;
  /** tls-crypt (v1) key text; exactly one of tlsCrypt / tlsCryptV2 is set. */
  tlsCrypt?: string;
  /** This client's tls-crypt-v2 key. */
  tlsCryptV2?: string;
}

const pemBlock = (label: RegExp): z.ZodString =>
  z
    .string()
    .regex(new RegExp(`-----BEGIN ${label.source}-----[\\s\\S]+?-----END ${label.source}-----`), 'missing PEM block');

const bundleSchema: z.ZodType<ClientBundle> = z
  .object({
    name: certName,
    remotes: z.array(z.object({ host, port, proto: z.enum(['udp', 'tcp']).optional() })).min(1),
    serverName: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, 'not a certificate name'),
    caPem: pemBlock(/CERTIFICATE/),
    certPem: pemBlock(/CERTIFICATE/),
    keyPem: pemBlock(/(?:ENCRYPTED |RSA |EC )?PRIVATE KEY/),
    tlsCrypt: pemBlock(/OpenVPN Static key V1/).optional(),
    tlsCryptV2: pemBlock(/OpenVPN tls-crypt-v2 client key/).optional(),
  })
  .refine((b) => !b.tlsCrypt !== !b.tlsCryptV2, {
    message: 'set exactly one of tlsCrypt and tlsCryptV2',
    path: ['tlsCrypt'],
  });

/** The PEM blocks of `text` only (drops openssl's text dumps and comments that break inline blocks). */
function pemOnly(text: string): string {
  return `${(text.match(/-----BEGIN ([A-Za-z0-9 -]+)-----[\s\S]+?-----END \1-----/g) ?? []).join('\n')}\n`;
}

/**
 * Renders an inline `.ovpn` client bundle (`<ca>`, `<cert>`, `<key>`, `<tls-crypt>` or
 * `<tls-crypt-v2>`) that OpenVPN 2.4+ / OpenVPN Connect / Tunnelblick / OpenVPN for Android import
 * as one file. It holds the client's private key: deliver it privately, store it 0600.
 * @param input the bundle
 * @returns the `.ovpn` text
 * @throws {OvpnPkiError} PKI_INVALID_INPUT
 */
export function renderClientBundle(input: ClientBundle): string {
  const b = parseInput(bundleSchema, input, 'client bundle');
  const protos = new Set(b.remotes.map((r) => r.proto ?? 'udp'));
  const lines = [
    GENERATED_MARKER,
    `# client ${b.name}`,
    'client',
    'dev tun',
    ...b.remotes.map((r) => `remote ${r.host} ${r.port} ${r.proto ?? 'udp'}`),
    ...(b.remotes.length > 1 ? ['remote-random-hostname', 'server-poll-timeout 10'] : []),
    'resolv-retry infinite',
    'nobind',
    'persist-key',
    'persist-tun',
    'remote-cert-tls server',
    `verify-x509-name ${b.serverName} name`,
    'tls-version-min 1.2',
    `data-ciphers ${DATA_CIPHERS}`,
    ...(protos.has('udp') && protos.size === 1 ? ['explicit-exit-notify 1'] : []),
    'verb 3',
    `<ca>\n${pemOnly(b.caPem)}</ca>`,
    `<cert>\n${pemOnly(b.certPem)}</cert>`,
    `<key>\n${pemOnly(b.keyPem)}</key>`,
    b.tlsCrypt
      ? `<tls-crypt>\n${pemOnly(b.tlsCrypt)}</tls-crypt>`
      : `<tls-crypt-v2>\n${pemOnly(b.tlsCryptV2 ?? '')}</tls-crypt-v2>`,
  ];
  return `${lines.join('\n')}\n`;
}

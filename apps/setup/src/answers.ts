// The setup answers: zod schema (messages in German or English, one per field), YAML read and
// write, and the defaults read from the machine. Answers never hold secrets: those live in
// /etc/invis/secrets (see secrets.ts), and the schema refuses unknown keys.
import type { CommandRunner } from '@invis/host';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { z } from 'zod';
import { SetupError } from './errors';
import type { Lang } from './i18n';
import { overlaps, parseCidr, parseIpv4 } from './net';
import { inSambaRpcRange } from './ports';
import type { SetupFs } from './rooted-fs';

/** Where init saves the answers (below the root when staging). */
export const ANSWERS_PATH = '/etc/invis/setup/answers.yaml';

const MSG = {
  hostname: {
    de: 'Hostname: 1–15 Zeichen a-z, 0-9, -, nicht am Anfang oder Ende (NetBIOS-Grenze)',
    en: 'host name: 1–15 characters a-z, 0-9, -, not first or last (NetBIOS limit)',
  },
  domain: {
    de: 'Domäne: mindestens zwei Teile aus a-z, 0-9, - (z. B. firma.loc), nicht .local',
    en: 'domain: at least two labels of a-z, 0-9, - (e.g. company.loc), not .local',
  },
  nic: {
    de: 'Schnittstellenname: 1–15 Zeichen A-Z a-z 0-9 _ . -',
    en: 'interface name: 1–15 characters A-Z a-z 0-9 _ . -',
  },
  sameNic: {
    de: 'intern und extern müssen verschiedene Schnittstellen sein',
    en: 'intern and extern must be different interfaces',
  },
  lanAddress: {
    de: 'LAN-Adresse: IPv4 mit Präfix 8–30 (z. B. 192.168.220.10/24), keine Netz- oder Broadcastadresse',
    en: 'LAN address: IPv4 with prefix 8–30 (e.g. 192.168.220.10/24), not the network or broadcast address',
  },
  vpnNetwork: {
    de: 'VPN-Netz: IPv4-Netzadresse mit Präfix 8–30 (z. B. 192.168.166.0/24)',
    en: 'VPN network: IPv4 network address with prefix 8–30 (e.g. 192.168.166.0/24)',
  },
  vpnOverlap: { de: 'VPN-Netz überschneidet sich mit dem LAN', en: 'VPN network overlaps the LAN' },
  forwarder: {
    de: 'DNS-Weiterleitung: IPv4-Adresse (z. B. 9.9.9.9), höchstens drei',
    en: 'DNS forwarder: IPv4 address (e.g. 9.9.9.9), at most three',
  },
  sshPort: {
    de: 'SSH-Port: 1–65535, nicht 61000–61999 (RPC-Ports von Samba)',
    en: 'SSH port: 1–65535, not 61000–61999 (Samba RPC ports)',
  },
  externalPort: {
    de: 'Port: 1024–65535, nicht 61000–61999 (RPC-Ports von Samba)',
    en: 'port: 1024–65535, not 61000–61999 (Samba RPC ports)',
  },
  openvpnPort: {
    de: 'OpenVPN-Port: 1024–65534, Port und Port + 1 nicht in 61000–61999 (RPC-Ports von Samba)',
    en: 'OpenVPN port: 1024–65534, port and port + 1 not in 61000–61999 (Samba RPC ports)',
  },
  portClash: {
    de: 'SSH-, Portal- und OpenVPN-Ports (und OpenVPN + 1) müssen verschieden sein',
    en: 'SSH, portal and OpenVPN ports (and OpenVPN + 1) must differ',
  },
  webmailClash: {
    de: 'Webmail-Port: nicht der SSH-, Portal-, OpenVPN- (oder OpenVPN + 1) oder WebDAV-Port',
    en: 'webmail port: not the SSH, portal, OpenVPN (or OpenVPN + 1) or WebDAV port',
  },
  webdavClash: {
    de: 'WebDAV-Port: nicht der SSH-, Portal- oder OpenVPN-Port (oder OpenVPN + 1)',
    en: 'WebDAV port: not the SSH, portal or OpenVPN port (or OpenVPN + 1)',
  },
  fqdn: {
    de: 'Name: mindestens zwei Teile aus a-z, 0-9, - (z. B. invis.dyn.example.org)',
    en: 'name: at least two labels of a-z, 0-9, - (e.g. invis.dyn.example.org)',
  },
  ddnsZone: {
    de: 'DDNS-Name muss in der DDNS-Zone liegen',
    en: 'the DDNS name must lie inside the DDNS zone',
  },
  absolutePath: { de: 'absoluter Pfad ohne ..', en: 'absolute path without ..' },
  siteName: {
    de: 'Standortname: 1–32 Zeichen a-z, 0-9, -, eindeutig',
    en: 'site name: 1–32 characters a-z, 0-9, -, unique',
  },
  siteOverlap: {
    de: 'Netz überschneidet sich mit dem LAN, dem VPN oder einem anderen Standort',
    en: 'network overlaps the LAN, the VPN or another site',
  },
  mailAddress: {
    de: 'E-Mail-Adresse: name@domäne aus a-z, 0-9, . _ % + -',
    en: 'mail address: name@domain of a-z, 0-9, . _ % + -',
  },
  backupTarget: {
    de: 'Sicherungsziel: absoluter Pfad ohne .. (lokale Platte), sftp:benutzer@host:/pfad, sftp://benutzer@host:port//pfad oder rest:https://…',
    en: 'backup target: absolute path without .. (local disk), sftp:user@host:/path, sftp://user@host:port//path or rest:https://…',
  },
  backupTime: { de: 'Uhrzeit HH:MM', en: 'time HH:MM' },
  keep: { de: 'Anzahl 0–1000 (täglich mindestens 1)', en: 'count 0–1000 (daily at least 1)' },
  printerName: {
    de: 'Druckername: 1–31 Zeichen A-Z a-z 0-9 _ -, Buchstabe zuerst, kein Freigabename von Samba oder invis (printers, homes, transfer, …)',
    en: 'printer name: 1–31 characters A-Z a-z 0-9 _ -, letter first, not a share name of Samba or invis (printers, homes, transfer, …)',
  },
  printerUri: {
    de: 'Drucker-URI: ipp://… oder ipps://… (IPP Everywhere, ohne Treiber)',
    en: 'printer URI: ipp://… or ipps://… (IPP Everywhere, driverless)',
  },
  printerText: { de: 'Text: höchstens 127 Zeichen, eine Zeile', en: 'text: at most 127 characters, one line' },
  printerClash: { de: 'Druckernamen müssen verschieden sein', en: 'printer names must differ' },
  days: { de: 'Tage: 1–3650', en: 'days: 1–3650' },
} as const;

const HOSTNAME = /^[a-z0-9](?:[a-z0-9-]{0,13}[a-z0-9])?$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const NIC = /^[A-Za-z0-9_.-]{1,15}$/;
const SITE = /^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$/;
// The address rules of @invis/mail-rewrite: nothing that could break a Postfix or Sieve line.
const MAIL_ADDRESS = /^[a-z0-9._%+-]+@[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/;

/** Host bits of an address inside its network, or undefined when `text` is no usable CIDR. */
const hostBits = (text: string): { offset: number; size: number } | undefined => {
  const cidr = parseCidr(text);
  if (!cidr || cidr.prefix < 8 || cidr.prefix > 30) return undefined;
  const size = 2 ** (32 - cidr.prefix);
  return { offset: (parseIpv4(cidr.address) ?? 0) % size, size };
};
const isLanAddress = (text: string): boolean => {
  const bits = hostBits(text);
  return bits !== undefined && bits.offset !== 0 && bits.offset !== bits.size - 1;
};
const isNetworkAddress = (text: string): boolean => hostBits(text)?.offset === 0;
const isDnsName = (d: string): boolean => {
  const labels = d.split('.');
  return d.length <= 253 && labels.length >= 2 && labels.every((l) => LABEL.test(l));
};
const isAbsolutePath = (p: string): boolean => p.startsWith('/') && !p.split('/').includes('..') && !p.includes('\0');
/** A restic repository: a local path, or an sftp/rest URL (no spaces or control characters). */
/** CUPS queue and Samba share name at once: no spaces, slashes or `#`, not a reserved share. */
const PRINTER_NAME = /^[A-Za-z][A-Za-z0-9_-]{0,30}$/;
// Samba's own sections and the invis share layout's share names: a printer share must not shadow one.
const RESERVED_SHARES = new Set([
  'printers',
  'homes',
  'global',
  'netlogon',
  'sysvol',
  'ipc',
  'aktuell',
  'archiv',
  'gruppen',
  'media',
  'portal',
  'profiles',
  'service',
  'transfer',
  'verwaltung',
]);
/** One line of printable text without the characters lpadmin and smb.conf treat specially. */
const isPrinterText = (t: string): boolean =>
  t.length <= 127 && [...t].every((c) => c.charCodeAt(0) >= 0x20 && c.charCodeAt(0) !== 0x7f && !`"'\\`.includes(c));
const isIppUri = (u: string): boolean => {
  try {
    const url = new URL(u);
    return (url.protocol === 'ipp:' || url.protocol === 'ipps:') && url.hostname !== '' && !/[\s"'\\]/.test(u);
  } catch {
    return false;
  }
};

const SFTP_SHORT = /^sftp:([A-Za-z0-9_][A-Za-z0-9._-]*)@([A-Za-z0-9][A-Za-z0-9.-]*):(\/[^\s\p{Cc}'"\\]*)$/u;
const SFTP_URL =
  /^sftp:\/\/([A-Za-z0-9_][A-Za-z0-9._-]*)@([A-Za-z0-9][A-Za-z0-9.-]*)(?::(\d{1,5}))?\/(\/[^\s\p{Cc}'"\\]*)$/u;

/**
 * The parts of an `sftp:` backup target in restic's two forms, `sftp:user@host:/path` and
 * `sftp://user@host:port//path`: plain user and host names that do not start with `-` (they become
 * words of the ssh command restic runs), an absolute path, a port 1–65535 (default 22).
 * @returns the parts, or undefined when `target` is not such a target
 */
export function sftpTargetParts(
  target: string,
): { user: string; host: string; port: number; path: string } | undefined {
  const short = SFTP_SHORT.exec(target);
  if (short) return { user: short[1] as string, host: short[2] as string, port: 22, path: short[3] as string };
  const url = SFTP_URL.exec(target);
  const port = url?.[3] === undefined ? 22 : Number(url[3]);
  if (!url || port < 1 || port > 65535) return undefined;
  return { user: url[1] as string, host: url[2] as string, port, path: url[4] as string };
}

const isBackupTarget = (t: string): boolean =>
  isAbsolutePath(t) || sftpTargetParts(t) !== undefined || /^rest:https?:\/\/[^\s\p{Cc}]+$/u.test(t);

/** Where the backup goes when the answers name no target (a separate disk is better: see the README). */
export const DEFAULT_BACKUP_TARGET = '/var/backups/invis';

/** The public IP echo the DDNS updater asks by default (https: the answer decides what is published). */
export const DEFAULT_IP_ECHO = 'https://api.ipify.org/';
/** The provider's TSIG key file (BIND `key` syntax, 0600) the DDNS updater reads by default. */
export const DEFAULT_DDNS_KEY_FILE = '/etc/invis/ddns/tsig.key';

/**
 * The answers schema with messages in `lang`.
 * @param lang language of the messages
 * @returns the zod schema
 */
export function answersSchema(lang: Lang) {
  const m = (key: keyof typeof MSG) => MSG[key][lang];
  /** A port a service listens on: unprivileged, outside Samba's RPC range. */
  const servicePort = () =>
    z
      .number()
      .int()
      .min(1024, m('externalPort'))
      .max(65535, m('externalPort'))
      .refine((p) => !inSambaRpcRange(p), m('externalPort'));
  const printerName = z
    .string()
    .regex(PRINTER_NAME, m('printerName'))
    .refine((n) => !RESERVED_SHARES.has(n.toLowerCase()), m('printerName'));
  const printerText = z.string().refine(isPrinterText, m('printerText')).optional();
  return z
    .strictObject({
      hostname: z.string().regex(HOSTNAME, m('hostname')),
      domain: z
        .string()
        .max(253, m('domain'))
        .refine((d) => {
          const labels = d.split('.');
          return labels.length >= 2 && labels.every((l) => LABEL.test(l)) && labels.at(-1) !== 'local';
        }, m('domain')),
      interfaces: z
        .strictObject({
          intern: z.string().regex(NIC, m('nic')),
          extern: z.string().regex(NIC, m('nic')),
        })
        .refine((i) => i.intern !== i.extern, { error: m('sameNic'), path: ['extern'] }),
      lan: z.strictObject({ address: z.string().refine(isLanAddress, m('lanAddress')) }),
      vpn: z.strictObject({ network: z.string().refine(isNetworkAddress, m('vpnNetwork')) }).optional(),
      // Where BIND sends what it does not know itself (the provider's or a public resolver); none:
      // BIND resolves from the root servers.
      dns: z
        .strictObject({
          forwarders: z
            .array(z.string().refine((a) => parseIpv4(a) !== undefined, m('forwarder')))
            .max(3, m('forwarder'))
            .default([]),
        })
        .default({ forwarders: [] }),
      ssh: z.strictObject({
        port: z
          .number()
          .int()
          .min(1, m('sshPort'))
          .max(65535, m('sshPort'))
          .refine((p) => !inSambaRpcRange(p), m('sshPort')),
        passwordAuthentication: z.boolean().default(false),
      }),
      // Optional in the file: init chooses them (like ssh.port); the firewall needs them.
      portal: z
        .strictObject({
          port: servicePort().optional(),
        })
        .prefault({}),
      openvpn: z
        .strictObject({
          port: z
            .number()
            .int()
            .min(1024, m('openvpnPort'))
            .max(65534, m('openvpnPort'))
            .refine((p) => !inSambaRpcRange(p) && !inSambaRpcRange(p + 1), m('openvpnPort'))
            .optional(),
          // The `openvpn` module: the name or address bundles dial (default: the DDNS name, else
          // the server's FQDN), an existing easy-rsa PKI to take over once, the site server's
          // pool and the branches (certificate `site-<name>`, iroute for its subnets).
          remote: z
            .string()
            .refine((h) => parseIpv4(h) !== undefined || isDnsName(h), m('fqdn'))
            .optional(),
          importEasyRsa: z.string().refine(isAbsolutePath, m('absolutePath')).optional(),
          siteNetwork: z.string().refine(isNetworkAddress, m('vpnNetwork')).default('192.168.167.0/24'),
          sites: z
            .array(
              z.strictObject({
                name: z.string().regex(SITE, m('siteName')),
                subnets: z.array(z.string().refine(isNetworkAddress, m('vpnNetwork'))).min(1),
              }),
            )
            .default([]),
        })
        .prefault({}),
      dhcp: z.strictObject({ server: z.enum(['kea', 'dhcpd']).default('kea') }).prefault({}),
      // Mail (`mailserver`, `fetchmail`): the spam/virus filter the mailserver wires in as a milter
      // (`mailfilter` owns it), who gets root's and postmaster's mail, and the CA bundle that
      // verifies the providers (default: the system store).
      mail: z
        .strictObject({
          filter: z.enum(['rspamd', 'none']).default('rspamd'),
          admins: z.array(z.string().regex(MAIL_ADDRESS, m('mailAddress'))).default([]),
          providerCaFile: z.string().refine(isAbsolutePath, m('absolutePath')).optional(),
          // Webmail (`webmail`, optional): Roundcube behind the portal's login on the LAN address
          // at this port (open in the internal zone only).
          webmail: z.boolean().default(false),
          webmailPort: servicePort().default(8445),
        })
        .prefault({}),
      ddns: z
        .strictObject({
          fqdn: z.string().refine(isDnsName, m('fqdn')),
          zone: z.string().refine(isDnsName, m('fqdn')),
          /** The provider's DNS server (address or name) that takes the signed updates. */
          server: z.string().min(1),
          port: z.number().int().min(1).max(65535).default(53),
          keyFile: z.string().refine(isAbsolutePath, m('absolutePath')).default(DEFAULT_DDNS_KEY_FILE),
          source: z
            .discriminatedUnion('type', [
              z.strictObject({ type: z.literal('https'), url: z.url({ protocol: /^https$/ }) }),
              z.strictObject({ type: z.literal('interface'), name: z.string().regex(NIC, m('nic')) }),
              z.strictObject({ type: z.literal('upnp'), url: z.url({ protocol: /^https?$/ }) }),
            ])
            .default({ type: 'https', url: DEFAULT_IP_ECHO }),
        })
        .refine((d) => d.fqdn === d.zone || d.fqdn.endsWith(`.${d.zone}`), { error: m('ddnsZone'), path: ['fqdn'] })
        .optional(),
      // invis-backup: a restic repository (encrypted, deduplicated), daily, with retention.
      backup: z
        .strictObject({
          target: z.string().refine(isBackupTarget, m('backupTarget')).default(DEFAULT_BACKUP_TARGET),
          time: z
            .string()
            .regex(/^([01]\d|2[0-3]):[0-5]\d$/, m('backupTime'))
            .default('01:30'),
          keep: z
            .strictObject({
              daily: z.number().int().min(1, m('keep')).max(1000, m('keep')).default(7),
              weekly: z.number().int().min(0, m('keep')).max(1000, m('keep')).default(4),
              monthly: z.number().int().min(0, m('keep')).max(1000, m('keep')).default(12),
            })
            .prefault({}),
        })
        .prefault({}),
      // The print server (`print` module): queues setup adds with lpadmin, shared to Windows
      // through Samba's [printers]. IPP Everywhere (driverless) first; `cups-pdf` is a virtual
      // PDF printer (Debian's printer-driver-cups-pdf).
      print: z
        .strictObject({
          printers: z
            .array(
              z.discriminatedUnion('driver', [
                z.strictObject({
                  name: printerName,
                  driver: z.literal('everywhere'),
                  uri: z.string().refine(isIppUri, m('printerUri')),
                  description: printerText,
                  location: printerText,
                }),
                z.strictObject({
                  name: printerName,
                  driver: z.literal('cups-pdf'),
                  description: printerText,
                  location: printerText,
                }),
              ]),
            )
            .default([])
            .refine((list) => new Set(list.map((p) => p.name.toLowerCase())).size === list.length, m('printerClash')),
        })
        .prefault({}),
      // Housekeeping timers (the original's clean_transfer / clean_recycle and their defaults).
      housekeeping: z
        .strictObject({
          transfer: z
            .strictObject({
              enabled: z.boolean().default(true),
              days: z.number().int().min(1, m('days')).max(3650, m('days')).default(21),
            })
            .prefault({}),
          recycle: z
            .strictObject({
              enabled: z.boolean().default(true),
              days: z.number().int().min(1, m('days')).max(3650, m('days')).default(30),
            })
            .prefault({}),
        })
        .prefault({}),
      // WebDAV access to the shares (`webdav`): Apache on the LAN address at this port (8444: the
      // original's fixed internal port, open in the internal zone, never drawn as a random port);
      // `external: true` opens it on the WAN side too.
      webdav: z
        .strictObject({
          port: servicePort().default(8444),
          external: z.boolean().default(false),
        })
        .prefault({}),
      // NFSv4 (`nfs`, optional): /srv/nfs4_base with home and shares for the LAN and the VPN,
      // Kerberos with privacy by default; `sys` trusts the client's uid and only if the admin asks.
      nfs: z
        .strictObject({
          enabled: z.boolean().default(false),
          security: z.enum(['krb5p', 'krb5i', 'krb5', 'sys']).default('krb5p'),
        })
        .prefault({}),
    })
    .superRefine((a, ctx) => {
      const lan = parseCidr(a.lan.address);
      const vpn = a.vpn ? parseCidr(a.vpn.network) : undefined;
      if (lan && vpn && overlaps(lan, vpn))
        ctx.addIssue({ code: 'custom', message: m('vpnOverlap'), path: ['vpn', 'network'] });
      // With a VPN: the site pool and every branch subnet apart from the LAN, the VPN and each other.
      const taken = [lan, vpn].filter((c) => c !== undefined);
      const nets = !a.vpn
        ? []
        : [
            { path: ['openvpn', 'siteNetwork'], text: a.openvpn.siteNetwork },
            ...a.openvpn.sites.flatMap((site, i) =>
              site.subnets.map((text, j) => ({ path: ['openvpn', 'sites', i, 'subnets', j], text })),
            ),
          ];
      for (const net of nets) {
        const cidr = parseCidr(net.text);
        if (!cidr) continue;
        if (taken.some((t) => overlaps(t, cidr)))
          ctx.addIssue({ code: 'custom', message: m('siteOverlap'), path: net.path });
        taken.push(cidr);
      }
      const names = a.openvpn.sites.map((s) => s.name);
      if (new Set(names).size !== names.length)
        ctx.addIssue({ code: 'custom', message: m('siteName'), path: ['openvpn', 'sites'] });
      const ovpn = a.openvpn.port;
      const ports = [a.ssh.port, a.portal.port, ovpn, ovpn === undefined ? undefined : ovpn + 1].filter(
        (p) => p !== undefined,
      );
      if (new Set(ports).size !== ports.length)
        ctx.addIssue({ code: 'custom', message: m('portClash'), path: ['portal', 'port'] });
      if (ports.includes(a.webdav.port))
        ctx.addIssue({ code: 'custom', message: m('webdavClash'), path: ['webdav', 'port'] });
      if (a.mail.webmail && [...ports, a.webdav.port].includes(a.mail.webmailPort))
        ctx.addIssue({ code: 'custom', message: m('webmailClash'), path: ['mail', 'webmailPort'] });
    });
}

/** Validated answers. */
export type Answers = z.output<ReturnType<typeof answersSchema>>;
/** Answers as written in a file (defaults may be left out). */
export type AnswersInput = z.input<ReturnType<typeof answersSchema>>;

/**
 * Validates answers.
 * @param data parsed YAML (or prompts)
 * @param lang language of the messages
 * @returns the answers
 * @throws SetupError `SETUP_INVALID_ANSWERS` listing every bad field as `path: message`
 */
export function validateAnswers(data: unknown, lang: Lang): Answers {
  const result = answersSchema(lang).safeParse(data, { error: z.locales[lang]().localeError });
  if (result.success) return result.data;
  const issues = result.error.issues.map((i) => `${i.path.join('.') || '(top)'}: ${i.message}`);
  throw new SetupError('SETUP_INVALID_ANSWERS', issues.join('\n'), { details: { issues } });
}

/**
 * Parses and validates an answers file.
 * @param text YAML
 * @param lang language of the messages
 * @returns the answers
 * @throws SetupError `SETUP_INVALID_ANSWERS` for YAML errors and bad fields
 */
export function parseAnswers(text: string, lang: Lang): Answers {
  let data: unknown;
  try {
    data = parseYaml(text, { prettyErrors: true });
  } catch (error) {
    throw new SetupError('SETUP_INVALID_ANSWERS', `YAML: ${(error as Error).message}`, { cause: error });
  }
  return validateAnswers(data, lang);
}

/**
 * The answers as YAML, with a header saying what the file is.
 * @param answers validated answers
 * @returns the file content
 */
export function renderAnswers(answers: Answers): string {
  return `# invis-setup answers (no secrets: those are in /etc/invis/secrets)\n${stringifyYaml(answers)}`;
}

/**
 * Reads the saved answers.
 * @param fs the (rooted) file system
 * @param lang language of the messages
 * @returns the answers
 * @throws SetupError `SETUP_NO_ANSWERS` before `init`; `SETUP_INVALID_ANSWERS` when the file is bad
 */
export async function loadAnswers(fs: SetupFs, lang: Lang): Promise<Answers> {
  const text = await fs.readFileIfExists(ANSWERS_PATH);
  if (text === undefined) {
    throw new SetupError('SETUP_NO_ANSWERS', `no ${ANSWERS_PATH}: run "invis-setup init" first`);
  }
  return parseAnswers(text, lang);
}

/** Default answers read from the machine (prompt defaults; also filled into a partial answers file). */
export interface MachineDefaults {
  hostname: string;
  domain: string;
  interfaces: { intern: string; extern: string };
  lanAddress: string;
}

/**
 * Reads defaults from the machine: NIC names from `/sys/class/net` (`intern`/`extern` when they
 * exist, else the first two), the LAN address of `intern` from `ip -j addr`, host name and domain
 * from `/etc/hostname`. Anything unreadable falls back to the original's example values.
 * @param fs the (rooted) file system
 * @param runner runs `ip` (read-only)
 * @returns the defaults
 */
export async function machineDefaults(fs: SetupFs, runner: CommandRunner): Promise<MachineDefaults> {
  const nics = (await fs.readdir('/sys/class/net')).filter((n) => n !== 'lo' && NIC.test(n)).sort();
  const intern = nics.includes('intern') ? 'intern' : (nics[0] ?? 'intern');
  const extern = nics.includes('extern') ? 'extern' : (nics.find((n) => n !== intern) ?? 'extern');
  const fqdn = ((await fs.readFileIfExists('/etc/hostname')) ?? '').trim().toLowerCase();
  const [host, ...rest] = fqdn.split('.');
  return {
    hostname: host && HOSTNAME.test(host) ? host : 'invis',
    domain: rest.length >= 2 ? rest.join('.') : 'invis-net.loc',
    interfaces: { intern, extern },
    lanAddress: (await addressOf(runner, intern)) ?? '192.168.220.10/24',
  };
}

const ipAddrSchema = z.array(
  z.object({
    addr_info: z.array(z.object({ family: z.string(), local: z.string(), prefixlen: z.number() })).default([]),
  }),
);

async function addressOf(runner: CommandRunner, nic: string): Promise<string | undefined> {
  try {
    const result = await runner.run('ip', ['-j', '-4', 'addr', 'show', 'dev', nic]);
    if (result.exitCode !== 0) return undefined;
    const parsed = ipAddrSchema.safeParse(JSON.parse(result.stdout));
    const info = parsed.success ? parsed.data[0]?.addr_info.find((a) => a.family === 'inet') : undefined;
    return info ? `${info.local}/${info.prefixlen}` : undefined;
  } catch {
    // No `ip` or no such interface: the example address is the default.
    return undefined;
  }
}

// The NFSv4 export model of an invis server and its two renderings: `/etc/exports` for the kernel
// server (a pseudo root `fsid=0` with `home` and `shares` bind-mounted below it) and the
// nfs-ganesha configuration (the same pseudo paths, exported from the real folders). Both are
// parsed back: the checker of each file is "parse, render again, get the same text", since
// neither exportfs (it needs the kernel server) nor ganesha (no config-test mode) checks a file.
import { generatedMarker } from '@invis/host';
import { SetupError } from './errors';

/** Kerberos flavours (`krb5p`: authentication, integrity and privacy) or `sys` (the client's uid is trusted). */
export type NfsSecurity = 'krb5p' | 'krb5i' | 'krb5' | 'sys';
const SECURITIES: readonly NfsSecurity[] = ['krb5p', 'krb5i', 'krb5', 'sys'];

/** What the server exports, to whom and how. */
export interface NfsExportModel {
  /** The kernel server's pseudo root (`fsid=0`); `<root>/<name>` is where each export is bind-mounted. */
  root: string;
  /** Each export: its name below the pseudo root and the real folder. */
  exports: readonly { name: string; source: string }[];
  /** Networks (CIDR) that may mount, read and write. */
  clients: readonly string[];
  security: NfsSecurity;
}

/** nfs-ganesha's view of the model: no pseudo-root folder, but the address it listens on. */
export interface GaneshaModel {
  bind: string;
  exports: NfsExportModel['exports'];
  clients: NfsExportModel['clients'];
  security: NfsSecurity;
  keytab: string;
}

const NAME = /^[a-z][a-z0-9_-]{0,31}$/;
const PATH = /^\/[A-Za-z0-9._/-]*$/;
const CIDR = /^\d{1,3}(?:\.\d{1,3}){3}\/\d{1,2}$/;

const refuse = (file: string, why: string, line?: number): SetupError =>
  new SetupError('SETUP_CHECK_FAILED', `${file}${line === undefined ? '' : ` line ${line}`}: ${why}`, {
    details: { file, ...(line === undefined ? {} : { line }) },
  });

/** Refuses a model whose values would not survive either file's syntax. */
function assertModel(m: Pick<NfsExportModel, 'exports' | 'clients' | 'security'>, file: string): void {
  if (m.exports.length === 0) throw refuse(file, 'no export');
  for (const e of m.exports) {
    if (!NAME.test(e.name)) throw refuse(file, `bad export name ${JSON.stringify(e.name)}`);
    if (!PATH.test(e.source) || e.source.split('/').includes('..')) {
      throw refuse(file, `bad path ${JSON.stringify(e.source)}`);
    }
  }
  if (new Set(m.exports.map((e) => e.name)).size !== m.exports.length) throw refuse(file, 'an export name twice');
  if (m.clients.length === 0) throw refuse(file, 'no client network (an export to nobody, or to everyone)');
  for (const c of m.clients) if (!CIDR.test(c)) throw refuse(file, `bad client network ${JSON.stringify(c)}`);
  if (!SECURITIES.includes(m.security)) throw refuse(file, `bad security ${JSON.stringify(m.security)}`);
}

const rootOptions = (sec: NfsSecurity) => [
  'rw',
  'sync',
  'fsid=0',
  'crossmnt',
  'no_subtree_check',
  'root_squash',
  `sec=${sec}`,
];
const childOptions = (sec: NfsSecurity) => ['rw', 'sync', 'no_subtree_check', 'root_squash', `sec=${sec}`];

/**
 * `/etc/exports` for the kernel server: the pseudo root and each bind-mounted export, read-write
 * for the client networks only, root squashed, with the model's security flavour.
 * @param model the export model
 * @returns the file content
 * @throws SetupError `SETUP_CHECK_FAILED` for a model the file cannot carry
 */
export function renderExports(model: NfsExportModel): string {
  assertModel(model, 'exports');
  if (!PATH.test(model.root)) throw refuse('exports', `bad root ${JSON.stringify(model.root)}`);
  const line = (path: string, options: string[]) =>
    `${path} ${model.clients.map((c) => `${c}(${options.join(',')})`).join(' ')}`;
  return [
    generatedMarker('@invis/setup-1', 'hash'),
    '# NFSv4: the pseudo root and the folders bind-mounted below it, for the LAN and the VPN (invis-setup module nfs).',
    line(model.root, rootOptions(model.security)),
    ...model.exports.map((e) => line(`${model.root}/${e.name}`, childOptions(model.security))),
    '',
  ].join('\n');
}

/** One line of `/etc/exports`: a path and its clients with their options. */
export interface ExportsEntry {
  path: string;
  clients: { host: string; options: string[] }[];
}

/**
 * Parses `/etc/exports` (exports(5): comments, continuation lines, `host(options)` lists).
 * Fail closed: a quoted path, a default `-options` word, a host without options or anything else
 * it does not know is an error, never skipped.
 * @param text the file
 * @returns the entries in order
 * @throws SetupError `SETUP_CHECK_FAILED` naming the line
 */
export function parseExports(text: string): ExportsEntry[] {
  const entries: ExportsEntry[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const number = i + 1;
    let line = lines[i] ?? '';
    while (line.endsWith('\\') && i + 1 < lines.length) line = `${line.slice(0, -1)} ${lines[++i] ?? ''}`;
    const body = line.replace(/#.*$/, '').trim();
    if (body === '') continue;
    const [path, ...words] = body.split(/\s+/);
    if (path === undefined || !PATH.test(path)) throw refuse('exports', `not a plain absolute path: ${path}`, number);
    if (words.length === 0) throw refuse('exports', `${path} is exported to nobody named (everyone)`, number);
    const clients = words.map((word) => {
      const match = /^([A-Za-z0-9.:/*?_-]+)\(([a-z0-9_=:,]*)\)$/.exec(word);
      if (!match?.[1]) throw refuse('exports', `not host(options): ${word}`, number);
      return { host: match[1], options: (match[2] ?? '').split(',').filter((o) => o !== '') };
    });
    entries.push({ path, clients });
  }
  return entries;
}

/**
 * The export model of a parsed `/etc/exports` that {@link renderExports} wrote: the `fsid=0` entry
 * is the root, every other entry an export below it, the same clients and options everywhere.
 * @param entries parsed lines
 * @returns the model
 * @throws SetupError `SETUP_CHECK_FAILED` when the file is not of that shape
 */
export function exportsModel(entries: readonly ExportsEntry[]): NfsExportModel {
  const [first, ...rest] = entries;
  if (!first) throw refuse('exports', 'no export');
  const clients = first.clients.map((c) => c.host);
  const sec = first.clients[0]?.options.find((o) => o.startsWith('sec='))?.slice(4) as NfsSecurity | undefined;
  if (sec === undefined || !SECURITIES.includes(sec)) throw refuse('exports', 'no sec= on the root');
  const same = (entry: ExportsEntry, options: string[]) =>
    entry.clients.length === clients.length &&
    entry.clients.every((c, i) => c.host === clients[i] && c.options.join(',') === options.join(','));
  if (!same(first, rootOptions(sec))) throw refuse('exports', `${first.path}: not the pseudo root invis exports`);
  const exports = rest.map((entry) => {
    if (!entry.path.startsWith(`${first.path}/`) || !same(entry, childOptions(sec))) {
      throw refuse('exports', `${entry.path}: not an export below ${first.path} with the root's clients`);
    }
    // The file names only the bind-mount points; what is mounted there lives in the mount units.
    return { name: entry.path.slice(first.path.length + 1), source: entry.path };
  });
  return { root: first.path, exports, clients, security: sec };
}

/**
 * The nfs-ganesha configuration: NFSv4 over TCP only on the LAN address, no NLM/RQUOTA, Kerberos
 * with the server's keytab when the flavour is one of krb5*, each export at `/<name>` from its real
 * folder (VFS), closed by default (`Access_Type = None`) and read-write for the client networks,
 * root squashed.
 * @param model the ganesha model
 * @returns the file content
 * @throws SetupError `SETUP_CHECK_FAILED` for a model the file cannot carry
 */
export function renderGanesha(model: GaneshaModel): string {
  assertModel(model, 'ganesha.conf');
  if (!/^\d{1,3}(?:\.\d{1,3}){3}$/.test(model.bind)) throw refuse('ganesha.conf', `bad address ${model.bind}`);
  if (!PATH.test(model.keytab)) throw refuse('ganesha.conf', `bad keytab path ${model.keytab}`);
  const block = (name: string, body: string[]): string[] => [`${name} {`, ...body.map((l) => `\t${l}`), '}'];
  return [
    generatedMarker('@invis/setup-1', 'hash'),
    '# NFSv4 with nfs-ganesha: the export model of /etc/exports (invis-setup module nfs).',
    ...block('NFS_CORE_PARAM', [
      'Protocols = 4;',
      `Bind_addr = ${model.bind};`,
      'Enable_NLM = false;',
      'Enable_RQUOTA = false;',
      'Enable_UDP = false;',
    ]),
    // A 30 s lease (clients renew within it: nothing on a LAN) and after a restart 45 s for
    // clients to reclaim their locks before new opens are served (ganesha's and the kernel's
    // defaults: 60 s and 90 s), so the shares are back sooner after an update or a reboot.
    ...block('NFSV4', ['RecoveryBackend = fs;', 'Lease_Lifetime = 30;', 'Grace_Period = 45;']),
    ...block('NFS_KRB5', [
      'PrincipalName = nfs;',
      `KeytabPath = ${model.keytab};`,
      `Active_krb5 = ${model.security === 'sys' ? 'false' : 'true'};`,
    ]),
    ...model.exports.flatMap((e, i) =>
      block('EXPORT', [
        `Export_Id = ${i + 1};`,
        `Path = ${e.source};`,
        `Pseudo = /${e.name};`,
        'Protocols = 4;',
        'Transports = TCP;',
        'Access_Type = None;',
        'Squash = root_squash;',
        `SecType = ${model.security};`,
        ...block('FSAL', ['Name = VFS;']),
        ...block('CLIENT', [`Clients = ${model.clients.join(', ')};`, 'Access_Type = RW;']),
      ]),
    ),
    '',
  ].join('\n');
}

/** A parsed ganesha block: its `key = value;` pairs (keys lower-cased, as ganesha reads them) and sub-blocks. */
export interface GaneshaBlock {
  name: string;
  values: Record<string, string>;
  blocks: GaneshaBlock[];
}

/**
 * Parses the nfs-ganesha configuration syntax (blocks `NAME { key = value; … }`, `#` comments).
 * Fail closed: `%include`, a key twice in a block, an unterminated block or value is an error.
 * @param text the file
 * @returns the top-level blocks in order
 * @throws SetupError `SETUP_CHECK_FAILED`
 */
export function parseGanesha(text: string): GaneshaBlock[] {
  const tokens = text
    .split('\n')
    .map((l) => l.replace(/#.*$/, ''))
    .join('\n')
    // A list value (`a, b`) is one token; a stray comma is a token of its own (and refused).
    .match(/[{};=,]|[^\s{};=,]+(?:[ \t]*,[ \t]*[^\s{};=,]+)*/g);
  const top: GaneshaBlock = { name: '', values: {}, blocks: [] };
  const stack: GaneshaBlock[] = [top];
  const list = tokens ?? [];
  for (let i = 0; i < list.length; i++) {
    const token = list[i] as string;
    const current = stack.at(-1) as GaneshaBlock;
    if (token.startsWith('%')) throw refuse('ganesha.conf', `${token} is not allowed in a file setup owns`);
    if (token === '}') {
      if (stack.length === 1) throw refuse('ganesha.conf', 'a } without its block');
      stack.pop();
      continue;
    }
    const next = list[i + 1];
    if (next === '{') {
      const child: GaneshaBlock = { name: token.toUpperCase(), values: {}, blocks: [] };
      current.blocks.push(child);
      stack.push(child);
      i += 1;
      continue;
    }
    if (next === '=' && list[i + 3] === ';' && stack.length > 1) {
      const key = token.toLowerCase();
      if (key in current.values) throw refuse('ganesha.conf', `${token} twice in ${current.name}`);
      current.values[key] = (list[i + 2] as string).replace(/\s*,\s*/g, ', ');
      i += 3;
      continue;
    }
    throw refuse('ganesha.conf', `unexpected ${JSON.stringify(token)}`);
  }
  if (stack.length !== 1) throw refuse('ganesha.conf', `block ${stack.at(-1)?.name} is not closed`);
  return top.blocks;
}

/**
 * The ganesha model of a parsed configuration that {@link renderGanesha} wrote.
 * @param blocks parsed blocks
 * @returns the model
 * @throws SetupError `SETUP_CHECK_FAILED` when a block or value is missing
 */
export function ganeshaModel(blocks: readonly GaneshaBlock[]): GaneshaModel {
  const one = (name: string) => {
    const found = blocks.filter((b) => b.name === name);
    if (found.length !== 1) throw refuse('ganesha.conf', `expected one ${name} block`);
    return found[0] as GaneshaBlock;
  };
  const value = (block: GaneshaBlock, key: string) => {
    const v = block.values[key.toLowerCase()];
    if (v === undefined) throw refuse('ganesha.conf', `${block.name} has no ${key}`);
    return v;
  };
  const exportBlocks = blocks.filter((b) => b.name === 'EXPORT');
  const first = exportBlocks[0];
  if (!first) throw refuse('ganesha.conf', 'no EXPORT block');
  const clientsOf = (b: GaneshaBlock) => {
    const client = b.blocks.find((c) => c.name === 'CLIENT');
    if (!client) throw refuse('ganesha.conf', 'an EXPORT without CLIENT');
    return value(client, 'Clients');
  };
  return {
    bind: value(one('NFS_CORE_PARAM'), 'Bind_addr'),
    keytab: value(one('NFS_KRB5'), 'KeytabPath'),
    security: value(first, 'SecType') as NfsSecurity,
    clients: clientsOf(first).split(', '),
    exports: exportBlocks.map((b) => {
      if (value(b, 'SecType') !== value(first, 'SecType') || clientsOf(b) !== clientsOf(first)) {
        throw refuse('ganesha.conf', 'exports with different clients or security');
      }
      return { name: value(b, 'Pseudo').replace(/^\//, ''), source: value(b, 'Path') };
    }),
  };
}

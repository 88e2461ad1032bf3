import { MailRewriteError } from './errors';
import { type FetchProtocol, type FetchTls, isFetched, type MailConfig } from './model';
import { MARKER } from './postfix';

/** One mailbox fetched by fetchmail and delivered to a local address. */
export interface FetchmailUser {
  login: string;
  password: string;
  /** Envelope recipient handed to the local SMTP server. */
  localAddress: string;
  tls: FetchTls;
  keep: boolean;
  fetchAll: boolean;
  folders: string[];
  /** `host/port` of the local SMTP listener. */
  smtpHost: string;
  /** CA bundle for `sslcertck` (default: the system store). */
  sslCertFile?: string | undefined;
  /** Certificate name to expect instead of the server name. */
  sslCommonName?: string | undefined;
}

/** One `poll` stanza: a server and the mailboxes fetched from it. */
export interface FetchmailPoll {
  server: string;
  protocol: FetchProtocol;
  port: number;
  users: FetchmailUser[];
}

/** A fetchmail run-control file as data. */
export interface FetchmailRc {
  postmaster?: string | undefined;
  idFile?: string | undefined;
  polls: FetchmailPoll[];
}

/** Options of {@link buildFetchmailRc}. */
export interface FetchmailOptions {
  /** Local SMTP listener fetchmail delivers to, e.g. `127.0.0.1`. */
  smtpHost: string;
  /** Default 25. */
  smtpPort?: number;
  /** Gets bounces fetchmail cannot deliver; default `postmaster@<localDomain>`. */
  postmaster?: string;
  /** UIDL state file (keep it out of $HOME). */
  idFile?: string;
  /** CA bundle for certificate checks. */
  sslCertFile?: string;
}

/**
 * Builds the rc data from the configuration. Presence decides what is polled: accounts of
 * absent users are left out, so their mail stays at the provider. One `poll` per
 * server/protocol/port, sorted, so the output is stable.
 */
export function buildFetchmailRc(config: MailConfig, options: FetchmailOptions): FetchmailRc {
  const polls = new Map<string, FetchmailPoll>();
  const smtpHost = `${options.smtpHost}/${options.smtpPort ?? 25}`;
  for (const user of config.users) {
    if (!isFetched(user)) continue;
    for (const a of user.accounts) {
      const key = `${a.server} ${a.protocol} ${a.port}`;
      let poll = polls.get(key);
      if (!poll) {
        poll = { server: a.server, protocol: a.protocol, port: a.port, users: [] };
        polls.set(key, poll);
      }
      poll.users.push({
        login: a.login,
        password: a.password,
        localAddress: user.localAddress,
        tls: a.tls,
        keep: a.keep,
        fetchAll: a.fetchAll,
        folders: a.protocol === 'imap' ? a.folders : [],
        smtpHost,
        sslCertFile: a.tls === 'none' ? undefined : options.sslCertFile,
        sslCommonName: a.tls === 'none' ? undefined : a.tlsServerName,
      });
    }
  }
  return {
    postmaster: options.postmaster ?? `postmaster@${config.localDomain}`,
    idFile: options.idFile,
    polls: [...polls.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, p]) => p),
  };
}

/**
 * Quotes a string for the fetchmail rc. fetchmail's lexer ends a "…" string at the next `"`
 * whatever precedes it, so `"` is written as the hex escape `\x22` and `\` as `\\`; control
 * characters are hex-escaped too, so nothing can end the line.
 */
export function quoteFetchmail(value: string): string {
  let out = '"';
  for (const ch of value) {
    const code = ch.codePointAt(0) as number;
    if (ch === '"') out += '\\x22';
    else if (ch === '\\') out += '\\\\';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function tlsOptions(u: FetchmailUser): string[] {
  const ca = [
    ...(u.sslCertFile === undefined ? [] : ['sslcertfile', quoteFetchmail(u.sslCertFile)]),
    ...(u.sslCommonName === undefined ? [] : ['sslcommonname', quoteFetchmail(u.sslCommonName)]),
  ];
  if (u.tls === 'implicit') return ['ssl', 'sslcertck', ...ca];
  if (u.tls === 'starttls') return ['sslproto', quoteFetchmail('TLS1.2+'), 'sslcertck', ...ca];
  // fetchmail 6.4 tries STARTTLS even when not offered; an empty sslproto disables that.
  return ['sslproto', quoteFetchmail('')];
}

/**
 * Renders the rc (install it 0600, owned by the fetchmail user). Every value is quoted.
 * @example renderFetchmailRc(buildFetchmailRc(config, { smtpHost: '127.0.0.1' }))
 */
export function renderFetchmailRc(rc: FetchmailRc): string {
  const lines = [MARKER, 'set no bouncemail', 'set no spambounce'];
  if (rc.postmaster !== undefined) lines.push(`set postmaster ${quoteFetchmail(rc.postmaster)}`);
  if (rc.idFile !== undefined) lines.push(`set idfile ${quoteFetchmail(rc.idFile)}`);
  for (const p of rc.polls) {
    lines.push(
      '',
      `poll ${quoteFetchmail(p.server)} with protocol ${p.protocol.toUpperCase()} service ${p.port}${p.protocol === 'pop3' ? ' uidl' : ''}`,
    );
    for (const u of p.users) {
      lines.push(
        `  user ${quoteFetchmail(u.login)} there with password ${quoteFetchmail(u.password)} is ${quoteFetchmail(u.localAddress)} here`,
      );
      const opts = [...tlsOptions(u), u.keep ? 'keep' : 'nokeep', ...(u.fetchAll ? ['fetchall'] : [])];
      lines.push(`    options ${opts.join(' ')}`);
      if (u.folders.length > 0) lines.push(`    folder ${u.folders.map(quoteFetchmail).join(' ')}`);
      lines.push(`    smtphost ${quoteFetchmail(u.smtpHost)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

interface Token {
  value: string;
  quoted: boolean;
  line: number;
}

// fetchmail's escapes(): \xHH, \0ooo, \ddd, \n \t \r \b, backslash-newline, else the char itself.
function unescapeFetchmail(s: string): string {
  return s.replace(/\\(x[0-9a-fA-F]{1,2}|0[0-7]{0,3}|[1-9][0-9]{0,2}|\n|[\s\S]?)/g, (_, e: string) => {
    if (e === '' || e === '\n') return '';
    if (e[0] === 'x' || e[0] === 'X') return String.fromCharCode(Number.parseInt(e.slice(1), 16));
    if (e[0] === '0') return String.fromCharCode(Number.parseInt(e.slice(1) || '0', 8));
    if (/^[1-9]/.test(e)) return String.fromCharCode(Number.parseInt(e, 10));
    return ({ n: '\n', t: '\t', r: '\r', b: '\b' } as Record<string, string>)[e] ?? e;
  });
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  const re = /"([^"]*)"|'([^']*)'|#[^\n]*|([^\s"'#,:;]+)|([,:;])|(\s+)|(["'])/g;
  let line = 1;
  for (let m = re.exec(text); m !== null; m = re.exec(text)) {
    if (m[6] !== undefined) {
      throw new MailRewriteError('MAIL_PARSE_ERROR', `line ${line}: unterminated quoted string`, { details: { line } });
    }
    if (m[1] !== undefined || m[2] !== undefined) {
      tokens.push({ value: unescapeFetchmail((m[1] ?? m[2]) as string), quoted: true, line });
    } else if (m[3] !== undefined) tokens.push({ value: m[3], quoted: false, line });
    line += (m[0].match(/\n/g) ?? []).length;
  }
  return tokens;
}

// Words fetchmail ignores anywhere (its "noise" keywords).
const NOISE = new Set(['and', 'with', 'has', 'wants', 'options', 'there', 'here']);

/**
 * Parses an rc in the subset this package writes (plus fetchmail's noise words and both
 * quote styles). Unknown keywords are an error rather than silently dropped, so a hand
 * edit is noticed instead of lost.
 * @throws MailRewriteError `MAIL_PARSE_ERROR` with the line number
 */
export function parseFetchmailRc(text: string): FetchmailRc {
  const tokens = tokenize(text).filter((t) => t.quoted || !NOISE.has(t.value));
  const rc: FetchmailRc = { polls: [] };
  let i = 0;
  const fail = (message: string, t?: Token): never => {
    const line = t?.line ?? tokens[tokens.length - 1]?.line ?? 0;
    throw new MailRewriteError('MAIL_PARSE_ERROR', `line ${line}: ${message}`, { details: { line } });
  };
  const next = (what: string): Token => tokens[i++] ?? fail(`expected ${what}`);
  const word = (t: Token | undefined): string | undefined => (t && !t.quoted ? t.value : undefined);
  const number = (what: string): number => {
    const t = next(what);
    if (!/^\d{1,5}$/.test(t.value)) fail(`expected ${what}`, t);
    return Number(t.value);
  };
  let poll: FetchmailPoll | undefined;
  let user: FetchmailUser | undefined;
  while (i < tokens.length) {
    const t = next('keyword');
    const kw = word(t);
    if (kw === 'set') {
      const what = next('set option');
      if (what.value === 'no') next('set no option');
      else if (what.value === 'postmaster') rc.postmaster = next('postmaster').value;
      else if (what.value === 'idfile') rc.idFile = next('idfile').value;
      else fail(`unsupported "set ${what.value}"`, what);
    } else if (kw === 'poll') {
      poll = { server: next('server').value, protocol: 'pop3', port: 0, users: [] };
      user = undefined;
      rc.polls.push(poll);
    } else if (poll && !user && (kw === 'protocol' || kw === 'proto')) {
      const p = next('protocol').value.toLowerCase();
      if (p !== 'pop3' && p !== 'imap') fail(`unsupported protocol ${p}`, t);
      poll.protocol = p as FetchProtocol;
    } else if (poll && !user && (kw === 'service' || kw === 'port')) {
      poll.port = number('port');
    } else if (poll && !user && kw === 'uidl') {
      // implied for POP3 in what we write
    } else if (poll && (kw === 'user' || kw === 'username')) {
      const login = next('login').value;
      const pw = word(next('password keyword'));
      if (pw !== 'password' && pw !== 'pass') fail('expected password', tokens[i - 1]);
      const password = next('password').value;
      if (word(next('is')) !== 'is') fail('expected is', tokens[i - 1]);
      user = {
        login,
        password,
        localAddress: next('local address').value,
        tls: 'none',
        keep: false,
        fetchAll: false,
        folders: [],
        smtpHost: '',
      };
      poll.users.push(user);
    } else if (user && kw === 'ssl') user.tls = 'implicit';
    else if (user && kw === 'sslcertck') {
      if (user.tls === 'none') user.tls = 'starttls';
    } else if (user && kw === 'sslproto') {
      const proto = next('sslproto').value;
      if (user.tls !== 'implicit') user.tls = proto === '' ? 'none' : 'starttls';
    } else if (user && kw === 'sslcertfile') user.sslCertFile = next('sslcertfile').value;
    else if (user && kw === 'sslcommonname') user.sslCommonName = next('sslcommonname').value;
    else if (user && kw === 'keep') user.keep = true;
    else if (user && kw === 'nokeep') user.keep = false;
    else if (user && kw === 'fetchall') user.fetchAll = true;
    else if (user && (kw === 'folder' || kw === 'folders')) {
      user.folders.push(next('folder').value);
      while (tokens[i]?.quoted) user.folders.push((tokens[i++] as Token).value);
    } else if (user && kw === 'smtphost') user.smtpHost = next('smtphost').value;
    else fail(`unexpected ${t.quoted ? 'string' : `"${t.value}"`}`, t);
  }
  for (const p of rc.polls) {
    if (p.port === 0) p.port = p.protocol === 'pop3' ? 110 : 143;
  }
  return rc;
}

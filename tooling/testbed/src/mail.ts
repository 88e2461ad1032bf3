// Private Postfix + Dovecot instances on their own loopback address (lab notes §1):
// - startMailServer: the invis server (Postfix :25 → LMTP :24 → Dovecot with Pigeonhole Sieve);
// - startMailProvider: an "external provider" (Postfix MX :25 + submission :587 with STARTTLS
//   and SASL via Dovecot auth, Dovecot POP3 :110 / IMAP :143).
// Nothing under /etc is touched; mail is stored as the Debian user `mail` (uid 8).
import { execFileSync } from 'node:child_process';
import { chmod, chown, mkdir, readdir, readFile, utimes, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { TestbedError } from './errors';
import { type Daemon, onExitCleanup, run, spawnDaemon, stopProcessGroup, waitUntilReady } from './process';
import { type RunningServer, startOnLoopback } from './server';
import { createTestPki } from './tls';

/** A mailbox of a test server. */
export interface TestMailbox {
  address: string;
  password: string;
}

/** Numeric owner of the maildirs (the Debian `mail` user). */
export interface MailOwner {
  uid: number;
  gid: number;
}

/** The invis mail server under test. */
export interface MailServerInfo {
  address: string;
  /** Internal mail domain delivered to Dovecot. */
  domain: string;
  smtpPort: number;
  /** Postfix config directory (main.cf the library under test edits). */
  postfixConfigDir: string;
  maillog: string;
  /** Dovecot home of `local@domain` is `<homesDir>/<domain>/<local>`; Maildir below it. */
  homesDir: string;
  dovecotConfig: string;
  /** Dovecot's SASL service for Postfix (`smtpd_sasl_type = dovecot`); logins are the mailbox addresses. */
  saslPath: string;
  owner: MailOwner;
  dir: string;
}

/** The simulated external provider. */
export interface MailProviderInfo {
  address: string;
  domains: string[];
  smtpPort: number;
  submissionPort: number;
  pop3Port: number;
  imapPort: number;
  /** CA that signed the submission/IMAP/POP3 certificate (SAN = the address). */
  caFile: string;
  postfixConfigDir: string;
  maillog: string;
  /** Maildir of `local@domain` is `<vmailDir>/<domain>/<local>`. */
  vmailDir: string;
  dovecotConfig: string;
  dir: string;
}

/** A running invis mail server. */
export type MailServer = RunningServer<MailServerInfo>;
/** A running provider. */
export type MailProvider = RunningServer<MailProviderInfo>;

/** Whether a TCP connect to `address:port` succeeds. */
export function tcpOpen(address: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: address, port, timeout: timeoutMs });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

function mailOwner(): MailOwner {
  try {
    const uid = Number(execFileSync('id', ['-u', 'mail'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'mail'], { encoding: 'utf8' }).trim());
    return { uid, gid };
  } catch (cause) {
    throw new TestbedError('TESTBED_NOT_INSTALLED', 'the system user "mail" is missing', { cause });
  }
}

const splitAddress = (address: string): [string, string] => {
  const at = address.lastIndexOf('@');
  return [address.slice(0, at), address.slice(at + 1)];
};

async function hashPassword(password: string): Promise<string> {
  return (await run('doveadm', ['pw', '-s', 'SHA512-CRYPT', '-p', password])).trim();
}

/** Base main.cf of a private instance in `dir` (lab notes 1.1 and pitfalls 1–5). */
function baseMainCf(dir: string, address: string, hostname: string): Record<string, string> {
  return {
    compatibility_level: '3.6',
    myhostname: hostname,
    queue_directory: join(dir, 'spool'),
    data_directory: join(dir, 'data'),
    maillog_file_prefixes: `/var, /dev/stdout, ${dir}`,
    maillog_file: join(dir, 'maillog'),
    inet_interfaces: address,
    inet_protocols: 'ipv4',
    smtp_bind_address: address,
    mydestination: '',
    alias_maps: '',
    alias_database: '',
    smtputf8_enable: 'no',
  };
}

/** Writes main.cf + master.cf and starts `postfix start-fg`; ready when every port answers. */
async function startPostfix(
  dir: string,
  address: string,
  mainCf: Record<string, string>,
  services: Record<string, string>,
): Promise<{ stop(): Promise<void>; confDir: string; readyMs: number }> {
  const confDir = join(dir, 'conf');
  await mkdir(confDir, { recursive: true });
  await mkdir(join(dir, 'data'), { recursive: true });
  await mkdir(join(dir, 'spool'), { recursive: true });
  await chown(join(dir, 'data'), ...postfixOwner());
  await writeFile(join(confDir, 'master.cf'), await readFile('/etc/postfix/master.cf', 'utf8'));
  const lines = Object.entries(mainCf).map(([k, v]) => `${k} = ${v}`);
  await writeFile(join(confDir, 'main.cf'), `${lines.join('\n')}\n`);
  // Postfix stalls ~2 s in every command while main.cf is younger than 2 s.
  const past = new Date(Date.now() - 3000);
  await utimes(join(confDir, 'main.cf'), past, past);
  await run('postconf', ['-c', confDir, '-M#', 'smtp/inet']);
  for (const [name, line] of Object.entries(services)) await run('postconf', ['-c', confDir, '-Me', `${name}=${line}`]);
  await run('postconf', ['-c', confDir, '-F', '*/*/chroot = n']);
  // Postfix writes its reasons to the maillog, not to stderr (no tty).
  const withMaillog = async (cause: unknown): Promise<never> => {
    const log = await readFile(join(dir, 'maillog'), 'utf8').catch(() => '(no maillog)');
    throw new TestbedError('TESTBED_DIED', `postfix did not start:\n${log.split('\n').slice(-15).join('\n')}`, {
      cause,
    });
  };
  // start-fg does not create the queue directories; check does.
  await run('postfix', ['-c', confDir, 'check']).catch(withMaillog);
  const daemon = spawnDaemon('postfix', 'postfix', ['-c', confDir, 'start-fg'], join(dir, 'postfix.out'));
  const ports = Object.keys(services).map((s) => Number(s.split('/')[0]?.split(':')[1]));
  const readyMs = await waitUntilReady(
    daemon,
    async () => (await Promise.all(ports.map((p) => tcpOpen(address, p)))).every(Boolean),
    20_000,
    50,
  ).catch(withMaillog);
  // `start-fg` runs `master -s`, which calls setsid(): it is not in the daemon's process group,
  // so it is stopped by its pid file (and at process exit, whatever happens).
  const masterPid = Number((await readFile(join(dir, 'spool', 'pid', 'master.pid'), 'utf8')).trim());
  const forget = onExitCleanup(() => {
    try {
      process.kill(-masterPid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  const stop = async (): Promise<void> => {
    forget();
    await stopProcessGroup(masterPid, 2000);
    await daemon.stop();
  };
  return { stop, confDir, readyMs };
}

function postfixOwner(): [number, number] {
  const uid = Number(execFileSync('id', ['-u', 'postfix'], { encoding: 'utf8' }).trim());
  const gid = Number(execFileSync('id', ['-g', 'postfix'], { encoding: 'utf8' }).trim());
  return [uid, gid];
}

/** Common Dovecot settings of a private instance (lab notes 1.4). */
function dovecotBase(dir: string, address: string, owner: MailOwner, users: string): string {
  return `base_dir = ${join(dir, 'dovecot-run')}
state_dir = ${join(dir, 'dovecot-state')}
log_path = ${join(dir, 'dovecot.log')}
instance_name = invis-${basename(dir)}
listen = ${address}
disable_plaintext_auth = no
auth_failure_delay = 0
auth_mechanisms = plain login
first_valid_uid = ${owner.uid}
passdb {
  driver = passwd-file
  args = scheme=CRYPT username_format=%u ${users}
}
userdb {
  driver = passwd-file
  args = username_format=%u ${users}
}
`;
}

async function startDovecot(dir: string, conf: string, probes: [string, number][]): Promise<Daemon> {
  const file = join(dir, 'dovecot.conf');
  await writeFile(file, conf);
  await run('dovecot', ['-c', file, '-n']);
  const daemon = spawnDaemon('dovecot', 'dovecot', ['-F', '-c', file], join(dir, 'dovecot.out'));
  await waitUntilReady(
    daemon,
    async () => (await Promise.all(probes.map(([a, p]) => tcpOpen(a, p)))).every(Boolean),
    20_000,
    50,
  );
  return daemon;
}

/**
 * Starts the invis mail server: Postfix on `<address>:25` delivering `domain` over LMTP to
 * Dovecot (`<address>:24`) with Pigeonhole Sieve; vacation replies are submitted back to
 * Postfix with the user as envelope sender (`sieve_vacation_send_from_recipient`), so they
 * leave through the user's provider like any other mail.
 */
export async function startMailServer(options: { domain: string; mailboxes: TestMailbox[] }): Promise<MailServer> {
  const owner = mailOwner();
  return startOnLoopback('mail', async ({ dir, address }) => {
    await chmod(dir, 0o755);
    const homesDir = join(dir, 'home');
    await mkdir(homesDir, { recursive: true });
    await chown(homesDir, owner.uid, owner.gid);
    const usersFile = join(dir, 'users');
    const userLines = await Promise.all(
      options.mailboxes.map(async (m) => {
        const [local, domain] = splitAddress(m.address);
        const home = join(homesDir, domain, local);
        // Dovecot (as `mail`) creates Maildir and Sieve state below the home, not the home's parent.
        await mkdir(home, { recursive: true });
        await chown(join(homesDir, domain), owner.uid, owner.gid);
        await chown(home, owner.uid, owner.gid);
        return `${m.address}:${await hashPassword(m.password)}:${owner.uid}:${owner.gid}::${home}::`;
      }),
    );
    await writeFile(usersFile, `${userLines.join('\n')}\n`);
    const dovecot = await startDovecot(
      dir,
      `${dovecotBase(dir, address, owner, usersFile)}protocols = lmtp
ssl = no
mail_uid = ${owner.uid}
mail_gid = ${owner.gid}
mail_location = maildir:~/Maildir
postmaster_address = postmaster@${options.domain}
submission_host = ${address}:25
service lmtp {
  inet_listener lmtp {
    address = ${address}
    port = 24
  }
}
service auth {
  inet_listener auth-postfix {
    address = ${address}
    port = 12345
  }
}
protocol lmtp {
  mail_plugins = $mail_plugins sieve
}
plugin {
  sieve = file:~/sieve;active=~/.dovecot.sieve
  sieve_vacation_send_from_recipient = yes
}
`,
      [
        [address, 24],
        [address, 12345],
      ],
    );
    return withDovecot(dovecot, async () => {
      const postfix = await startPostfix(
        dir,
        address,
        {
          ...baseMainCf(dir, address, `mx.${options.domain}`),
          mydomain: options.domain,
          mynetworks: '127.0.0.0/8',
          smtpd_relay_restrictions: 'permit_mynetworks, reject_unauth_destination',
          local_header_rewrite_clients: 'permit_mynetworks',
          virtual_mailbox_domains: options.domain,
          virtual_transport: `lmtp:inet:[${address}]:24`,
          smtpd_reject_unlisted_recipient: 'no',
          // Logs "Verified TLS connection established to …" for tests that check relays.
          smtp_tls_loglevel: '1',
        },
        { [`${address}:25/inet`]: `${address}:25 inet n - n - - smtpd` },
      );
      return {
        ...postfix,
        info: {
          address,
          domain: options.domain,
          smtpPort: 25,
          postfixConfigDir: postfix.confDir,
          maillog: join(dir, 'maillog'),
          homesDir,
          dovecotConfig: join(dir, 'dovecot.conf'),
          saslPath: `inet:${address}:12345`,
          owner,
          dir,
        },
      };
    });
  });
}

/**
 * Starts a provider for `domains` with the given mailboxes (login = address): MX on :25
 * (no auth, local domains only), submission on :587 (STARTTLS required, SASL via Dovecot,
 * envelope sender must belong to the login), POP3 :110 and IMAP :143 (STARTTLS offered).
 */
export async function startMailProvider(options: {
  domains: string[];
  mailboxes: TestMailbox[];
}): Promise<MailProvider> {
  const owner = mailOwner();
  return startOnLoopback('provider', async ({ dir, address }) => {
    await chmod(dir, 0o755);
    const pki = await createTestPki(join(dir, 'pki'), {
      commonName: `mail.${options.domains[0]}`,
      dnsNames: [`mail.${options.domains[0]}`],
      ipAddresses: [address],
    });
    const vmailDir = join(dir, 'vmail');
    await mkdir(vmailDir, { recursive: true });
    await chown(vmailDir, owner.uid, owner.gid);
    const usersFile = join(dir, 'users');
    const lines = await Promise.all(
      options.mailboxes.map(async (m) => `${m.address}:${await hashPassword(m.password)}::::::`),
    );
    await writeFile(usersFile, `${lines.join('\n')}\n`);
    const dovecot = await startDovecot(
      dir,
      `${dovecotBase(dir, address, owner, usersFile)}protocols = imap pop3
ssl = yes
ssl_cert = <${pki.certFile}
ssl_key = <${pki.keyFile}
mail_uid = ${owner.uid}
mail_gid = ${owner.gid}
mail_location = maildir:${vmailDir}/%d/%n
pop3_uidl_format = %08Xu%08Xv
service auth {
  inet_listener auth-postfix {
    address = ${address}
    port = 12345
  }
}
service imap-login {
  inet_listener imaps {
    port = 0
  }
}
service pop3-login {
  inet_listener pop3s {
    port = 0
  }
}
`,
      [
        [address, 110],
        [address, 143],
        [address, 12345],
      ],
    );
    return withDovecot(dovecot, async () => {
      const confDir = join(dir, 'conf');
      await mkdir(confDir, { recursive: true });
      const vmailbox = options.mailboxes.map((m) => {
        const [local, domain] = splitAddress(m.address);
        return `${m.address} ${domain}/${local}/`;
      });
      await writeFile(join(confDir, 'vmailbox'), `${vmailbox.join('\n')}\n`);
      await writeFile(
        join(confDir, 'senders'),
        `${options.mailboxes.map((m) => `${m.address} ${m.address}`).join('\n')}\n`,
      );
      const submission = [
        `${address}:587 inet n - n - - smtpd`,
        '-o smtpd_tls_security_level=encrypt',
        '-o smtpd_sasl_auth_enable=yes',
        '-o smtpd_relay_restrictions=permit_sasl_authenticated,reject',
        '-o smtpd_recipient_restrictions=permit_sasl_authenticated,reject',
        `-o smtpd_sender_login_maps=texthash:${join(confDir, 'senders')}`,
        '-o smtpd_sender_restrictions=reject_sender_login_mismatch',
      ].join(' ');
      const postfix = await startPostfix(
        dir,
        address,
        {
          ...baseMainCf(dir, address, `mail.${options.domains[0]}`),
          mydomain: options.domains[0] as string,
          mynetworks: `${address}/32`,
          virtual_mailbox_domains: options.domains.join(', '),
          virtual_mailbox_base: vmailDir,
          virtual_mailbox_maps: `texthash:${join(confDir, 'vmailbox')}`,
          virtual_uid_maps: `static:${owner.uid}`,
          virtual_gid_maps: `static:${owner.gid}`,
          virtual_minimum_uid: String(owner.uid),
          smtpd_tls_cert_file: pki.certFile,
          smtpd_tls_key_file: pki.keyFile,
          smtpd_tls_security_level: 'may',
          smtpd_sasl_type: 'dovecot',
          smtpd_sasl_path: `inet:${address}:12345`,
          smtpd_sasl_authenticated_header: 'yes',
        },
        {
          [`${address}:25/inet`]: `${address}:25 inet n - n - - smtpd`,
          [`${address}:587/inet`]: submission,
        },
      );
      return {
        ...postfix,
        info: {
          address,
          domains: options.domains,
          smtpPort: 25,
          submissionPort: 587,
          pop3Port: 110,
          imapPort: 143,
          caFile: pki.caFile,
          postfixConfigDir: confDir,
          maillog: join(dir, 'maillog'),
          vmailDir,
          dovecotConfig: join(dir, 'dovecot.conf'),
          dir,
        },
      };
    });
  });
}

/** Starts Postfix next to a running Dovecot; stops both together, Dovecot also when Postfix fails. */
async function withDovecot<Info>(
  dovecot: Daemon,
  start: () => Promise<{ info: Info; readyMs: number; stop(): Promise<void> }>,
): Promise<{ info: Info; readyMs: number; stop(): Promise<void> }> {
  try {
    const postfix = await start();
    return {
      info: postfix.info,
      readyMs: postfix.readyMs,
      async stop() {
        await postfix.stop();
        await dovecot.stop();
      },
    };
  } catch (error) {
    await dovecot.stop();
    throw error;
  }
}

/**
 * Orders Maildir file names (`<seconds>.M<microseconds>P<pid>.<host>…`) by delivery time. A plain
 * string sort puts `M98` after `M123` within one second.
 */
function byDeliveryOrder(a: string, b: string): number {
  const key = (n: string): [number, number] => {
    const m = /^(\d+)\.M(\d+)/.exec(n);
    return m ? [Number(m[1]), Number(m[2])] : [Number.MAX_SAFE_INTEGER, 0];
  };
  const [as, au] = key(a);
  const [bs, bu] = key(b);
  return as - bs || au - bu || a.localeCompare(b);
}

/** Contents of every message in a Maildir (`new/` then `cur/`), each in delivery order. */
export async function readMaildir(maildir: string): Promise<string[]> {
  const out: string[] = [];
  for (const sub of ['new', 'cur']) {
    const names = await readdir(join(maildir, sub)).catch(() => [] as string[]);
    for (const name of names.sort(byDeliveryOrder)) out.push(await readFile(join(maildir, sub, name), 'utf8'));
  }
  return out;
}

/** Waits until `maildir` holds at least `count` messages; returns them. */
export async function waitForMessages(maildir: string, count: number, timeoutMs = 15_000): Promise<string[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const messages = await readMaildir(maildir);
    if (messages.length >= count) return messages;
    if (Date.now() > until) {
      throw new TestbedError(
        'TESTBED_NOT_READY',
        `${maildir}: ${messages.length} of ${count} messages after ${timeoutMs} ms`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Waits until the Postfix queue of `confDir` is empty (everything delivered or bounced). */
export async function waitForEmptyQueue(confDir: string, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const { stdout } = await execa('postqueue', ['-c', confDir, '-j'], { reject: false });
    if (String(stdout).trim() === '') return;
    if (Date.now() > until) throw new TestbedError('TESTBED_NOT_READY', `queue of ${confDir} not empty:\n${stdout}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs fetchmail once (no daemon) on `rcFile` as root and returns its exit code and output
 * (0 = mail delivered, 1 = no mail). The rc must set `idfile`; the pid file goes next to it.
 */
export async function runFetchmailOnce(rcFile: string): Promise<{ exitCode: number; output: string }> {
  const r = await execa('fetchmail', ['-f', rcFile, '--pidfile', `${rcFile}.pid`, '--nosyslog', '-v'], {
    reject: false,
    all: true,
    stdin: 'ignore',
  });
  if ((r.cause as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    throw new TestbedError('TESTBED_NOT_INSTALLED', 'fetchmail is not installed; run scripts/install-system.sh');
  }
  return { exitCode: r.exitCode ?? -1, output: String(r.all ?? '') };
}

// The whole-mail test's "Internet": a mail provider on the sandbox's WAN peer (its own network
// namespace, files on the host): Postfix with MX :25 for `provider.test` and `outside.test` (the
// sink of mail to the outside world) and submission :587 (STARTTLS required, SASL through
// Dovecot, the envelope sender must belong to the login), Dovecot with POP3S :995 and IMAP :143.
// Its certificate names `mail.provider.test`; its CA is what the server's answers trust.
import { chmod, chown, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandRunner } from '@invis/host';
import { createTestPki, type Daemon, spawnDaemon } from '@invis/testbed';

/** A mailbox of the provider (login = address). */
export interface ProviderMailbox {
  address: string;
  password: string;
}

/** The running provider. */
export interface WanProvider {
  readonly address: string;
  readonly name: string;
  /** CA file of its certificate (host path). */
  readonly caFile: string;
  readonly maillog: string;
  /** Maildir of `local@domain`. */
  maildir(address: string): string;
  stop(): Promise<void>;
}

const must = async (runner: CommandRunner, command: string, args: string[]): Promise<string> => {
  const result = await runner.run(command, args, { timeoutMs: 60_000 });
  if (result.exitCode !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.exitCode}: ${result.output}`);
  return result.stdout;
};

/** Polls until every port listens inside the namespace. */
async function listening(runner: CommandRunner, ports: number[], what: () => string): Promise<void> {
  const until = Date.now() + 60_000;
  for (;;) {
    const ss = await runner.run('ss', ['-H', '-l', '-n', '-t']);
    if (ports.every((p) => ss.stdout.includes(`:${p} `))) return;
    if (Date.now() > until) throw new Error(`provider: ports ${ports.join(', ')} not listening\n${what()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Starts the provider on `address` inside the WAN namespace (`wan` runs programs there).
 * @param wan the WAN client of the sandbox (netns and its runner)
 * @param options address, name and mailboxes
 * @returns the provider
 */
export async function startWanProvider(
  wan: { netns: string; runner: CommandRunner },
  options: { address: string; name: string; mailboxes: ProviderMailbox[] },
): Promise<WanProvider> {
  const { address, name } = options;
  const dir = await mkdtemp(join(tmpdir(), 'whole-mail-provider-'));
  await chmod(dir, 0o755);
  const daemons: Daemon[] = [];
  let masterPid: number | undefined;
  const stop = async () => {
    if (masterPid !== undefined) {
      try {
        process.kill(-masterPid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const d of daemons.reverse()) await d.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const pki = await createTestPki(join(dir, 'pki'), { commonName: name, dnsNames: [name], ipAddresses: [address] });
    const mailUid = Number((await must(wan.runner, 'id', ['-u', 'mail'])).trim());
    const mailGid = Number((await must(wan.runner, 'id', ['-g', 'mail'])).trim());
    const vmail = join(dir, 'vmail');
    await mkdir(vmail, { recursive: true });
    await chown(vmail, mailUid, mailGid);
    const users = await Promise.all(
      options.mailboxes.map(async (m) => {
        const hash = (await must(wan.runner, 'doveadm', ['pw', '-s', 'SHA512-CRYPT', '-p', m.password])).trim();
        return `${m.address}:${hash}::::::`;
      }),
    );
    await writeFile(join(dir, 'users'), `${users.join('\n')}\n`);
    await writeFile(
      join(dir, 'dovecot.conf'),
      `base_dir = ${join(dir, 'dovecot-run')}
state_dir = ${join(dir, 'dovecot-state')}
log_path = ${join(dir, 'dovecot.log')}
instance_name = whole-mail-provider
listen = ${address}
protocols = imap pop3
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = ${mailUid}
ssl = yes
ssl_cert = <${pki.certFile}
ssl_key = <${pki.keyFile}
mail_uid = ${mailUid}
mail_gid = ${mailGid}
mail_location = maildir:${vmail}/%d/%n
pop3_uidl_format = %08Xu%08Xv
passdb {
  driver = passwd-file
  args = scheme=CRYPT username_format=%u ${join(dir, 'users')}
}
userdb {
  driver = passwd-file
  args = username_format=%u ${join(dir, 'users')}
}
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
  inet_listener pop3 {
    port = 0
  }
}
`,
    );
    daemons.push(
      spawnDaemon('provider dovecot', 'dovecot', ['-F', '-c', join(dir, 'dovecot.conf')], join(dir, 'dovecot.out'), {
        netns: wan.netns,
      }),
    );
    await listening(wan.runner, [143, 995, 12345], () => daemons[0]?.tail() ?? '');

    const conf = join(dir, 'conf');
    for (const sub of ['conf', 'spool', 'data']) await mkdir(join(dir, sub), { recursive: true });
    await must(wan.runner, 'chown', ['postfix', join(dir, 'data')]);
    const domains = [...new Set(options.mailboxes.map((m) => m.address.slice(m.address.indexOf('@') + 1)))];
    const vmailbox = options.mailboxes.map((m) => {
      const [local, domain] = m.address.split('@');
      return `${m.address} ${domain}/${local}/`;
    });
    await writeFile(join(conf, 'vmailbox'), `${vmailbox.join('\n')}\n`);
    await writeFile(join(conf, 'senders'), `${options.mailboxes.map((m) => `${m.address} ${m.address}`).join('\n')}\n`);
    await writeFile(
      join(conf, 'main.cf'),
      `${[
        'compatibility_level = 3.6',
        `myhostname = ${name}`,
        `queue_directory = ${join(dir, 'spool')}`,
        `data_directory = ${join(dir, 'data')}`,
        `maillog_file_prefixes = /var, /dev/stdout, ${dir}`,
        `maillog_file = ${join(dir, 'maillog')}`,
        `inet_interfaces = ${address}`,
        'inet_protocols = ipv4',
        'mydestination =',
        'alias_maps =',
        'alias_database =',
        'smtputf8_enable = no',
        `mynetworks = ${address}/32`,
        `virtual_mailbox_domains = ${domains.join(', ')}`,
        `virtual_mailbox_base = ${vmail}`,
        `virtual_mailbox_maps = texthash:${join(conf, 'vmailbox')}`,
        `virtual_uid_maps = static:${mailUid}`,
        `virtual_gid_maps = static:${mailGid}`,
        `virtual_minimum_uid = ${mailUid}`,
        `smtpd_tls_cert_file = ${pki.certFile}`,
        `smtpd_tls_key_file = ${pki.keyFile}`,
        'smtpd_tls_security_level = may',
        'smtpd_sasl_type = dovecot',
        `smtpd_sasl_path = inet:${address}:12345`,
        'smtpd_sasl_authenticated_header = yes',
      ].join('\n')}\n`,
    );
    await writeFile(join(conf, 'master.cf'), await readFile('/etc/postfix/master.cf', 'utf8'));
    const past = new Date(Date.now() - 3000);
    await utimes(join(conf, 'main.cf'), past, past);
    await must(wan.runner, 'postconf', ['-c', conf, '-M#', 'smtp/inet']);
    await must(wan.runner, 'postconf', ['-c', conf, '-Me', `${address}:25/inet=${address}:25 inet n - n - - smtpd`]);
    await must(wan.runner, 'postconf', [
      '-c',
      conf,
      '-Me',
      [
        `${address}:587/inet=${address}:587 inet n - n - - smtpd`,
        '-o smtpd_tls_security_level=encrypt',
        '-o smtpd_sasl_auth_enable=yes',
        '-o smtpd_relay_restrictions=permit_sasl_authenticated,reject',
        '-o smtpd_recipient_restrictions=permit_sasl_authenticated,reject',
        `-o smtpd_sender_login_maps=texthash:${join(conf, 'senders')}`,
        '-o smtpd_sender_restrictions=reject_sender_login_mismatch',
      ].join(' '),
    ]);
    await must(wan.runner, 'postconf', ['-c', conf, '-F', '*/*/chroot = n']);
    await utimes(join(conf, 'main.cf'), past, past);
    await must(wan.runner, 'postfix', ['-c', conf, 'check']);
    daemons.push(
      spawnDaemon('provider postfix', 'postfix', ['-c', conf, 'start-fg'], join(dir, 'postfix.out'), {
        netns: wan.netns,
      }),
    );
    await listening(wan.runner, [25, 587], () => daemons[1]?.tail() ?? '');
    masterPid = Number((await readFile(join(dir, 'spool', 'pid', 'master.pid'), 'utf8')).trim());
    return {
      address,
      name,
      caFile: pki.caFile,
      maillog: join(dir, 'maillog'),
      maildir: (mailbox) => {
        const [local, domain] = mailbox.split('@');
        return join(vmail, domain ?? '', local ?? '');
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

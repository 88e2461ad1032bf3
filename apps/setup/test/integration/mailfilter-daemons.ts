// Real rspamd + clamd from the mailfilter module's renders, on a loopback address of their own
// (tests and the mail-flow bench): clamd with a LOCAL signature set (EICAR as an .ndb body
// signature — no Internet, nothing fetched), rspamd with the rendered local.d/ over Debian's
// rspamd.conf, and the milter lines the mailserver module renders, applied to a testbed Postfix.
import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Daemon,
  type RunningServer,
  run,
  spawnDaemon,
  startOnLoopback,
  tcpOpen,
  waitUntilReady,
} from '@invis/testbed';
import { EICAR, eicarNdb, TEST_SIGNATURE } from '../../demo/offline-signatures';
import { RSPAMD_PORTS, renderClamdConf, renderRspamdLocal } from '../../src/mailfilter-render';
import { type PlatformProfile, PROFILES } from '../../src/profiles';

export { EICAR, eicarNdb, TEST_SIGNATURE };

/**
 * A phishing-like message that rspamd's real rules (no network lists) score between add_header
 * (6) and reject (15) when it comes through Postfix from a local client (≈ 10: a link whose text
 * names another host, an all-caps subject, HTML only, no MIME-Version).
 * @param to recipient
 * @param id a marker in the body to find the delivered copy
 * @returns the message (CRLF)
 */
export function spamMessage(to: string, id: string): string {
  return [
    'From: "PayPal Security" <service@paypa1-secure.example>',
    `To: ${to}`,
    'Subject: URGENT!!! VERIFY YOUR ACCOUNT NOW',
    'Date: Sun, 06 Dec 2026 10:00:00 +0000',
    `Message-ID: <${id}@paypa1-secure.example>`,
    'Content-Type: text/html',
    '',
    `<html><body><p>Dear customer, your account is suspended. <a href="http://192.0.2.7/login">https://www.paypal.com/signin</a> (ref ${id}) to verify your password immediately or lose access!!!</p></body></html>`,
    '',
  ].join('\r\n');
}

/**
 * A mail that rspamd's real rules (no network lists) score at reject level (≈ 20 ≥ 15) from a
 * local client, with nothing a virus scanner finds: {@link spamMessage}'s phishing link, a forged
 * Outlook header set, a date in 2099, a fake reply, and an attachment with a double extension
 * (`invoice.pdf.exe`, a few bytes that are no program). Spam at any score must reach the user's
 * Junk — only a virus is held.
 * @param to recipient
 * @param id a marker in the body to find the delivered copy
 * @returns the message (CRLF)
 */
export function rejectLevelSpamMessage(to: string, id: string): string {
  const attachment = Buffer.concat([Buffer.from('MZ'), Buffer.alloc(200, 0x90)]).toString('base64');
  return [
    'From: "PayPal Security" <service@paypa1-secure.example>',
    `To: ${to}`,
    'Subject: RE: URGENT!!! VERIFY YOUR ACCOUNT NOW',
    'Date: Tue, 01 Dec 2099 10:00:00 +0000',
    `Message-ID: <${id}@paypa1-secure.example>`,
    'X-Mailer: Microsoft Outlook Express 6.00.2900.2180',
    'Content-Type: multipart/mixed; boundary="invis-b1"',
    '',
    '--invis-b1',
    'Content-Type: text/html',
    '',
    `<html><body><p>Dear customer, your account is suspended. <a href="http://192.0.2.7/login">https://www.paypal.com/signin</a> (ref ${id}) to verify your password immediately or lose access!!! Open the attached invoice.</p></body></html>`,
    '--invis-b1',
    'Content-Type: application/octet-stream; name="invoice.pdf.exe"',
    'Content-Disposition: attachment; filename="invoice.pdf.exe"',
    'Content-Transfer-Encoding: base64',
    '',
    attachment,
    '--invis-b1--',
    '',
  ].join('\r\n');
}

/** A running filter: where its milter and workers listen, and a handle to stop clamd alone. */
export interface MailFilterInfo {
  address: string;
  milter: string;
  /** `host:port` of the scanning worker (rspamc). */
  normal: string;
  clamdSocket: string;
  dir: string;
  clamd: Daemon;
  rspamd: Daemon;
}

const base = PROFILES['debian-12'] as PlatformProfile;

async function uid(name: string): Promise<[number, number]> {
  return [Number(await run('id', ['-u', name])), Number(await run('id', ['-g', name]))];
}

/**
 * Starts clamd (local EICAR signature) and rspamd (the module's local.d/) on a loopback address.
 * @returns the running filter; `stop()` ends both
 */
export async function startMailFilter(): Promise<RunningServer<MailFilterInfo>> {
  return startOnLoopback('mailfilter', async ({ dir, address }) => {
    await chmod(dir, 0o755);
    const [clamUid, clamGid] = await uid('clamav');
    const [rspamdUid, rspamdGid] = await uid('_rspamd');
    const clamDir = join(dir, 'clamav');
    const clamDb = join(clamDir, 'db');
    const clamRun = join(clamDir, 'run');
    for (const d of [clamDir, clamDb, clamRun]) {
      await mkdir(d, { recursive: true });
      await chown(d, clamUid, clamGid);
    }
    await writeFile(join(clamDb, 'invis-test.ndb'), eicarNdb());
    const clamdSocket = join(clamRun, 'clamd.ctl');
    const profile = {
      mailfilter: {
        ...base.mailfilter,
        clamav: {
          ...base.mailfilter.clamav,
          socket: clamdSocket,
          databaseDir: clamDb,
          logFile: join(clamDir, 'clamd.log'),
        },
      },
    };
    const clamdConf = join(clamDir, 'clamd.conf');
    await writeFile(clamdConf, renderClamdConf(profile));
    const clamd = spawnDaemon(
      'clamd',
      'clamd',
      ['--foreground=true', `--config-file=${clamdConf}`],
      join(dir, 'clamd.out'),
    );
    const rspamdDir = join(dir, 'rspamd');
    const localD = join(rspamdDir, 'local.d');
    await mkdir(localD, { recursive: true });
    for (const [name, content] of Object.entries(renderRspamdLocal({ address, clamdSocket }))) {
      await writeFile(join(localD, name), content);
    }
    for (const sub of ['db', 'run', 'log']) {
      await mkdir(join(rspamdDir, sub));
      await chown(join(rspamdDir, sub), rspamdUid, rspamdGid);
    }
    try {
      await waitUntilReady(clamd, () => socketOpen(clamdSocket), 60_000, 100);
    } catch (error) {
      await clamd.stop();
      throw error;
    }
    // Debian's unit runs rspamd as _rspamd; started as root it drops to -u/-g itself.
    const rspamd = spawnDaemon(
      'rspamd',
      'rspamd',
      [
        '-f',
        '-c',
        base.mailfilter.rspamd.config,
        '-u',
        '_rspamd',
        '-g',
        '_rspamd',
        `--var=LOCAL_CONFDIR=${rspamdDir}`,
        `--var=DBDIR=${join(rspamdDir, 'db')}`,
        `--var=RUNDIR=${join(rspamdDir, 'run')}`,
        `--var=LOGDIR=${join(rspamdDir, 'log')}`,
      ],
      join(dir, 'rspamd.out'),
    );
    const stop = async () => {
      await rspamd.stop();
      await clamd.stop();
    };
    try {
      const readyMs = await waitUntilReady(
        rspamd,
        async () =>
          (await Promise.all(Object.values(RSPAMD_PORTS).map((port) => tcpOpen(address, port)))).every(Boolean),
        120_000,
        200,
      );
      return {
        info: {
          address,
          milter: `inet:${address}:${RSPAMD_PORTS.proxy}`,
          normal: `${address}:${RSPAMD_PORTS.normal}`,
          clamdSocket,
          dir,
          clamd,
          rspamd,
        },
        readyMs,
        stop,
      };
    } catch (error) {
      await stop();
      throw error;
    }
  });
}

async function socketOpen(socket: string): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const s = connect(socket);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * The milter lines the mailserver module renders when `mail.filter` is rspamd (see
 * /work/notes/mail-coordination.md), pointed at `milter`: fail closed when the filter is away.
 * @param milter `inet:host:port`
 * @returns main.cf settings
 */
export function milterSettings(milter: string): Record<string, string> {
  return {
    smtpd_milters: milter,
    non_smtpd_milters: '$smtpd_milters',
    milter_protocol: '6',
    milter_mail_macros: 'i {mail_addr} {client_addr} {client_name} {auth_authen}',
    milter_default_action: 'tempfail',
  };
}

/**
 * Sets main.cf `settings` of a private Postfix and reloads it.
 * @param confDir its config directory
 * @param settings main.cf settings
 */
export async function configurePostfix(confDir: string, settings: Record<string, string>): Promise<void> {
  await run('postconf', ['-c', confDir, '-e', ...Object.entries(settings).map(([k, v]) => `${k}=${v}`)]);
  await run('postfix', ['-c', confDir, 'reload']);
}

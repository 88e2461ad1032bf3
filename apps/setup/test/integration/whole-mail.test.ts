// Whole-server mail test (issue 18): `invis-setup init` + `apply` in the server sandbox with the
// mailserver and fetchmail modules, a mail provider on the WAN peer as "the Internet", people and
// their provider mailboxes written into AD as the portal does, then real clients: swaks through
// submission 587 from the LAN, fetchmail collecting from the provider, a vacation reply, IMAP
// login with the AD password (doveadm and curl), a disabled account refused, Roundcube behind the
// portal's login (webmail) with single sign-on. The first apply is killed during the mailserver
// module and resumed.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { readMaildir, type ServerSandbox } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must, portalApi, setupCli, startWholeServer, TSX, type WholeServer } from '../../demo/whole-server';
import { startWanProvider, type WanProvider } from './whole-mail-provider';

const ANSWERS = join(import.meta.dirname, 'whole-mail.yaml');
const SEED = join(import.meta.dirname, 'whole-mail-seed.ts');
const SERVER = '192.168.220.10';
const LAN_CLIENT = '192.168.220.50';
const DOMAIN = 'invis-net.loc';
const PROVIDER = 'mail.provider.test';
const WAN_PEER = '198.51.100.1';
const PEOPLE = {
  alice: 'Alice-Mail-2026!',
  bob: 'Bob-Mail-2026!',
  carol: 'Carol-Mail-2026!',
  dave: 'Dave-Mail-2026!',
} as const;
const MAILBOXES = [
  { address: 'alice@provider.test', password: `alice's "pw" #1` },
  { address: 'bob@provider.test', password: 'bob-at-provider' },
  { address: 'carol@provider.test', password: 'carol-at-provider' },
  { address: 'friend@outside.test', password: 'friend-outside' },
];
const pw = (address: string) => MAILBOXES.find((m) => m.address === address)?.password as string;

/** Polls `probe` until it returns a value (not undefined) or the time is up. */
async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

describe('whole server: mail', () => {
  let whole: WholeServer;
  let sandbox: ServerSandbox;
  let dir: string;
  let provider: WanProvider;
  const cli = (argv: string[]) => setupCli(sandbox, argv);
  /** Messages in a local user's Maildir on the server. */
  const localMail = async (user: string): Promise<string[]> => {
    const r = await sandbox.runner.run('sh', [
      '-c',
      `for f in /var/vmail/${user}/Maildir/new/* /var/vmail/${user}/Maildir/cur/*; do [ -f "$f" ] && cat "$f" && echo '=====invis-end====='; done; true`,
    ]);
    return r.stdout.split('=====invis-end=====\n').filter((m) => m.trim() !== '');
  };
  /** Runs whole-mail-seed.ts inside the sandbox with `input` (as Administrator). */
  const seed = async (input: Record<string, unknown>) => {
    const password = (await cli(['secrets', 'show', 'ad-administrator'])).doc.value as string;
    await must(sandbox.runner, process.execPath, ['--conditions=@invis/source', '--import', TSX, SEED], {
      input: JSON.stringify({
        url: `ldaps://${SERVER}:636`,
        caFile: '/etc/invis/certs/ca.crt',
        upn: `administrator@${DOMAIN}`,
        password,
        keyFile: '/etc/invis/secrets/mail-key',
        domain: DOMAIN,
        ...input,
      }),
    });
  };
  /** swaks from the LAN client; returns exit code and output. */
  const swaks = (args: string[]) =>
    sandbox.lan.runner.run('swaks', ['--server', `${SERVER}:587`, ...args], { timeoutMs: 60_000 });

  beforeAll(async () => {
    whole = await startWholeServer('setup-mail-');
    ({ sandbox, dir } = whole);
    provider = await startWanProvider(sandbox.wan, { address: WAN_PEER, name: PROVIDER, mailboxes: MAILBOXES });
    // The provider's CA (the answers' providerCaFile) and its name, as an admin would pin them.
    await must(sandbox.runner, 'mkdir', ['-p', '/etc/invis']);
    await sandbox.writeFile('/etc/invis/provider-ca.pem', await readFile(provider.caFile, 'utf8'));
    const hosts = await sandbox.readFile('/etc/hosts');
    await sandbox.writeFile('/etc/hosts', `${hosts}${WAN_PEER} ${PROVIDER}\n`);
    await must(sandbox.lan.runner, 'ip', ['addr', 'add', `${LAN_CLIENT}/24`, 'dev', sandbox.info.lan.ifname]);
  }, 300_000);
  afterAll(async () => {
    await provider?.stop();
    await whole?.stop();
  }, 300_000);

  it('init and apply — killed while the mailserver compiles its tables, resumed —, a second apply changes nothing', async () => {
    const init = await cli(['init', '--answers', ANSWERS]);
    expect(init.doc, JSON.stringify(init.doc)).toMatchObject({ ok: true });

    const child = spawn(
      'nsenter',
      [
        `--target=${sandbox.info.holderPid}`,
        '--mount',
        '--uts',
        '--ipc',
        '--net',
        '--',
        '/usr/bin/invis-setup',
        'apply',
        '--lang',
        'en',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
      if (stderr.includes('mailserver: compiling the Postfix tables')) child.kill('SIGKILL');
    });
    const [, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
    expect(signal, stderr).toBe('SIGKILL');
    const state = JSON.parse(await sandbox.readFile('/var/lib/invis/setup/state.json'));
    expect(state.modules.mailserver.status).toBe('applying');

    const apply = await cli(['apply']);
    expect(apply.doc, JSON.stringify(apply.doc)).toMatchObject({ ok: true, changed: true });
    expect(apply.doc.modules).toContainEqual(expect.objectContaining({ module: 'mailserver', changed: true }));
    // Postfix accepts what runs (postfix check passes on the live configuration).
    await must(sandbox.runner, 'postfix', ['check']);
    const again = await cli(['apply']);
    expect(again.doc, JSON.stringify(again.doc)).toMatchObject({ ok: true, changed: false });
    const verify = await cli(['verify']);
    expect(verify.code, JSON.stringify(verify.doc)).toBe(0);
  }, 600_000);

  it('IMAP login with the AD password (doveadm, curl imaps from the LAN); a disabled account is refused', async () => {
    await seed({ users: Object.entries(PEOPLE).map(([sAMAccountName, password]) => ({ sAMAccountName, password })) });
    await must(sandbox.runner, 'doveadm', ['auth', 'test', 'alice', PEOPLE.alice]);
    const wrong = await sandbox.runner.run('doveadm', ['auth', 'test', 'alice', 'not-her-password']);
    expect(wrong.exitCode).not.toBe(0);

    const ca = join(dir, 'ca.crt');
    await writeFile(ca, await sandbox.readFile('/etc/invis/certs/ca.crt'));
    const list = await must(sandbox.lan.runner, 'curl', [
      '-sS',
      '--cacert',
      ca,
      '--user',
      `alice:${PEOPLE.alice}`,
      `imaps://${SERVER}/`,
    ]);
    expect(list).toContain('INBOX');
    expect(list).toContain('Junk');

    await must(sandbox.runner, 'doveadm', ['auth', 'test', 'dave', PEOPLE.dave]);
    await seed({ disable: ['dave'] });
    const disabled = await sandbox.runner.run('doveadm', ['auth', 'test', 'dave', PEOPLE.dave]);
    expect(disabled.exitCode, disabled.output).not.toBe(0);
  }, 300_000);

  it('fetchmail collects into the right mailbox, leaves an absent user\u2019s mail until they are back (sync mail), a vacation reply goes out once', async () => {
    const toProvider = (to: string, subject: string, from = 'friend@outside.test') =>
      must(sandbox.wan.runner, 'swaks', [
        '--server',
        `${WAN_PEER}:25`,
        '--from',
        from,
        '--to',
        to,
        '--header',
        `Subject: ${subject}`,
      ]);
    await toProvider('alice@provider.test', 'for alice');
    await toProvider('bob@provider.test', 'for bob');
    await toProvider('carol@provider.test', 'for carol 1');
    await toProvider('carol@provider.test', 'for carol 2');

    // Presence as the portal stores it; the accounts as the portal writes them.
    await must(sandbox.runner, 'mkdir', ['-p', '/var/lib/invis/mail']);
    await sandbox.writeFile(
      '/var/lib/invis/portal/mail-presence.json',
      JSON.stringify({
        bob: { presence: 'absent' },
        carol: { presence: 'vacation', vacation: { subject: 'Urlaub', body: 'Bin bis Montag weg.' } },
      }),
    );
    const account = (user: string) => ({
      address: `${user}@provider.test`,
      server: PROVIDER,
      protocol: 'pop3',
      tls: 'implicit',
      login: `${user}@provider.test`,
      password: pw(`${user}@provider.test`),
      provider: 'testprov',
    });
    await seed({
      mail: {
        providers: [
          {
            id: 'testprov',
            vendor: 'Test Provider',
            pop3: { host: PROVIDER, tls: true },
            smtp: { host: PROVIDER, port: 587 },
          },
        ],
        users: ['alice', 'bob', 'carol'].map((user) => ({
          user,
          localAddress: `${user}@${DOMAIN}`,
          mainAddress: `${user}@provider.test`,
          accounts: [account(user)],
        })),
      },
    });
    const apply = await cli(['apply']);
    expect(apply.doc, JSON.stringify(apply.doc)).toMatchObject({ ok: true, changed: true });
    expect(apply.doc.modules).toContainEqual(expect.objectContaining({ module: 'fetchmail', changed: true }));

    const alice = await until('alice\u2019s fetched mail', async () => {
      const m = await localMail('alice');
      return m.length > 0 ? m : undefined;
    });
    expect(alice).toHaveLength(1);
    expect(alice[0]).toContain('Subject: for alice');
    await until('carol\u2019s fetched mail', async () => ((await localMail('carol')).length === 2 ? true : undefined));
    // Bob is absent: his mail is still at the provider, nothing local.
    expect(await readMaildir(provider.maildir('bob@provider.test'))).toHaveLength(1);
    expect(await localMail('bob')).toEqual([]);

    // Carol's vacation reply reached the sender once, through the provider as carol@provider.test.
    const replies = await until('the vacation reply', async () => {
      const r = (await readMaildir(provider.maildir('friend@outside.test'))).filter((m) => m.includes('Urlaub'));
      return r.length > 0 ? r : undefined;
    });
    await until('an empty queue', async () => {
      const q = await sandbox.runner.run('postqueue', ['-j']);
      return q.stdout.trim() === '' ? true : undefined;
    });
    expect(
      (await readMaildir(provider.maildir('friend@outside.test'))).filter((m) => m.includes('Urlaub')),
    ).toHaveLength(1);
    expect(replies[0]).toMatch(/^Return-Path: <carol@provider\.test>/m);

    // Bob is back: the sync the timer runs (`invis-setup sync mail`) polls his account again. The
    // test runs it itself: the timer must not run it in between.
    await sandbox.services.stop('invis-mail-sync.timer');
    await sandbox.writeFile(
      '/var/lib/invis/portal/mail-presence.json',
      JSON.stringify({
        carol: { presence: 'vacation', vacation: { subject: 'Urlaub', body: 'Bin bis Montag weg.' } },
      }),
    );
    const sync = await cli(['sync', 'mail']);
    expect(sync.doc, JSON.stringify(sync.doc)).toMatchObject({ ok: true, changed: true });
    const bob = await until('bob\u2019s fetched mail', async () => {
      const m = await localMail('bob');
      return m.length > 0 ? m : undefined;
    });
    expect(bob[0]).toContain('Subject: for bob');
    expect(await readMaildir(provider.maildir('bob@provider.test'))).toEqual([]);
    expect((await cli(['sync', 'mail'])).doc).toMatchObject({ ok: true, changed: false });
    // Carol's vacation script is in place as presence says; everything else as rendered.
    const verify = await cli(['verify']);
    expect(verify.code, JSON.stringify(verify.doc)).toBe(0);
  }, 600_000);

  it('a LAN user sends through 587 with the AD password: relayed as their provider mailbox, rewritten; a colleague\u2019s address is refused', async () => {
    const sent = await swaks([
      '--tls',
      '--auth',
      'LOGIN',
      '--auth-user',
      'alice',
      '--auth-password',
      PEOPLE.alice,
      '--from',
      `alice@${DOMAIN}`,
      '--to',
      'friend@outside.test',
      '--header',
      'Subject: hello outside',
      '--header',
      `From: Alice <alice@${DOMAIN}>`,
    ]);
    expect(sent.exitCode, sent.output).toBe(0);
    const got = await until('the relayed message', async () => {
      const m = (await readMaildir(provider.maildir('friend@outside.test'))).filter((x) => x.includes('hello outside'));
      return m.length > 0 ? m[0] : undefined;
    });
    expect(got).toMatch(/^Return-Path: <alice@provider\.test>/m);
    expect(got).toMatch(/^From: Alice <alice@provider\.test>/m);
    expect(got).not.toContain(`alice@${DOMAIN}`);
    const log = await readFile(provider.maillog, 'utf8');
    expect(log).toContain('sasl_username=alice@provider.test');

    for (const colleague of [`bob@${DOMAIN}`, 'bob@provider.test']) {
      const refused = await swaks([
        '--tls',
        '--auth',
        'LOGIN',
        '--auth-user',
        'alice',
        '--auth-password',
        PEOPLE.alice,
        '--from',
        colleague,
        '--to',
        'friend@outside.test',
      ]);
      expect(refused.exitCode).not.toBe(0);
      expect(refused.output).toMatch(/553 5\.7\.1 .*not owned by user alice/);
    }
    // Without login nothing goes to the Internet, even from the LAN (mynetworks).
    const anonymous = await swaks(['--tls', '--from', 'someone@outside.test', '--to', 'friend@outside.test']);
    expect(anonymous.exitCode).not.toBe(0);
  }, 300_000);

  it('webmail: no session → the portal login; a portal user sees their own INBOX in Roundcube; forged headers, another user and a disabled account get nothing', async () => {
    const WEBMAIL = `https://invis.${DOMAIN}:8445`;
    const PORTAL = `https://invis.${DOMAIN}:56443`;
    const ca = join(dir, 'ca.crt');
    await writeFile(ca, await sandbox.readFile('/etc/invis/certs/ca.crt'));
    /** curl from the LAN client with a cookie jar; the server's name resolved to its LAN address. */
    const curl = async (jar: string, args: string[]) => {
      const r = await sandbox.lan.runner.run(
        'curl',
        [
          '-sS',
          '--cacert',
          ca,
          '--resolve',
          `invis.${DOMAIN}:8445:${SERVER}`,
          '--resolve',
          `invis.${DOMAIN}:56443:${SERVER}`,
          '-b',
          jar,
          '-c',
          jar,
          '-w',
          '\n%{http_code} %{redirect_url}',
          ...args,
        ],
        { timeoutMs: 60_000 },
      );
      expect(r.exitCode, r.output).toBe(0);
      const cut = r.stdout.lastIndexOf('\n');
      const [status, location = ''] = r.stdout.slice(cut + 1).split(' ');
      return { status, location, body: r.stdout.slice(0, cut) };
    };
    const portalLogin = async (jar: string, username: string, password: string) => {
      const anonymous = JSON.parse((await curl(jar, [`${PORTAL}/api/session`])).body) as { csrfToken: string };
      const body = join(dir, 'webmail-login.json');
      await writeFile(body, JSON.stringify({ username, password }), { mode: 0o600 });
      return curl(jar, [
        ...['-H', 'content-type: application/json', '-H', `x-csrf-token: ${anonymous.csrfToken}`],
        ...['--data-binary', `@${body}`, `${PORTAL}/api/session`],
      ]);
    };
    /** The INBOX as Roundcube's list request answers it (the request token from the mail page). */
    const inbox = async (jar: string, headers: string[] = []) => {
      const page = await curl(jar, ['-L', ...headers, `${WEBMAIL}/?_task=mail&_mbox=INBOX`]);
      expect(page.status, page.body.slice(0, 500)).toBe('200');
      const token = /"request_token":"([^"]+)"/.exec(page.body)?.[1];
      expect(token, page.body.slice(0, 500)).toBeDefined();
      const list = await curl(jar, [
        ...['-H', `x-roundcube-request: ${token}`, ...headers],
        `${WEBMAIL}/?_task=mail&_action=list&_mbox=INBOX&_remote=1`,
      ]);
      expect(list.status, list.body.slice(0, 500)).toBe('200');
      return list.body;
    };

    // Without a portal session: the portal's login, which comes back to the webmail.
    const anon = join(dir, 'jar-anon');
    const first = await curl(anon, [`${WEBMAIL}/?_task=mail`]);
    expect(first.status).toBe('302');
    expect(first.location).toBe(`${PORTAL}/auth/login?${WEBMAIL}/?_task=mail`);
    // A forged user header gets the same: nginx asks the portal, never the client.
    for (const header of ['x-remote-user: alice', 'invis-user: alice', 'x-invis-user: alice']) {
      const forged = await curl(anon, ['-H', header, `${WEBMAIL}/?_task=mail&_mbox=INBOX`]);
      expect(forged.status, header).toBe('302');
      expect(forged.body).not.toContain('roundcube');
    }
    // The static files too.
    expect((await curl(anon, [`${WEBMAIL}/program/js/app.min.js`])).status).toBe('302');

    // alice logs in to the portal once; Roundcube shows her INBOX without another password.
    const jar = join(dir, 'jar-browser');
    expect((await portalLogin(jar, 'alice', PEOPLE.alice)).status).toBe('200');
    // Her portal home page has the webmail's tile (setup put it into the directory).
    expect((await curl(jar, [`${PORTAL}/`])).body).toContain(`href="${WEBMAIL}/"`);
    // The login the webmail sent her to returns there (the portal lists the webmail's origin).
    const back = await curl(jar, ['-L', first.location]);
    expect(back.status).toBe('200');
    expect(back.body).toContain('"request_token"');
    const alices = await inbox(jar);
    expect(alices).toContain('for alice');
    expect(alices).not.toContain('for bob');
    // With her session, a header naming bob changes nothing.
    const spoofed = await inbox(jar, ['-H', 'x-remote-user: bob', '-H', 'invis-user: bob']);
    expect(spoofed).toContain('for alice');
    expect(spoofed).not.toContain('for bob');
    // She writes a message in Roundcube: it leaves through submission with the master login, as her
    // (the sender rewritten to her provider mailbox, as for her own login).
    const compose = await curl(jar, ['-L', `${WEBMAIL}/?_task=mail&_action=compose`]);
    const composeId = /"compose_id":"([^"]+)"/.exec(compose.body)?.[1];
    const composeToken = /"request_token":"([^"]+)"/.exec(compose.body)?.[1];
    const identity = /name="_from"[^>]*>\s*<option value="(\d+)"/.exec(compose.body)?.[1];
    expect([composeId, composeToken, identity], compose.body.slice(0, 500)).not.toContain(undefined);
    const form = {
      _token: composeToken,
      _id: composeId,
      _from: identity,
      _to: 'friend@outside.test',
      _subject: 'written in the webmail',
      _message: 'Hello from Roundcube.',
      _is_html: '0',
      _draft: '',
    };
    const sent = await curl(jar, [
      ...Object.entries(form).flatMap(([k, v]) => ['--data-urlencode', `${k}=${v}`]),
      `${WEBMAIL}/?_task=mail&_action=send`,
    ]);
    expect(sent.body).toContain('sent_successfully');
    const fromWebmail = await until('the message written in the webmail', async () => {
      const m = (await readMaildir(provider.maildir('friend@outside.test'))).filter((x) =>
        x.includes('written in the webmail'),
      );
      return m.length > 0 ? m[0] : undefined;
    });
    expect(fromWebmail).toMatch(/^Return-Path: <alice@provider\.test>/m);
    // Static files with the session; nothing of Roundcube's PHP source, even with it.
    expect((await curl(jar, [`${WEBMAIL}/program/js/app.min.js`])).status).toBe('200');
    const source = await curl(jar, [`${WEBMAIL}/plugins/invis_sso/invis_sso.php`]);
    expect(source.status).toBe('404');
    expect(source.body).not.toContain('master_password');

    // bob logs in to the portal in the same browser: alice's Roundcube session ends, he sees his mail.
    expect((await portalLogin(jar, 'bob', PEOPLE.bob)).status).toBe('200');
    const bobs = await inbox(jar);
    expect(bobs).toContain('for bob');
    expect(bobs).not.toContain('for alice');

    // The master user works only from the server itself (Roundcube), not from the LAN.
    const master = (await cli(['secrets', 'show', 'webmail-master'])).doc.value as string;
    await must(sandbox.runner, 'doveadm', ['auth', 'test', '-x', 'rip=127.0.0.1', 'alice*webmail', master]);
    const fromLan = await sandbox.lan.runner.run('curl', [
      ...['-sS', '--cacert', ca, '--user', `alice*webmail:${master}`, `imaps://${SERVER}/`],
    ]);
    expect(fromLan.exitCode, fromLan.output).not.toBe(0);
    // Submission takes the master login as alice (Roundcube sends so): her own address passes, a
    // colleague's is refused as for her own login; from the LAN the master password is refused.
    const submit = (runner: typeof sandbox.runner, server: string, from: string) =>
      runner.run(
        'swaks',
        [
          ...['--server', `${server}:587`, '--tls', '--auth', 'PLAIN', '--auth-user', 'alice*webmail'],
          ...['--auth-password', master, '--from', from, '--to', 'friend@outside.test'],
          ...['--header', 'Subject: sent like the webmail'],
        ],
        { timeoutMs: 60_000 },
      );
    const own = await submit(sandbox.runner, '127.0.0.1', `alice@${DOMAIN}`);
    expect(own.exitCode, own.output).toBe(0);
    const colleague = await submit(sandbox.runner, '127.0.0.1', `bob@${DOMAIN}`);
    expect(colleague.output).toMatch(/553 5\.7\.1 .*not owned by user alice/);
    const lanSubmit = await submit(sandbox.lan.runner, SERVER, `alice@${DOMAIN}`);
    expect(lanSubmit.exitCode).not.toBe(0);
    expect(lanSubmit.output).toMatch(/535 /);
    await until('the message sent with the master login', async () => {
      const m = (await readMaildir(provider.maildir('friend@outside.test'))).filter((x) =>
        x.includes('sent like the webmail'),
      );
      return m.length > 0 ? m[0] : undefined;
    });

    // An admin disables carol in the portal while she is logged in: her next webmail request goes
    // to the login. (Disabled outside the portal, the rights are read again within a minute:
    // the access check's own test.)
    const carolJar = join(dir, 'jar-carol');
    expect((await portalLogin(carolJar, 'carol', PEOPLE.carol)).status).toBe('200');
    expect(await inbox(carolJar)).toContain('for carol');
    const admin = await portalApi(sandbox, {
      dir,
      caFile: ca,
      url: `https://${SERVER}:56443`,
      username: 'Administrator',
      password: (await cli(['secrets', 'show', 'ad-administrator'])).doc.value as string,
    });
    expect((await admin.api('PUT', '/api/users/carol/enabled', { enabled: false }, admin.csrf)).status).toBe('204');
    const refused = await curl(carolJar, [`${WEBMAIL}/?_task=mail&_mbox=INBOX`]);
    expect(refused.status).toBe('302');
    expect(refused.location.startsWith(`${PORTAL}/auth/login?`), refused.location).toBe(true);
    // And a disabled account cannot log in to the portal to begin with.
    expect((await portalLogin(join(dir, 'jar-dave'), 'dave', PEOPLE.dave)).status).toBe('403');
  }, 300_000);

  it('webmail logs: the PHP user\u2019s, rotated by logrotate as that user while nginx keeps writing; apply follows no link planted among them', async () => {
    const LOGS = '/var/log/invis-webmail';
    const owner = async (path: string) =>
      (await must(sandbox.runner, 'stat', ['-c', '%U %a %F', path]))
        .trim()
        .replace('regular empty file', 'regular file');
    for (const log of ['nginx-access.log', 'nginx-error.log', 'php-fpm.log', 'php-error.log'])
      expect(await owner(`${LOGS}/${log}`)).toBe('invis-webmail 640 regular file');
    const request = () =>
      must(sandbox.lan.runner, 'curl', ['-sk', '-o', '/dev/null', `https://${SERVER}:8445/?_task=mail&rotated`]);
    await request();
    // As Debian's daily run would, forced: the rule works as the PHP user and keeps nginx's file open.
    await must(sandbox.runner, 'logrotate', ['-f', '-s', '/tmp/logrotate.state', '/etc/logrotate.d/invis-webmail']);
    expect(await sandbox.readFile(`${LOGS}/nginx-access.log.1`)).toContain('GET /?_task=mail&rotated');
    await request();
    expect(await sandbox.readFile(`${LOGS}/nginx-access.log`)).toContain('GET /?_task=mail&rotated');
    // The log folder is the PHP user's: whoever runs as it may put a link where a log was. Apply
    // (root) makes missing logs, but never through a link.
    await sandbox.writeFile('/etc/invis-link-probe', 'probe\n', { mode: '0600' });
    await must(sandbox.runner, 'runuser', ['-u', 'invis-webmail', '--', 'rm', `${LOGS}/php-error.log`]);
    await must(sandbox.runner, 'runuser', [
      '-u',
      'invis-webmail',
      '--',
      'ln',
      '-s',
      '/etc/invis-link-probe',
      `${LOGS}/php-error.log`,
    ]);
    const again = await cli(['apply', 'webmail']);
    expect(again.doc, JSON.stringify(again.doc)).toMatchObject({ ok: true });
    expect(await owner(`${LOGS}/php-error.log`)).toBe('invis-webmail 777 symbolic link');
    expect(await owner('/etc/invis-link-probe')).toBe('root 600 regular file');
  }, 120_000);
});

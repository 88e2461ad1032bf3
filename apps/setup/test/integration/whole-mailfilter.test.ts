// Whole-server spam/virus filter test (issue 18): `invis-setup init` + `apply` in the server
// sandbox with the mailserver and mailfilter modules — rspamd and clamd run under the sandbox's
// supervisor as Debian's units, clamd with a local signature set (EICAR; there is no Internet).
// Then mail is injected on 127.0.0.1:25 the way fetchmail delivers what it collects. EICAR is held
// and never reaches the mailbox, spam of any score (a reject-level one too) lands in Junk through
// the mailserver's Sieve rule, clean mail in the INBOX; `rspamc` asks rspamd itself;
// `invis-setup signatures` records the failed update (no Internet) as a warning for the portal.
import { join } from 'node:path';
import type { ServerSandbox } from '@invis/testbed';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { must, setupCli, startWholeServer, type WholeServer } from '../../demo/whole-server';
import { EICAR, rejectLevelSpamMessage, spamMessage, TEST_SIGNATURE } from './mailfilter-daemons';

const ANSWERS = join(import.meta.dirname, 'whole-mailfilter.yaml');
const DOMAIN = 'invis-net.loc';
const ALICE = `alice@${DOMAIN}`;

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

function message(subject: string, body: string): string {
  return [
    'From: Bernd Meier <bernd@example.org>',
    `To: ${ALICE}`,
    `Subject: ${subject}`,
    'Date: Sun, 06 Dec 2026 10:00:00 +0000',
    `Message-ID: <${subject.replace(/\W/g, '')}@example.org>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    body,
    '',
  ].join('\r\n');
}

describe('whole server: spam and virus filter', () => {
  let whole: WholeServer;
  let sandbox: ServerSandbox;
  const cli = (argv: string[]) => setupCli(sandbox, argv);
  /** Messages in one folder of alice's Maildir on the server ('' = INBOX). */
  const mailbox = async (folder: '' | '.Junk'): Promise<string[]> => {
    const r = await sandbox.runner.run('sh', [
      '-c',
      `for f in /var/vmail/alice/Maildir/${folder}/new/* /var/vmail/alice/Maildir/${folder}/cur/*; do [ -f "$f" ] && cat "$f" && echo '=====invis-end====='; done; true`,
    ]);
    return r.stdout.split('=====invis-end=====\n').filter((m) => m.trim() !== '');
  };
  const held = async (): Promise<string[]> => {
    const q = await must(sandbox.runner, 'postqueue', ['-j']);
    return q
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { queue_name: string; queue_id: string })
      .filter((e) => e.queue_name === 'hold')
      .map((e) => e.queue_id);
  };
  /** What went wrong: the client's words and the ends of Postfix's and rspamd's logs. */
  const diagnose = async (output: string) => {
    const tail = async (file: string) => (await sandbox.runner.run('tail', ['-n', '25', file])).output;
    return `${output}\n--- mail.log\n${await tail('/var/log/mail.log')}\n--- rspamd.log\n${await tail('/var/log/rspamd/rspamd.log')}`;
  };
  /** As fetchmail delivers what it collected: SMTP to 127.0.0.1:25 on the server itself. */
  const asFetchmail = (text: string) =>
    sandbox.runner.run(
      'swaks',
      ['--server', '127.0.0.1:25', '--from', 'bernd@example.org', '--to', ALICE, '--data', '-'],
      { input: text, timeoutMs: 120_000 },
    );

  beforeAll(async () => {
    whole = await startWholeServer('setup-filter-');
    ({ sandbox } = whole);
  }, 300_000);
  afterAll(async () => {
    await whole?.stop();
  }, 300_000);

  it('init and apply of the filter and its dependencies, a second apply changes nothing, verify is clean', async () => {
    const init = await cli(['init', '--answers', ANSWERS]);
    expect(init.doc, JSON.stringify(init.doc)).toMatchObject({ ok: true });
    // The mail filter and what it depends on (the other modules have their own whole-server tests).
    const apply = await cli(['apply', 'mailfilter']);
    expect(apply.doc, JSON.stringify(apply.doc)).toMatchObject({ ok: true, changed: true });
    expect(apply.doc.modules).toContainEqual(expect.objectContaining({ module: 'mailfilter', changed: true }));
    const again = await cli(['apply', 'mailfilter']);
    expect(again.doc, JSON.stringify(again.doc)).toMatchObject({ ok: true, changed: false });
    const verify = await cli(['verify', 'mailfilter']);
    expect(verify.code, JSON.stringify(verify.doc)).toBe(0);
    // A mailbox owner: the mailserver finds people by sAMAccountName in AD.
    await must(sandbox.runner, 'samba-tool', ['user', 'create', 'alice', '--random-password']);
  }, 600_000);

  it('rspamd itself (rspamc) finds EICAR through clamd and its local signature', async () => {
    const r = await sandbox.runner.run('rspamc', ['-h', '127.0.0.1:11333', '-j'], {
      input: message('rspamc', EICAR),
    });
    const verdict = JSON.parse(r.stdout) as { action: string; symbols: Record<string, { options?: string[] }> };
    expect(verdict.action).toBe('reject');
    expect(verdict.symbols.CLAM_VIRUS?.options).toEqual([`${TEST_SIGNATURE}.UNOFFICIAL`]);
  });

  it('as fetchmail injects mail: clean mail reaches the INBOX, spam lands in Junk', async () => {
    for (const [send, tag] of [[asFetchmail, 'fetchmail']] as const) {
      const clean = await send(message(`clean ${tag}`, 'Das Angebot kommt morgen.'));
      expect(clean.exitCode, await diagnose(clean.output)).toBe(0);
      const spam = await send(spamMessage(ALICE, `spam-${tag}`));
      expect(spam.exitCode, await diagnose(spam.output)).toBe(0);
      const inbox = await until(`the clean mail (${tag})`, async () => {
        const found = (await mailbox('')).find((m) => m.includes(`Subject: clean ${tag}`));
        return found;
      });
      expect(inbox).not.toMatch(/^X-Spam:/m);
      const junk = await until(`the spam in Junk (${tag})`, async () =>
        (await mailbox('.Junk')).find((m) => m.includes(`spam-${tag}`)),
      );
      expect(junk).toMatch(/^X-Spam: Yes$/m);
      expect((await mailbox('')).some((m) => m.includes(`spam-${tag}`))).toBe(false);
    }
  }, 300_000);

  it('as fetchmail injects mail: spam at reject level (score ≥ 15, no virus) lands in Junk, not in the hold queue', async () => {
    // rspamd in the server scores it at reject level (its DNS checks find nothing here either).
    const r = await sandbox.runner.run('rspamc', ['-h', '127.0.0.1:11333', '-i', '127.0.0.1', '-j'], {
      input: rejectLevelSpamMessage(ALICE, 'rspamc-high'),
    });
    const verdict = JSON.parse(r.stdout) as { action: string; score: number };
    expect(verdict.score, r.stdout).toBeGreaterThanOrEqual(15);
    expect(verdict.action, r.stdout).toBe('add header');
    const before = (await held()).length;
    const sent = await asFetchmail(rejectLevelSpamMessage(ALICE, 'spam-high-fetchmail'));
    expect(sent.exitCode, await diagnose(sent.output)).toBe(0);
    const junk = await until('the reject-level spam in Junk', async () =>
      (await mailbox('.Junk')).find((m) => m.includes('spam-high-fetchmail')),
    );
    expect(junk).toMatch(/^X-Spam: Yes$/m);
    expect((await mailbox('')).some((m) => m.includes('spam-high-fetchmail'))).toBe(false);
    expect(await held()).toHaveLength(before);
  }, 300_000);

  it('as fetchmail injects mail: EICAR is held in the queue for the admin and never reaches the mailbox', async () => {
    for (const [send, tag] of [[asFetchmail, 'fetchmail']] as const) {
      const before = new Set(await held());
      const sent = await send(message(`eicar ${tag}`, EICAR));
      // Accepted (250): fetchmail deletes it at the provider only because it is safe here.
      expect(sent.exitCode, await diagnose(sent.output)).toBe(0);
      // postqueue lists in no particular order: the new one is the id that was not held before.
      const id = await until(`the held mail (${tag})`, async () => (await held()).find((q) => !before.has(q)));
      const content = await must(sandbox.runner, 'postcat', ['-q', id]);
      expect(content).toContain(`eicar ${tag}`);
    }
    // Mail sent afterwards is delivered: the queue runs past the held ones.
    await asFetchmail(message('after eicar', 'nothing to see'));
    await until('later mail', async () =>
      (await mailbox('')).some((m) => m.includes('after eicar')) ? true : undefined,
    );
    const all = [...(await mailbox('')), ...(await mailbox('.Junk'))];
    expect(all.some((m) => m.includes('EICAR-STANDARD'))).toBe(false);
  }, 300_000);

  it('invis-setup signatures without Internet: a warning in the job state, the local signatures stay', async () => {
    const run = await cli(['signatures']);
    expect(run.code).toBe(1);
    const state = JSON.parse(await sandbox.readFile('/var/lib/invis/jobs/signatures.json'));
    expect(state).toMatchObject({
      name: 'signatures',
      result: 'warning',
      message: expect.stringContaining('scanning with 1 signature files (invis-test.ndb)'),
    });
  }, 300_000);
});

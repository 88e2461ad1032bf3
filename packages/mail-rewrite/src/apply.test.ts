import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { readdir, readFile, readlink, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fixedClock, formatPlan } from '@invis/host';
import { createScriptedRunner, type ScriptedRunner, useTempDir } from '@invis/test-utils';
import { beforeEach, describe, expect, it } from 'vitest';
import { createMailApplier, type MailApplierOptions } from './apply';
import { isMailRewriteError, type MailRewriteError } from './errors';
import { parseMailConfig } from './model';
import { filesWith, reloads, sampleInput } from './testing';

// Real files in a temp dir, scripted programs: the order of steps and the rollback are under
// test here; the real Postfix/fetchmail/Pigeonhole runs are in test/integration.
const tempDir = useTempDir('mail-apply-');
let dir: string;
let runner: ScriptedRunner;
let failReload: boolean;
let failFetchmail: boolean;

const calls = (): string[] => runner.calls.map((c) => [c.command, ...c.args].join(' '));

const scriptedPrograms = (): ScriptedRunner =>
  createScriptedRunner({
    postconf: ({ args }) => {
      const file = join(args[1] as string, 'main.cf');
      if (args.includes('-n')) return { stdout: readFileSync(file, 'utf8').trim() };
      appendFileSync(
        file,
        `${args
          .slice(3)
          .map((a) => a.replace('=', ' = '))
          .join('\n')}\n`,
      );
      return {};
    },
    postmap: ({ args }) => {
      writeFileSync(`${(args[2] as string).replace(/^lmdb:/, '')}.lmdb`, 'compiled');
      return {};
    },
    fetchmail: () =>
      failFetchmail
        ? { exitCode: 6, stdout: '"password":"it\'s a \\"secret\\""', stderr: 'fetchmail: syntax error near "secret"' }
        : {},
    sievec: {},
    postfix: ({ args }) =>
      args[2] === 'reload' && failReload
        ? { exitCode: 1, stderr: 'postfix/postfix-script: fatal: the Postfix mail system is not running' }
        : {},
  });

const options = (): MailApplierOptions => ({
  paths: {
    postfixConfigDir: dir,
    fetchmailRc: join(dir, 'fetchmailrc'),
    sieveHome: (u) => join(dir, 'home', u.user),
    backupDir: join(dir, 'backup'),
  },
  fetchmail: { smtpHost: '127.0.0.1' },
  runner,
  clock: fixedClock(new Date('2026-11-28T12:00:00Z')),
});

beforeEach(async () => {
  dir = tempDir();
  await writeFile(join(dir, 'main.cf'), 'compatibility_level = 3.6\n');
  runner = scriptedPrograms();
  failReload = false;
  failFetchmail = false;
});

describe('createMailApplier', () => {
  it('writes, compiles, checks and reloads, then reports unchanged', async () => {
    const applier = createMailApplier(options());
    const config = parseMailConfig(sampleInput());
    const plan = await applier.plan(config);
    expect(filesWith(plan, 'create')).toContain(join(dir, 'invis_sasl_passwd'));
    await expect(stat(join(dir, 'invis_sasl_passwd'))).rejects.toThrow();
    expect(calls().every((c) => c.startsWith('postconf'))).toBe(true);
    const report = await applier.apply(config);
    expect(report.changed).toBe(true);
    expect(report.files).toEqual(plan.files);
    expect(report.commands).toEqual(plan.commands);
    expect(reloads(report)).toBe(true);
    expect(report.backup).toBe(join(dir, 'backup', '2026-11-28T12-00-00-000Z'));
    expect(filesWith(report, 'update')).toEqual([join(dir, 'main.cf')]);
    expect(report.mainCf.smtp_generic_maps).toBe(`lmdb:${join(dir, 'invis_generic')}`);
    const text = formatPlan(report);
    expect(text).toContain('+smtp_generic_maps = lmdb:');
    expect(text).toContain(`create ${join(dir, 'invis_sasl_passwd')} (secret, diff withheld)`);
    expect(`${text}${JSON.stringify(report)}`).not.toContain("it's a");
    expect(report.files.find((f) => f.path === join(dir, 'fetchmailrc'))).toEqual({
      path: join(dir, 'fetchmailrc'),
      action: 'create',
      diff: '',
      secret: true,
    });
    expect((await stat(join(dir, 'invis_sasl_passwd'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'invis_sasl_passwd.lmdb'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'fetchmailrc'))).mode & 0o777).toBe(0o600);
    expect(calls().filter((c) => c.startsWith('postmap'))).toHaveLength(6);
    expect(calls().slice(-2)).toEqual([`postfix -c ${dir} check`, `postfix -c ${dir} reload`]);
    expect(calls().some((c) => c.startsWith('fetchmail -f') && c.endsWith('--configdump'))).toBe(true);
    // The checked copy of the rc (clear-text passwords) does not outlive the check.
    expect((await readdir(join(dir, 'backup'))).filter((f) => f.startsWith('work-'))).toEqual([]);

    runner.calls.length = 0;
    const again = await applier.apply(config);
    expect(again.changed).toBe(false);
    expect(filesWith(again, 'create', 'update', 'delete')).toEqual([]);
    expect(reloads(again)).toBe(false);
    expect(calls()).toEqual([`postconf -c ${dir} -n`]);
  });

  it('restores every file and reloads again when the reload fails', async () => {
    const applier = createMailApplier(options());
    await applier.apply(parseMailConfig(sampleInput()));
    const before = {
      sasl: await readFile(join(dir, 'invis_sasl_passwd'), 'utf8'),
      rc: await readFile(join(dir, 'fetchmailrc'), 'utf8'),
    };
    const input = sampleInput();
    const alice = input.users?.[0]?.accounts?.[0];
    if (!alice) throw new Error('fixture');
    alice.password = 'changed';
    failReload = true;
    runner.calls.length = 0;
    const error = await applier.apply(parseMailConfig(input)).catch((e: unknown) => e);
    expect(isMailRewriteError(error)).toBe(true);
    expect((error as MailRewriteError).code).toBe('MAIL_RELOAD_FAILED');
    expect(await readFile(join(dir, 'invis_sasl_passwd'), 'utf8')).toBe(before.sasl);
    expect(await readFile(join(dir, 'fetchmailrc'), 'utf8')).toBe(before.rc);
    expect(calls().filter((c) => c.endsWith('reload'))).toHaveLength(2);
    const json = (error as MailRewriteError).toJSON();
    expect(json).toMatchObject({ code: 'MAIL_RELOAD_FAILED', details: { confDir: dir } });
    expect(json.cause).toMatchObject({ code: 'MAIL_COMMAND_FAILED', details: { command: 'postfix', exitCode: 1 } });
    expect(JSON.stringify(error)).not.toContain('changed');
  });

  it('refuses an rc fetchmail rejects, without quoting its output', async () => {
    failFetchmail = true;
    const error = await createMailApplier(options())
      .apply(parseMailConfig(sampleInput()))
      .catch((e: unknown) => e);
    expect((error as MailRewriteError).code).toBe('MAIL_CHECK_FAILED');
    expect(`${(error as Error).message} ${JSON.stringify(error)}`).not.toContain('secret');
    await expect(stat(join(dir, 'fetchmailrc'))).rejects.toThrow();
    expect(await readFile(join(dir, 'main.cf'), 'utf8')).toBe('compatibility_level = 3.6\n');
    expect((await readdir(join(dir, 'backup'))).filter((f) => f.startsWith('work-'))).toEqual([]);
  });

  it('wraps a missing program in MAIL_COMMAND_FAILED with the host error as cause', async () => {
    runner = createScriptedRunner({});
    const error = await createMailApplier(options())
      .plan(parseMailConfig(sampleInput()))
      .catch((e: unknown) => e);
    expect(isMailRewriteError(error)).toBe(true);
    expect((error as MailRewriteError).toJSON()).toMatchObject({
      code: 'MAIL_COMMAND_FAILED',
      details: { command: 'postconf' },
      cause: { code: 'HOST_COMMAND_NOT_FOUND', details: { command: 'postconf' } },
    });
  });

  it('installs and removes the vacation script with its active link, and takes both back on failure', async () => {
    const applier = createMailApplier(options());
    const input = sampleInput();
    const alice = input.users?.[0];
    const account = alice?.accounts?.[0];
    if (!alice || !account) throw new Error('fixture');
    await applier.apply(parseMailConfig(input));
    const script = join(dir, 'home', 'alice', 'sieve', 'invis-vacation.sieve');
    const link = join(dir, 'home', 'alice', '.dovecot.sieve');

    alice.presence = 'vacation';
    alice.vacation = { subject: 'Urlaub', body: 'Bin weg.' };
    account.password = 'new password';
    failReload = true;
    const failed = await applier.apply(parseMailConfig(input)).catch((e: unknown) => e);
    expect((failed as MailRewriteError).code).toBe('MAIL_RELOAD_FAILED');
    await expect(stat(script)).rejects.toThrow();
    await expect(readlink(link)).rejects.toThrow();

    failReload = false;
    const on = await applier.apply(parseMailConfig(input));
    expect(filesWith(on, 'create')).toEqual([script]);
    expect(on.files.find((f) => f.path === script)?.diff).toContain('+require ["vacation", "date", "relational"];');
    expect(await readFile(link, 'utf8')).toBe(await readFile(script, 'utf8'));
    expect(calls().some((c) => c.startsWith('sievec'))).toBe(true);

    alice.presence = 'present';
    const report = await applier.apply(parseMailConfig(input));
    expect(filesWith(report, 'delete')).toEqual([script]);
    await expect(readlink(link)).rejects.toThrow();
  });
});

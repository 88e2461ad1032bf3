import { mkdtemp, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type CommandRunner, createMailApplier, type MailApplierOptions } from './apply';
import { MailRewriteError } from './errors';
import { parseMailConfig } from './model';
import { sampleInput } from './testing';

// Real files in a temp dir, fake programs: the order of steps and the rollback are under test
// here; the real Postfix/fetchmail/Pigeonhole runs are in test/integration.
let dir: string;
let calls: string[];
let failReload: boolean;
let failFetchmail: boolean;

const runner: CommandRunner = async (command, args) => {
  calls.push([command, ...args].join(' '));
  if (command === 'postconf' && args.includes('-n')) {
    return { exitCode: 0, stdout: (await readFile(join(args[1] as string, 'main.cf'), 'utf8')).trim(), stderr: '' };
  }
  if (command === 'postconf' && args.includes('-e')) {
    const file = join(args[1] as string, 'main.cf');
    const settings = args.slice(3).map((a) => a.replace('=', ' = '));
    await writeFile(file, `${await readFile(file, 'utf8')}${settings.join('\n')}\n`);
  }
  if (command === 'fetchmail' && failFetchmail) {
    return {
      exitCode: 6,
      stdout: '"password":"it\'s a \\"secret\\""',
      stderr: 'fetchmail: syntax error near "secret"',
    };
  }
  if (command === 'postmap') await writeFile(`${(args[2] as string).replace(/^lmdb:/, '')}.lmdb`, 'compiled');
  if (command === 'postfix' && args[2] === 'reload' && failReload) {
    return { exitCode: 1, stdout: '', stderr: 'postfix/postfix-script: fatal: the Postfix mail system is not running' };
  }
  return { exitCode: 0, stdout: '', stderr: '' };
};

const options = (): MailApplierOptions => ({
  paths: {
    postfixConfigDir: dir,
    fetchmailRc: join(dir, 'fetchmailrc'),
    sieveHome: (u) => join(dir, 'home', u.user),
    backupDir: join(dir, 'backup'),
  },
  fetchmail: { smtpHost: '127.0.0.1' },
  runner,
  clock: () => new Date('2026-11-28T12:00:00Z'),
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mail-apply-'));
  await writeFile(join(dir, 'main.cf'), 'compatibility_level = 3.6\n');
  calls = [];
  failReload = false;
  failFetchmail = false;
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('createMailApplier', () => {
  it('writes, compiles, checks and reloads, then reports unchanged', async () => {
    const applier = createMailApplier(options());
    const config = parseMailConfig(sampleInput());
    const plan = await applier.plan(config);
    expect(plan.changed).toContain(join(dir, 'invis_sasl_passwd'));
    await expect(stat(join(dir, 'invis_sasl_passwd'))).rejects.toThrow();
    expect(calls.every((c) => c.startsWith('postconf'))).toBe(true);
    const report = await applier.apply(config);
    expect(report.changed).toEqual(plan.changed);
    expect(report.reloaded).toBe(true);
    expect(report.changed).toContain(join(dir, 'main.cf'));
    expect(report.diff).toContain('+smtp_generic_maps = lmdb:');
    expect(report.diff).not.toContain('secret');
    expect((await stat(join(dir, 'invis_sasl_passwd'))).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'fetchmailrc'))).mode & 0o777).toBe(0o600);
    expect(calls.filter((c) => c.startsWith('postmap'))).toHaveLength(6);
    expect(calls.slice(-2)).toEqual([`postfix -c ${dir} check`, `postfix -c ${dir} reload`]);
    expect(calls.some((c) => c.startsWith('fetchmail -f') && c.endsWith('--configdump'))).toBe(true);

    calls = [];
    const again = await applier.apply(config);
    expect(again.changed).toEqual([]);
    expect(again.reloaded).toBe(false);
    expect(calls).toEqual([`postconf -c ${dir} -n`]);
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
    calls = [];
    const error = await applier.apply(parseMailConfig(input)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MailRewriteError);
    expect((error as MailRewriteError).code).toBe('MAIL_RELOAD_FAILED');
    expect(await readFile(join(dir, 'invis_sasl_passwd'), 'utf8')).toBe(before.sasl);
    expect(await readFile(join(dir, 'fetchmailrc'), 'utf8')).toBe(before.rc);
    expect(calls.filter((c) => c.endsWith('reload'))).toHaveLength(2);
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
    await expect(applier.apply(parseMailConfig(input))).rejects.toThrow(MailRewriteError);
    await expect(stat(script)).rejects.toThrow();
    await expect(readlink(link)).rejects.toThrow();

    failReload = false;
    await applier.apply(parseMailConfig(input));
    expect(await readFile(link, 'utf8')).toBe(await readFile(script, 'utf8'));
    expect(calls.some((c) => c.startsWith('sievec'))).toBe(true);

    alice.presence = 'present';
    const report = await applier.apply(parseMailConfig(input));
    expect(report.removed).toEqual([script]);
    await expect(readlink(link)).rejects.toThrow();
  });
});

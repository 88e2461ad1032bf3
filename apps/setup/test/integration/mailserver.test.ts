// The mailserver module into a staging root: every file passes its real checker (`postfix check`
// on the staged config folder, `doveconf -n`, `sievec`), the compiled tables answer `postmap -q`,
// secret files are 0600 and their content never shows in a plan, a second apply changes nothing.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { formatPlan } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { mailserverModule } from '../../src/modules/mailserver';
import { MODULE_ANSWERS, moduleContext } from './context';

const ANSWERS = {
  ...MODULE_ANSWERS,
  mail: { filter: 'rspamd' as const, admins: ['anna.schmidt@invis-net.loc'] },
};

describe('mailserver module (postfix check, doveconf, sievec, postmap)', () => {
  const dir = useTempDir('setup-mailserver-');

  it('stages Postfix and Dovecot that their own checkers accept, secrets 0600 and never in the plan', async () => {
    const root = dir();
    const ctx = await moduleContext(root, { answers: ANSWERS });
    const { value: password } = await ctx.secrets.ensure('ad-invis-portal');

    const plan = await mailserverModule.plan(ctx);
    const text = formatPlan(plan);
    expect(text).not.toContain(password);
    expect(text).toContain('/etc/dovecot/dovecot-ldap.conf.ext (secret, diff withheld)');
    expect(text).toContain('/etc/postfix/invis/saslPassword (secret, diff withheld)');

    const report = await mailserverModule.apply(ctx);
    expect(report.changed).toBe(true);
    for (const secret of ['etc/dovecot/dovecot-ldap.conf.ext', 'etc/postfix/invis/ldap-generic.cf']) {
      expect(((await stat(join(root, secret))).mode & 0o777).toString(8)).toBe('600');
    }
    expect(((await stat(join(root, 'etc/postfix/invis/saslPassword.lmdb'))).mode & 0o777).toString(8)).toBe('600');

    const postfixDir = join(root, 'etc/postfix');
    const check = await execa('postfix', ['-c', postfixDir, 'check'], { reject: false, all: true });
    expect(check.exitCode, check.all).toBe(0);
    const postconf = async (name: string) =>
      (await execa('postconf', ['-c', postfixDir, '-h', name], { reject: false })).stdout.trim();
    expect(await postconf('mynetworks')).toBe('127.0.0.0/8, 192.168.220.0/24, 192.168.166.0/24');
    expect(await postconf('smtpd_milters')).toBe('inet:127.0.0.1:11332');
    expect(await postconf('smtpd_sender_restrictions')).toBe(
      'reject_authenticated_sender_login_mismatch, check_client_access cidr:/etc/postfix/invis/server-itself.cidr, reject_unauthenticated_sender_login_mismatch',
    );
    // The compiled alias table answers as Postfix will ask it.
    const alias = await execa('postmap', [
      '-c',
      postfixDir,
      '-q',
      'postmaster@invis-net.loc',
      `lmdb:${join(root, 'etc/postfix/invis/virtual-aliases')}`,
    ]);
    expect(alias.stdout.trim()).toBe('anna.schmidt@invis-net.loc');

    const doveconf = async (name: string) =>
      (await execa('doveconf', ['-c', join(root, 'etc/dovecot/dovecot.conf'), name])).stdout.trim();
    expect(await doveconf('ssl_min_protocol')).toBe('ssl_min_protocol = TLSv1.2');
    expect(await doveconf('ssl')).toBe('ssl = required');
    expect(await doveconf('auth_username_format')).toBe('auth_username_format = %Ln');
    const sieve = await execa('sievec', [join(root, 'etc/dovecot/sieve/invis-junk.sieve'), join(root, 'junk.svbin')], {
      reject: false,
      all: true,
    });
    expect(sieve.exitCode, sieve.all).toBe(0);

    const again = await mailserverModule.apply(ctx);
    expect(again.changed).toBe(false);
    expect((await mailserverModule.verify(ctx)).filter((c) => !c.ok)).toEqual([]);
  }, 120_000);

  it('without a filter renders no milter; a changed admin list recompiles the alias tables only', async () => {
    const root = dir();
    const ctx = await moduleContext(root, { answers: { ...ANSWERS, mail: { filter: 'none' as const } } });
    await ctx.secrets.ensure('ad-invis-portal');
    await mailserverModule.apply(ctx);
    const postfixDir = join(root, 'etc/postfix');
    expect((await execa('postconf', ['-c', postfixDir, '-h', 'smtpd_milters'])).stdout.trim()).toBe('');
    const alias = await execa('postmap', ['-c', postfixDir, '-q', 'root', `lmdb:${join(postfixDir, 'invis/aliases')}`]);
    expect(alias.stdout.trim()).toBe('administrator@invis-net.loc');

    const changed = await moduleContext(root, {
      answers: { ...ANSWERS, mail: { filter: 'none' as const, admins: ['it@invis-net.loc'] } },
    });
    const plan = await mailserverModule.plan(changed);
    expect(plan.files.filter((f) => f.action !== 'unchanged').map((f) => f.path)).toEqual([
      '/etc/postfix/invis/aliases',
      '/etc/postfix/invis/virtual-aliases',
    ]);
  }, 120_000);
});

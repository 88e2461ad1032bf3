// The fetchmail module into a staging root: the rc (0600, never in a plan) passes `fetchmail
// --configdump`, the unit `systemd-analyze verify`; the rc of a directory configuration polls the
// present users only.
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { formatPlan } from '@invis/host';
import { parseFetchmailRc, parseMailConfig, renderFetchmailRc } from '@invis/mail-rewrite';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { fetchmailModule, fetchmailRcOf } from '../../src/modules/fetchmail';
import { MODULE_ANSWERS, moduleContext } from './context';

const account = (user: string) => ({
  address: `${user}@provider.test`,
  server: 'pop.provider.test',
  protocol: 'pop3' as const,
  tls: 'implicit' as const,
  login: `${user}@provider.test`,
  password: `p'"\\# ${user}`,
  smtp: { host: 'smtp.provider.test', port: 587 },
});

describe('fetchmail module (fetchmail --configdump, systemd-analyze verify)', () => {
  const dir = useTempDir('setup-fetchmail-');

  it('stages an rc fetchmail accepts, a hardened unit under the fetchmail user and the sync timer', async () => {
    const root = dir();
    const ctx = await moduleContext(root, { answers: { ...MODULE_ANSWERS } });
    const report = await fetchmailModule.apply(ctx);
    expect(report.files.map((f) => [f.path, f.action])).toEqual([
      ['/etc/fetchmailrc', 'create'],
      ['/etc/systemd/system/fetchmail.service', 'create'],
      ['/etc/systemd/system/invis-mail-sync.service', 'create'],
      ['/etc/systemd/system/invis-mail-sync.timer', 'create'],
    ]);
    expect(formatPlan(report)).toContain('/etc/fetchmailrc (secret, diff withheld)');
    expect(((await stat(join(root, 'etc/fetchmailrc'))).mode & 0o777).toString(8)).toBe('600');
    expect((await fetchmailModule.apply(ctx)).changed).toBe(false);
  }, 60_000);

  it('polls present users and users on vacation, never an absent one', async () => {
    const ctx = await moduleContext(dir(), {
      answers: { ...MODULE_ANSWERS, mail: { providerCaFile: '/etc/invis/providers.pem' } },
    });
    const config = parseMailConfig({
      localDomain: 'invis-net.loc',
      providers: [],
      users: [
        { user: 'alice', localAddress: 'alice@invis-net.loc', accounts: [account('alice')] },
        { user: 'bob', localAddress: 'bob@invis-net.loc', presence: 'absent', accounts: [account('bob')] },
        {
          user: 'carol',
          localAddress: 'carol@invis-net.loc',
          presence: 'vacation',
          vacation: { subject: 'Urlaub', body: 'Bis bald.' },
          accounts: [account('carol')],
        },
      ],
    });
    const rc = parseFetchmailRc(renderFetchmailRc(fetchmailRcOf(ctx, config)));
    const users = rc.polls.flatMap((p) => p.users);
    expect(users.map((u) => u.localAddress)).toEqual(['alice@invis-net.loc', 'carol@invis-net.loc']);
    expect(users[0]).toMatchObject({ password: `p'"\\# alice`, smtpHost: '127.0.0.1/25' });
    expect(users[0]?.sslCertFile).toBe('/etc/invis/providers.pem');
    expect(rc.idFile).toBe('/var/lib/fetchmail/.fetchids');
  });
});

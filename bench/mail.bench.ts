// Regenerate every Postfix table and the fetchmail rc for 500 users × 3 external accounts and
// apply them to a running private Postfix: @invis/mail-rewrite (render all, write changed
// files, one postmap per table, fetchmail --configdump, postfix check, one reload) vs the
// original's per-user approach (for each user: rewrite the rc by substring matching, rebuild
// the relay/SASL tables from the rc and run postmap), then one reload.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startMailServer } from '@invis/testbed';
import { execa } from 'execa';
// bench/ is not a workspace package; import the library from source like the tests do.
import {
  createMailApplier,
  type MailConfig,
  type MailConfigInput,
  parseMailConfig,
} from '../packages/mail-rewrite/src/index';
import { type Benchmark, measure, measureBatch } from './lib';

const PROVIDERS = ['gmx.de', 'web.de', 'mailbox.org'];

function config(users: number, round: number): MailConfig {
  const input: MailConfigInput = {
    localDomain: 'invis.test',
    providers: PROVIDERS.map((d) => ({ id: d, vendor: d, smtp: { host: `smtp.${d}` } })),
    users: Array.from({ length: users }, (_, i) => ({
      user: `user${i}`,
      localAddress: `user${i}@invis.test`,
      mainAddress: `user${i}@gmx.de`,
      presence: i % 10 === 0 ? ('absent' as const) : ('present' as const),
      accounts: PROVIDERS.map((d, j) => ({
        address: `user${i}@${d}`,
        server: `${j === 1 ? 'imap' : 'pop'}.${d}`,
        protocol: j === 1 ? ('imap' as const) : ('pop3' as const),
        login: `user${i}@${d}`,
        password: `pw'${i}"${j}-${round}`,
        provider: d,
      })),
    })),
  };
  return parseMailConfig(input);
}

/** The original's per-user update: rc lines by substring, create-rbs-map, postmap — per user. */
async function perUser(cfg: MailConfig, dir: string, confDir: string): Promise<void> {
  const rc = join(dir, 'fetchmailrc');
  const rbs = join(dir, 'relay-by-sender');
  const sasl = join(dir, 'sasl_passwd');
  for (const user of cfg.users) {
    const lines = (await readFile(rc, 'utf8').catch(() => ''))
      .split('\n')
      .filter((l) => l && !l.endsWith(` ${user.user}`));
    if (user.presence !== 'absent') {
      for (const a of user.accounts) {
        lines.push(
          `poll ${a.server} proto ${a.protocol} user ${a.login} pass '${a.password}' is ${user.user} here fetchall`,
        );
      }
    }
    await writeFile(rc, `${lines.join('\n')}\n`, { mode: 0o600 });
    // create-rbs-map: re-read the whole rc by field positions and write both tables.
    const fields = lines.map((l) => l.split(' '));
    await writeFile(rbs, fields.map((f) => `${f[6]} [smtp.${f[6]?.split('@')[1]}]:587`).join('\n'));
    await writeFile(sasl, fields.map((f) => `${f[6]} ${f[6]}:${f[8]}`).join('\n'), { mode: 0o600 });
    await execa('postmap', ['-c', confDir, `hash:${sasl}`]);
  }
  await execa('postfix', ['-c', confDir, 'reload']);
}

export const benchmark: Benchmark = {
  name: 'mail',
  description:
    'regenerate maps + fetchmail rc for 500 users × 3 accounts and apply to a private Postfix: @invis/mail-rewrite vs the original per-user postmap + rc rewrite',
  async run({ quick }) {
    const users = quick ? 100 : 500;
    const server = await startMailServer({ domain: 'invis.test', mailboxes: [] });
    const dir = await mkdtemp(join(tmpdir(), 'bench-mail-'));
    try {
      const confDir = server.info.postfixConfigDir;
      const applier = createMailApplier({
        paths: {
          postfixConfigDir: confDir,
          fetchmailRc: join(dir, 'fetchmailrc.ours'),
          sieveHome: (u) => join(dir, 'home', u.user),
          backupDir: join(dir, 'backup'),
        },
        fetchmail: { smtpHost: server.info.address },
      });
      const configs = [config(users, 0), config(users, 1)];
      // First apply: main.cf parameters (postconf -e on a copy + postfix check) and every file.
      const first = await measureBatch('@invis/mail-rewrite', 1, () => applier.apply(configs[1] as MailConfig));
      // Then every password changes each time, so all tables and the rc are rewritten.
      const again = await measure('@invis/mail-rewrite', quick ? 3 : 5, (i) =>
        applier.apply(configs[Math.abs(i) % 2] as MailConfig),
      );
      const peer = await measureBatch('per-user postmap + rc', 1, () =>
        perUser(configs[1] as MailConfig, dir, confDir),
      );
      const task = `${users} users × 3 accounts`;
      return [
        { task: `first apply (main.cf + tables + rc), ${task}`, ours: first, peer, target: '< 1 s total' },
        { task: `regenerate + apply all tables + rc, ${task}`, ours: again, peer, target: '< 1 s total' },
      ];
    } finally {
      await rm(dir, { recursive: true, force: true });
      await server.stop();
    }
  },
};

// Rollback with the real programs: a Postfix configuration whose master is not running makes
// `postfix reload` fail after postconf, postmap and postfix check succeeded; every file must be
// back as it was.
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { beforeAll, expect, inject, it } from 'vitest';
import { createMailApplier, MailRewriteError, parseMailConfig } from '../../src';
import { filesWith, sampleInput } from '../../src/testing';
import { idleServerConfig } from './fixtures';

const server = inject('mailServer');
const tmp = useTempDir('mail-rewrite-rollback-', { shared: true });
let confDir: string;

beforeAll(async () => {
  // Same settings as the running server, but its own (idle) queue: no master to reload.
  confDir = await idleServerConfig(server, tmp());
});

it('restores main.cf, tables and rc when postfix reload fails', async () => {
  const mainCf = await readFile(join(confDir, 'main.cf'), 'utf8');
  await writeFile(join(tmp(), 'fetchmailrc'), '# the previous rc\n', { mode: 0o600 });
  const applier = createMailApplier({
    paths: {
      postfixConfigDir: confDir,
      fetchmailRc: join(tmp(), 'fetchmailrc'),
      sieveHome: (u) => join(tmp(), 'home', u.user),
      backupDir: join(tmp(), 'backup'),
    },
    fetchmail: { smtpHost: server.address },
  });
  const error = await applier.apply(parseMailConfig(sampleInput())).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(MailRewriteError);
  expect((error as MailRewriteError).code).toBe('MAIL_RELOAD_FAILED');
  expect(await readFile(join(confDir, 'main.cf'), 'utf8')).toBe(mainCf);
  expect(await readFile(join(tmp(), 'fetchmailrc'), 'utf8')).toBe('# the previous rc\n');
  await expect(stat(join(confDir, 'invis_sasl_passwd'))).rejects.toThrow();
  await expect(stat(join(confDir, 'invis_sasl_passwd.lmdb'))).rejects.toThrow();
  // Back where it started: the same apply is still pending.
  expect(filesWith(await applier.plan(parseMailConfig(sampleInput())), 'update')).toContain(join(confDir, 'main.cf'));
});

// The users' Sieve folders belong to the mail user: whoever runs as that user can put symbolic
// links there. apply runs as root and must never write, read, chmod or chown through them.
import { chown, lstat, mkdir, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { useTempDir } from '@invis/test-utils';
import { beforeAll, beforeEach, expect, inject, it } from 'vitest';
import { createMailApplier, type MailApplier, MailRewriteError, parseMailConfig } from '../../src';
import { filesWith, sampleInput } from '../../src/testing';
import { idleServerConfig } from './fixtures';

const server = inject('mailServer');
const tmp = useTempDir('mail-rewrite-links-', { shared: true });
let applier: MailApplier;
let home: string;
let victimDir: string;
let victimFile: string;

const onVacation = () => {
  const input = sampleInput();
  const alice = input.users?.[0];
  if (!alice) throw new Error('fixture');
  alice.presence = 'vacation';
  alice.vacation = { subject: 'away', body: 'away' };
  return parseMailConfig(input);
};

const refused = async () => {
  const error = await applier.apply(onVacation()).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(MailRewriteError);
  expect((error as MailRewriteError).code).toBe('MAIL_UNSAFE_PATH');
};

const victimsUntouched = async () => {
  expect(await readdir(victimDir)).toEqual([]);
  expect((await stat(victimDir)).uid).toBe(0);
  expect(await readFile(victimFile, 'utf8')).toBe('root only\n');
  const file = await stat(victimFile);
  expect([file.uid, file.mode & 0o777]).toEqual([0, 0o600]);
};

beforeAll(async () => {
  const confDir = await idleServerConfig(server, tmp());
  applier = createMailApplier({
    paths: {
      postfixConfigDir: confDir,
      fetchmailRc: join(tmp(), 'fetchmailrc'),
      sieveHome: (u) => join(tmp(), 'homes', u.user),
      backupDir: join(tmp(), 'backup'),
    },
    fetchmail: { smtpHost: server.address },
    owners: { sieve: server.owner },
    reloadPostfix: false,
  });
});

beforeEach(async () => {
  await rm(join(tmp(), 'homes'), { recursive: true, force: true });
  home = join(tmp(), 'homes', 'alice');
  await mkdir(home, { recursive: true });
  await chown(home, server.owner.uid, server.owner.gid);
  victimDir = join(tmp(), 'victim-dir');
  victimFile = join(tmp(), 'victim-file');
  await rm(victimDir, { recursive: true, force: true });
  await mkdir(victimDir, { mode: 0o700 });
  await writeFile(victimFile, 'root only\n', { mode: 0o600 });
});

it('refuses a sieve folder that is a link (no script written there, nothing chowned)', async () => {
  await symlink(victimDir, join(home, 'sieve'));
  await refused();
  await victimsUntouched();
});

it('refuses a home that is a link', async () => {
  await rm(home, { recursive: true });
  await symlink(victimDir, home);
  await refused();
  await victimsUntouched();
});

it('refuses a vacation script that is a link (its target is never read into the report)', async () => {
  await mkdir(join(home, 'sieve'));
  await symlink(victimFile, join(home, 'sieve', 'invis-vacation.sieve'));
  await refused();
  await victimsUntouched();
});

it('never writes through a link planted at the temporary file name', async () => {
  await mkdir(join(home, 'sieve'));
  await chown(join(home, 'sieve'), server.owner.uid, server.owner.gid);
  await symlink(victimFile, join(home, 'sieve', '.invis-vacation.sieve.invis-tmp'));
  const report = await applier.apply(onVacation());
  expect(filesWith(report, 'create')).toContain(join(home, 'sieve', 'invis-vacation.sieve'));
  await victimsUntouched();
  const script = await lstat(join(home, 'sieve', 'invis-vacation.sieve'));
  expect([script.isFile(), script.uid]).toEqual([true, server.owner.uid]);
});

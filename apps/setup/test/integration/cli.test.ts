// invis-setup end to end into a staging root with the real programs: init → plan (diffs) →
// apply → plan empty → apply changes nothing; JSON parses; nothing lands outside the root.
import { chmod, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createExecaRunner, runChecked } from '@invis/host';
import { useTempDir } from '@invis/test-utils';
import { describe, expect, it } from 'vitest';
import { type CliIo, runCli } from '../../src/cli';
import { MODULES } from '../../src/modules/index';
import { ANSWERS_YAML, serverRunner, stageServer } from './helpers';

const repo = join(import.meta.dirname, '../../../..');

async function cli(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: (t) => {
      stdout += t;
    },
    stderr: (t) => {
      stderr += t;
    },
    env: {},
    isTty: false,
    runner: serverRunner(),
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}

describe('invis-setup --root', () => {
  const dir = useTempDir('setup-cli-');

  it('renders a whole server into the root, idempotently, and nothing outside it', async () => {
    const root = join(dir(), 'root');
    await stageServer(root);
    await writeFile(join(dir(), 'answers.yaml'), ANSWERS_YAML);
    const before = await readdir(dir());

    const init = await cli(['init', '--answers', join(dir(), 'answers.yaml'), '--root', root, '--json']);
    expect(init.code).toBe(0);
    const initDoc = JSON.parse(init.stdout);
    expect(initDoc).toMatchObject({
      ok: true,
      command: 'init',
      secretsCreated: ['ad-administrator', 'ad-invis-portal', 'ad-invis-portal-admin'],
    });
    const port = initDoc.answers.ssh.port as number;
    expect(port >= 50001 && port <= 65535 && (port < 61000 || port > 61999)).toBe(true);
    const saved = await readFile(join(root, 'etc/invis/setup/answers.yaml'), 'utf8');
    expect(saved).toContain(`port: ${port}`);
    const secret = (await cli(['secrets', 'show', 'ad-administrator', '--root', root])).stdout.trim();
    expect(secret).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(saved).not.toContain(secret);

    const plan = await cli(['plan', '--root', root, '--exit-code']);
    expect(plan.code).toBe(4);
    expect(plan.stdout).toContain('+++ b/etc/ssh/sshd_config.d/invis.conf');
    expect(plan.stdout).toContain(`+Port ${port}`);
    expect(plan.stdout).toContain('+allow 192.168.220.0/24');
    expect(plan.stdout).toContain('+++ b/etc/sysctl.d/90-invis-router.conf');
    // No service action and nothing that changes the machine: the one command is firewalld's check.
    expect(plan.stdout.match(/^(service|run) .*$/gm)).toEqual([
      'run /usr/bin/firewall-offline-cmd --system-config /etc/firewalld --check-config  # check the written configuration in place',
    ]);
    const planJson = JSON.parse((await cli(['plan', '--root', root, '--json'])).stdout);
    expect(planJson).toMatchObject({ ok: true, command: 'plan', changed: true });

    const apply = await cli(['apply', '--root', root, '--lang', 'en']);
    // check writes nothing, ddns is off without a ddns section, nfs without nfs.enabled and webmail without
    // mail.webmail: they stay unchanged.
    for (const module of MODULES.filter((m) => !['check', 'ddns', 'nfs', 'webmail'].includes(m.id))) {
      expect(apply.stderr).toContain(`/${MODULES.length}] ${module.id} (${module.title.en}): applied`);
    }
    expect(apply.code).toBe(0);
    expect(apply.stdout).toContain(`Done: ${MODULES.length - 4} module(s) changed, 4 unchanged.`);
    expect(await readFile(join(root, 'etc/ssh/sshd_config.d/invis.conf'), 'utf8')).toContain(`Port ${port}\n`);

    const again = await cli(['plan', '--root', root, '--exit-code']);
    expect([again.code, again.stdout]).toEqual([0, 'Keine Änderungen.\n']);
    const second = await cli(['apply', '--root', root, '--json']);
    expect(second.code).toBe(0);
    const secondDoc = JSON.parse(second.stdout);
    expect(secondDoc.changed).toBe(false);
    expect(secondDoc.modules.map((m: { changed: boolean }) => m.changed)).toEqual(MODULES.map(() => false));
    // `apply --answers` (init + apply in one unattended command) with the same file keeps the ports
    // chosen at init and changes nothing.
    const unattended = await cli(['apply', '--answers', join(dir(), 'answers.yaml'), '--root', root, '--json']);
    expect(unattended.code).toBe(0);
    expect(JSON.parse(unattended.stdout).changed).toBe(false);
    expect(await readFile(join(root, 'etc/invis/setup/answers.yaml'), 'utf8')).toBe(saved);

    expect((await cli(['verify', '--root', root])).code).toBe(0);
    const status = JSON.parse((await cli(['status', '--root', root, '--json'])).stdout);
    expect(status.modules.map((m: { status: string }) => m.status)).toEqual(MODULES.map(() => 'applied'));

    // Only the root is new next to it; no check folder stayed behind inside it.
    expect((await readdir(dir())).sort()).toEqual(before.sort());
    expect(await readdir(join(root, 'etc/ssh/sshd_config.d'))).toEqual(['invis.conf']);
    expect((await stat(join(root, 'etc/invis/secrets/ad-administrator'))).mode & 0o777).toBe(0o600);
  });

  it('runs as an unprivileged user: init, apply and plan succeed writing only below the root', async () => {
    const root = join(dir(), 'root');
    await stageServer(root);
    await writeFile(join(dir(), 'answers.yaml'), ANSWERS_YAML);
    const tmp = join(dir(), 'tmp');
    await mkdir(tmp);
    await chmod(dir(), 0o755);
    const runner = createExecaRunner();
    await runChecked(runner, 'chown', ['-R', '65534:65534', '--', dir()]);
    const asNobody = (args: string[]) =>
      runner.run(
        'setpriv',
        [
          '--reuid=nobody',
          '--regid=nogroup',
          '--clear-groups',
          process.execPath,
          '--conditions=@invis/source',
          '--import',
          'tsx',
          'apps/setup/src/bin.ts',
          ...args,
          '--root',
          root,
        ],
        // tsx keeps its compile cache in TMPDIR: inside the test folder, not /tmp.
        { cwd: repo, env: { TMPDIR: tmp, LANG: 'en_US.UTF-8' }, timeoutMs: 60_000 },
      );
    const init = await asNobody(['init', '--answers', join(dir(), 'answers.yaml')]);
    expect(init.stderr).toBe('');
    expect(init.exitCode).toBe(0);
    // sshd -t needs the host keys only root can read: the unprivileged run stages the rest.
    const apply = await asNobody(['apply', 'check', 'network', 'time']);
    expect(apply.exitCode, apply.stderr).toBe(0);
    const plan = await asNobody(['plan', '--json']);
    const doc = JSON.parse(plan.stdout);
    expect(
      doc.modules
        .filter((m: { plan: { files: { action: string }[] } }) => m.plan.files.some((f) => f.action !== 'unchanged'))
        .map((m: { module: string }) => m.module),
    ).toEqual(
      MODULES.map((m) => m.id).filter((id) => !['check', 'network', 'time', 'ddns', 'nfs', 'webmail'].includes(id)),
    );
    expect((await stat(join(root, 'etc/chrony/conf.d/invis.conf'))).uid).toBe(65534);
    expect((await readdir(dir())).sort()).toEqual(['answers.yaml', 'root', 'tmp']);
  });

  it('answers usage errors with exit 2 and bad answers with exit 1, naming the field', async () => {
    const root = join(dir(), 'root');
    await stageServer(root);
    expect((await cli(['frobnicate'])).code).toBe(2);
    expect((await cli(['plan', '--bogus'])).code).toBe(2);
    const noAnswers = await cli(['init', '--root', root, '--json']);
    expect(noAnswers.code).toBe(2);
    expect(JSON.parse(noAnswers.stdout).error.code).toBe('SETUP_USAGE');
    await writeFile(join(dir(), 'bad.yaml'), ANSWERS_YAML.replace('invis-net.loc', 'firma.local'));
    const bad = await cli(['init', '--answers', join(dir(), 'bad.yaml'), '--root', root, '--lang', 'en']);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('domain: domain: at least two labels');
    expect((await cli(['plan', '--root', root])).stderr).toContain('invis-setup init');
    expect((await cli(['plan', 'dnss', '--root', root])).code).toBe(1);
    expect((await cli(['secrets', 'show', '../x', '--root', root])).code).toBe(2);
    for (const command of ['init', 'plan', 'apply', 'verify', 'status', 'secrets']) {
      const help = await cli([command, '--help', '--lang', 'en']);
      expect([help.code, help.stdout.startsWith(`usage: invis-setup ${command}`)]).toEqual([0, true]);
    }
    expect((await cli(['--version'])).stdout).toMatch(/^invis-setup \d+\.\d+\.\d+\n$/);
  });
});

// `ssh`: sshd on the random external port from the answers, root by key only, password login as
// answered — one drop-in, checked with the real `sshd -t`, then `ssh` reloaded.
import { generatedMarker } from '@invis/host';
import type { Answers } from '../answers';
import { fileModule, type ModuleContext, runChecker, type VerifyCheck } from '../module';

/**
 * The sshd drop-in for the answers.
 * @param answers the answers (ssh port and password login)
 * @returns the file content
 */
export function renderSshdDropIn(answers: Answers): string {
  return [
    generatedMarker('@invis/setup-1', 'hash'),
    '# sshd on the external port chosen at init; root logs in with a key only.',
    `Port ${answers.ssh.port}`,
    'PermitRootLogin prohibit-password',
    `PasswordAuthentication ${answers.ssh.passwordAuthentication ? 'yes' : 'no'}`,
    // Keyboard-interactive would let PAM ask for the password that PasswordAuthentication refuses.
    `KbdInteractiveAuthentication ${answers.ssh.passwordAuthentication ? 'yes' : 'no'}`,
    '',
  ].join('\n');
}

async function verifyLive(ctx: ModuleContext): Promise<VerifyCheck[]> {
  const { ssh } = ctx.profile;
  const checks: VerifyCheck[] = [];
  const active = await ctx.services.isActive(ssh.unit);
  checks.push({
    name: `service ${ssh.unit}`,
    ok: active,
    ...(active ? {} : { problem: `${ssh.unit} is not running` }),
  });
  // The effective configuration, main file and every drop-in together.
  const result = await ctx.runner.run(ssh.sshd, ['-T'], { timeoutMs: 30_000 });
  const ports = [...result.stdout.matchAll(/^port (\d+)$/gm)].map((m) => Number(m[1]));
  const wanted = ctx.answers.ssh.port;
  const ok = result.exitCode === 0 && ports.length === 1 && ports[0] === wanted;
  checks.push({
    name: 'sshd port',
    ok,
    ...(ok ? {} : { problem: `sshd -T reports port(s) ${ports.join(', ') || 'none'}, expected only ${wanted}` }),
  });
  return checks;
}

/** The `ssh` module. */
export const sshModule = fileModule({
  id: 'ssh',
  title: { de: 'SSH-Zugang', en: 'SSH access' },
  dependsOn: ['check'],
  render: (ctx) => ({
    directories: [{ path: ctx.profile.ssh.dropInDir, mode: 0o755 }],
    files: [
      {
        path: `${ctx.profile.ssh.dropInDir}/invis.conf`,
        content: renderSshdDropIn(ctx.answers),
        mode: 0o644,
        check: (c, candidate) => runChecker(c.runner, c.profile.ssh.sshd, ['-t', '-f', candidate]),
      },
    ],
    services: [{ unit: ctx.profile.ssh.unit, action: 'reload' }],
    commands: [],
  }),
  verifyLive,
});

// Shared by the integration tests: a staging root that looks like a Debian server with the two
// invis interfaces, and the real runner with sshd's privilege-separation folder provided.
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { type CommandRunner, createExecaRunner } from '@invis/host';

/** The answers of the tests (the SSH port is left to init). */
export const ANSWERS_YAML = `hostname: invis
domain: invis-net.loc
interfaces:
  intern: intern
  extern: extern
lan:
  address: 192.168.220.10/24
vpn:
  network: 192.168.166.0/24
ssh:
  passwordAuthentication: false
`;

/**
 * Prepares `root` like the server: this machine's os-release, interfaces `intern` and `extern`.
 * @param root the staging root
 */
export async function stageServer(root: string): Promise<void> {
  await mkdir(join(root, 'etc'), { recursive: true });
  await copyFile('/etc/os-release', join(root, 'etc/os-release'));
  for (const nic of ['intern', 'extern']) await mkdir(join(root, 'sys/class/net', nic), { recursive: true });
}

/**
 * The real runner, except that `sshd` runs in a private mount namespace with a fresh /run that
 * has /run/sshd: `sshd -t` as root insists on that folder, which a server running ssh has and
 * this test machine (no systemd) does not. Nothing outside the namespace changes.
 * @returns the runner
 */
export function serverRunner(): CommandRunner {
  const real = createExecaRunner();
  return {
    run(command, args, options) {
      if (!command.endsWith('/sshd')) return real.run(command, args, options);
      return real.run(
        'unshare',
        [
          '--mount',
          '--',
          'sh',
          '-c',
          'mount -t tmpfs tmpfs /run && mkdir -m 0755 /run/sshd && exec "$0" "$@"',
          command,
          ...args,
        ],
        options,
      );
    },
  };
}

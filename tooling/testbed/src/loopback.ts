import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { TestbedError } from './errors';
import { onExitCleanup } from './process';

/** A loopback address reserved for one server, so several can use the same ports side by side. */
export interface LoopbackAddress {
  readonly address: string;
  release(): Promise<void>;
}

/**
 * Adds a fresh `127.77.x.y/32` to `lo` and returns it. `ip addr add` fails when the address
 * exists, which makes the choice atomic between concurrent test runs. Samba needs the address
 * on an interface (it enumerates interfaces), which a plain 127.x bind would not.
 */
export async function reserveLoopbackAddress(): Promise<LoopbackAddress> {
  const start = (process.pid * 7) % 60000;
  for (let i = 0; i < 200; i++) {
    const n = (start + i) % 64000;
    const address = `127.77.${Math.floor(n / 250)}.${(n % 250) + 2}`;
    const added = await execa('ip', ['addr', 'add', `${address}/32`, 'dev', 'lo'], { reject: false });
    if (added.exitCode === 0) {
      const remove = (): void => {
        try {
          execFileSync('ip', ['addr', 'del', `${address}/32`, 'dev', 'lo'], { stdio: 'ignore' });
        } catch {
          // already removed
        }
      };
      const forget = onExitCleanup(remove);
      return {
        address,
        async release() {
          forget();
          await execa('ip', ['addr', 'del', `${address}/32`, 'dev', 'lo'], { reject: false });
        },
      };
    }
    if (!/File exists|already assigned/i.test(added.stderr)) {
      throw new TestbedError('TESTBED_NETWORK', `cannot add a loopback address (root needed): ${added.stderr}`);
    }
  }
  throw new TestbedError('TESTBED_NETWORK', 'no free 127.77.x.y loopback address');
}

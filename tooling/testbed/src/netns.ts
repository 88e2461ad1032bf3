import { execFileSync } from 'node:child_process';
import { execa } from 'execa';
import { onExitCleanup, run } from './process';

/** A network namespace created by the testbed; `remove()` deletes it (stop its daemons first). */
export interface Netns {
  readonly name: string;
  remove(): Promise<void>;
}

/** One end of a veth link inside a namespace. */
export interface VethEnd {
  netns: string;
  ifname: string;
  /** Address with prefix, e.g. `10.199.0.1/24`, or none. */
  cidr?: string;
  /** MAC address to set, e.g. for DHCP reservations. */
  mac?: string;
}

let counter = 0;

/**
 * Creates namespace `inv-<tag>-<pid>-<n>` with `lo` up. Names carry the pid so concurrent runs
 * never collide; the namespace is deleted at process exit if the caller forgets.
 */
export async function createNetns(tag: string): Promise<Netns> {
  const name = `inv-${tag}-${process.pid}-${counter++}`.slice(0, 40);
  await run('ip', ['netns', 'add', name]);
  await run('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  const forget = onExitCleanup(() => {
    try {
      execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' });
    } catch {
      // already deleted
    }
  });
  return {
    name,
    async remove() {
      forget();
      await execa('ip', ['netns', 'del', name], { reject: false });
    },
  };
}

/**
 * Joins two namespaces with a veth pair, sets optional MACs and addresses, brings both up.
 * Deleting either namespace removes the pair.
 */
export async function connectVeth(left: VethEnd, right: VethEnd): Promise<void> {
  await run('ip', [
    'link',
    'add',
    left.ifname,
    'netns',
    left.netns,
    'type',
    'veth',
    'peer',
    'name',
    right.ifname,
    'netns',
    right.netns,
  ]);
  for (const end of [left, right]) {
    if (end.mac) await run('ip', ['-n', end.netns, 'link', 'set', 'dev', end.ifname, 'address', end.mac]);
    if (end.cidr) await run('ip', ['-n', end.netns, 'addr', 'add', end.cidr, 'dev', end.ifname]);
    await run('ip', ['-n', end.netns, 'link', 'set', end.ifname, 'up']);
  }
}

// A LAN for the module tests that need a running DC: a network namespace whose LAN interface is
// called `intern` (as on the server), joined to this machine by a veth pair, and a service
// manager that starts the staged daemons in it as systemd would start their units.
import { join } from 'node:path';
import type { ServiceManager } from '@invis/host';
import { createNetns, type Daemon, processesWithArgument, run, spawnDaemon, terminateProcesses } from '@invis/testbed';

/** The namespace, the server's LAN address in it and how to remove it. */
export interface TestLan {
  netns: string;
  /** The server's address (`<subnet>.2`); this machine is `<subnet>.1`. */
  address: string;
  /** `<address>/24`, for the answers. */
  cidr: string;
  remove(): Promise<void>;
}

/**
 * Creates the namespace with `intern` at a random 10.213.x.2/24.
 * @returns the LAN
 */
export async function startLan(): Promise<TestLan> {
  const netns = await createNetns('setup');
  const subnet = `10.213.${Math.floor(Math.random() * 200) + 20}`;
  const hostIf = `invst${process.pid % 100000}`;
  await run('ip', ['link', 'add', hostIf, 'type', 'veth', 'peer', 'name', 'intern', 'netns', netns.name]);
  await run('ip', ['addr', 'add', `${subnet}.1/24`, 'dev', hostIf]);
  await run('ip', ['link', 'set', hostIf, 'up']);
  await run('ip', ['-n', netns.name, 'addr', 'add', `${subnet}.2/24`, 'dev', 'intern']);
  await run('ip', ['-n', netns.name, 'link', 'set', 'intern', 'up']);
  return { netns: netns.name, address: `${subnet}.2`, cidr: `${subnet}.2/24`, remove: () => netns.remove() };
}

/**
 * The DC's and BIND's units, started from the files below `root` inside `netns`.
 * @param netns the namespace
 * @param root the staging root
 * @returns a service manager, plus `stopAll`
 */
export function netnsServices(netns: string, root: string): ServiceManager & { stopAll(): Promise<void> } {
  const smbConf = join(root, 'etc/samba/smb.conf');
  const units: Record<string, { command: string; args: string[]; marker: string; env?: Record<string, string> }> = {
    'samba-ad-dc': { command: 'samba', args: ['-i', '-M', 'single', '-s', smbConf], marker: smbConf },
    named: {
      command: 'named',
      args: ['-g', '-c', join(root, 'etc/bind/named.conf')],
      marker: join(root, 'etc/bind'),
      // Samba's DLZ module reads the default smb.conf (names for SOA and NS); on the server that is
      // the rendered file, here the staged one.
      env: { SMB_CONF_PATH: smbConf },
    },
  };
  const running = new Map<string, Daemon>();
  const unitOf = (unit: string) => {
    const spec = units[unit];
    if (!spec) throw new Error(`no unit ${unit} in this test`);
    return spec;
  };
  const stop = async (unit: string) => {
    await running.get(unit)?.stop();
    running.delete(unit);
    // smbd starts samba-dcerpcd and its workers in a new session; they carry the config path.
    await terminateProcesses(processesWithArgument(unitOf(unit).marker));
  };
  const start = async (unit: string) => {
    if (running.get(unit)?.isRunning()) return;
    const spec = unitOf(unit);
    running.set(
      unit,
      spawnDaemon(unit, spec.command, spec.args, join(root, `${unit}.log`), {
        netns,
        ...(spec.env ? { env: spec.env } : {}),
      }),
    );
  };
  const restart = async (unit: string) => {
    await stop(unit);
    await start(unit);
  };
  return {
    start,
    stop,
    restart,
    reload: restart,
    reloadOrRestart: restart,
    isActive: async (unit) => running.get(unit)?.isRunning() ?? false,
    async stopAll() {
      for (const unit of [...running.keys()]) await stop(unit);
    },
  };
}

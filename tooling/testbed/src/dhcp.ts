import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestbedError } from './errors';
import { connectVeth, createNetns, type Netns } from './netns';
import { type Daemon, run, spawnDaemon, waitUntilReady } from './process';
import type { RunningServer } from './server';

/** A server namespace and a client namespace joined by a veth pair; plain data. */
export interface DhcpLabInfo {
  serverNetns: string;
  clientNetns: string;
  /** Interface the DHCP server serves (in `serverNetns`). */
  serverIf: string;
  /** Interface the client asks on (in `clientNetns`). */
  clientIf: string;
  /** Random `10.2xx.y.0/24`, used only inside the two namespaces. */
  subnet: string;
  /** `10.2xx.y.1`, on `serverIf`. */
  serverAddress: string;
  /** First three octets, e.g. `10.213.7`, for building addresses in tests. */
  net: string;
  /** Temp directory for configs, leases, logs. */
  dir: string;
}

/** The network of one DHCP test: remove() deletes namespaces and the directory. */
export interface DhcpLab {
  readonly info: DhcpLabInfo;
  remove(): Promise<void>;
}

/**
 * Creates `inv-<tag>s-<pid>-n` (server, `srv0` = .1/24) and `inv-<tag>c-<pid>-n` (client,
 * `cli0`, no address) joined by veth, in a random 10.200–255.x.0/24. ~0.1 s.
 */
export async function createDhcpLab(tag = 'dhcp'): Promise<DhcpLab> {
  const dir = await mkdtemp(join(tmpdir(), `invis-${tag}-`));
  const made: Netns[] = [];
  const remove = async (): Promise<void> => {
    for (const ns of made.reverse()) await ns.remove();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    made.push(await createNetns(`${tag}s`));
    made.push(await createNetns(`${tag}c`));
    const [server, client] = made as [Netns, Netns];
    const net = `10.${200 + Math.floor(Math.random() * 56)}.${Math.floor(Math.random() * 256)}`;
    await connectVeth(
      { netns: server.name, ifname: 'srv0', cidr: `${net}.1/24` },
      { netns: client.name, ifname: 'cli0' },
    );
    const info: DhcpLabInfo = {
      serverNetns: server.name,
      clientNetns: client.name,
      serverIf: 'srv0',
      clientIf: 'cli0',
      subnet: `${net}.0/24`,
      serverAddress: `${net}.1`,
      net,
      dir,
    };
    return { info, remove };
  } catch (error) {
    await remove();
    throw error;
  }
}

/** Connection data of a test Kea: lab plus file locations. */
export interface KeaInfo extends DhcpLabInfo {
  configFile: string;
  controlSocket: string;
  leaseFile: string;
  logFile: string;
  pid: number;
}

/** Paths a Kea config must use (passed to the `config` callback). */
export interface KeaPaths {
  lab: DhcpLabInfo;
  controlSocket: string;
  leaseFile: string;
  /** Lease-commands hook shipped with Debian's Kea. */
  leaseCmdsHook: string;
}

/** The lease_cmds hook in Debian 12's kea-dhcp4-server. */
export const KEA_LEASE_CMDS_HOOK = '/usr/lib/x86_64-linux-gnu/kea/hooks/libdhcp_lease_cmds.so';

/**
 * Starts `kea-dhcp4` in the server namespace of a new lab (or `options.lab`) with the config
 * returned by `options.config` (which must use the given control socket and lease file).
 * The config is checked with `kea-dhcp4 -t` inside the namespace first (Kea checks that the
 * interfaces exist). Ready when the control socket exists (~0.1 s).
 */
export async function startKea(options: {
  config: (paths: KeaPaths) => string;
  lab?: DhcpLab;
}): Promise<RunningServer<KeaInfo>> {
  const lab = options.lab ?? (await createDhcpLab('kea'));
  try {
    const { dir, serverNetns } = lab.info;
    const paths: KeaPaths = {
      lab: lab.info,
      controlSocket: join(dir, 'kea4.sock'),
      leaseFile: join(dir, 'kea-leases4.csv'),
      leaseCmdsHook: KEA_LEASE_CMDS_HOOK,
    };
    const configFile = join(dir, 'kea-dhcp4.conf');
    await writeFile(configFile, options.config(paths));
    await run('ip', ['netns', 'exec', serverNetns, 'kea-dhcp4', '-t', configFile]);
    const logFile = join(dir, 'kea.log');
    // Without these Kea wants /run/kea for its pid and logger lock files.
    const daemon = spawnDaemon('kea-dhcp4', 'kea-dhcp4', ['-c', configFile], logFile, {
      netns: serverNetns,
      env: { KEA_PIDFILE_DIR: dir, KEA_LOCKFILE_DIR: dir },
    });
    const readyMs = await waitUntilReady(daemon, async () => existsSync(paths.controlSocket), 10_000, 20);
    return {
      info: {
        ...lab.info,
        configFile,
        controlSocket: paths.controlSocket,
        leaseFile: paths.leaseFile,
        logFile,
        pid: daemon.pid,
      },
      readyMs,
      async stop() {
        await daemon.stop();
        if (!options.lab) await lab.remove();
      },
    };
  } catch (error) {
    if (!options.lab) await lab.remove();
    throw error;
  }
}

/** Connection data of a test ISC dhcpd. */
export interface DhcpdInfo extends DhcpLabInfo {
  configFile: string;
  leaseFile: string;
  logFile: string;
}

/** A running dhcpd; `restart()` stops and starts it on the same files (dhcpd cannot reload). */
export interface DhcpdServer extends RunningServer<DhcpdInfo> {
  restart(): Promise<void>;
  pid(): number;
}

/**
 * Starts ISC `dhcpd -f -d` in the server namespace of a new lab (or `options.lab`), serving
 * `srv0`, with the config from `options.config` (use `ping-check false` for fast leases).
 * Ready when dhcpd logs "Server starting service".
 */
export async function startDhcpd(options: {
  config: (lab: DhcpLabInfo) => string;
  lab?: DhcpLab;
}): Promise<DhcpdServer> {
  const lab = options.lab ?? (await createDhcpLab('dhcpd'));
  const { dir, serverNetns, serverIf } = lab.info;
  const configFile = join(dir, 'dhcpd.conf');
  const leaseFile = join(dir, 'dhcpd.leases');
  const logFile = join(dir, 'dhcpd.log');
  let daemon: Daemon | undefined;
  const start = async (): Promise<number> => {
    await writeFile(logFile, '');
    const d = spawnDaemon(
      'dhcpd',
      'dhcpd',
      ['-f', '-d', '-4', '-cf', configFile, '-lf', leaseFile, '-pf', join(dir, 'dhcpd.pid'), serverIf],
      logFile,
      { netns: serverNetns },
    );
    daemon = d;
    return waitUntilReady(
      d,
      async () => (await readFile(logFile, 'utf8')).includes('Server starting service'),
      10_000,
      20,
    );
  };
  try {
    await writeFile(configFile, options.config(lab.info));
    if (!existsSync(leaseFile)) await writeFile(leaseFile, '');
    const readyMs = await start();
    return {
      info: { ...lab.info, configFile, leaseFile, logFile },
      readyMs,
      pid: () => daemon?.pid ?? 0,
      async restart() {
        await daemon?.stop();
        await start();
      },
      async stop() {
        await daemon?.stop();
        if (!options.lab) await lab.remove();
      },
    };
  } catch (error) {
    await daemon?.stop();
    if (!options.lab) await lab.remove();
    throw error;
  }
}

/** What a DHCP client was given. */
export interface DhcpLeaseResult {
  ip: string;
  /** Prefix length or dotted mask as udhcpc reports it. */
  mask: string;
  routers: string[];
  dns: string[];
  domain?: string;
  search: string[];
  ntp: string[];
  wins: string[];
  leaseSeconds: number;
  /** Time from start to lease. */
  ms: number;
}

// udhcpc calls this for every event; on "bound" it writes the lease to $DHCP_OUT and
// configures nothing (the default script would rewrite /etc/resolv.conf).
const HOOK = `#!/bin/sh
[ "$1" = bound ] || exit 0
{
  echo "ip=$ip"; echo "mask=$mask"; echo "router=$router"; echo "dns=$dns"; echo "domain=$domain"
  echo "search=$search"; echo "ntp=$ntpsrv"; echo "wins=$wins"; echo "lease=$lease"
} > "$DHCP_OUT"
`;

/**
 * Runs `busybox udhcpc` once in the client namespace with `mac` set on `cli0`, asking for
 * routers, DNS, domain, search, NTP and WINS; returns what the server offered.
 * Throws `TESTBED_COMMAND_FAILED` when no lease arrives within `timeoutSec`.
 */
export async function requestDhcpLease(
  lab: DhcpLabInfo,
  options: { mac: string; timeoutSec?: number },
): Promise<DhcpLeaseResult> {
  const hook = join(lab.dir, 'udhcpc-hook.sh');
  if (!existsSync(hook)) {
    await writeFile(hook, HOOK);
    await chmod(hook, 0o755);
  }
  const out = join(lab.dir, `lease-${options.mac.replaceAll(':', '')}-${Date.now()}.env`);
  await run('ip', ['-n', lab.clientNetns, 'link', 'set', 'dev', lab.clientIf, 'address', options.mac]);
  const tries = String(options.timeoutSec ?? 5);
  const t0 = performance.now();
  await run(
    'ip',
    [
      'netns',
      'exec',
      lab.clientNetns,
      'busybox',
      'udhcpc',
      '-i',
      lab.clientIf,
      '-f',
      '-q',
      '-n',
      '-t',
      tries,
      '-T',
      '1',
      '-O',
      'search',
      '-O',
      'ntpsrv',
      '-O',
      'wins',
      '-s',
      hook,
    ],
    { env: { DHCP_OUT: out } },
  );
  const ms = performance.now() - t0;
  const text = await readFile(out, 'utf8').catch(() => {
    throw new TestbedError('TESTBED_COMMAND_FAILED', `udhcpc with ${options.mac} got no lease`);
  });
  await rm(out, { force: true });
  const kv = Object.fromEntries(
    text
      .split('\n')
      .filter(Boolean)
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).trim()]),
  ) as Record<string, string>;
  const list = (v: string | undefined): string[] => (v ? v.split(/\s+/).filter(Boolean) : []);
  return {
    ip: kv.ip ?? '',
    mask: kv.mask ?? '',
    routers: list(kv.router),
    dns: list(kv.dns),
    ...(kv.domain ? { domain: kv.domain } : {}),
    search: list(kv.search),
    ntp: list(kv.ntp),
    wins: list(kv.wins),
    leaseSeconds: Number(kv.lease ?? 0),
    ms,
  };
}

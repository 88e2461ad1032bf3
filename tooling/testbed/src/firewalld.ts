// firewalld for tests: the daemon runs inside a router network namespace and talks to its own
// dbus-daemon (a private "system" bus on a path socket), never to the host's network or bus.
// WAN and LAN namespaces hang off the router on veth pairs, so tests can send real traffic.
import { existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectVeth, createNetns, type Netns } from './netns';
import { type Daemon, run, spawnDaemon, waitUntilReady } from './process';
import type { RunningServer } from './server';

/** One side of the test network. */
export interface FirewalldHost {
  netns: string;
  address: string;
}

/** Connection data of a test firewalld; plain data. */
export interface FirewalldInfo {
  /** The daemon's `--system-config` (a temp dir; starts with firewalld.conf only). */
  configDir: string;
  /** Pass to firewall-cmd (or the library's runner) to reach this daemon's private bus. */
  env: { DBUS_SYSTEM_BUS_ADDRESS: string };
  /** Router namespace: `extern` (WAN, `wanAddress`) and `intern` (LAN, `lanAddress`). */
  router: { netns: string; wanIf: 'extern'; lanIf: 'intern'; wanAddress: string; lanAddress: string };
  /** "Internet" host on the WAN link; no route to the LAN (so only masquerade lets LAN traffic back). */
  wan: FirewalldHost;
  /** LAN host; default route via the router. */
  lan: FirewalldHost;
  /** With `dmz: true`: a DMZ host behind the router's `dmz` interface (10.233.0.1); default route via the router. */
  dmz?: FirewalldHost;
  logFile: string;
}

/** A running test firewalld. */
export type FirewalldServer = RunningServer<FirewalldInfo>;

// Subnets only exist inside our own namespaces, so concurrent runs cannot collide.
const WAN = { router: '10.231.0.1', host: '10.231.0.2' };
const LAN = { router: '10.232.0.1', host: '10.232.0.2' };
const DMZ = { router: '10.233.0.1', host: '10.233.0.2' };

function dbusConfig(socket: string): string {
  return `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="root"/><allow own="*"/><allow send_destination="*"/><allow receive_sender="*"/>
  </policy>
  <includedir>/usr/share/dbus-1/system.d</includedir>
</busconfig>
`;
}

/**
 * Starts dbus-daemon (private system bus) and `firewalld --nofork` inside a new router namespace
 * joined to a WAN and a LAN namespace. Ready when `firewall-cmd --state` answers on that bus.
 * @param options `files`: relative path → content written into the config dir before start;
 *   `dmz`: also a DMZ namespace on the router's `dmz` interface
 */
export async function startFirewalld(
  options: { files?: Record<string, string>; dmz?: boolean } = {},
): Promise<FirewalldServer> {
  const dir = await mkdtemp(join(tmpdir(), 'invis-firewalld-'));
  const configDir = join(dir, 'etc');
  const socket = join(dir, 'dbus.sock');
  const env = { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${socket}` };
  const namespaces: Netns[] = [];
  const daemons: Daemon[] = [];
  const stop = async (): Promise<void> => {
    for (const d of daemons.reverse()) await d.stop();
    for (const ns of namespaces) await ns.remove();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const sub of ['zones', 'services', 'policies']) await mkdir(join(configDir, sub), { recursive: true });
    await copyFile('/etc/firewalld/firewalld.conf', join(configDir, 'firewalld.conf'));
    for (const [path, text] of Object.entries(options.files ?? {})) await writeFile(join(configDir, path), text);
    await writeFile(join(dir, 'dbus.conf'), dbusConfig(socket));
    const started = performance.now();
    const dbus = spawnDaemon(
      'dbus-daemon',
      'dbus-daemon',
      ['--nofork', `--config-file=${join(dir, 'dbus.conf')}`],
      join(dir, 'dbus.log'),
    );
    daemons.push(dbus);
    const [router, wan, lan] = [await createNetns('fw'), await createNetns('fwwan'), await createNetns('fwlan')] as [
      Netns,
      Netns,
      Netns,
    ];
    namespaces.push(router, wan, lan);
    await connectVeth(
      { netns: router.name, ifname: 'extern', cidr: `${WAN.router}/24` },
      { netns: wan.name, ifname: 'wan0', cidr: `${WAN.host}/24` },
    );
    await connectVeth(
      { netns: router.name, ifname: 'intern', cidr: `${LAN.router}/24` },
      { netns: lan.name, ifname: 'lan0', cidr: `${LAN.host}/24` },
    );
    await run('ip', ['-n', lan.name, 'route', 'add', 'default', 'via', LAN.router]);
    let dmz: FirewalldHost | undefined;
    if (options.dmz) {
      const ns = await createNetns('fwdmz');
      namespaces.push(ns);
      await connectVeth(
        { netns: router.name, ifname: 'dmz', cidr: `${DMZ.router}/24` },
        { netns: ns.name, ifname: 'dmz0', cidr: `${DMZ.host}/24` },
      );
      await run('ip', ['-n', ns.name, 'route', 'add', 'default', 'via', DMZ.router]);
      dmz = { netns: ns.name, address: DMZ.host };
    }
    await waitUntilReady(dbus, async () => existsSync(socket), 10_000, 20);
    const logFile = join(dir, 'firewalld.log');
    const firewalld = spawnDaemon(
      'firewalld',
      'firewalld',
      ['--nofork', '--nopid', '--system-config', configDir, '--log-target', 'file', '--log-file', logFile],
      join(dir, 'firewalld.out'),
      { netns: router.name, env },
    );
    daemons.push(firewalld);
    await waitUntilReady(
      firewalld,
      async () => {
        try {
          await run('firewall-cmd', ['--state'], { env });
          return true;
        } catch {
          return false;
        }
      },
      30_000,
      100,
    );
    return {
      info: {
        configDir,
        env,
        router: {
          netns: router.name,
          wanIf: 'extern',
          lanIf: 'intern',
          wanAddress: WAN.router,
          lanAddress: LAN.router,
        },
        wan: { netns: wan.name, address: WAN.host },
        lan: { netns: lan.name, address: LAN.host },
        ...(dmz ? { dmz } : {}),
        logFile,
      },
      readyMs: performance.now() - started,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

const ECHO_SERVER = `
import json, selectors, socket, sys
ports = json.loads(sys.argv[1])
sel = selectors.DefaultSelector()
for kind, proto in (("tcp", socket.SOCK_STREAM), ("udp", socket.SOCK_DGRAM)):
    for p in ports.get(kind, []):
        s = socket.socket(socket.AF_INET, proto)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", p))
        if proto == socket.SOCK_STREAM:
            s.listen(64)
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, kind)
print("ready", flush=True)
while True:
    for key, _ in sel.select():
        try:
            if key.data == "tcp":
                c, addr = key.fileobj.accept()
                c.sendall((addr[0] + "\\n").encode())
                c.close()
            else:
                _, addr = key.fileobj.recvfrom(512)
                key.fileobj.sendto((addr[0] + "\\n").encode(), addr)
        except OSError:
            pass
`;

/** An echo server in a namespace that answers with the client address it sees. */
export interface EchoServer {
  stop(): Promise<void>;
}

/**
 * Starts a "who am I talking to" server in `netns` on every address: TCP connections and UDP
 * datagrams get the client address back. Proves DNAT (the LAN server sees the WAN client) and
 * masquerade (the WAN server sees the router).
 */
export async function startEchoServer(netns: string, ports: { tcp?: number[]; udp?: number[] }): Promise<EchoServer> {
  const dir = await mkdtemp(join(tmpdir(), 'invis-echo-'));
  const log = join(dir, 'echo.log');
  const daemon = spawnDaemon('echo-server', '/usr/bin/python3', ['-u', '-c', ECHO_SERVER, JSON.stringify(ports)], log, {
    netns,
  });
  const stop = async (): Promise<void> => {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(
      daemon,
      async () => (await readFile(log, 'utf8').catch(() => '')).includes('ready'),
      10_000,
      20,
    );
  } catch (error) {
    await stop();
    throw error;
  }
  return { stop };
}

const PROBE_CLIENT = `
import concurrent.futures, json, socket, sys
targets = json.loads(sys.argv[1]); timeout = float(sys.argv[2])
def probe(t):
    udp = t.get("protocol") == "udp"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM if udp else socket.SOCK_STREAM); s.settimeout(timeout)
    try:
        s.connect((t["address"], t["port"]))
        if udp:
            s.send(b"?")
        return dict(t, state="open", peer=s.recv(100).decode().strip())
    except socket.timeout:
        return dict(t, state="timeout")
    except ConnectionRefusedError:
        return dict(t, state="refused")
    except OSError as e:
        return dict(t, state="unreachable", error=str(e))
    finally:
        s.close()
with concurrent.futures.ThreadPoolExecutor(max(1, len(targets))) as ex:
    print(json.dumps(list(ex.map(probe, targets))))
`;

/** Outcome of one probe: `open` (with the address the server saw), or why not. */
export interface PortProbe {
  address: string;
  port: number;
  protocol?: 'tcp' | 'udp';
  state: 'open' | 'refused' | 'timeout' | 'unreachable';
  /** Client address as seen by a {@link startEchoServer}. */
  peer?: string;
}

/**
 * Sends real packets from `netns` to every target in parallel (TCP connect, or a UDP datagram
 * that an echo server answers). A DROP shows as `timeout`, a REJECT as `refused`/`unreachable`.
 */
export async function probePorts(
  netns: string,
  targets: readonly { address: string; port: number; protocol?: 'tcp' | 'udp' }[],
  timeoutMs = 1000,
): Promise<PortProbe[]> {
  const out = await run('ip', [
    'netns',
    'exec',
    netns,
    '/usr/bin/python3',
    '-c',
    PROBE_CLIENT,
    JSON.stringify(targets),
    String(timeoutMs / 1000),
  ]);
  return JSON.parse(out) as PortProbe[];
}

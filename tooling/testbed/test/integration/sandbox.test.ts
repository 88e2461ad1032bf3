import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isHostError } from '@invis/host';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ServerSandbox, startServerSandbox } from '../../src/index';

const LAN_CLIENT = '192.168.220.50';
const SERVER = '192.168.220.10';
const WAN_PEER = '198.51.100.1';

/** Namespace ids (`net:[…]`/`mnt:[…]`) of a process, to find leftovers after stop. */
function namespacesOf(pid: number): string[] {
  return ['net', 'mnt'].map((ns) => readlinkSync(`/proc/${pid}/ns/${ns}`));
}

function processesIn(ids: ReadonlySet<string>): number[] {
  return readdirSync('/proc')
    .filter((e) => /^\d+$/.test(e))
    .filter((pid) => {
      try {
        return namespacesOf(Number(pid)).some((id) => ids.has(id));
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('whole-server sandbox', () => {
  let sandbox: ServerSandbox;

  beforeAll(async () => {
    sandbox = await startServerSandbox({ lanClient: `${LAN_CLIENT}/24` });
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('keeps what the server writes under /etc inside, and has its own /run, /tmp and host name', async () => {
    const marker = `probe ${process.pid} ${Date.now()}\n`;
    await sandbox.writeFile('/etc/invis-sandbox-probe', marker, { mode: '0600' });
    expect(await sandbox.readFile('/etc/invis-sandbox-probe')).toBe(marker);
    expect((await sandbox.runner.run('stat', ['-c', '%a', '/etc/invis-sandbox-probe'])).stdout).toBe('600');
    expect(existsSync('/etc/invis-sandbox-probe')).toBe(false);
    // Installed packages' files are visible through the overlay.
    expect((await sandbox.runner.run('test', ['-x', '/usr/sbin/named'])).exitCode).toBe(0);
    expect((await sandbox.runner.run('test', ['-e', '/etc/bind/named.conf'])).exitCode).toBe(0);
    const mounts = (await sandbox.runner.run('findmnt', ['-n', '-o', 'TARGET,FSTYPE', '-l'])).stdout;
    for (const path of ['/etc', '/var', '/srv', '/home']) expect(mounts).toMatch(new RegExp(`^${path} +overlay$`, 'm'));
    for (const path of ['/run', '/tmp', '/dev/shm']) expect(mounts).toMatch(new RegExp(`^${path} +tmpfs$`, 'm'));
    expect((await sandbox.runner.run('hostname', [])).stdout).toBe('invis');
    // Its name resolves to its LAN address from /etc/hosts (no DNS wait), the host's file unchanged.
    expect((await sandbox.runner.run('getent', ['hosts', 'invis'])).stdout).toMatch(/^192\.168\.220\.10\s+invis$/);
    expect(readFileSync('/etc/hosts', 'utf8')).not.toMatch(/\binvis$/m);
    expect(readlinkSync(`/proc/${sandbox.info.holderPid}/ns/uts`)).not.toBe(readlinkSync('/proc/self/ns/uts'));
    const missing = await sandbox.runner.run('no-such-program-xyz', []).catch((e: unknown) => e);
    expect(isHostError(missing) && missing.code).toBe('HOST_COMMAND_NOT_FOUND');
  });

  it('gives the server intern and extern and reaches the LAN client and the WAN peer', async () => {
    const links = (await sandbox.runner.run('ip', ['-o', '-4', 'addr', 'show'])).stdout;
    expect(links).toMatch(/ intern +inet 192\.168\.220\.10\/24/);
    expect(links).toMatch(/ extern +inet 198\.51\.100\.2\/24/);
    expect((await sandbox.runner.run('ip', ['route', 'show', 'default'])).stdout).toContain(
      `via ${WAN_PEER} dev extern`,
    );
    for (const target of [LAN_CLIENT, WAN_PEER]) {
      const ping = await sandbox.runner.run('ping', ['-c', '1', '-W', '2', target]);
      expect(ping.exitCode, ping.output).toBe(0);
    }
    // The addresses exist only in the sandbox's namespaces.
    expect((await execa('ip', ['-o', '-4', 'addr', 'show'])).stdout).not.toMatch(/192\.168\.220\.|198\.51\.100\./);
  });

  it('runs sshd as unit ssh: reachable from the LAN, not in the host namespace; reload, stop, unknown units', async () => {
    const { services } = sandbox;
    // Host keys of the sandbox's own, never the host's (rm only whites them out in the overlay).
    await sandbox.runner.run('sh', ['-c', 'rm -f /etc/ssh/ssh_host_*']);
    expect(
      (await sandbox.runner.run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', '/etc/ssh/ssh_host_ed25519_key']))
        .exitCode,
    ).toBe(0);
    const hostKey = (await sandbox.readFile('/etc/ssh/ssh_host_ed25519_key.pub')).split(' ')[1];
    if (existsSync('/etc/ssh/ssh_host_ed25519_key.pub')) {
      expect(readFileSync('/etc/ssh/ssh_host_ed25519_key.pub', 'utf8')).not.toContain(hostKey);
    }
    expect(await services.isActive('ssh')).toBe(false);
    await services.start('ssh');
    expect(await services.isActive('ssh'), services.logTail('ssh')).toBe(true);
    expect(await services.isActive('ssh.service')).toBe(true);
    const pid = services.pid('ssh') as number;

    const keyscan = (port = 22) =>
      sandbox.lan.runner.run('ssh-keyscan', ['-T', '3', '-t', 'ed25519', '-p', String(port), SERVER]);
    expect((await keyscan()).stdout).toContain(hostKey);
    // Not in the host's network namespace: no socket of sshd there (no traffic to the sandbox
    // addresses from the host, which would leave through the host's default route).
    expect(readlinkSync(`/proc/${pid}/ns/net`)).not.toBe(readlinkSync('/proc/self/ns/net'));
    expect((await execa('ss', ['-H', '-l', '-t', '-n', '-p'])).stdout).not.toContain(`pid=${pid},`);

    // Reload re-reads the configuration in the same process.
    await sandbox.writeFile('/etc/ssh/sshd_config.d/sandbox.conf', 'Port 22\nPort 2222\n');
    await services.reload('ssh');
    expect(services.pid('ssh')).toBe(pid);
    expect((await keyscan(2222)).stdout, services.logTail('ssh')).toContain(hostKey);
    // A broken configuration fails the reload (sshd -t) and leaves the daemon running, as systemd does.
    await sandbox.writeFile('/etc/ssh/sshd_config.d/sandbox.conf', 'NoSuchOption yes\n');
    const broken = await services.reload('ssh').catch((e: unknown) => e);
    expect(isHostError(broken) && broken.code).toBe('HOST_SERVICE_FAILED');
    expect(await services.isActive('ssh')).toBe(true);
    await sandbox.runner.run('rm', ['/etc/ssh/sshd_config.d/sandbox.conf']);

    await services.stop('ssh');
    expect(await services.isActive('ssh')).toBe(false);
    expect(existsSync(`/proc/${pid}`)).toBe(false);
    expect((await keyscan()).stdout).not.toContain(hostKey);
    await services.stop('ssh');

    const unknown = await services.start('no-such-unit').catch((e: unknown) => e);
    expect(isHostError(unknown) && unknown.code).toBe('HOST_SERVICE_FAILED');
    expect(isHostError(unknown) && unknown.details.unknownUnit).toBe(true);
    expect(await services.isActive('no-such-unit')).toBe(false);
    const noReload = await services.reload('chrony').catch((e: unknown) => e);
    expect(isHostError(noReload) && noReload.message).toMatch(/cannot reload/);
  });

  it('runs BIND as unit named with the Debian configuration and reloads a new zone', async () => {
    const { services } = sandbox;
    await services.start('named');
    // Zones load asynchronously after start and after `rndc reload` (on systemd as well): ask
    // until the answer is there, as a client would.
    const resolve = async (name: string): Promise<string> => {
      let answer = '';
      for (let i = 0; i < 50 && answer === ''; i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 100));
        const dig = await sandbox.lan.runner.run('dig', ['+short', '+time=1', '+tries=1', `@${SERVER}`, name, 'A']);
        answer = dig.exitCode === 0 ? dig.stdout : '';
      }
      return answer;
    };
    expect(await resolve('localhost'), services.logTail('named')).toBe('127.0.0.1');
    const before = await sandbox.lan.runner.run('dig', [
      '+short',
      '+time=1',
      '+tries=1',
      `@${SERVER}`,
      'probe.sandbox.test',
    ]);
    expect(before.stdout).not.toContain('192.0.2.7');

    await sandbox.writeFile(
      '/etc/bind/db.sandbox.test',
      '$TTL 60\n@ SOA ns hostmaster 1 60 60 60 60\n@ NS ns\nns A 192.168.220.10\nprobe A 192.0.2.7\n',
    );
    await sandbox.writeFile(
      '/etc/bind/named.conf.local',
      'zone "sandbox.test" { type primary; file "/etc/bind/db.sandbox.test"; };\n',
    );
    const pid = services.pid('named');
    await services.reloadOrRestart('named');
    expect(services.pid('named')).toBe(pid);
    expect(await resolve('probe.sandbox.test'), services.logTail('named')).toBe('192.0.2.7');
    await services.stop('named');
    expect(await services.isActive('named')).toBe(false);
  });

  it('runs chronyd as unit chrony, serving the LAN without touching the host clock', async () => {
    const { services } = sandbox;
    // The server's own clock for the LAN, no pools: there is no internet (and a pending DNS
    // look-up would hold chronyd's exit).
    await sandbox.writeFile(
      '/etc/chrony/chrony.conf',
      'local stratum 8\nallow 192.168.220.0/24\ndriftfile /var/lib/chrony/chrony.drift\n',
    );
    await services.restart('chrony');
    expect(await services.isActive('chrony'), services.logTail('chrony')).toBe(true);
    expect((await sandbox.runner.run('ss', ['-H', '-l', '-u', '-n', 'sport', '=', ':123'])).stdout).not.toBe('');
    await services.stop('chrony');
    expect(await services.isActive('chrony')).toBe(false);
    // The log is complete once the daemon has exited.
    expect(readFileSync(services.logFile('chrony'), 'utf8')).toMatch(/Disabled control of system clock/);
    expect(services.logTail('chrony')).toMatch(/chronyd exiting/);
  });

  it('runs several sandboxes side by side, each with its own files and namespaces', async () => {
    const [a, b] = await Promise.all([startServerSandbox(), startServerSandbox({ hostname: 'second' })]);
    try {
      expect(new Set([a, b, sandbox].map((s) => s.info.server.netns)).size).toBe(3);
      await a.writeFile('/etc/invis-sandbox-probe', 'a\n');
      await b.writeFile('/etc/invis-sandbox-probe', 'b\n');
      expect(await a.readFile('/etc/invis-sandbox-probe')).toBe('a\n');
      expect(await b.readFile('/etc/invis-sandbox-probe')).toBe('b\n');
      expect((await b.runner.run('hostname', [])).stdout).toBe('second');
      expect((await a.runner.run('ip', ['-o', '-4', 'addr', 'show', 'intern'])).stdout).toContain('192.168.220.10/24');
      expect((await b.runner.run('ip', ['-o', '-4', 'addr', 'show', 'intern'])).stdout).toContain('192.168.220.10/24');
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
    expect(existsSync(a.info.dir) || existsSync(b.info.dir)).toBe(false);
  });

  it('keeps visiblePaths below /tmp visible inside; the rest of /tmp is fresh', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sandbox-visible-'));
    const hidden = mkdtempSync(join(tmpdir(), 'sandbox-hidden-'));
    writeFileSync(join(dir, 'probe'), 'seen\n');
    writeFileSync(join(hidden, 'probe'), 'not seen\n');
    const visible = await startServerSandbox({ visiblePaths: [dir] });
    try {
      expect(await visible.readFile(join(dir, 'probe'))).toBe('seen\n');
      expect((await visible.runner.run('test', ['-e', join(hidden, 'probe')])).exitCode).not.toBe(0);
    } finally {
      await visible.stop();
      rmSync(dir, { recursive: true, force: true });
      rmSync(hidden, { recursive: true, force: true });
    }
  });

  it('stop leaves no namespace, process or directory behind, and is idempotent', async () => {
    const { info, services } = sandbox;
    await services.start('ssh');
    const sshd = services.pid('ssh') as number;
    const ids = new Set([
      ...namespacesOf(info.holderPid),
      ...[info.lan.netns, info.wan.netns].map((ns) => `net:[${statSync(`/run/netns/${ns}`).ino}]`),
    ]);
    // A process that left the daemon's process group must go too.
    await sandbox.runner.run('sh', ['-c', 'setsid -f sleep 300 </dev/null >/dev/null 2>&1']);
    const inside = processesIn(ids);
    expect(inside).toEqual(expect.arrayContaining([info.holderPid, sshd]));
    expect(inside.length).toBeGreaterThanOrEqual(3);

    await sandbox.stop();
    await sandbox.stop();
    const netns = (await execa('ip', ['netns', 'list'])).stdout;
    for (const name of [info.server.netns, info.lan.netns, info.wan.netns]) expect(netns).not.toContain(name);
    expect(existsSync(`/proc/${info.holderPid}`)).toBe(false);
    expect(existsSync(`/proc/${sshd}`)).toBe(false);
    expect(processesIn(ids)).toEqual([]);
    expect(existsSync(info.dir)).toBe(false);
    const after = await sandbox.runner.run('true', []).catch((e: unknown) => e);
    expect(isHostError(after)).toBe(true);
  });
});

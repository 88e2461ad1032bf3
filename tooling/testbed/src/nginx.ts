// nginx for tests: a whole nginx.conf around the caller's `server { … }` blocks, run in the
// foreground from a temp prefix (its own pid file, logs and temp paths), on an address the caller
// owns (the forward-auth test shares the portal's loopback address so both see one cookie jar).
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, spawnDaemon, waitUntilReady } from './process';

/** A running nginx. */
export interface NginxServer {
  /** The config file it runs (for error messages and docs). */
  readonly configFile: string;
  readonly logFile: string;
  stop(): Promise<void>;
}

/**
 * Starts nginx with `servers` (one or more `server { … }` blocks) in a generated nginx.conf,
 * checked with `nginx -t` first.
 * @param servers the server blocks
 * @param listen the address and port the blocks listen on (readiness probe)
 * @returns the running nginx
 * @throws TestbedError TESTBED_NOT_INSTALLED without nginx, TESTBED_COMMAND_FAILED when `nginx -t` refuses
 */
export async function startNginx(servers: string, listen: { address: string; port: number }): Promise<NginxServer> {
  const dir = await mkdtemp(join(tmpdir(), 'invis-nginx-'));
  const configFile = join(dir, 'nginx.conf');
  const logFile = join(dir, 'nginx.log');
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']
    .map((kind) => `    ${kind}_temp_path ${join(dir, kind)};`)
    .join('\n');
  await writeFile(
    configFile,
    `worker_processes 1;
pid ${join(dir, 'nginx.pid')};
error_log ${logFile} info;
events { worker_connections 256; }
http {
    access_log ${join(dir, 'access.log')};
${temp}
${servers}
}
`,
  );
  const nginx = '/usr/sbin/nginx';
  // `nginx -t` first: a refused config fails here with nginx's own words.
  await run(nginx, ['-t', '-p', dir, '-c', configFile]).catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  const daemon = spawnDaemon('nginx', nginx, ['-p', dir, '-c', configFile, '-g', 'daemon off;'], logFile);
  const stop = async (): Promise<void> => {
    await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitUntilReady(daemon, () => canConnect(listen.address, listen.port), 15_000);
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    throw error;
  }
  return { configFile, logFile, stop };
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

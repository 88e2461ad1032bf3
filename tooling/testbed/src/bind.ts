import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import dnsPacket from 'dns-packet';
import { run, spawnDaemon, waitUntilReady } from './process';
import { type RunningServer, startOnLoopback } from './server';

/** A TSIG key as BIND writes it: name, algorithm and base64 secret. */
export interface TsigKeyInfo {
  name: string;
  algorithm: 'hmac-sha256' | 'hmac-sha512';
  /** base64 */
  secret: string;
}

/** Connection data of a running test BIND 9; plain data, safe to pass to workers. */
export interface BindInfo {
  address: string;
  port: number;
  /** Zones served as primary, each updatable and transferable (AXFR) with `tsig` (update-policy zonesub ANY). */
  zones: string[];
  tsig: TsigKeyInfo;
  /** BIND `key { … };` file for `nsupdate -k`. */
  keyFile: string;
  dir: string;
}

/** A running test BIND 9. */
export type BindServer = RunningServer<BindInfo>;

export interface BindOptions {
  /** Zone names (default `dyn.invis.test`). */
  zones?: string[];
  algorithm?: TsigKeyInfo['algorithm'];
  /** Instead of a random key: a key statement as BIND reads it (e.g. `tsig-keygen` output) and the key it holds. */
  key?: { statement: string; tsig: TsigKeyInfo };
}

/** Renders a BIND key clause. */
export function renderBindKey(key: TsigKeyInfo): string {
  return `key "${key.name}" {\n\talgorithm ${key.algorithm};\n\tsecret "${key.secret}";\n};\n`;
}

/**
 * Starts `named -g` on its own loopback address, port 53, with one TSIG key allowed to
 * update every listed zone. Each zone starts with SOA, NS and `ns1 A <address>`.
 */
export async function startBind(options: BindOptions = {}): Promise<BindServer> {
  const zones = options.zones ?? ['dyn.invis.test'];
  return startOnLoopback('bind', async ({ dir, address }) => {
    const tsig: TsigKeyInfo = options.key?.tsig ?? {
      name: 'ddns-key',
      algorithm: options.algorithm ?? 'hmac-sha256',
      secret: randomBytes(options.algorithm === 'hmac-sha512' ? 64 : 32).toString('base64'),
    };
    const keyFile = join(dir, 'ddns.key');
    await writeFile(keyFile, options.key?.statement ?? renderBindKey(tsig), { mode: 0o600 });
    const zoneClauses = zones
      .map(
        (z) =>
          `zone "${z}" { type primary; file "${join(dir, `db.${z}`)}"; update-policy { grant ${tsig.name} zonesub ANY; }; allow-transfer { key ${tsig.name}; }; };`,
      )
      .join('\n');
    const conf = join(dir, 'named.conf');
    await writeFile(
      conf,
      `include "${keyFile}";
options {
\tdirectory "${dir}"; pid-file "${dir}/named.pid"; session-keyfile "${dir}/session.key";
\tmanaged-keys-directory "${dir}";
\tlisten-on port 53 { ${address}; }; listen-on-v6 { none; };
\trecursion no; dnssec-validation no; notify no; allow-transfer { none; };
};
${zoneClauses}
`,
    );
    for (const z of zones) {
      await writeFile(
        join(dir, `db.${z}`),
        `$TTL 300\n@ IN SOA ns1.${z}. hostmaster.${z}. 1 3600 600 86400 300\n  IN NS ns1.${z}.\nns1 IN A ${address}\n`,
      );
    }
    await run('named-checkconf', ['-z', conf]);
    const daemon = spawnDaemon('named', 'named', ['-g', '-c', conf], join(dir, 'named.log'));
    const info: BindInfo = { address, port: 53, zones, tsig, keyFile, dir };
    const readyMs = await waitUntilReady(daemon, () => soaAnswers(address, 53, zones[0] as string), 20_000, 50);
    return { info, readyMs, stop: () => daemon.stop() };
  });
}

/** One UDP SOA query; true when the server answers authoritatively with an SOA. */
export function soaAnswers(address: string, port: number, zone: string, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    const timer = setTimeout(() => {
      socket.close();
      resolve(false);
    }, timeoutMs);
    socket.on('message', (msg) => {
      clearTimeout(timer);
      socket.close();
      try {
        const answer = dnsPacket.decode(msg);
        resolve((answer.answers ?? []).some((a) => a.type === 'SOA'));
      } catch {
        resolve(false);
      }
    });
    socket.on('error', () => {
      clearTimeout(timer);
      socket.close();
      resolve(false);
    });
    const query = dnsPacket.encode({ type: 'query', id: 1, questions: [{ type: 'SOA', name: zone }] });
    socket.send(query, port, address);
  });
}

// Test fixture: a real WebDAV server, a fresh remote folder and local replicas synced to it.
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { startWebDav, type WebDavKind, type WebDavServer } from '@invis/testbed';
import { afterAll, beforeAll } from 'vitest';
import {
  createSyncEngine,
  createWebDavClient,
  type SyncEngineOptions,
  type SyncEvent,
  type WebDavClient,
} from '../../src/index';

/** A server shared by one test file, plus helpers to make isolated sync setups on it. */
export interface Fixture {
  server: WebDavServer;
  /** A fresh remote folder with a client for it. */
  folder(): Promise<Folder>;
  stop(): Promise<void>;
}

/** One remote folder on the server; `replica()` creates a local folder with an engine for it. */
export interface Folder {
  client: WebDavClient;
  /** The folder on the server's disk (for checks independent of our client). */
  remoteDir: string;
  replica(host: string, options?: Partial<SyncEngineOptions>): Promise<Replica>;
}

/** A local folder and its sync engine. */
export interface Replica {
  dir: string;
  /** The engine's journal and lock, outside the folder ({@link stateDirOf}). */
  stateDir: string;
  engine: ReturnType<typeof createSyncEngine>;
  write(path: string, content: string | Buffer): Promise<void>;
  read(path: string): Promise<string>;
}

let counter = 0;

/** Where a test keeps the state of the replica in `dir`: a sibling folder, outside the synced tree. */
export const stateDirOf = (dir: string): string => `${dir}.state`;

/** Every server kind of the testbed; the conformance suite runs against each. */
export const SERVER_KINDS: WebDavKind[] = ['rclone', 'apache', 'owncloud-shim'];

/** Starts a server of `kind` for the surrounding describe block; call the result inside tests. */
export function useFixture(kind: WebDavKind): () => Fixture {
  let fx: Fixture | undefined;
  beforeAll(async () => {
    fx = await startFixture(kind);
  });
  afterAll(async () => {
    await fx?.stop();
  });
  return () => fx as Fixture;
}

/**
 * Runs `replica`'s engine and kills the fixture's server as soon as more than `bytes` of one
 * transfer in `direction` have gone through; resolves when the run ended and the server is down.
 */
export async function runUntilServerHalted(
  fixture: Fixture,
  engine: Replica['engine'],
  direction: 'up' | 'down',
  bytes: number,
): Promise<Awaited<ReturnType<Replica['engine']['run']>>> {
  let halted: Promise<void> | undefined;
  const result = await engine.run({
    onEvent: (e: SyncEvent) => {
      if (e.type === 'bytes' && e.direction === direction && e.transferred > bytes && !halted)
        halted = fixture.server.halt();
    },
  });
  await halted;
  return result;
}

/** Starts a server of `kind` on its own loopback address. */
export async function startFixture(kind: WebDavKind): Promise<Fixture> {
  const server = await startWebDav({ kind });
  const cleanups: (() => Promise<void>)[] = [];
  const auth = { type: 'basic' as const, username: server.info.username, password: server.info.password };
  return {
    server,
    async folder() {
      const name = `t${process.pid}-${++counter}`;
      const root = createWebDavClient({ url: server.info.url, auth });
      await root.mkcol(name);
      await root.close();
      const client = createWebDavClient({ url: `${server.info.url}${name}/`, auth });
      cleanups.push(() => client.close());
      return {
        client,
        remoteDir: join(server.info.dataDir, name),
        async replica(host, options = {}) {
          const dir = await mkdtemp(join(tmpdir(), `invis-sync-${host}-`));
          const stateDir = stateDirOf(dir);
          cleanups.push(() => rm(dir, { recursive: true, force: true }));
          cleanups.push(() => rm(stateDir, { recursive: true, force: true }));
          const engine = createSyncEngine({ localDir: dir, stateDir, client, hostname: host, ...options });
          return {
            dir,
            stateDir,
            engine,
            async write(path, content) {
              await mkdir(dirname(join(dir, path)), { recursive: true });
              await writeFile(join(dir, path), content);
            },
            read: (path) => readFile(join(dir, path), 'utf8'),
          };
        },
      };
    },
    async stop() {
      for (const c of cleanups.reverse()) await c();
      await server.stop();
    },
  };
}

/** Every file below `dir` (part files and server metadata left out) with its content. */
export async function readTree(dir: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const walk = async (rel: string): Promise<void> => {
    for (const d of await readdir(join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${d.name}` : d.name;
      // Part files and the servers' own metadata (mod_dav_fs, SabreDAV).
      if (['.DAV', '.sabredav'].includes(d.name) || d.name.endsWith('.part')) continue;
      if (d.isDirectory()) await walk(p);
      else out.set(p, await readFile(join(dir, p), 'utf8'));
    }
  };
  await walk('');
  return out;
}

/** `readTree` as a sorted plain object, for readable assertion diffs. */
export async function treeObject(dir: string): Promise<Record<string, string>> {
  return Object.fromEntries([...(await readTree(dir))].sort(([a], [b]) => a.localeCompare(b)));
}

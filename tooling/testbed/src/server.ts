import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reserveLoopbackAddress } from './loopback';

/** What every testbed server returns: plain-data `info`, start time, and a full teardown. */
export interface RunningServer<Info> {
  readonly info: Info;
  readonly readyMs: number;
  stop(): Promise<void>;
}

/**
 * Shared frame for a server on its own loopback address: makes a temp dir, reserves an
 * address, calls `start`, and guarantees that the address and dir are released — on failure
 * at once, otherwise in `stop()` after `start`'s own `stop`.
 */
export async function startOnLoopback<Info>(
  prefix: string,
  start: (ctx: { dir: string; address: string }) => Promise<{ info: Info; readyMs: number; stop(): Promise<void> }>,
): Promise<RunningServer<Info>> {
  const dir = await mkdtemp(join(tmpdir(), `invis-${prefix}-`));
  const loopback = await reserveLoopbackAddress().catch(async (error: unknown) => {
    await rm(dir, { recursive: true, force: true });
    throw error;
  });
  const release = async (): Promise<void> => {
    await loopback.release();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const server = await start({ dir, address: loopback.address });
    return {
      info: server.info,
      readyMs: server.readyMs,
      async stop() {
        try {
          await server.stop();
        } finally {
          await release();
        }
      },
    };
  } catch (error) {
    await release();
    throw error;
  }
}

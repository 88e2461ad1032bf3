// Random operation sequences on both sides, then two syncs: both trees equal, nothing written lost.
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WebDavClient } from '../../src/index';
import { readTree, SERVER_KINDS, useFixture } from './workspace';

const FILES = ['a.txt', 'b.txt', 'x/c.txt', 'x/d.txt', 'x/y/e.txt'] as const;
type Side = 'local' | 'remote';
type Op =
  | { side: Side; op: 'write'; file: string }
  | { side: Side; op: 'delete'; file: string }
  | { side: Side; op: 'rename'; file: string; to: string };

const file = fc.constantFrom(...FILES);
const side = fc.constantFrom<Side>('local', 'remote');
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ side, op: fc.constant('write' as const), file }),
  fc.record({ side, op: fc.constant('delete' as const), file }),
  fc.record({ side, op: fc.constant('rename' as const), file, to: file }),
);

async function remoteMkdirs(client: WebDavClient, path: string): Promise<void> {
  const parts = path.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) await client.mkcol(parts.slice(0, i).join('/'));
}

describe.each(SERVER_KINDS)('random operations against %s', (kind) => {
  const fixture = useFixture(kind);

  it('two syncs leave both sides equal and keep every version written', async () => {
    let run = 0;
    let writes = 0;
    await fc.assert(
      fc.asyncProperty(fc.subarray([...FILES]), fc.array(opArb, { maxLength: 10 }), async (initial, ops) => {
        run++;
        const folder = await fixture().folder();
        const a = await folder.replica('hostA');
        const state: Record<Side, Map<string, string>> = { local: new Map(), remote: new Map() };
        for (const f of initial) {
          await a.write(f, `base ${f}`);
          state.local.set(f, `base ${f}`);
          state.remote.set(f, `base ${f}`);
        }
        await a.engine.run();
        const written = new Set<string>();
        for (const [i, op] of ops.entries()) {
          const s = state[op.side];
          if (op.op === 'write') {
            // Every write gets a new length: the ownCloud shim's folder ETags hash
            // path|mtime(s)|size, so a same-size write within one second would be invisible to it.
            const content = `${op.side} ${run}.${i} ${'.'.repeat(100 + ++writes)}`;
            if (op.side === 'local') await a.write(op.file, content);
            else {
              await remoteMkdirs(folder.client, op.file);
              await folder.client.put(op.file, Buffer.from(content), { size: Buffer.byteLength(content) });
            }
            s.set(op.file, content);
            written.add(content);
          } else if (op.op === 'delete' && s.has(op.file)) {
            if (op.side === 'local') await rm(join(a.dir, op.file));
            else await folder.client.delete(op.file);
            s.delete(op.file);
          } else if (op.op === 'rename' && s.has(op.file) && !s.has(op.to)) {
            if (op.side === 'local') {
              await mkdir(dirname(join(a.dir, op.to)), { recursive: true });
              await rename(join(a.dir, op.file), join(a.dir, op.to));
            } else {
              await remoteMkdirs(folder.client, op.to);
              await folder.client.move(op.file, op.to);
            }
            s.set(op.to, s.get(op.file) as string);
            s.delete(op.file);
          }
        }
        const mustSurvive = [...state.local.values(), ...state.remote.values()].filter((c) => written.has(c));
        const first = await a.engine.run({ allowMassDelete: true });
        const second = await a.engine.run({ allowMassDelete: true });
        expect([...first.errors, ...second.errors]).toEqual([]);
        const local = await readTree(a.dir);
        const remote = await readTree(folder.remoteDir);
        expect(Object.fromEntries(local)).toEqual(Object.fromEntries(remote));
        const present = new Set(local.values());
        for (const c of mustSurvive) expect(present).toContain(c);
      }),
      { numRuns: 15 },
    );
  });
});

// Random operation sequences on every side (one or two local replicas and the server itself),
// then syncs until quiet: all trees equal, and every version written is present somewhere.
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WebDavClient } from '../../src/index';
import { type Folder, type Replica, readTree, SERVER_KINDS, useFixture } from './workspace';

const FILES = ['a.txt', 'b.txt', 'x/c.txt', 'x/d.txt', 'x/y/e.txt'] as const;
/**
 * A file's first content, of a length no other file's has: the ownCloud shim's ETags hash
 * path|mtime(s)|size, so a rename that puts a same-size file of the same second at a path
 * (`b.txt` → `a.txt`) would be invisible to it.
 */
const base = (f: string): string => `base ${f}${'+'.repeat(FILES.indexOf(f as (typeof FILES)[number]))}`;
type Side = 'a' | 'b' | 'remote';
type Op =
  | { side: Side; op: 'write'; file: string }
  | { side: Side; op: 'delete'; file: string }
  | { side: Side; op: 'rename'; file: string; to: string };

const opsArb = (sides: Side[]): fc.Arbitrary<Op[]> => {
  const file = fc.constantFrom(...FILES);
  const side = fc.constantFrom(...sides);
  return fc.array(
    fc.oneof(
      fc.record({ side, op: fc.constant('write' as const), file }),
      fc.record({ side, op: fc.constant('delete' as const), file }),
      fc.record({ side, op: fc.constant('rename' as const), file, to: file }),
    ),
    { maxLength: 10 },
  );
};

async function remoteMkdirs(client: WebDavClient, path: string): Promise<void> {
  const parts = path.split('/').slice(0, -1);
  for (let i = 1; i <= parts.length; i++) await client.mkcol(parts.slice(0, i).join('/'));
}

/** File operations on one side: a local replica or the server (through WebDAV). */
function sideOps(folder: Folder, replica: Replica | undefined) {
  return {
    write: async (f: string, content: string) => {
      if (replica) return replica.write(f, content);
      await remoteMkdirs(folder.client, f);
      await folder.client.put(f, Buffer.from(content), { size: Buffer.byteLength(content) });
    },
    delete: (f: string) => (replica ? rm(join(replica.dir, f)) : folder.client.delete(f)),
    rename: async (from: string, to: string) => {
      if (replica) {
        await mkdir(dirname(join(replica.dir, to)), { recursive: true });
        return rename(join(replica.dir, from), join(replica.dir, to));
      }
      await remoteMkdirs(folder.client, to);
      await folder.client.move(from, to);
    },
  };
}

describe.each(SERVER_KINDS)('random operations against %s', (kind) => {
  const fixture = useFixture(kind);
  let run = 0;
  let writes = 0;

  const property = (replicas: 1 | 2) =>
    fc.asyncProperty(
      fc.subarray([...FILES]),
      opsArb(replicas === 2 ? ['a', 'b', 'remote'] : ['a', 'remote']),
      async (initial, ops) => {
        run++;
        const folder = await fixture().folder();
        const reps: Replica[] = [await folder.replica('hostA')];
        if (replicas === 2) reps.push(await folder.replica('hostB'));
        for (const f of initial) await reps[0]?.write(f, base(f));
        for (const r of reps) await r.engine.run();
        const state = new Map<Side, Map<string, string>>();
        for (const s of ['a', 'b', 'remote'] as const) state.set(s, new Map(initial.map((f) => [f, base(f)])));
        const written = new Set<string>();
        for (const [i, op] of ops.entries()) {
          const s = state.get(op.side) as Map<string, string>;
          const io = sideOps(folder, op.side === 'remote' ? undefined : reps[op.side === 'a' ? 0 : 1]);
          if (op.op === 'write') {
            // Every write gets a new length: the ownCloud shim's folder ETags hash
            // path|mtime(s)|size, so a same-size write within one second would be invisible to it.
            const content = `${op.side} ${run}.${i} ${'.'.repeat(100 + ++writes)}`;
            await io.write(op.file, content);
            s.set(op.file, content);
            written.add(content);
          } else if (op.op === 'delete' && s.has(op.file)) {
            await io.delete(op.file);
            s.delete(op.file);
          } else if (op.op === 'rename' && s.has(op.file) && !s.has(op.to)) {
            await io.rename(op.file, op.to);
            s.set(op.to, s.get(op.file) as string);
            s.delete(op.file);
          }
        }
        const mustSurvive = [...state.values()].flatMap((m) => [...m.values()]).filter((c) => written.has(c));
        // Two rounds: conflict copies made by the last replica reach the others in the second.
        for (let round = 0; round < 2; round++) {
          for (const r of reps) expect((await r.engine.run({ allowMassDelete: true })).errors).toEqual([]);
        }
        const remote = Object.fromEntries(await readTree(folder.remoteDir));
        for (const r of reps) expect(Object.fromEntries(await readTree(r.dir))).toEqual(remote);
        for (const c of mustSurvive) expect(Object.values(remote)).toContain(c);
      },
    );

  it('one replica: random changes on both sides, two syncs → equal, nothing lost', async () => {
    await fc.assert(property(1), { numRuns: 15 });
  });

  it('two replicas and the server changing at once → all equal, nothing lost', async () => {
    await fc.assert(property(2), { numRuns: 10 });
  });
});

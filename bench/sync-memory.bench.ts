// Memory of a sync run over an unchanged tree, 10,000 vs 100,000 files (issue #9: "memory flat
// for 100,000 files"). Each size: local files in folders of 1,000, a matching journal, and a
// remote listing that a small node:http server generates as one `Depth: infinity` multistatus
// (as rclone serve answers; the engine sees a plain WebDAV server and uses its real undici client
// and streaming parser). The engine's dry run (discovery + plan, nothing executed) runs in a fresh
// `node --expose-gc` child (`sync-memory-probe.ts`) per size, so each peak RSS is its own.

import { lstatSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { openJournal } from '../packages/owncloud-sync/src/index';
import type { Benchmark, Comparison, Measurement } from './lib';

const PER_FOLDER = 1000;
const MTIME = new Date('2026-11-28T12:00:00Z').toUTCString();
const etagOf = (path: string): string => `e-${path}`;

interface Tree {
  work: string;
  local: string;
  folders: number;
}

/** Local files, and a journal that records them as synced with the generated listing. */
async function makeTree(files: number): Promise<Tree> {
  const work = await mkdtemp(join(tmpdir(), 'invis-bench-syncmem-'));
  const local = join(work, 'local');
  const folders = Math.ceil(files / PER_FOLDER);
  const journal = openJournal(join(work, 'state', 'journal.db'));
  for (let d = 0; d < folders; d++) {
    const dir = `folder${d}`;
    await mkdir(join(local, dir), { recursive: true });
    const names = Array.from({ length: Math.min(PER_FOLDER, files - d * PER_FOLDER) }, (_, f) => `${dir}/file${f}.txt`);
    await Promise.all(names.map((p) => writeFile(join(local, p), p)));
    for (const p of [dir, ...names]) {
      const st = lstatSync(join(local, p));
      const isDir = st.isDirectory();
      const size = isDir ? 0 : st.size;
      journal.put({ path: p, isDir, size, mtimeMs: st.mtimeMs, inode: st.ino, remoteSize: size, etag: etagOf(p) });
    }
    journal.flush();
  }
  journal.close();
  return { work, local, folders };
}

/** Serves the tree's listing for `PROPFIND Depth: infinity`, written in pieces as it is generated. */
async function serveListing(tree: Tree, files: number): Promise<Server> {
  const response = (path: string, isDir: boolean, size: number): string =>
    `<d:response><d:href>/dav/${path}${isDir ? '/' : ''}</d:href><d:propstat><d:prop>` +
    `<d:resourcetype>${isDir ? '<d:collection/>' : ''}</d:resourcetype>` +
    (isDir ? '' : `<d:getcontentlength>${size}</d:getcontentlength>`) +
    `<d:getetag>"${etagOf(path)}"</d:getetag><d:getlastmodified>${MTIME}</d:getlastmodified>` +
    '</d:prop><d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response>\n';
  const server = createServer((req, res) => {
    if (req.method !== 'PROPFIND' || req.headers.depth !== 'infinity') {
      res.writeHead(403).end();
      return;
    }
    req.resume();
    res.writeHead(207, { 'content-type': 'application/xml; charset=utf-8' });
    res.write('<?xml version="1.0" encoding="utf-8"?>\n<d:multistatus xmlns:d="DAV:">\n');
    res.write(response('', true, 0).replace('/dav//', '/dav/'));
    let d = 0;
    const next = (): void => {
      if (d === tree.folders) {
        res.end('</d:multistatus>\n');
        return;
      }
      const dir = `folder${d}`;
      let chunk = response(dir, true, 0);
      for (let f = 0; f < Math.min(PER_FOLDER, files - d * PER_FOLDER); f++) {
        const p = `${dir}/file${f}.txt`;
        chunk += response(p, false, Buffer.byteLength(p));
      }
      d++;
      if (res.write(chunk)) setImmediate(next);
      else res.once('drain', next);
    };
    next();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

interface Probe {
  ms: number;
  rssBefore: number;
  maxRss: number;
  heapBefore: number;
  heapPeak: number;
  heapAfterGc: number;
  remoteRequests: number;
}

async function probe(files: number): Promise<Probe> {
  const tree = await makeTree(files);
  const server = await serveListing(tree, files);
  try {
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/dav/`;
    const { stdout } = await execa(
      process.execPath,
      [
        '--expose-gc',
        '--conditions=@invis/source',
        '--import',
        'tsx',
        join(import.meta.dirname, 'sync-memory-probe.ts'),
        tree.local,
        url,
        join(tree.work, 'state'),
      ],
      { cwd: join(import.meta.dirname, '..') },
    );
    return JSON.parse(stdout.trim().split('\n').at(-1) as string) as Probe;
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await rm(tree.work, { recursive: true, force: true });
  }
}

export const benchmark: Benchmark = {
  name: 'sync-memory',
  description:
    'memory of an unchanged-tree sync run (dry run: local walk + journal + one generated Depth: infinity listing over HTTP + plan), 10,000 vs 100,000 files in folders of 1,000 (--quick: 1,000 vs 10,000); the table compares the two sizes (time per file), the memory lines follow it',
  async run({ quick }) {
    const [small, large] = quick ? [1000, 10_000] : [10_000, 100_000];
    const a = await probe(small);
    const b = await probe(large);
    const line = (n: number, p: Probe): string =>
      `${n.toLocaleString('en')} files: ${(p.ms / 1000).toFixed(2)} s, peak RSS ${p.maxRss} MiB (${p.rssBefore} MiB before the run), heap peak ${p.heapPeak} MiB (${p.heapBefore} MiB before; sampled when the run yields), ${p.heapAfterGc} MiB after it and a GC`;
    const perFile = (x: number, y: number): string =>
      `${(((y - x) * 1048576) / (large - small)).toFixed(0)} bytes/file`;
    console.log(
      [
        line(small, a),
        line(large, b),
        `growth from ${small.toLocaleString('en')} to ${large.toLocaleString('en')} files: peak RSS ${perFile(a.maxRss, b.maxRss)}, heap peak ${perFile(a.heapPeak, b.heapPeak)}`,
      ].join('\n'),
    );
    const m = (n: number, p: Probe): Measurement => ({
      label: `${n.toLocaleString('en')} files`,
      iterations: n,
      totalMs: p.ms,
    });
    const row: Comparison = {
      task: 'unchanged-tree dry run, time per file (large vs small tree)',
      ours: m(large, b),
      peer: m(small, a),
      target: 'memory flat for 100,000 files (see the lines below the table)',
    };
    return [row];
  },
};

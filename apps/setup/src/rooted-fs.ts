// A HostFs that keeps every path below a staging root (`--root DIR`): `..` segments and
// symbolic links anywhere on the way are refused, so a render can never touch the machine.
import { lstat, mkdir as mkdirNode, realpath } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { createNodeFs, HostError, type HostFs, isMissing } from '@invis/host';

/** A {@link HostFs} plus the mapping of its paths to real paths (for programs that read them). */
export interface SetupFs extends HostFs {
  /** The real path of `path` (identity on the live machine, below the root when staging). */
  hostPath(path: string): string;
  /** The staging root, undefined on the live machine. */
  readonly root?: string;
}

/**
 * The live machine's file system as a {@link SetupFs}.
 * @returns node:fs with `hostPath` the identity
 */
export function createLiveFs(): SetupFs {
  return { ...createNodeFs(), hostPath: (path) => path };
}

const unsafe = (path: string, why: string): HostError =>
  new HostError('HOST_UNSAFE_PATH', `refusing path ${JSON.stringify(path)}: ${why}`, { details: { path } });

/**
 * A file system whose `/` is `root`. Every path must be absolute, free of `..` and NUL; every
 * existing component below the root (the target included) must not be a symbolic link.
 * @param root the staging root (created when missing)
 * @returns the rooted {@link SetupFs}
 * @throws HostError `HOST_UNSAFE_PATH` from any operation on a refused path
 */
export async function createRootedFs(root: string): Promise<SetupFs> {
  await mkdirNode(root, { recursive: true });
  const base = await realpath(root);
  const real = createNodeFs();

  const segments = (path: string): string[] => {
    if (path.includes('\0')) throw unsafe(path, 'it contains a NUL byte');
    if (!path.startsWith('/')) throw unsafe(path, 'it is not absolute');
    const parts = path.split('/').filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) throw unsafe(path, 'it contains ..');
    return parts;
  };
  const map = (path: string): string => [base, ...segments(path)].join(sep);

  /** Maps `path` and refuses it when a component below the root is a link. */
  const safe = async (path: string): Promise<string> => {
    let current = base;
    for (const part of segments(path)) {
      current = `${current}${sep}${part}`;
      try {
        if ((await lstat(current)).isSymbolicLink()) throw unsafe(path, `${part} is a symbolic link`);
      } catch (e) {
        if (isMissing(e)) break;
        throw e;
      }
    }
    return map(path);
  };
  const virtual = (realPath: string): string => `/${relative(base, realPath).split(sep).join('/')}`;

  return {
    root: base,
    hostPath: map,
    readFile: async (p) => real.readFile(await safe(p)),
    readFileIfExists: async (p) => real.readFileIfExists(await safe(p)),
    readBytes: async (p) => real.readBytes(await safe(p)),
    writeFileAtomic: async (p, data, options) => real.writeFileAtomic(await safe(p), data, options),
    createExclusive: async (p, data, mode) => real.createExclusive(await safe(p), data, mode),
    async mkdir(p, mode) {
      // One level at a time, so a link planted half-way is seen rather than followed.
      let current = '';
      for (const part of segments(p)) {
        current = `${current}/${part}`;
        const target = await safe(current);
        if (!(await real.exists(target))) await mkdirNode(target, mode === undefined ? {} : { mode });
      }
    },
    readdir: async (p) => real.readdir(await safe(p)),
    rename: async (from, to) => real.rename(await safe(from), await safe(to)),
    remove: async (p) => real.remove(await safe(p)),
    exists: async (p) => real.exists(await safe(p)),
    mtimeMs: async (p) => real.mtimeMs(await safe(p)),
    mkdtemp: async (prefix) => virtual(await real.mkdtemp(await safe(prefix))),
    copyDir: async (from, to) => real.copyDir(await safe(from), await safe(to)),
  };
}

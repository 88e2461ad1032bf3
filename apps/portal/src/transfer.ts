// The transfer area (the original's "Dateitransfer", research §9.3): members of `mobilusers`
// download from outside what colleagues left in `<root>/downloads/<user>` and upload into
// `<root>/uploads/<user>`. The folders are written by other people over SMB, so everything in
// them is hostile: no symbolic link is followed (not the user's folder, not a file), only
// regular files are served, and an upload is scanned before anyone sees it.
import { randomBytes } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import {
  copyFile,
  type FileHandle,
  link,
  lstat,
  mkdir,
  open,
  readdir,
  readlink,
  realpath,
  rename,
  unlink,
} from 'node:fs/promises';
import { join } from 'node:path';
import { type Clock, type CommandRunner, resolveInside, systemClock } from '@invis/host';
import { PortalError } from './errors';

/** Options of {@link createTransfer}. */
export interface TransferOptions {
  /** Parent of `downloads/<user>` and `uploads/<user>` (the original's `/srv/shares/portal`). */
  root: string;
  /** Largest upload in bytes. */
  maxUploadBytes: number;
  /** `clamdscan --fdpass` (the mail filter's clamd), `clamscan`, or none. */
  scanner: 'none' | 'clamdscan' | 'clamscan';
  /** Signature folder for `clamscan --database`. */
  clamavDb?: string;
  /** Infected uploads are moved here, never served. */
  quarantineDir: string;
  runner: CommandRunner;
  clock?: Clock;
}

/** A file as the transfer page lists it. */
export interface TransferFile {
  name: string;
  size: number;
  modified: string;
}

/** The transfer area of one portal. */
export interface Transfer {
  readonly maxUploadBytes: number;
  /** The user's downloads and uploads (regular files only; links and hidden files are left out). */
  list(user: string): Promise<{ downloads: TransferFile[]; uploads: TransferFile[] }>;
  /**
   * Opens one of the user's downloads; the caller streams and closes it.
   * @throws PortalError PORTAL_NOT_FOUND (missing, a link, not a regular file, or the folder is a link)
   */
  openDownload(user: string, name: string): Promise<{ file: FileHandle; size: number }>;
  /**
   * Stores an upload: written to a hidden file, scanned, then published under `name`.
   * @throws PortalError PORTAL_VALIDATION (name), PORTAL_CONFLICT (exists), PORTAL_PAYLOAD_TOO_LARGE,
   *   PORTAL_TRANSFER_INFECTED (quarantined), PORTAL_TRANSFER_SCAN_FAILED (nothing kept)
   */
  upload(user: string, name: string, body: AsyncIterable<Uint8Array>): Promise<TransferFile>;
}

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const BAD_NAME = /[/\\\u0000-\u001f\u007f]/;

/**
 * A file name from a request: one path component, not hidden, no control characters, at most 255 bytes.
 * @throws PortalError PORTAL_VALIDATION
 */
export function transferName(name: string): string {
  if (name.length === 0 || Buffer.byteLength(name) > 255 || BAD_NAME.test(name) || name.startsWith('.')) {
    throw new PortalError('PORTAL_VALIDATION', 'not a file name for the transfer area', { details: { name } });
  }
  return name;
}

const notFound = (name: string): PortalError =>
  new PortalError('PORTAL_NOT_FOUND', `no file ${name} in the transfer area`, { details: { name } });

const fileOf = (name: string, st: { size: number; mtime: Date }): TransferFile => ({
  name,
  size: st.size,
  modified: st.mtime.toISOString(),
});

/**
 * The transfer area on the local file system.
 * @param options folders, upload limit, virus scanner and quarantine
 * @example createTransfer({ root: '/srv/shares/portal', maxUploadBytes: 100 << 20, scanner: 'clamdscan',
 *   quarantineDir: '/var/lib/invis/quarantine', runner: createExecaRunner() })
 */
export function createTransfer(options: TransferOptions): Transfer {
  const { root, maxUploadBytes, runner } = options;
  const clock = options.clock ?? systemClock;

  /**
   * The user's folder, if it is a real folder at its place: its real path must be the real root
   * plus `kind/user`, so no component on the way is a link to somewhere else.
   */
  async function folder(kind: 'downloads' | 'uploads', user: string, create: boolean): Promise<string | null> {
    const rootReal = await realpath(root).catch(() => null);
    if (rootReal === null) return null;
    const expected = resolveInside(join(rootReal, kind), transferName(user));
    if (create) {
      await mkdir(expected, { mode: 0o750 }).catch((e: NodeJS.ErrnoException) => {
        // EEXIST: there already; ENOENT: no `kind` folder (answered below as no folder).
        if (e.code !== 'EEXIST' && e.code !== 'ENOENT') throw e;
      });
    }
    const real = await realpath(expected).catch(() => null);
    if (real === null) return null;
    if (real !== expected || !(await lstat(expected)).isDirectory()) {
      throw new PortalError('PORTAL_FORBIDDEN', `the transfer folder of ${user} is not a plain folder`);
    }
    return real;
  }

  /** Opens `name` in `dir` without following a link, and checks that what was opened is really there. */
  async function openIn(dir: string, name: string, flags: number, mode?: number): Promise<FileHandle> {
    const path = resolveInside(dir, name);
    const file = await open(path, flags | constants.O_NOFOLLOW | constants.O_NONBLOCK, mode);
    // The folder could have been swapped for a link after it was checked: ask the kernel where we are.
    if ((await readlink(`/proc/self/fd/${file.fd}`)) !== path) {
      await file.close();
      throw new PortalError('PORTAL_FORBIDDEN', `the transfer folder changed under ${name}`);
    }
    return file;
  }

  async function listFolder(dir: string | null): Promise<TransferFile[]> {
    if (dir === null) return [];
    const entries: Dirent[] = await readdir(dir, { withFileTypes: true });
    const files: TransferFile[] = [];
    for (const e of entries) {
      if (!e.isFile() || e.name.startsWith('.')) continue;
      const st = await lstat(join(dir, e.name)).catch(() => null);
      if (st?.isFile()) files.push(fileOf(e.name, st));
    }
    return files.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** @returns clean, or the signature found; throws when the scan itself failed. */
  async function scan(path: string): Promise<{ clean: true } | { clean: false; signature: string }> {
    if (options.scanner === 'none') return { clean: true };
    const args =
      options.scanner === 'clamdscan'
        ? ['--fdpass', '--no-summary', path]
        : ['--no-summary', ...(options.clamavDb ? [`--database=${options.clamavDb}`] : []), path];
    let result: { exitCode: number; stdout: string };
    try {
      result = await runner.run(options.scanner, args, { timeoutMs: 300_000 });
    } catch (cause) {
      throw new PortalError('PORTAL_TRANSFER_SCAN_FAILED', `${options.scanner} could not run`, { cause });
    }
    if (result.exitCode === 0) return { clean: true };
    if (result.exitCode === 1) {
      const signature = /: (.+) FOUND$/m.exec(result.stdout)?.[1] ?? 'unknown';
      return { clean: false, signature };
    }
    throw new PortalError('PORTAL_TRANSFER_SCAN_FAILED', `${options.scanner} failed (exit ${result.exitCode})`, {
      details: { exitCode: result.exitCode },
    });
  }

  async function quarantine(path: string, user: string, name: string): Promise<void> {
    await mkdir(options.quarantineDir, { recursive: true, mode: 0o700 });
    const target = join(options.quarantineDir, `${clock.now().toISOString()}-${user}-${name}`);
    try {
      await rename(path, target);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
      await copyFile(path, target, constants.COPYFILE_EXCL);
      await unlink(path);
    }
  }

  return {
    maxUploadBytes,
    async list(user) {
      return {
        downloads: await listFolder(await folder('downloads', user, false)),
        uploads: await listFolder(await folder('uploads', user, false)),
      };
    },
    async openDownload(user, name) {
      transferName(name);
      const dir = await folder('downloads', user, false);
      if (dir === null) throw notFound(name);
      let file: FileHandle;
      try {
        file = await openIn(dir, name, constants.O_RDONLY);
      } catch (e) {
        // ELOOP: the name is a symbolic link.
        if (['ENOENT', 'ELOOP', 'ENOTDIR'].includes((e as NodeJS.ErrnoException).code ?? '')) throw notFound(name);
        throw e;
      }
      const st = await file.stat();
      if (!st.isFile()) {
        await file.close();
        throw notFound(name);
      }
      return { file, size: st.size };
    },
    async upload(user, name, body) {
      transferName(name);
      const dir = await folder('uploads', user, true);
      if (dir === null) throw new PortalError('PORTAL_NOT_FOUND', 'the transfer area has no uploads folder');
      const temp = `.upload-${randomBytes(12).toString('hex')}`;
      const tempPath = join(dir, temp);
      const file = await openIn(dir, temp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o640);
      let size = 0;
      try {
        try {
          for await (const chunk of body) {
            size += chunk.byteLength;
            if (size > maxUploadBytes) throw new PortalError('PORTAL_PAYLOAD_TOO_LARGE', 'upload too large');
            await file.write(chunk);
          }
          await file.sync();
        } finally {
          await file.close();
        }
        const verdict = await scan(tempPath);
        if (!verdict.clean) {
          await quarantine(tempPath, user, name);
          throw new PortalError(
            'PORTAL_TRANSFER_INFECTED',
            `${name} carries ${verdict.signature}; it was quarantined`,
            {
              details: { name, signature: verdict.signature },
            },
          );
        }
        try {
          // link() never replaces and never follows a link at the target.
          await link(tempPath, resolveInside(dir, name));
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'EEXIST') {
            throw new PortalError('PORTAL_CONFLICT', `${name} exists already`, { details: { name } });
          }
          throw e;
        }
        return fileOf(name, await lstat(join(dir, name)));
      } finally {
        await unlink(tempPath).catch(() => undefined);
      }
    },
  };
}

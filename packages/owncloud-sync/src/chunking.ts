// Pure helpers of resumable uploads: chunking URLs, chunk listings, where to resume.
import { createHash } from 'node:crypto';
import type { DavResource } from './multistatus';

/** One chunk of a chunked upload found on the server. */
export interface UploadedChunk {
  /** Byte offset, from the chunk's name. */
  offset: number;
  size: number;
}

/**
 * The chunked-upload collection and the `remote.php/dav/files/<user>/` twin of `base`, or
 * undefined when `base` is no ownCloud WebDAV URL.
 */
export function chunkingUrls(base: URL, user: string): { uploads: URL; files: URL } | undefined {
  const dav = '/remote.php/dav/files/';
  const legacy = base.pathname.indexOf('/remote.php/webdav/');
  const root = legacy >= 0 ? legacy : base.pathname.indexOf(dav);
  if (root < 0) return undefined;
  const prefix = base.pathname.slice(0, root);
  const u = encodeURIComponent(user);
  const files =
    legacy >= 0
      ? new URL(`${prefix}${dav}${u}/${base.pathname.slice(legacy + '/remote.php/webdav/'.length)}`, base)
      : base;
  return { uploads: new URL(`${prefix}/remote.php/dav/uploads/${u}/`, base), files };
}

/** Chunks of a listed upload collection (names are zero-padded byte offsets), sorted by offset. */
export function chunksOf(listing: readonly DavResource[]): UploadedChunk[] {
  return listing
    .filter((r) => !r.isDir && /^\d+$/.test(r.path))
    .map((r) => ({ offset: Number(r.path), size: r.size }))
    .sort((a, b) => a.offset - b.offset);
}

/**
 * A stable id for the resumable upload of `path` by one replica (host, local folder, server URL),
 * so two replicas uploading the same path never share chunks or temp files.
 */
export function transferId(host: string, localDir: string, baseUrl: string, path: string): string {
  return `invis-${createHash('sha1').update(`${host}\0${localDir}\0${baseUrl}\0${path}`).digest('hex').slice(0, 24)}`;
}

/**
 * Where a chunked upload continues: after the chunks that sit contiguously from offset 0 and have
 * the size this upload gives them (anything else is sent again and overwritten).
 */
export function resumeOffset(
  chunks: readonly { offset: number; size: number }[],
  total: number,
  chunkSize: number,
): number {
  let offset = 0;
  for (const c of chunks) {
    if (c.offset !== offset || c.size !== Math.min(chunkSize, total - offset) || c.size === 0) break;
    offset += c.size;
  }
  return offset;
}

import { describe, expect, it } from 'vitest';
import { chunkingUrls, chunksOf, resumeOffset, transferId } from './chunking';

describe('chunked upload helpers', () => {
  it('maps a legacy or new-style base URL to the uploads collection and the files twin', () => {
    const legacy = chunkingUrls(new URL('https://h/oc/remote.php/webdav/Büro/'), 'branch 1');
    expect(legacy?.uploads.href).toBe('https://h/oc/remote.php/dav/uploads/branch%201/');
    expect(legacy?.files.href).toBe('https://h/oc/remote.php/dav/files/branch%201/B%C3%BCro/');
    const dav = chunkingUrls(new URL('https://h/remote.php/dav/files/u/x/'), 'u');
    expect(dav?.files.href).toBe('https://h/remote.php/dav/files/u/x/');
    expect(chunkingUrls(new URL('https://h/dav/'), 'u')).toBeUndefined();
  });

  it('reads chunks from a listing by their zero-padded offsets', () => {
    const listing = [
      { path: '', isDir: true, size: 0 },
      { path: '0000000000000010', isDir: false, size: 5 },
      { path: '0000000000000000', isDir: false, size: 10 },
      { path: '.put-1-0000000000000020', isDir: false, size: 3 },
    ];
    expect(chunksOf(listing)).toEqual([
      { offset: 0, size: 10 },
      { offset: 10, size: 5 },
    ]);
  });

  it('resumes after the contiguous chunks of the expected size only', () => {
    const chunk = (offset: number, size: number) => ({ offset, size });
    expect(resumeOffset([], 25, 10)).toBe(0);
    expect(resumeOffset([chunk(0, 10), chunk(10, 10)], 25, 10)).toBe(20);
    expect(resumeOffset([chunk(0, 10), chunk(10, 10), chunk(20, 5)], 25, 10)).toBe(25);
    // A short chunk (another chunk size, or cut off) and everything after it are sent again.
    expect(resumeOffset([chunk(0, 10), chunk(10, 4), chunk(20, 5)], 25, 10)).toBe(10);
    expect(resumeOffset([chunk(10, 10)], 25, 10)).toBe(0);
  });

  it('gives each replica and path its own transfer id', () => {
    const id = transferId('h', '/srv/a', 'https://s/', 'x.bin');
    expect(id).toMatch(/^invis-[0-9a-f]{24}$/);
    expect(transferId('h', '/srv/a', 'https://s/', 'x.bin')).toBe(id);
    expect(transferId('h2', '/srv/a', 'https://s/', 'x.bin')).not.toBe(id);
    expect(transferId('h', '/srv/a', 'https://s/', 'y.bin')).not.toBe(id);
  });
});

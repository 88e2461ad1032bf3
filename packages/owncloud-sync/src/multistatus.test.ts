import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { SyncError } from './errors';
import {
  createMultistatusParser,
  type DavResource,
  encodePath,
  hrefToPath,
  normalizeEtag,
  parseMultistatus,
} from './multistatus';

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Renders a multistatus the way different servers do (prefixes, absolute or path hrefs). */
function render(base: string, entries: DavResource[], prefix: string, absolute: boolean): string {
  const d = prefix === '' ? '' : `${prefix}:`;
  const xmlns = prefix === '' ? 'xmlns="DAV:"' : `xmlns:${prefix}="DAV:"`;
  const body = entries
    .map((e) => {
      const href = `${absolute ? 'http://h:1' : ''}${base}${encodePath(e.path)}${e.isDir && e.path ? '/' : ''}`;
      const props = [
        `<${d}resourcetype>${e.isDir ? `<${d}collection/>` : ''}</${d}resourcetype>`,
        e.isDir ? '' : `<${d}getcontentlength>${e.size}</${d}getcontentlength>`,
        e.etag === undefined ? '' : `<${d}getetag>"${esc(e.etag)}"</${d}getetag>`,
        e.lastModified === undefined
          ? ''
          : `<${d}getlastmodified>${new Date(e.lastModified).toUTCString()}</${d}getlastmodified>`,
        e.fileId === undefined ? '' : `<oc:fileid>${esc(e.fileId)}</oc:fileid>`,
      ].join('');
      return `<${d}response><${d}href>${esc(href)}</${d}href><${d}propstat><${d}prop>${props}</${d}prop><${d}status>HTTP/1.1 200 OK</${d}status></${d}propstat><${d}propstat><${d}prop><oc:checksums/></${d}prop><${d}status>HTTP/1.1 404 Not Found</${d}status></${d}propstat></${d}response>`;
    })
    .join('');
  return `<?xml version="1.0"?><${d}multistatus ${xmlns} xmlns:oc="http://owncloud.org/ns">${body}</${d}multistatus>`;
}

const segment = fc.stringMatching(/^[\w äöüß%&+()#~-]{1,12}$/).filter((s) => s !== '.' && s !== '..');
const resource: fc.Arbitrary<DavResource> = fc
  .record({
    path: fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/')),
    isDir: fc.boolean(),
    size: fc.nat({ max: 2 ** 40 }),
    etag: fc.option(fc.stringMatching(/^[\w.-]{1,20}$/), { nil: undefined }),
    lastModified: fc.option(
      fc.integer({ min: 0, max: 4_000_000_000 }).map((s) => s * 1000),
      { nil: undefined },
    ),
    fileId: fc.option(fc.stringMatching(/^\w{1,10}$/), { nil: undefined }),
  })
  .map((r) => {
    const out: DavResource = { path: r.path, isDir: r.isDir, size: r.isDir ? 0 : r.size };
    if (r.etag !== undefined) out.etag = r.etag;
    if (r.lastModified !== undefined) out.lastModified = r.lastModified;
    if (r.fileId !== undefined) out.fileId = r.fileId;
    return out;
  });

describe('parseMultistatus', () => {
  it('parses what rclone, Apache and ownCloud send, whatever the prefix', () => {
    fc.assert(
      fc.property(
        fc.array(resource, { maxLength: 8 }),
        fc.constantFrom('', 'D', 'd', 'lp1'),
        fc.boolean(),
        fc.constantFrom('/', '/dav/', '/remote.php/webdav/Büro x/'),
        (entries, prefix, absolute, base) => {
          expect(parseMultistatus(render(base, entries, prefix, absolute), base)).toEqual(entries);
        },
      ),
    );
  });

  it('gives the same resources when the reply arrives in pieces cut anywhere', () => {
    fc.assert(
      fc.property(
        fc.array(resource, { maxLength: 6 }),
        fc.constantFrom('', 'D', 'lp1'),
        fc.array(fc.nat(), { maxLength: 12 }),
        (entries, prefix, cuts) => {
          const xml = `${render('/dav/', entries, prefix, false)}<!-- trailing -->`;
          const at = [...new Set(cuts.map((c) => c % (xml.length + 1)))].sort((a, b) => a - b);
          const parser = createMultistatusParser('/dav/');
          let from = 0;
          for (const to of [...at, xml.length]) {
            parser.push(xml.slice(from, to));
            from = to;
          }
          expect(parser.end()).toEqual(entries);
        },
      ),
    );
  });

  it('hands each resource to onResource as soon as its response is complete, keeping none', () => {
    const a: DavResource = { path: 'a', isDir: false, size: 3, etag: 'x' };
    const b: DavResource = { path: 'd', isDir: true, size: 0 };
    const xml = render('/dav/', [a, b], 'D', false);
    const cut = xml.indexOf('</D:response>') + '</D:response>'.length;
    const seen: DavResource[] = [];
    const parser = createMultistatusParser('/dav/', (r) => seen.push(r));
    parser.push(xml.slice(0, cut));
    expect(seen).toEqual([a]);
    parser.push(xml.slice(cut));
    expect(parser.end()).toEqual([]);
    expect(seen).toEqual([a, b]);
  });

  it('reads Apache mod_dav output with weak ETags and only 200 propstats', () => {
    const xml = `<?xml version="1.0" encoding="utf-8"?>
<D:multistatus xmlns:D="DAV:" xmlns:ns0="DAV:"><D:response xmlns:lp1="DAV:" xmlns:lp2="http://apache.org/dav/props/">
<D:href>/dav/a%20b/</D:href><D:propstat><D:prop><lp1:resourcetype><D:collection/></lp1:resourcetype>
<lp1:getlastmodified>Sat, 28 Nov 2026 18:40:32 GMT</lp1:getlastmodified><lp1:getetag>W/"1000-66"</lp1:getetag>
</D:prop><D:status>HTTP/1.1 200 OK</D:status></D:propstat><D:propstat><D:prop><getcontentlength xmlns="DAV:">99</getcontentlength>
</D:prop><D:status>HTTP/1.1 404 Not Found</D:status></D:propstat></D:response></D:multistatus>`;
    expect(parseMultistatus(xml, '/dav/')).toEqual([
      { path: 'a b', isDir: true, size: 0, etag: '1000-66', lastModified: Date.parse('Sat, 28 Nov 2026 18:40:32 GMT') },
    ]);
  });

  it('handles comments, CDATA, entities and quoted ">" in attributes', () => {
    const xml = `<?xml version="1.0"?><!-- c --><multistatus xmlns="DAV:"><response a="x>y">
<href><![CDATA[/a&b]]></href><propstat><prop><getetag>&quot;e&amp;1&#x41;&quot;</getetag></prop>
<status>HTTP/1.1 200 OK</status></propstat></response></multistatus>`;
    expect(parseMultistatus(xml, '/')).toEqual([{ path: 'a&b', isDir: false, size: 0, etag: 'e&1A' }]);
  });

  it('reads oc:checksums and skips hrefs outside the base', () => {
    const xml = `<d:multistatus xmlns:d="DAV:" xmlns:oc="http://owncloud.org/ns">
<d:response><d:href>/other/x</d:href></d:response>
<d:response><d:href>/remote.php/webdav/f.txt</d:href><d:propstat><d:prop><d:getcontentlength>3</d:getcontentlength>
<oc:checksums><oc:checksum>SHA1:aa MD5:bb</oc:checksum></oc:checksums><oc:permissions>RDNVW</oc:permissions></d:prop>
<d:status>HTTP/1.1 200 OK</d:status></d:propstat></d:response></d:multistatus>`;
    expect(parseMultistatus(xml, '/remote.php/webdav/')).toEqual([
      { path: 'f.txt', isDir: false, size: 3, checksums: ['SHA1:aa', 'MD5:bb'], permissions: 'RDNVW' },
    ]);
  });

  it('gives DAV_BAD_XML, never a crash, for junk', () => {
    fc.assert(
      fc.property(fc.string(), (junk) => {
        try {
          parseMultistatus(junk, '/');
        } catch (error) {
          expect(error).toBeInstanceOf(SyncError);
          expect((error as SyncError).code).toBe('DAV_BAD_XML');
        }
      }),
    );
    expect(() => parseMultistatus('<html>nope</html>', '/')).toThrow(SyncError);
    expect(() => parseMultistatus('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><multistatus/>', '/')).toThrow(
      /DOCTYPE/,
    );
    expect(() => parseMultistatus('<d:multistatus xmlns:d="DAV:"></d:response>', '/')).toThrow(/mismatched/);
    expect(() => parseMultistatus('<multistatus><response>', '/')).toThrow(/unclosed/);
    expect(() => parseMultistatus('<a><b>', '/')).toThrow(SyncError);
  });
});

describe('helpers', () => {
  it('normalizes ETags', () => {
    expect(normalizeEtag('W/"abc"')).toBe('abc');
    expect(normalizeEtag('"x"')).toBe('x');
    expect(normalizeEtag('')).toBeUndefined();
    expect(normalizeEtag(undefined)).toBeUndefined();
  });
  it('maps hrefs to relative paths', () => {
    expect(hrefToPath('/dav/', '/dav/')).toBe('');
    expect(hrefToPath('/dav', '/dav/')).toBe('');
    expect(hrefToPath('http://x/dav/a%20b/c/', '/dav/')).toBe('a b/c');
    expect(hrefToPath('/d%61v/%C3%A4', '/dav/')).toBe('ä');
    expect(hrefToPath('/davx/a', '/dav/')).toBeUndefined();
    expect(hrefToPath('http://x/dav/../etc/passwd', '/dav/')).toBeUndefined();
  });

  it('refuses hrefs below the base that are not plain names (DAV_UNSAFE_HREF)', () => {
    const code = (href: string): string | undefined => {
      try {
        hrefToPath(href, '/dav/');
        return undefined;
      } catch (error) {
        return (error as SyncError).code;
      }
    };
    for (const href of [
      '/dav/a%2Fb',
      'http://x/dav/a%2F..%2F..%2Fetc',
      '/dav/a/../../etc',
      '/dav/./a',
      '/dav/%2e%2e/x',
      '/dav/a//b',
      '/dav//',
      '/dav/a%5Cb',
      '/dav/a%00b',
      '/dav/bad%zzpercent',
    ]) {
      expect(code(href), href).toBe('DAV_UNSAFE_HREF');
    }
    const reply = `<d:multistatus xmlns:d="DAV:"><d:response><d:href>/dav/x%2F..%2F..%2Fetc%2Fcron.d%2Fevil</d:href></d:response></d:multistatus>`;
    expect(() => parseMultistatus(reply, '/dav/')).toThrow(/unsafe href/);
  });
});

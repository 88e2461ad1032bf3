import fc from 'fast-check';
import { BerReader, BerWriter, Client, MessageParser, PresenceFilter, SearchEntry, SearchRequest } from 'ldapts';
import { describe, expect, it } from 'vitest';
import { type AdEntry, normalizeEntry } from './entry';
import { installOnParser, installWireDecoder, WireSearchEntry } from './wire-entry';

type RawAttribute = { type: string; values: Buffer[] };

/** A complete LDAPMessage holding a SearchResultEntry (RFC 4511 §4.5.2). */
function searchEntryMessage(messageId: number, dn: string, attributes: RawAttribute[]): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(messageId);
  w.startSequence(0x64);
  w.writeString(dn);
  w.startSequence();
  for (const a of attributes) {
    w.startSequence();
    w.writeString(a.type);
    w.startSequence(0x31);
    for (const v of a.values) w.writeBuffer(v, 0x04);
    w.endSequence();
    w.endSequence();
  }
  w.endSequence();
  w.endSequence();
  w.endSequence();
  return w.buffer;
}

/** A reader positioned at the entry body, as ldapts' MessageParser leaves it. */
function bodyReader(message: Buffer): BerReader {
  const r = new BerReader(message);
  r.readSequence();
  r.readInt();
  r.readSequence();
  return r;
}

const binary = new Set(['objectsid', 'objectguid']);

function viaLdapts(message: Buffer): AdEntry {
  const e = new SearchEntry({ messageId: 1 });
  e.parse(bodyReader(message), []);
  return normalizeEntry(e.toObject([], []), binary);
}

function viaWire(message: Buffer): AdEntry {
  const e = new WireSearchEntry(1, binary);
  e.parse(bodyReader(message), []);
  return normalizeEntry(e.toObject(), binary);
}

const plain = (e: AdEntry) => ({ dn: e.dn, attributes: e.attributes, buffers: e.buffers });

describe('wire search entries', () => {
  it('decodes text, binary, invalid UTF-8, a literal U+FFFD and long values as ldapts + normalizeEntry do', () => {
    const message = searchEntryMessage(7, 'CN=Müller\\, Jörg,CN=Users,DC=invis,DC=test', [
      { type: 'sAMAccountName', values: [Buffer.from('mueller')] },
      { type: 'objectSid', values: [Buffer.from('010500000000000515000000', 'hex')] },
      { type: 'objectGUID', values: [Buffer.from('41424344', 'hex')] }, // valid UTF-8, still bytes
      { type: 'description', values: [Buffer.from([0x66, 0xff, 0xfe])] }, // not UTF-8
      { type: 'info', values: [Buffer.from('ersetzt: \uFFFD')] },
      { type: 'otherMailbox', values: [Buffer.from('a@x.test'), Buffer.from('b@x.test')] },
      { type: 'comment', values: [Buffer.from('x'.repeat(70_000))] }, // three-byte length
      { type: 'empty', values: [] },
    ]);
    const wire = viaWire(message);
    expect(plain(wire)).toEqual(plain(viaLdapts(message)));
    expect(wire.get('description')).toBe('f\uFFFD\uFFFD');
    expect(wire.getBuffer('description')).toEqual(Buffer.from([0x66, 0xff, 0xfe]));
    expect(wire.get('info')).toBe('ersetzt: \uFFFD');
    expect(wire.getBuffer('objectGUID')).toEqual(Buffer.from('ABCD'));
    expect(wire.has('empty')).toBe(false);
    expect(wire.getAll('otherMailbox')).toEqual(['a@x.test', 'b@x.test']);
  });

  it('matches ldapts for arbitrary entries (property)', () => {
    const attribute = fc.record({
      type: fc.constantFrom('cn', 'objectSid', 'description', 'memberOf', 'x-Attr'),
      values: fc.array(
        fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
        { maxLength: 4 },
      ),
    });
    fc.assert(
      fc.property(fc.string(), fc.uniqueArray(attribute, { selector: (a) => a.type }), (dn, attributes) => {
        const message = searchEntryMessage(3, dn, attributes);
        expect(plain(viaWire(message))).toEqual(plain(viaLdapts(message)));
      }),
    );
  });

  it('rejects a truncated entry with an ASN.1 error instead of reading past it', () => {
    const message = searchEntryMessage(1, 'CN=a', [{ type: 'cn', values: [Buffer.from('abcdef')] }]);
    const cut = message.subarray(0, message.length - 3);
    const e = new WireSearchEntry(1, binary);
    expect(() => e.parse(bodyReader(cut), [])).toThrow(/truncated/);
  });

  it('is installed through the message parser, with the binary attributes of the request', () => {
    expect(installWireDecoder(new Client({ url: 'ldap://127.0.0.1' }))).toBe(true);
    const parser = new MessageParser();
    expect(installOnParser(parser as never)).toBe(true);
    const request = new SearchRequest({
      messageId: 5,
      filter: new PresenceFilter({ attribute: 'objectClass' }),
      explicitBufferAttributes: ['thumbnailLogo'],
    });
    const got: unknown[] = [];
    parser.on('message', (m) => got.push(m));
    parser.read(
      searchEntryMessage(5, 'CN=b', [
        { type: 'thumbnailLogo', values: [Buffer.from('PNG')] },
        { type: 'cn', values: [Buffer.from('b')] },
      ]),
      new Map([['5', { message: request, resolve: () => undefined, reject: () => undefined }]]) as never,
    );
    expect(got).toHaveLength(1);
    const entry = normalizeEntry((got[0] as WireSearchEntry).toObject());
    expect(entry.buffers).toEqual({ thumbnailLogo: [Buffer.from('PNG')] });
    expect(entry.attributes).toEqual({ cn: ['b'] });
  });
});

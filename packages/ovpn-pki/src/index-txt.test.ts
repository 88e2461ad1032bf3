import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REVOCATION_REASONS, type RevocationReason } from './ca';
import { isOvpnPkiError } from './errors';
import { type IndexEntry, parseIndexTxt, renderIndexTxt } from './index-txt';

// Two lines as easy-rsa 3.1 writes them (one valid, one revoked with a reason).
const EASYRSA = [
  'V\t290303120000Z\t\t9A3F0C1D2E3F40516273849506A7B8C9\tunknown\t/CN=server',
  'R\t281027091500Z\t261128181500Z,keyCompromise\t0B1C2D3E4F5061728394A5B6C7D8E9F0\tunknown\t/CN=client3',
  '',
].join('\n');

describe('index.txt', () => {
  it('parses easy-rsa lines', () => {
    const [server, client] = parseIndexTxt(EASYRSA);
    expect(server).toEqual({
      status: 'valid',
      notAfter: new Date('2029-03-03T12:00:00Z'),
      serial: '9A3F0C1D2E3F40516273849506A7B8C9',
      file: 'unknown',
      subject: '/CN=server',
    });
    expect(client?.status).toBe('revoked');
    expect(client?.revokedAt).toEqual(new Date('2026-11-28T18:15:00Z'));
    expect(client?.reason).toBe('keyCompromise');
  });

  it('renders what it parsed byte for byte', () => {
    expect(renderIndexTxt(parseIndexTxt(EASYRSA))).toBe(EASYRSA);
  });

  it('writes GeneralizedTime from 2050 on', () => {
    const text = renderIndexTxt([
      { status: 'valid', notAfter: new Date('2051-01-02T03:04:05Z'), serial: '01', file: 'unknown', subject: '/CN=x' },
    ]);
    expect(text).toBe('V\t20510102030405Z\t\t01\tunknown\t/CN=x\n');
    expect(parseIndexTxt(text)[0]?.notAfter).toEqual(new Date('2051-01-02T03:04:05Z'));
  });

  it('round-trips random entries', () => {
    const second = fc.integer({ min: Date.UTC(1951, 0, 1) / 1000, max: Date.UTC(2099, 11, 31) / 1000 });
    const date = second.map((s) => new Date(s * 1000));
    const entry: fc.Arbitrary<IndexEntry> = fc
      .record({
        revoked: fc.boolean(),
        notAfter: date,
        revokedAt: date,
        reason: fc.option(fc.constantFrom(...(Object.keys(REVOCATION_REASONS) as RevocationReason[])), {
          nil: undefined,
        }),
        serial: fc.stringMatching(/^[0-9A-F]{2,40}$/),
        subject: fc.stringMatching(/^\/CN=[A-Za-z0-9 ._-]{1,30}$/),
      })
      .map((r) => ({
        status: r.revoked ? ('revoked' as const) : ('valid' as const),
        notAfter: r.notAfter,
        serial: r.serial,
        file: 'unknown',
        subject: r.subject,
        ...(r.revoked ? { revokedAt: r.revokedAt, ...(r.reason ? { reason: r.reason } : {}) } : {}),
      }));
    fc.assert(
      fc.property(fc.array(entry, { maxLength: 8 }), (entries) => {
        const text = renderIndexTxt(entries);
        expect(parseIndexTxt(text)).toEqual(entries);
        expect(renderIndexTxt(parseIndexTxt(text))).toBe(text);
      }),
    );
  });

  it('rejects junk with a typed error, never a crash', () => {
    fc.assert(
      fc.property(fc.string(), (junk) => {
        try {
          parseIndexTxt(junk);
        } catch (e) {
          expect(isOvpnPkiError(e) && e.code === 'PKI_PARSE_FAILED').toBe(true);
        }
      }),
    );
    expect(() => parseIndexTxt('X\t290303120000Z\t\t01\tunknown\t/CN=a')).toThrow(/line 1: unknown status/);
    expect(() => parseIndexTxt('R\t290303120000Z\t\t01\tunknown\t/CN=a')).toThrow(/without revocation date/);
  });
});

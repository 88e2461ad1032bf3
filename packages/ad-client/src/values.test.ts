import { describe, expect, it } from 'vitest';
import {
  dateToFileTime,
  decodeGuid,
  decodeSid,
  encodeGuid,
  encodeSid,
  encodeUnicodePwd,
  fileTimeToDate,
  intervalToMs,
  msToInterval,
  parseGeneralizedTime,
  ridOf,
  uacFlags,
  uacValue,
} from './values';

describe('AD value codecs', () => {
  it('unicodePwd is the quoted password in UTF-16LE', () => {
    expect(encodeUnicodePwd('Ab1!')).toEqual(Buffer.from('"Ab1!"', 'utf16le'));
    expect(() => encodeUnicodePwd('')).toThrow(expect.objectContaining({ code: 'AD_INVALID_INPUT' }));
  });

  it('SID round trip and RID', () => {
    const sid = 'S-1-5-21-1004336348-1177238915-682003330-1105';
    expect(decodeSid(encodeSid(sid))).toBe(sid);
    expect(ridOf(sid)).toBe(1105);
    expect(ridOf(encodeSid(sid))).toBe(1105);
  });

  it('GUID round trip in AD byte order', () => {
    const g = '01234567-89ab-cdef-0123-456789abcdef';
    const b = encodeGuid(g);
    expect(b.subarray(0, 4)).toEqual(Buffer.from([0x67, 0x45, 0x23, 0x01]));
    expect(decodeGuid(b)).toBe(g);
  });

  it('FILETIME and intervals', () => {
    const d = new Date('2026-11-28T12:00:00Z');
    expect(fileTimeToDate(dateToFileTime(d))?.toISOString()).toBe(d.toISOString());
    expect(fileTimeToDate('0')).toBeUndefined();
    expect(fileTimeToDate('9223372036854775807')).toBeUndefined();
    expect(intervalToMs('-36288000000000')).toBe(42 * 86400 * 1000);
    expect(intervalToMs('-9223372036854775808')).toBeUndefined();
    expect(msToInterval(42 * 86400 * 1000)).toBe(-36288000000000n);
  });

  it('generalized time', () => {
    expect(parseGeneralizedTime('20261128181622.0Z').toISOString()).toBe('2026-11-28T18:16:22.000Z');
  });

  it('UAC flag table both ways', () => {
    expect(uacFlags(514)).toEqual(['ACCOUNTDISABLE', 'NORMAL_ACCOUNT']);
    expect(uacValue(['NORMAL_ACCOUNT', 'DONT_EXPIRE_PASSWORD'])).toBe(66048);
  });
});

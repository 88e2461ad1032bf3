// AD value codecs: unicodePwd, objectSid, objectGUID, FILETIME, generalized time, and the
// userAccountControl / groupType flag tables (name ↔ number).
import { AdError } from './errors';

/**
 * Encodes a password for `unicodePwd`: the password in double quotes, UTF-16LE.
 * @throws AdError `AD_INVALID_INPUT` for an empty password or one containing NUL
 */
export function encodeUnicodePwd(password: string): Buffer {
  if (typeof password !== 'string' || password.length === 0)
    throw new AdError('AD_INVALID_INPUT', 'The password must not be empty.');
  if (password.includes('\0')) throw new AdError('AD_INVALID_INPUT', 'The password must not contain a NUL character.');
  return Buffer.from(`"${password}"`, 'utf16le');
}

/**
 * Decodes a binary objectSid (`S-1-5-21-…-1105`).
 * @throws AdError `AD_INVALID_INPUT` for a malformed SID
 */
export function decodeSid(buf: Uint8Array): string {
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length < 8 || b.length !== 8 + (b[1] ?? 0) * 4)
    throw new AdError('AD_INVALID_INPUT', `Not a binary SID (${b.length} bytes)`);
  const count = b[1] ?? 0;
  let sid = `S-${b[0] ?? 1}-${b.readUIntBE(2, 6)}`;
  for (let i = 0; i < count; i++) sid += `-${b.readUInt32LE(8 + i * 4)}`;
  return sid;
}

/**
 * Encodes a SID string into its binary form (for objectSid filters).
 * @throws AdError `AD_INVALID_INPUT`
 */
export function encodeSid(sid: string): Buffer {
  const m = /^S-(\d+)-(\d+)((?:-\d+)*)$/i.exec(sid);
  if (!m) throw new AdError('AD_INVALID_INPUT', `Not a SID: ${JSON.stringify(sid)}`);
  const subs = (m[3] ?? '').split('-').filter(Boolean).map(Number);
  if (subs.length > 15 || subs.some((s) => s > 0xffffffff))
    throw new AdError('AD_INVALID_INPUT', `Not a SID: ${JSON.stringify(sid)}`);
  const b = Buffer.alloc(8 + subs.length * 4);
  b[0] = Number(m[1]);
  b[1] = subs.length;
  b.writeUIntBE(Number(m[2]), 2, 6);
  subs.forEach((s, i) => {
    b.writeUInt32LE(s, 8 + i * 4);
  });
  return b;
}

/** The RID (last sub-authority) of a SID string or binary SID. */
export function ridOf(sid: string | Uint8Array): number {
  const s = typeof sid === 'string' ? sid : decodeSid(sid);
  const rid = Number(s.slice(s.lastIndexOf('-') + 1));
  if (!Number.isInteger(rid)) throw new AdError('AD_INVALID_INPUT', `Not a SID: ${JSON.stringify(s)}`);
  return rid;
}

/**
 * Decodes a binary objectGUID into the usual string form (`xxxxxxxx-xxxx-…`, mixed-endian as AD shows it).
 * @throws AdError `AD_INVALID_INPUT`
 */
export function decodeGuid(buf: Uint8Array): string {
  if (buf.length !== 16) throw new AdError('AD_INVALID_INPUT', `Not a binary GUID (${buf.length} bytes)`);
  const x = Buffer.from(buf.buffer, buf.byteOffset, 16).toString('hex');
  return `${x.slice(6, 8)}${x.slice(4, 6)}${x.slice(2, 4)}${x.slice(0, 2)}-${x.slice(10, 12)}${x.slice(8, 10)}-${x.slice(14, 16)}${x.slice(12, 14)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/**
 * Encodes a GUID string into its 16-byte AD form (for objectGUID filters).
 * @throws AdError `AD_INVALID_INPUT`
 */
export function encodeGuid(guid: string): Buffer {
  const hex = guid.replace(/[{}-]/g, '');
  if (!/^[0-9a-f]{32}$/i.test(hex)) throw new AdError('AD_INVALID_INPUT', `Not a GUID: ${JSON.stringify(guid)}`);
  const raw = Buffer.from(hex, 'hex');
  const order = [3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15];
  return Buffer.from(order.map((i) => raw[i] ?? 0));
}

const FILETIME_EPOCH_OFFSET = 116444736000000000n; // 100-ns intervals 1601-01-01 → 1970-01-01
/** `accountExpires` / `lockoutTime` value meaning "never". */
export const FILETIME_NEVER: bigint = 0x7fffffffffffffffn;

/**
 * Converts a FILETIME (100-ns intervals since 1601, as in pwdLastSet, lastLogonTimestamp,
 * accountExpires) to a Date; 0 and 0x7FFFFFFFFFFFFFFF ("never") give undefined.
 */
export function fileTimeToDate(value: bigint | string | number | undefined): Date | undefined {
  if (value === undefined || value === '') return undefined;
  const v = BigInt(value);
  if (v <= 0n || v >= FILETIME_NEVER) return undefined;
  return new Date(Number((v - FILETIME_EPOCH_OFFSET) / 10000n));
}

/** Converts a Date to FILETIME (100-ns intervals since 1601). */
export function dateToFileTime(date: Date): bigint {
  return BigInt(date.getTime()) * 10000n + FILETIME_EPOCH_OFFSET;
}

/**
 * Converts an AD interval (negative 100-ns units, as in maxPwdAge, lockoutDuration) to
 * milliseconds; "never" (-0x8000000000000000 or 0) gives undefined.
 */
export function intervalToMs(value: bigint | string | number | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  const v = BigInt(value);
  if (v === 0n || v <= -0x7fffffffffffffffn) return undefined;
  return Number((v < 0n ? -v : v) / 10000n);
}

/** Milliseconds → AD interval (negative 100-ns units); undefined/0/Infinity → "never" (`-9223372036854775808`). */
export function msToInterval(ms: number | undefined): bigint {
  if (ms === undefined || ms === 0 || !Number.isFinite(ms)) return -0x8000000000000000n;
  return -BigInt(Math.round(ms)) * 10000n;
}

/**
 * Parses LDAP generalized time (`20261128181622.0Z`, as in whenCreated/whenChanged).
 * @throws AdError `AD_INVALID_INPUT`
 */
export function parseGeneralizedTime(value: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})?(\d{2})?(?:[.,](\d+))?(Z|[+-]\d{4})?$/.exec(value.trim());
  if (!m) throw new AdError('AD_INVALID_INPUT', `Not a generalized time: ${JSON.stringify(value)}`);
  const [, y, mo, d, h, mi = '0', s = '0', frac = '0', tz = 'Z'] = m;
  let t = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), Number(`0.${frac}`) * 1000);
  if (tz !== 'Z') {
    const sign = tz.startsWith('-') ? -1 : 1;
    t -= sign * (Number(tz.slice(1, 3)) * 60 + Number(tz.slice(3, 5))) * 60000;
  }
  return new Date(t);
}

/** Formats a Date as generalized time `YYYYMMDDHHMMSS.0Z`. */
export function formatGeneralizedTime(date: Date): string {
  const iso = date.toISOString(); // 2026-11-28T18:16:22.123Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}.0Z`;
}

/** userAccountControl flags (MS-ADTS 2.2.16), name → bit. */
export const UAC = {
  SCRIPT: 0x1,
  ACCOUNTDISABLE: 0x2,
  HOMEDIR_REQUIRED: 0x8,
  LOCKOUT: 0x10,
  PASSWD_NOTREQD: 0x20,
  PASSWD_CANT_CHANGE: 0x40,
  ENCRYPTED_TEXT_PWD_ALLOWED: 0x80,
  TEMP_DUPLICATE_ACCOUNT: 0x100,
  NORMAL_ACCOUNT: 0x200,
  INTERDOMAIN_TRUST_ACCOUNT: 0x800,
  WORKSTATION_TRUST_ACCOUNT: 0x1000,
  SERVER_TRUST_ACCOUNT: 0x2000,
  DONT_EXPIRE_PASSWORD: 0x10000,
  MNS_LOGON_ACCOUNT: 0x20000,
  SMARTCARD_REQUIRED: 0x40000,
  TRUSTED_FOR_DELEGATION: 0x80000,
  NOT_DELEGATED: 0x100000,
  USE_DES_KEY_ONLY: 0x200000,
  DONT_REQ_PREAUTH: 0x400000,
  PASSWORD_EXPIRED: 0x800000,
  TRUSTED_TO_AUTH_FOR_DELEGATION: 0x1000000,
  PARTIAL_SECRETS_ACCOUNT: 0x4000000,
} as const;

/** A userAccountControl flag name. */
export type UacFlag = keyof typeof UAC;

/** Names of the flags set in a userAccountControl value (`514` → `['ACCOUNTDISABLE','NORMAL_ACCOUNT']`). */
export function uacFlags(value: number): string[] {
  return Object.entries(UAC)
    .filter(([, bit]) => (value & bit) !== 0)
    .map(([name]) => name);
}

/** A userAccountControl value from flag names (`['NORMAL_ACCOUNT']` → 512). */
export function uacValue(flags: readonly string[]): number {
  return flags.reduce((acc, name) => {
    const bit = (UAC as Record<string, number>)[name];
    if (bit === undefined) throw new AdError('AD_INVALID_INPUT', `Unknown userAccountControl flag ${name}`);
    return acc | bit;
  }, 0);
}

/** groupType flags (MS-ADTS 2.2.12), name → bit (as signed 32-bit, like AD stores it). */
export const GROUP_TYPE = {
  BUILTIN_LOCAL: 0x1,
  GLOBAL: 0x2,
  DOMAIN_LOCAL: 0x4,
  UNIVERSAL: 0x8,
  APP_BASIC: 0x10,
  APP_QUERY: 0x20,
  SECURITY: -0x80000000,
} as const;

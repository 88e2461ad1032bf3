// The OpenSSL CA database (`index.txt`, also written by easy-rsa): one line per issued
// certificate, six tab-separated fields. Pure parse/render, round-trip tested.
import { REVOCATION_REASONS, type RevocationReason } from './ca';
import { OvpnPkiError } from './errors';

/** One line of `index.txt`. */
export interface IndexEntry {
  /** `V` valid, `R` revoked, `E` expired (OpenSSL marks expiry lazily; we compute it). */
  status: 'valid' | 'revoked' | 'expired';
  notAfter: Date;
  /** Set when revoked. */
  revokedAt?: Date;
  /** Set when revoked with a reason. */
  reason?: RevocationReason;
  /** Upper-case hex. */
  serial: string;
  /** Always `unknown` in easy-rsa and in our PKI. */
  file: string;
  /** OpenSSL one-line subject, e.g. `/CN=client1`. */
  subject: string;
}

const STATUS = { V: 'valid', R: 'revoked', E: 'expired' } as const;
const STATUS_LETTER = { valid: 'V', revoked: 'R', expired: 'E' } as const;

/** ASN.1 time as OpenSSL writes it: UTCTime YYMMDDHHMMSSZ until 2049, GeneralizedTime after. */
function renderTime(d: Date): string {
  const iso = d.toISOString();
  const digits = `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}${iso.slice(11, 13)}${iso.slice(14, 16)}${iso.slice(17, 19)}Z`;
  const year = d.getUTCFullYear();
  return year >= 1950 && year < 2050 ? digits.slice(2) : digits;
}

function parseTime(s: string, line: number): Date {
  const m = /^(\d{2}|\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(s);
  if (!m) throw parseError(`bad time "${s}"`, line);
  const [, y = '', mo, da, h, mi, se] = m;
  const year = y.length === 4 ? Number(y) : Number(y) < 50 ? 2000 + Number(y) : 1900 + Number(y);
  const d = new Date(Date.UTC(year, Number(mo) - 1, Number(da), Number(h), Number(mi), Number(se)));
  if (Number.isNaN(d.getTime())) throw parseError(`bad time "${s}"`, line);
  return d;
}

function parseError(what: string, line: number): OvpnPkiError {
  return new OvpnPkiError('PKI_PARSE_FAILED', `index.txt line ${line}: ${what}`, { details: { line } });
}

/**
 * Parses an OpenSSL/easy-rsa `index.txt`. Empty lines are ignored.
 * @throws {OvpnPkiError} PKI_PARSE_FAILED with the line number
 */
export function parseIndexTxt(text: string): IndexEntry[] {
  const entries: IndexEntry[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    if (raw.trim() === '') return;
    const fields = raw.replace(/\r$/, '').split('\t');
    if (fields.length !== 6) throw parseError(`expected 6 tab-separated fields, got ${fields.length}`, line);
    const [letter = '', expiry = '', revocation = '', serial = '', file = '', subject = ''] = fields;
    const status = STATUS[letter as keyof typeof STATUS];
    if (!status) throw parseError(`unknown status "${letter}"`, line);
    if (!/^[0-9A-Fa-f]+$/.test(serial)) throw parseError(`bad serial "${serial}"`, line);
    const entry: IndexEntry = {
      status,
      notAfter: parseTime(expiry, line),
      serial: serial.toUpperCase(),
      file,
      subject,
    };
    if (revocation !== '') {
      const [when = '', reason] = revocation.split(',');
      entry.revokedAt = parseTime(when, line);
      if (reason !== undefined) {
        if (!(reason in REVOCATION_REASONS)) throw parseError(`unknown revocation reason "${reason}"`, line);
        entry.reason = reason as RevocationReason;
      }
    }
    if (status === 'revoked' && !entry.revokedAt) throw parseError('revoked entry without revocation date', line);
    entries.push(entry);
  });
  return entries;
}

/** Renders entries as `index.txt` (one line each, trailing newline; empty string for none). */
export function renderIndexTxt(entries: readonly IndexEntry[]): string {
  return entries
    .map((e) => {
      const revocation = e.revokedAt ? `${renderTime(e.revokedAt)}${e.reason ? `,${e.reason}` : ''}` : '';
      return `${STATUS_LETTER[e.status]}\t${renderTime(e.notAfter)}\t${revocation}\t${e.serial}\t${e.file}\t${e.subject}\n`;
    })
    .join('');
}

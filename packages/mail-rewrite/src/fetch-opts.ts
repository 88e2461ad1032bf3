// `fspMailFetchOpts` as the original invis server keeps it: ONE value of space-separated
// fetchmail keywords (`here ssl fetchall`) that both of its rc generators (the portal's bfmrc,
// which takes only the first value, and refreshfrc) paste at the end of a `poll … is <user>`
// line. Settings fetchmail has no keyword for follow a `#`, which fetchmail reads as a comment,
// so the pasted line stays valid. Earlier versions of this package stored one keyword per
// value with bare `invis:` values; both forms are read.
import { MailRewriteError } from './errors';

/** The parsed option value: fetchmail keywords in order and the invis settings. */
export interface FetchOpts {
  /** Keyword units as written, e.g. `here`, `ssl`, `sslproto 'TLS1.2+'`, `limit 100000`. */
  keywords: string[];
  /** `invis:<name>=<value>` settings in order (values decoded). */
  invis: Array<[name: string, value: string]>;
}

const INVIS = 'invis:';

// Keywords whose next token is their argument: kept together as one unit, so that e.g. the
// argument of `folder keep` is never mistaken for the `keep` keyword.
const WITH_ARGUMENT = new Set([
  'sslproto',
  'sslcertfile',
  'sslcertpath',
  'sslcommonname',
  'sslfingerprint',
  'sslkey',
  'sslcert',
  'folder',
  'limit',
  'warnings',
  'fetchlimit',
  'fetchsizelimit',
  'fastuidl',
  'batchlimit',
  'expunge',
  'mda',
  'bsmtp',
  'smtphost',
  'smtpname',
  'smtpaddress',
  'antispam',
  'preconnect',
  'postconnect',
  'lmtp',
  'port',
  'service',
  'auth',
  'timeout',
  'interval',
]);

// Splits fetchmail rc text into tokens; a quoted string is one token (quotes kept, fetchmail's
// backslash escapes skipped over). The text after an unquoted `#` is returned as the comment.
function tokenize(text: string): { tokens: string[]; comment: string } {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text.charAt(i);
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '#') return { tokens, comment: text.slice(i + 1) };
    let j = i;
    if (c === "'" || c === '"') {
      j++;
      while (j < text.length && text.charAt(j) !== c) j += text.charAt(j) === '\\' ? 2 : 1;
      j++;
    } else {
      while (j < text.length && !/[\s#]/.test(text.charAt(j))) j++;
    }
    tokens.push(text.slice(i, Math.min(j, text.length)));
    i = j;
  }
  return { tokens, comment: '' };
}

function decode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch (cause) {
    throw new MailRewriteError('MAIL_PARSE_ERROR', 'fspMailFetchOpts holds a malformed invis: setting', { cause });
  }
}

/**
 * Reads `fspMailFetchOpts`: the original's one-value form (`here ssl fetchall`), one keyword
 * per value, and the invis settings behind `#` (or as bare `invis:` values, the old form).
 * @throws MailRewriteError `MAIL_PARSE_ERROR` for a malformed encoded setting
 */
export function parseFetchOpts(values: readonly string[]): FetchOpts {
  const keywords: string[] = [];
  const invis: FetchOpts['invis'] = [];
  const setting = (raw: string, encoded: boolean): void => {
    const at = raw.indexOf('=');
    if (at < 0) return;
    const name = raw.slice(INVIS.length, at);
    const value = raw.slice(at + 1);
    invis.push([name, encoded ? decode(value) : value]);
  };
  for (const value of values) {
    const trimmed = value.trim();
    // The old one-setting-per-value form: the value is the whole setting (folder names with spaces).
    if (trimmed.startsWith(INVIS)) {
      setting(trimmed, false);
      continue;
    }
    const { tokens, comment } = tokenize(trimmed);
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i] as string;
      const argument = tokens[i + 1];
      if (WITH_ARGUMENT.has(token.toLowerCase()) && argument !== undefined) {
        keywords.push(`${token} ${argument}`);
        i++;
      } else keywords.push(token);
    }
    for (const word of comment.split(/\s+/)) if (word.startsWith(INVIS)) setting(word, true);
  }
  return { keywords, invis };
}

// Percent-encodes what would end the setting (blanks, `#`) or leave IA5 (the attribute's
// syntax), and `%` itself, so decoding is the exact inverse.
function encode(value: string): string {
  return value.replace(/[%\s#'"\\]|[^\x21-\x7e]/gu, (c) => encodeURIComponent(c));
}

/** Writes the one value the original reads: keywords, then `# invis:name=value …` when there are settings. */
export function formatFetchOpts(opts: FetchOpts): string {
  const settings = opts.invis.map(([name, value]) => `${INVIS}${name}=${encode(value)}`);
  return [...opts.keywords, ...(settings.length > 0 ? ['#', ...settings] : [])].join(' ');
}

import type { MailUser } from './model';
import { MARKER } from './postfix';

/** Quotes a Sieve string (RFC 5228 §2.4.2: backslash escapes `"` and `\`). */
export function quoteSieve(value: string): string {
  return `"${value.replace(/\r\n/g, '\n').replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

const list = (values: readonly string[]): string => `[${values.map(quoteSieve).join(', ')}]`;

/**
 * Renders the user's Pigeonhole vacation script, or `undefined` when the user is not on
 * vacation (then no script is installed). The script
 * - never answers mailing lists, bulk/junk mail or other automatic mail (List-*, Precedence,
 *   Auto-Submitted), on top of Pigeonhole's own checks;
 * - answers at most once per sender every `days` days (`:days`);
 * - knows all of the user's addresses (`:addresses`), so mail fetched for an external
 *   address is recognised as addressed to the user;
 * - only answers between `start` and `end` (inclusive, `currentdate`), so a period can be
 *   set in advance.
 */
export function renderVacationSieve(user: MailUser): string | undefined {
  const v = user.vacation;
  if (user.presence !== 'vacation' || !v) return undefined;
  const addresses = [user.localAddress, ...user.accounts.map((a) => a.address)];
  const dates = [
    ...(v.start ? [`currentdate :value "ge" "date" ${quoteSieve(v.start)}`] : []),
    ...(v.end ? [`currentdate :value "le" "date" ${quoteSieve(v.end)}`] : []),
  ];
  const condition = dates.length > 0 ? `allof (${dates.join(', ')})` : 'true';
  return `${[
    MARKER,
    'require ["vacation", "date", "relational"];',
    '',
    '# no replies to mailing lists, bulk mail or automatic mail (one `exists` per header:',
    '# `exists` with a list is true only when all of them are present)',
    'if anyof (exists "list-id", exists "list-post", exists "list-unsubscribe",',
    '          header :is "precedence" ["bulk", "list", "junk"],',
    '          allof (exists "auto-submitted", not header :is "auto-submitted" "no")) {',
    '  stop;',
    '}',
    `if ${condition} {`,
    `  vacation :days ${v.days} :subject ${quoteSieve(v.subject)} :from ${quoteSieve(user.mainAddress ?? user.localAddress)}`,
    `    :addresses ${list(addresses)}`,
    `    ${quoteSieve(v.body)};`,
    '}',
  ].join('\n')}\n`;
}

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseMailConfig } from './model';
import { quoteSieve, renderVacationSieve } from './sieve';
import { sampleInput } from './testing';

const onVacation = (vacation: { subject: string; body: string; start?: string; end?: string; days?: number }) => {
  const input = sampleInput();
  const alice = input.users?.[0];
  if (!alice) throw new Error('fixture');
  alice.presence = 'vacation';
  alice.vacation = vacation;
  return parseMailConfig(input).users[0] as NonNullable<ReturnType<typeof parseMailConfig>['users'][0]>;
};

describe('renderVacationSieve', () => {
  it('answers once per period, for all addresses, inside the dates, never lists', () => {
    const script = renderVacationSieve(
      onVacation({
        subject: 'Abwesend: "Urlaub"',
        body: 'Bis 24.12.\nGruß',
        start: '2026-12-01',
        end: '2026-12-24',
        days: 3,
      }),
    );
    expect(script).toContain('require ["vacation", "date", "relational"];');
    expect(script).toContain('anyof (exists "list-id", exists "list-post", exists "list-unsubscribe",');
    expect(script).toContain('header :is "precedence" ["bulk", "list", "junk"]');
    expect(script).toContain(
      'if allof (currentdate :value "ge" "date" "2026-12-01", currentdate :value "le" "date" "2026-12-24") {',
    );
    expect(script).toContain('vacation :days 3 :subject "Abwesend: \\"Urlaub\\"" :from "alice@gmx.de"');
    expect(script).toContain(':addresses ["alice@invis-net.loc", "alice@gmx.de", "alice.shop@web.de"]');
    expect(script).toContain('"Bis 24.12.\nGruß";');
  });

  it('installs nothing unless on vacation', () => {
    const user = onVacation({ subject: 's', body: 'b' });
    expect(renderVacationSieve({ ...user, presence: 'present' })).toBeUndefined();
    expect(renderVacationSieve(user)).toContain('if true {');
  });
});

describe('quoteSieve', () => {
  it('keeps any text inside one string (fuzzed)', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const q = quoteSieve(s);
        // After removing escaped pairs no bare quote or backslash is left inside.
        expect(/^"(?:[^"\\]|\\.)*"$/s.test(q)).toBe(true);
        expect(q.slice(1, -1).replace(/\\(.)/gs, '$1')).toBe(s.replace(/\r\n/g, '\n'));
      }),
    );
  });
});

// Shared fixtures of the unit tests (not exported from the package).
import type { ApplyPlan, FileAction } from '@invis/host';
import { printableText } from '@invis/test-utils/arbitraries';
import fc from 'fast-check';
import { isMailRewriteError } from './errors';
import type { MailConfigInput } from './model';

/** Two users, a provider and both protocols; alice's password holds both quote kinds. */
export function sampleInput(): MailConfigInput {
  return {
    localDomain: 'invis-net.loc',
    providers: [
      {
        id: 'gmx',
        vendor: 'GMX',
        pop3: { host: 'pop.gmx.net', tls: true },
        imap: { host: 'imap.gmx.net', tls: true },
        smtp: { host: 'mail.gmx.net' },
      },
    ],
    users: [
      {
        user: 'alice',
        localAddress: 'alice@invis-net.loc',
        mainAddress: 'alice@gmx.de',
        accounts: [
          {
            address: 'alice@gmx.de',
            server: 'pop.gmx.net',
            protocol: 'pop3',
            login: 'alice@gmx.de',
            password: `it's a "secret" \\ #1`,
            provider: 'gmx',
          },
          {
            address: 'alice.shop@web.de',
            server: 'imap.web.de',
            protocol: 'imap',
            tls: 'starttls',
            login: 'alice.shop',
            password: 'pw2',
            keep: true,
            folders: ['INBOX', 'Bestellungen 2026'],
            smtp: { host: 'smtp.web.de' },
          },
        ],
      },
      {
        user: 'bob',
        localAddress: 'bob@invis-net.loc',
        mainAddress: 'bob@gmx.de',
        presence: 'absent',
        accounts: [
          {
            address: 'bob@gmx.de',
            server: 'pop.gmx.net',
            protocol: 'pop3',
            login: 'bob@gmx.de',
            password: 'bobs pw',
            provider: 'gmx',
          },
        ],
      },
    ],
  };
}

const word = fc.stringMatching(/^[a-z][a-z0-9]{0,7}$/);
/** Printable passwords including quotes, backslashes, `#` and inner spaces. */
export const passwordArb: fc.Arbitrary<string> = printableText({ unit: 'grapheme-ascii', minLength: 1, maxLength: 40 });

/** Random valid configurations (users on provider hosts, mixed protocols and presence). */
export const configInputArb: fc.Arbitrary<MailConfigInput> = fc
  .uniqueArray(word, { minLength: 1, maxLength: 6 })
  .chain((names) =>
    fc.tuple(
      ...names.map((name, i) =>
        fc
          .record({
            presence: fc.constantFrom('present' as const, 'absent' as const),
            password: passwordArb,
            protocol: fc.constantFrom('pop3' as const, 'imap' as const),
            tls: fc.constantFrom('implicit' as const, 'starttls' as const, 'none' as const),
            keep: fc.boolean(),
            tlsName: fc.boolean(),
            folder: fc.option(
              passwordArb.map((f) => f.slice(0, 30)),
              { nil: undefined },
            ),
          })
          .map((r) => ({
            user: name,
            localAddress: `${name}@invis.test`,
            mainAddress: `${name}@provider${i % 2}.test`,
            presence: r.presence,
            accounts: [
              {
                address: `${name}@provider${i % 2}.test`,
                // Plain text is only allowed to a loopback server.
                server: r.tls === 'none' ? `127.0.0.${(i % 2) + 1}` : `mail.provider${i % 2}.test`,
                protocol: r.protocol,
                tls: r.tls,
                ...(r.tlsName ? { tlsServerName: `imap.provider${i % 2}.test` } : {}),
                login: `${name}.login`,
                password: r.password,
                keep: r.keep,
                folders: r.folder && r.protocol === 'imap' ? [r.folder] : [],
                smtp: { host: `smtp.provider${i % 2}.test` },
              },
            ],
          })),
      ),
    ),
  )
  .map((users) => ({ localDomain: 'invis.test', users }));

/** Property: `parse` either succeeds or throws a MailRewriteError with `code` — never anything else. */
export function failsOnlyWith(code: string, parse: (input: never) => unknown): (input: unknown) => boolean {
  return (input) => {
    try {
      parse(input as never);
    } catch (e) {
      return isMailRewriteError(e) && e.code === code;
    }
    return true;
  };
}

/** Paths of the files a plan or report has with one of `actions` (`create`, `update`, `delete`, `unchanged`). */
export function filesWith(plan: ApplyPlan, ...actions: FileAction[]): string[] {
  return plan.files.filter((f) => actions.includes(f.action)).map((f) => f.path);
}

/** Whether a plan or report has `postfix reload` among its commands. */
export function reloads(plan: ApplyPlan): boolean {
  return plan.commands.some((c) => c.command === 'postfix' && c.args.at(-1) === 'reload');
}

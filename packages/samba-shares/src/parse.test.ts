import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isSharesError } from './errors';
import type { PrincipalInput, ShareInput } from './model';
import { parseSharesConf, splitSambaList } from './parse';
import { renderSharesConf } from './render';

// The original's smb.shares.conf style (tabs, synonyms, comments, continuation) as migration meets it.
const ORIGINAL = `# invis shares
[Verwaltung]
   comment = Verwaltung
   path = /srv/shares/verwaltung
   writable = yes
   browsable = no
   create mode = 0660
   directory mode = 2770
   vfs objects = recycle
   recycle:repository = .recycle/%U
   recycle:keeptree = Yes
   recycle:exclude = *.tmp, *.temp, \\
      ~$*
; a comment
[Transfer]
\tpath = /srv/shares/transfer
\tpublic = yes
\tonly guest = yes
\tcreate mask = 0666
\tvalid users = @"MUSTER\\Domain Users", +archiv, %S
`;

describe('parseSharesConf', () => {
  it('reads the original style: synonyms, comments, continuation lines, recycle options', () => {
    const [verwaltung, transfer] = parseSharesConf(ORIGINAL);
    expect(verwaltung).toEqual({
      name: 'Verwaltung',
      comment: 'Verwaltung',
      path: '/srv/shares/verwaltung',
      readOnly: false,
      browseable: false,
      createMask: 0o660,
      directoryMask: 0o2770,
      recycle: {
        repository: '.recycle/%U',
        keeptree: true,
        versions: true,
        touch: true,
        exclude: ['*.tmp', '*.temp', '~$*'],
        excludeDir: [],
        maxsize: 0,
      },
    });
    expect(transfer?.guestOk).toBe(true);
    expect(transfer?.guestOnly).toBe(true);
    expect(transfer?.validUsers).toEqual([
      { kind: 'group', name: 'Domain Users', domain: 'MUSTER', prefix: '@' },
      { kind: 'group', name: 'archiv', prefix: '+' },
      { kind: 'shareUser' },
    ]);
  });

  it('round-trips: render → parse → render is identical', () => {
    const shares = parseSharesConf(ORIGINAL);
    const text = renderSharesConf(shares);
    expect(renderSharesConf(parseSharesConf(text))).toBe(text);
  });

  it.each([
    ['[global]\n\tworkgroup = X\n', /no \[global\]/],
    ['\tpath = /x\n', /before the first/],
    ['[x\n', /section header/],
    ['[x]\n\tread only = maybe\n', /not a boolean/],
    ['[x]\n\tpath = /x\n\tcreate mask = 0999\n', /octal/],
    ['[x]\n\tpath = /x\n\tvalid users = &netgroup\n', /unsupported/],
    ['[x]\n\tpath = /x\n\tvalid users = "open\n', /unbalanced quote/],
    ['[x]\n\tpath = /x\n\trecycle:keeptree = yes\n', /no recycle in vfs objects/],
    ['[x]\n\tpath = /x\n\tinclude = /etc/other.conf\n', /include/],
    ['[x]\n\tjunk line\n', /name = value/],
  ])('refuses %j with a typed error', (text, message) => {
    let caught: unknown;
    try {
      parseSharesConf(text);
    } catch (e) {
      caught = e;
    }
    expect(isSharesError(caught)).toBe(true);
    expect(String((caught as Error).message)).toMatch(message);
  });

  it('splits lists on blanks and commas with quotes grouping', () => {
    expect(splitSambaList('a, b  "c d",e')).toEqual(['a', 'b', 'c d', 'e']);
  });
});

// Arbitrary valid models: names, paths and values from the characters the model allows.
const word = fc.stringMatching(/^[A-Za-z0-9_.$-]{1,12}$/);
const spaced = fc.stringMatching(/^[A-Za-z0-9_.$-]{1,6}( [A-Za-z0-9_.$-]{1,6})?$/);
const principal: fc.Arbitrary<PrincipalInput> = fc.oneof(
  fc.record(
    {
      kind: fc.constant('group' as const),
      name: spaced,
      domain: fc.stringMatching(/^[A-Z0-9][A-Z0-9-]{0,14}$/),
      prefix: fc.constantFrom('@' as const, '+' as const),
    },
    { requiredKeys: ['kind', 'name', 'prefix'] },
  ),
  fc.record(
    { kind: fc.constant('user' as const), name: spaced, domain: fc.stringMatching(/^[A-Z0-9][A-Z0-9-]{0,14}$/) },
    { requiredKeys: ['kind', 'name'] },
  ),
  fc.constant({ kind: 'shareUser' as const }),
);
const list = fc.array(principal, { minLength: 1, maxLength: 4 });
const mode = fc.integer({ min: 0, max: 0o7777 });
const text = fc.stringMatching(
  /^[A-Za-z0-9äöü,.;:()#'"=/-](?:[ A-Za-z0-9äöü,.;:()#'"=\\/-]{0,30}[A-Za-z0-9äöü,.;:()#'"=/-])?$/,
);
const share: fc.Arbitrary<ShareInput> = fc.record(
  {
    name: word,
    path: fc.stringMatching(/^(\/[A-Za-z0-9_%+@~-]{1,8}){1,4}$/),
    comment: text,
    browseable: fc.boolean(),
    readOnly: fc.boolean(),
    guestOk: fc.boolean(),
    guestOnly: fc.boolean(),
    printable: fc.boolean(),
    validUsers: list,
    invalidUsers: list,
    readList: list,
    writeList: list,
    adminUsers: list,
    forceUser: word,
    forceGroup: spaced,
    createMask: mode,
    directoryMask: mode,
    forceCreateMode: mode,
    forceDirectoryMode: mode,
    inheritAcls: fc.boolean(),
    inheritPermissions: fc.boolean(),
    hideUnreadable: fc.boolean(),
    accessBasedShareEnum: fc.boolean(),
    vfsObjects: fc.uniqueArray(fc.constantFrom('dfs_samba4', 'acl_xattr', 'full_audit', 'shadow_copy2'), {
      minLength: 1,
    }),
    recycle: fc.record(
      {
        repository: fc.stringMatching(/^[A-Za-z0-9_%-]{1,8}(\/[A-Za-z0-9_%-]{1,8})?$/),
        keeptree: fc.boolean(),
        versions: fc.boolean(),
        touch: fc.boolean(),
        exclude: fc.array(fc.stringMatching(/^[A-Za-z0-9*?._~$-]{1,8}$/), { maxLength: 3 }),
        excludeDir: fc.array(fc.stringMatching(/^[A-Za-z0-9*?._~$-]{1,8}$/), { maxLength: 3 }),
        maxsize: fc.nat(),
        directoryMode: mode,
      },
      { requiredKeys: [] },
    ),
    options: fc.dictionary(
      fc.constantFrom('hide dot files', 'map archive', 'strict locking', 'oplocks', 'ea support'),
      text,
      {
        maxKeys: 3,
      },
    ),
  },
  { requiredKeys: ['name', 'path'] },
);
const shares = fc.uniqueArray(share, { maxLength: 5, selector: (s) => s.name.toLowerCase() });

describe('parseSharesConf properties', () => {
  it('every valid model survives render → parse unchanged, and render is stable', () => {
    fc.assert(
      fc.property(shares, (model) => {
        const rendered = renderSharesConf(model);
        const parsed = parseSharesConf(rendered);
        expect(renderSharesConf(parsed)).toBe(rendered);
        expect(parseSharesConf(renderSharesConf(parsed))).toEqual(parsed);
      }),
      { numRuns: 300 },
    );
  });

  it('random junk gives a SharesError or shares, never a crash', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: 'binary' }), (junk) => {
        try {
          parseSharesConf(junk);
        } catch (e) {
          expect(isSharesError(e)).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it('a value with a line break, NUL or carriage return is refused wherever it goes', () => {
    const breaker = fc
      .tuple(word, fc.constantFrom('\n', '\0', '\r', '\n[global]\n'), word)
      .map(([a, b, c]) => `${a}${b}${c}`);
    const field = fc.constantFrom('comment', 'path', 'forceUser', 'name', 'option', 'principal', 'repository');
    fc.assert(
      fc.property(breaker, field, (value, where) => {
        const base: ShareInput = { name: 'x', path: '/x' };
        const bad: ShareInput =
          where === 'option'
            ? { ...base, options: { oplocks: value } }
            : where === 'principal'
              ? { ...base, validUsers: [{ kind: 'user', name: value }] }
              : where === 'repository'
                ? { ...base, recycle: { repository: value } }
                : where === 'path'
                  ? { ...base, path: `/${value}` }
                  : { ...base, [where]: value };
        let caught: unknown;
        try {
          renderSharesConf([bad]);
        } catch (e) {
          caught = e;
        }
        expect(isSharesError(caught) && caught.code).toBe('SHARES_INVALID_SHARE');
      }),
      { numRuns: 300 },
    );
  });
});

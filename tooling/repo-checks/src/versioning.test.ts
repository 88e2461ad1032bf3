import { describe, expect, it } from 'vitest';
import { checkUnreleasedChanges, checkVersioning, isShippedChange, parseChangeset } from './versioning';

const apps = [
  { name: '@invis/portal-1', version: '1.4.2', isApp: true },
  { name: '@invis/ad-client', version: '0.3.0', isApp: false },
];

describe('versioning policy', () => {
  it('reads changeset front matter', () => {
    const c = parseChangeset('a.md', '---\n"@invis/portal-1": minor\n\'@invis/ad-client\': patch\n---\n\nText');
    expect(c.bumps).toEqual({ '@invis/portal-1': 'minor', '@invis/ad-client': 'patch' });
  });

  it('rejects malformed changesets', () => {
    expect(() => parseChangeset('b.md', 'no front matter')).toThrow(/front matter/);
    expect(() => parseChangeset('c.md', '---\n"x": huge\n---\n')).toThrow(/cannot read/);
  });

  it('fails an app major bump without an upgrade note and passes it with one', () => {
    const c = parseChangeset('m.md', '---\n"@invis/portal-1": major\n---\nbreaking');
    expect(checkVersioning(apps, [c], new Set())).toEqual([
      'm.md: major bump of @invis/portal-1 needs the manual upgrade steps in docs/upgrade/2.md',
    ]);
    expect(checkVersioning(apps, [c], new Set(['2.md']))).toEqual([]);
  });

  it('allows library majors and app minors without notes', () => {
    const c = parseChangeset('n.md', '---\n"@invis/ad-client": major\n"@invis/portal-1": minor\n---\n');
    expect(checkVersioning(apps, [c], new Set())).toEqual([]);
  });

  it('requires the app name to carry its major', () => {
    expect(checkVersioning([{ name: '@invis/setup-1', version: '2.0.0', isApp: true }], [], new Set())).toEqual([
      '@invis/setup-1@2.0.0: a deployable app carries its major in the name (expected suffix -2)',
    ]);
  });

  it('flags changesets for unknown packages', () => {
    const c = parseChangeset('u.md', '---\n"@invis/nope": patch\n---\n');
    expect(checkVersioning(apps, [c], new Set())).toEqual(['u.md: unknown package @invis/nope']);
  });
});

describe('unreleased changes', () => {
  const pending = [parseChangeset('a.md', '---\n"@invis/ad-client": patch\n---\nfix')];

  it('passes a changed package that a changeset names, and unchanged ones', () => {
    const changed = new Map([
      ['@invis/ad-client', ['packages/ad-client/src/users.ts']],
      ['@invis/portal-1', []],
    ]);
    expect(checkUnreleasedChanges(changed, pending)).toEqual([]);
  });

  it('fails a changed package without a changeset', () => {
    const changed = new Map([['@invis/dns-zone', ['packages/dns-zone/src/a.ts', 'b', 'c', 'd']]]);
    expect(checkUnreleasedChanges(changed, pending)).toEqual([
      '@invis/dns-zone changed since its last release (packages/dns-zone/src/a.ts, b, c, …) but no changeset names it: run pnpm changeset',
    ]);
  });

  it('counts shipped files, not tests or the changelog', () => {
    expect(
      ['src/a.ts', 'src/a.test.ts', 'test/integration/x.ts', 'CHANGELOG.md', 'README.md'].filter(isShippedChange),
    ).toEqual(['src/a.ts', 'README.md']);
  });
});

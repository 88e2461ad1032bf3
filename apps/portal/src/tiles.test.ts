import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { descriptionText, TileInputSchema, type TileReader, tileUrl, visibleTiles } from './tiles';

const names = { internal: 'invis.muster.loc', external: 'muster.dyndns.example' };
const inside: TileReader = { loggedIn: true, isAdmin: false, external: false };
const entry = (cn: string, changes: Partial<Parameters<typeof visibleTiles>[0][number]> = {}) => ({
  cn,
  name: cn,
  url: `[servername]/${cn.toLowerCase()}`,
  ssl: true,
  description: '',
  active: true,
  position: 'Lokal',
  priv: 'user',
  button: cn,
  ...changes,
});

describe('visibleTiles', () => {
  const entries = [
    entry('Roundcube', { description: 'Der <b>moderne</b> Webmailer&nbsp;&amp; mehr.<br/>' }),
    entry('Wiki', { priv: 'guest', ssl: false }),
    entry('Adminer', { position: 'Administration', priv: 'admin' }),
    entry('Kimai', { active: false }),
    entry('Heise', { position: 'Internet', priv: 'guest', url: 'www.heise.de', rubrik: 'News' }),
    entry('Duden', { position: 'Internet', priv: 'guest', url: 'www.duden.de', rubrik: 'Dictionary' }),
    entry('Webmail', { position: 'mail' }),
    entry('Weird', { priv: 'superuser' }),
  ];

  it('shows active entries by privilege, grouped as the original, with internal links inside', () => {
    const tiles = visibleTiles(entries, inside, names);
    expect(tiles.Lokal.map((t) => t.name)).toEqual(['Roundcube', 'Wiki']);
    expect(tiles.Lokal[0]).toMatchObject({
      url: 'https://invis.muster.loc/roundcube',
      description: 'Der moderne Webmailer & mehr.',
    });
    expect(tiles.Lokal[1]?.url).toBe('http://invis.muster.loc/wiki');
    expect(tiles.Administration).toEqual([]);
    expect(tiles.Internet.map((t) => [t.rubrik, t.name])).toEqual([
      ['Dictionary', 'Duden'],
      ['News', 'Heise'],
    ]);
  });

  it('gives admins the admin entries, guests only guest entries, and unknown privileges to admins only', () => {
    const admin = visibleTiles(entries, { ...inside, isAdmin: true }, names);
    expect(admin.Administration.map((t) => t.name)).toEqual(['Adminer']);
    expect(admin.Lokal.map((t) => t.name)).toEqual(['Roundcube', 'Weird', 'Wiki']);
    const guest = visibleTiles(entries, { loggedIn: false, isAdmin: false, external: false }, names);
    expect(guest.Lokal.map((t) => t.name)).toEqual(['Wiki']);
  });

  it('links outside readers to the public name, and offers no server link without one', () => {
    const outside = { ...inside, external: true };
    expect(visibleTiles(entries, outside, names).Lokal[0]?.url).toBe('https://muster.dyndns.example/roundcube');
    const noPublicName = visibleTiles(entries, outside, { internal: names.internal, external: null });
    expect(noPublicName.Lokal).toEqual([]);
    expect(noPublicName.Internet).toHaveLength(2);
  });
});

describe('tileUrl', () => {
  it('keeps what the original stored and refuses anything that is not host[:port][/path]', () => {
    expect(tileUrl({ url: '[servername]:631/admin', ssl: true }, inside, names)).toBe(
      'https://invis.muster.loc:631/admin',
    );
    expect(tileUrl({ url: 'http://www.heise.de/', ssl: false }, inside, names)).toBe('http://www.heise.de/');
    for (const bad of ['javascript:alert(1)', '//evil', 'a b', '[servername]/"><script>', '']) {
      expect(tileUrl({ url: bad, ssl: true }, inside, names)).toBeNull();
    }
  });

  it('never yields a scheme other than http(s) nor a foreign host for [servername]', () => {
    fc.assert(
      fc.property(fc.string(), fc.boolean(), (url, ssl) => {
        const out = tileUrl({ url, ssl }, inside, names);
        if (out === null) return;
        expect(['http:', 'https:']).toContain(new URL(out).protocol);
        if (url.trim().startsWith('[servername]')) expect(new URL(out).hostname).toBe(names.internal);
      }),
    );
  });
});

describe('TileInputSchema and descriptionText', () => {
  it('validates what the editor sends', () => {
    const ok = { name: 'Wiki', url: '[servername]/wiki', ssl: true, description: '', active: true };
    const rest = { position: 'Lokal', priv: 'user', button: 'Wiki' };
    expect(TileInputSchema.safeParse({ ...ok, ...rest }).success).toBe(true);
    expect(TileInputSchema.safeParse({ ...ok, ...rest, url: 'javascript:x' }).success).toBe(false);
    expect(TileInputSchema.safeParse({ ...ok, ...rest, priv: 'root' }).success).toBe(false);
  });

  it('turns the original HTML descriptions into text', () => {
    expect(descriptionText('<a href="x">Link</a> &lt;b&gt;')).toBe('Link <b>');
  });
});

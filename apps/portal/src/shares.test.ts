import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fixedClock } from '@invis/host';
import { parseFolderRequests } from '@invis/samba-shares';
import { useTempDir } from '@invis/test-utils';
import { beforeAll, describe, expect, it } from 'vitest';
import { PortalError } from './errors';
import {
  createShareManager,
  defaultShareOptions,
  type ShareManager,
  type ShareOptions,
  serverShareManager,
} from './shares';

const root = useTempDir('portal-shares-', { shared: true });
let opts: ShareOptions;
let shares: ShareManager;
beforeAll(() => {
  opts = defaultShareOptions(root());
  shares = createShareManager({ ...opts, clock: fixedClock(new Date('2026-11-28T10:00:00Z')) });
});

describe('group shares', () => {
  it('creates an empty share or a copy of a template, setgid and group-writable', async () => {
    mkdirSync(join(opts.templatesDir, 'Projekt/Angebote'), { recursive: true });
    writeFileSync(join(opts.templatesDir, 'Projekt/Angebote/liesmich.txt'), 'hallo');
    expect(await shares.templates()).toEqual(['Projekt']);
    const dir = await shares.createGroupShare('Werkstatt', 'Projekt', 20_100);
    expect(readFileSync(join(dir, 'Angebote/liesmich.txt'), 'utf8')).toBe('hallo');
    const st = statSync(dir);
    expect(st.mode & 0o7777).toBe(0o2770);
    expect(st.gid).toBe(20_100);
    await shares.createGroupShare('Leer', null, null);
    await expect(shares.createGroupShare('Leer', null, null)).rejects.toMatchObject({ code: 'PORTAL_CONFLICT' });
    await expect(shares.createGroupShare('X', '../../etc', null)).rejects.toMatchObject({ code: 'PORTAL_NOT_FOUND' });
  });

  it('refuses names that could leave the share root', async () => {
    for (const bad of ['..', '.', 'a/b', '../x', 'a\u0000b']) {
      await expect(shares.createGroupShare(bad, null, null)).rejects.toBeInstanceOf(PortalError);
    }
  });
});

describe('home and profile creation', () => {
  it('creates the home and the .V6 profile folder 0700 for the account ids, keeps existing ones', async () => {
    const made = await shares.createHome('anna', 30_001, 20_513);
    expect(made).toEqual([join(opts.homesDir, 'anna'), join(opts.profilesDir as string, 'anna.V6')]);
    for (const dir of made) {
      const st = statSync(dir);
      expect([st.mode & 0o7777, st.uid, st.gid]).toEqual([0o700, 30_001, 20_513]);
    }
    writeFileSync(join(opts.homesDir, 'anna', 'keep.txt'), 'x');
    expect(await shares.createHome('anna', 30_001, 20_513)).toEqual([]);
    expect(readFileSync(join(opts.homesDir, 'anna', 'keep.txt'), 'utf8')).toBe('x');
  });

  it('refuses root ids and names that leave the homes folder', async () => {
    await expect(shares.createHome('carl', 0, 20_513)).rejects.toMatchObject({ code: 'PORTAL_VALIDATION' });
    await expect(shares.createHome('../etc', 30_002, 20_513)).rejects.toBeInstanceOf(PortalError);
  });
});

describe('home archiving', () => {
  it('renames the home to .archiv, dated when that exists, and skips missing homes', async () => {
    mkdirSync(join(opts.homesDir, 'bernd'), { recursive: true });
    expect(await shares.archiveHome('bernd')).toBe(join(opts.homesDir, 'bernd.archiv'));
    mkdirSync(join(opts.homesDir, 'bernd'));
    expect(await shares.archiveHome('bernd')).toBe(join(opts.homesDir, 'bernd-20261128.archiv'));
    expect(await shares.archiveHome('nobody')).toBeNull();
    mkdirSync(join(opts.groupSharesDir, 'Alt'), { recursive: true });
    expect(await shares.archiveGroupShare('Alt')).toBe(join(opts.groupSharesDir, 'Alt.archiv'));
    await expect(shares.archiveHome('../etc')).rejects.toMatchObject({ code: 'PORTAL_VALIDATION' });
  });
});

describe('on an installed server (PORTAL_FOLDERS=server)', () => {
  it('makes and archives nothing itself: it asks the root sync for group folders in its requests file', async () => {
    const requestsFile = join(root(), 'portal-data/group-shares.json');
    mkdirSync(join(root(), 'portal-data'), { recursive: true });
    let syncs = 0;
    const server = serverShareManager({
      ...opts,
      requestsFile,
      syncNow: async () => {
        syncs++;
      },
    });
    expect(server.inProcess).toBe(false);
    expect(await server.templates()).toEqual(['Projekt']);
    expect(await server.createHome('anna', 20001, 20513)).toEqual([]);
    expect(await server.archiveHome('anna')).toBeNull();
    // Two groups at once: both requests are kept (one change of the file at a time).
    const [vertrieb, team] = await Promise.all([
      server.createGroupShare('Vertrieb', 'Projekt', 21001),
      server.createGroupShare('team9', null, 21002),
    ]);
    expect(vertrieb).toBe(join(opts.groupSharesDir, 'Vertrieb'));
    expect(team).toBe(join(opts.groupSharesDir, 'team9'));
    expect(existsSync(vertrieb)).toBe(false);
    expect(parseFolderRequests(readFileSync(requestsFile, 'utf8'))).toEqual(
      new Map([
        ['Vertrieb', 'Projekt'],
        ['team9', null],
      ]),
    );
    expect(statSync(requestsFile).mode & 0o777).toBe(0o600);
    // Each ask runs the root sync in the background (coalesced), and so does a new or deleted account.
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(syncs).toBeGreaterThanOrEqual(1);
    const before = syncs;
    server.accountsChanged();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(syncs).toBe(before + 1);
    // Refused before anything is written: an unknown template, a folder that is there, a bad name.
    await expect(server.createGroupShare('x', 'Fehlt', 1)).rejects.toMatchObject({ code: 'PORTAL_NOT_FOUND' });
    await expect(server.createGroupShare('Werkstatt', null, 1)).rejects.toMatchObject({ code: 'PORTAL_CONFLICT' });
    await expect(server.createGroupShare('../etc', null, 1)).rejects.toBeInstanceOf(PortalError);
    // Deleting a group drops its request: a later group of that name starts without it.
    expect(await server.archiveGroupShare('Vertrieb')).toBeNull();
    expect([...parseFolderRequests(readFileSync(requestsFile, 'utf8')).keys()]).toEqual(['team9']);
  });
});

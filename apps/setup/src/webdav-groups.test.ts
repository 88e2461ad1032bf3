import { describe, expect, it } from 'vitest';
import { davGroupFolders, type GroupFolderEntry } from './webdav-groups';

const GROUPS = [
  { name: 'Vertrieb', kind: 'security' as const, gidNumber: 21105 },
  { name: 'Team A.1 (Süd)', kind: 'security' as const, gidNumber: 21106 },
  { name: 'newsletter', kind: 'distribution' as const, gidNumber: 21107 },
  { name: 'twin-a', kind: 'security' as const, gidNumber: 21108 },
  { name: 'twin-b', kind: 'security' as const, gidNumber: 21108 },
  { name: 'no-gid', kind: 'security' as const },
  { name: 'bad,name', kind: 'security' as const, gidNumber: 21109 },
];
const dir = (name: string, gid: number): GroupFolderEntry => ({ name, gid, directory: true });

describe('group folders WebDAV serves', () => {
  it('each real folder to the one security group owning it on disk, whatever the folder is called', () => {
    expect(
      davGroupFolders([dir('Vertrieb', 21105), dir('Team A.1 (Süd)', 21106), dir('renamed', 21105)], GROUPS),
    ).toEqual({
      served: [
        { folder: 'Team A.1 (Süd)', group: 'Team A.1 (Süd)' },
        { folder: 'Vertrieb', group: 'Vertrieb' },
        { folder: 'renamed', group: 'Vertrieb' },
      ],
      skipped: [],
    });
  });

  it('leaves out links and files, unknown and shared gids, distribution groups and names the site cannot carry', () => {
    const { served, skipped } = davGroupFolders(
      [
        { name: 'link', gid: 21105, directory: false },
        dir('Vertrieb.archiv', 29999),
        dir('twins', 21108),
        dir('news', 21107),
        dir('bad', 21109),
        dir('quote"d', 21105),
        dir('new\nline', 21105),
        dir('root', 0),
      ],
      GROUPS,
    );
    expect(served).toEqual([]);
    expect(skipped.sort()).toEqual(['Vertrieb.archiv', 'bad', 'link', 'new\nline', 'news', 'quote"d', 'root', 'twins']);
  });
});

import { chmodSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createFolderFromTemplate } from './folders';

const GID = 4242;
let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'shares-folders-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const mode = (path: string) => lstatSync(path).mode & 0o7777;

describe('createFolderFromTemplate', () => {
  it('makes an empty group folder root:<gid> 2770', async () => {
    const target = join(root, 'Vertrieb');
    await createFolderFromTemplate(target, { gid: GID });
    expect(mode(target)).toBe(0o2770);
    expect(statSync(target).gid).toBe(GID);
  });

  it('copies folders and files of a template and hands them to the group, without set-id bits', async () => {
    const template = join(root, 'vorlage');
    mkdirSync(join(template, 'Angebote/2026'), { recursive: true });
    writeFileSync(join(template, 'Angebote/liesmich.txt'), 'hallo');
    writeFileSync(join(template, 'start.sh'), '#!/bin/sh\n');
    chmodSync(join(template, 'start.sh'), 0o4755);
    const target = join(root, 'Projekt1');
    await createFolderFromTemplate(target, { template, gid: GID });
    expect(mode(join(target, 'Angebote'))).toBe(0o2770);
    expect(mode(join(target, 'Angebote/2026'))).toBe(0o2770);
    expect(mode(join(target, 'Angebote/liesmich.txt'))).toBe(0o660);
    expect(mode(join(target, 'start.sh'))).toBe(0o770);
    for (const p of ['', 'Angebote', 'Angebote/liesmich.txt', 'start.sh'])
      expect(statSync(join(target, p)).gid).toBe(GID);
  });

  it('never copies or follows a link in the template (the templates are writable by folder admins)', async () => {
    const template = join(root, 'vorlage');
    mkdirSync(template);
    const secret = join(root, 'secret');
    writeFileSync(secret, 'root only');
    chmodSync(secret, 0o600);
    symlinkSync(secret, join(template, 'link'));
    symlinkSync(root, join(template, 'dirlink'));
    const target = join(root, 'Projekt2');
    await createFolderFromTemplate(target, { template, gid: GID });
    expect(() => lstatSync(join(target, 'link'))).toThrow();
    expect(() => lstatSync(join(target, 'dirlink'))).toThrow();
    expect(mode(secret)).toBe(0o600);
    expect(statSync(secret).gid).not.toBe(GID);
  });

  it('refuses an existing folder or a link in its place, and a template that is no folder', async () => {
    mkdirSync(join(root, 'da'));
    await expect(createFolderFromTemplate(join(root, 'da'))).rejects.toMatchObject({ code: 'SHARES_FOLDER_EXISTS' });
    symlinkSync('/etc', join(root, 'link'));
    await expect(createFolderFromTemplate(join(root, 'link'), { gid: GID })).rejects.toMatchObject({
      code: 'SHARES_FOLDER_EXISTS',
    });
    expect(statSync('/etc').gid).toBe(0);
    mkdirSync(join(root, 'echt'));
    symlinkSync(join(root, 'echt'), join(root, 'vorlage-link'));
    await expect(
      createFolderFromTemplate(join(root, 'neu'), { template: join(root, 'vorlage-link') }),
    ).rejects.toMatchObject({ code: 'SHARES_NO_TEMPLATE' });
    expect(() => lstatSync(join(root, 'neu'))).toThrow();
  });
});
